// Step-up: a sensitive action answered 403 step_up_required asks for the second factor here, then
// the API layer retries the action once. A code of six digits is a TOTP code; anything else is
// taken as a recovery code.
import { ApiError, post } from './api.js';
import { $, message } from './dom.js';
import { getAssertion, webAuthnAvailable } from './webauthn.js';
import { canStepUpAtProvider, stepUpAtProvider } from './sso.js';

let pending = null;

/** Resolves true once a second factor was verified for this session, false if the person cancelled. */
export function askForStepUp() {
  if (pending) return pending;
  const dialog = $('stepup-dialog');
  const form = $('stepup-form');
  const input = $('stepup-code');
  const box = $('stepup-message');
  input.value = '';
  message(box, '');
  pending = new Promise((resolve) => {
    const onSubmit = (event) => {
      const choice = event.submitter?.value;
      if (choice === 'sso') {
        // A single-sign-on session confirms at the identity provider: the page leaves and comes back.
        event.preventDefault();
        stepUpAtProvider();
        return;
      }
      if (choice !== 'ok' && choice !== 'passkey') return;
      event.preventDefault();
      void (choice === 'ok' ? verify(input.value.trim()) : verifyPasskey()).then((done) => {
        if (done) dialog.close('ok');
      });
    };
    async function verifyPasskey() {
      try {
        const options = await post('/auth/step-up/webauthn-options');
        await post('/auth/step-up', { webauthn: await getAssertion(options) });
        return true;
      } catch (error) {
        if (error instanceof ApiError) message(box, error.status === 403 ? 'That passkey was not accepted.' : error.message);
        else message(box, 'The browser did not use a passkey (cancelled, or none for this site).');
        return false;
      }
    }
    async function verify(value) {
      if (!value) {
        message(box, 'Enter the code from your authenticator app, or a recovery code.');
        return false;
      }
      const body = /^\d{6}$/.test(value) ? { code: value } : { recovery_code: value };
      try {
        await post('/auth/step-up', body);
        return true;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (error.status === 403) message(box, 'That code was not accepted. Try the current code.');
        else if (error.status === 429) message(box, `Too many wrong codes. Try again in ${error.headers.get('retry-after') ?? 'a few'} seconds.`);
        else message(box, error.message);
        input.value = '';
        input.focus();
        return false;
      }
    }
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener(
      'close',
      () => {
        form.removeEventListener('submit', onSubmit);
        pending = null;
        resolve(dialog.returnValue === 'ok');
      },
      { once: true },
    );
    dialog.returnValue = '';
    $('stepup-passkey').hidden = !webAuthnAvailable();
    $('stepup-sso').hidden = true;
    void canStepUpAtProvider().then((can) => ($('stepup-sso').hidden = !can));
    dialog.showModal();
    input.focus();
  });
  return pending;
}
