// Security: my second factors. Enrol an authenticator app (TOTP) from its QR code, see the
// recovery codes once, make new ones, remove the app. Removing and renewing need a step-up,
// which the API layer asks for (step-up.js) and then retries.
import { ApiError, del, get, post } from './api.js';
import { $, busy, clear, confirmAction, h, message, show, time } from './dom.js';
import { createCredential, webAuthnAvailable } from './webauthn.js';

let session = null;

export function init(current) {
  session = current;
  $('totp-start').addEventListener('click', () => void startTotp());
  $('totp-form').addEventListener('submit', (event) => void confirmTotp(event));
  $('totp-remove').addEventListener('click', () => void removeTotp());
  $('recovery-regenerate').addEventListener('click', () => void regenerate());
  $('passkey-form').addEventListener('submit', (event) => void addPasskey(event));
}

export function enter(current) {
  session = current;
  show($('security-required'), Boolean(session.enrolmentRequired));
  void refresh();
}

export function reset() {
  show($('totp-form'), false);
  show($('recovery-new'), false);
  clear($('recovery-list'));
  clear($('totp-qr'));
  $('totp-secret').textContent = '';
  message($('totp-message'), '');
  message($('security-message'), '');
}

async function refresh() {
  try {
    const status = await get('/auth/mfa');
    $('totp-state').textContent = status.totp ? 'On: sign-in asks for a code from your authenticator app.' : 'Off.';
    show($('totp-start'), !status.totp);
    show($('totp-remove'), status.totp);
    const passkeys = status.webauthn.length;
    showPasskeys(status.webauthn);
    $('recovery-state').textContent =
      status.totp || passkeys > 0 ? `${status.recovery_codes_left} of 10 recovery codes left.` : 'You get recovery codes when you turn on a second factor.';
    $('recovery-regenerate').disabled = !(status.totp || passkeys > 0);
  } catch (error) {
    if (error instanceof ApiError) message($('security-message'), error.message);
    else throw error;
  }
}

async function startTotp() {
  reset();
  await busy($('totp-start'), async () => {
    try {
      const enrolment = await post('/auth/mfa/totp');
      // An <img> never runs script: the server's SVG is shown as a picture, not inserted as markup.
      const src = `data:image/svg+xml;base64,${btoa(enrolment.qr_svg)}`;
      clear($('totp-qr')).append(h('img', { class: 'qr', src, alt: 'QR code for your authenticator app', width: 200, height: 200 }));
      $('totp-secret').textContent = enrolment.secret;
      show($('totp-form'), true);
      $('totp-code').value = '';
      $('totp-code').focus();
    } catch (error) {
      if (error instanceof ApiError) message($('security-message'), error.message);
      else throw error;
    }
  });
}

async function confirmTotp(event) {
  event.preventDefault();
  const code = $('totp-code').value.trim();
  const box = $('totp-message');
  if (!/^\d{6}$/.test(code)) return message(box, 'Enter the 6 digits your authenticator app shows.');
  await busy($('totp-confirm'), async () => {
    try {
      const confirmed = await post('/auth/mfa/totp/confirm', { code });
      show($('totp-form'), false);
      $('totp-secret').textContent = '';
      clear($('totp-qr'));
      showRecoveryCodes(confirmed.recovery_codes);
      message($('security-message'), 'Your authenticator app is on.', 'ok');
      if (session.enrolmentRequired) {
        session.enrolmentRequired = false;
        session.enrolled?.();
      }
      await refresh();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      message(box, error.status === 400 ? 'That code does not match. Check the time on your phone and enter the current code.' : error.message);
    }
  });
}

function showPasskeys(credentials) {
  const list = clear($('passkey-list'));
  if (credentials.length === 0) list.append(h('li', { class: 'muted', text: 'None yet.' }));
  for (const credential of credentials) {
    const remove = h('button', { type: 'button', class: 'danger small', 'aria-label': `Remove ${credential.name}`, text: 'Remove' });
    remove.addEventListener('click', () => void removePasskey(credential, remove));
    list.append(
      h(
        'li',
        { class: 'passkey', dataset: { id: credential.id } },
        h('strong', { text: credential.name }),
        ' added ',
        time(credential.created_at),
        ' · last used ',
        time(credential.last_used_at),
        ' ',
        remove,
      ),
    );
  }
  $('passkey-add').disabled = !webAuthnAvailable();
}

async function addPasskey(event) {
  event.preventDefault();
  const name = $('passkey-name').value.trim();
  const box = $('passkey-message');
  if (!name) return message(box, 'Give it a name, so that you can tell it apart later.');
  await busy($('passkey-add'), async () => {
    try {
      const options = await post('/auth/mfa/webauthn/options');
      const response = await createCredential(options);
      const added = await post('/auth/mfa/webauthn', { name, response });
      $('passkey-name').value = '';
      message(box, `${added.name} was added.`, 'ok');
      if (added.recovery_codes) showRecoveryCodes(added.recovery_codes);
      if (session.enrolmentRequired) {
        session.enrolmentRequired = false;
        session.enrolled?.();
      }
      await refresh();
    } catch (error) {
      if (error instanceof ApiError) message(box, error.message);
      else message(box, 'The browser did not create a passkey (cancelled, or not supported here).');
    }
  });
}

async function removePasskey(credential, button) {
  if (!(await confirmAction(`Remove ${credential.name}? It will no longer sign you in.`, 'Remove'))) return;
  await busy(button, async () => {
    try {
      await del(`/auth/mfa/webauthn/${encodeURIComponent(credential.id)}`);
      message($('security-message'), `${credential.name} was removed.`, 'ok');
      await refresh();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      message($('security-message'), error.status === 403 ? 'Not removed: the second factor was not confirmed.' : error.message);
    }
  });
}

function showRecoveryCodes(codes) {
  const list = clear($('recovery-list'));
  if (!codes || codes.length === 0) return show($('recovery-new'), false);
  list.append(...codes.map((code) => h('li', { text: code })));
  show($('recovery-new'), true);
}

async function regenerate() {
  if (!(await confirmAction('Make a new set of recovery codes? The codes you have now stop working.', 'Make new codes'))) return;
  await busy($('recovery-regenerate'), async () => {
    try {
      const renewed = await post('/auth/mfa/recovery-codes');
      showRecoveryCodes(renewed.recovery_codes);
      message($('security-message'), 'New recovery codes made. The old ones no longer work.', 'ok');
      await refresh();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      message($('security-message'), error.status === 403 ? 'Not done: the second factor was not confirmed.' : error.message);
    }
  });
}

async function removeTotp() {
  if (!(await confirmAction('Remove the authenticator app? Sign-in will no longer ask for its codes.', 'Remove'))) return;
  await busy($('totp-remove'), async () => {
    try {
      await del('/auth/mfa/totp');
      show($('recovery-new'), false);
      message($('security-message'), 'The authenticator app was removed.', 'ok');
      await refresh();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      message($('security-message'), error.status === 403 ? 'Not removed: the second factor was not confirmed.' : error.message);
    }
  });
}
