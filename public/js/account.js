// My account: who am I, and change my password.
import { ApiError, post } from './api.js';
import { $, busy, clear, h, message } from './dom.js';

let session = null;

export function init(current) {
  session = current;
  $('password-form').addEventListener('submit', (event) => void changePassword(event));
}

export function enter(current) {
  session = current;
  const me = session.me;
  $('account-sub').textContent = me.sub;
  $('account-role').textContent = me.role;
  clear($('account-permissions')).append(...(me.permissions ?? []).map((p) => h('span', { class: 'tag', text: p })));
}

export function reset() {
  $('password-form').reset();
  message($('password-message'), '');
}

async function changePassword(event) {
  event.preventDefault();
  const box = $('password-message');
  const current = $('pw-current').value;
  const next = $('pw-new').value;
  if (!current) return message(box, 'Enter your current password.');
  if (next.length < 12) return message(box, 'The new password must have at least 12 characters.');
  if (next !== $('pw-confirm').value) return message(box, 'The two new passwords differ.');
  if (next === current) return message(box, 'The new password must differ from the current one.');
  await busy($('pw-submit'), async () => {
    try {
      // The server ends every older token at once (the live socket closes with 4401) and
      // answers with a fresh cookie: the rest of the console waits for that answer.
      const change = post('/users/me/password', { current_password: current, new_password: next }, { allow401: true });
      session.pendingCredentialChange = change.catch(() => undefined);
      try {
        await change;
      } finally {
        session.pendingCredentialChange = null;
      }
      $('password-form').reset();
      message(box, 'Password changed. Your other sessions have been signed out.', 'ok');
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 403 && /current password/i.test(String(error.body?.message ?? ''))) message(box, 'The current password is not correct.');
      else if (error.status === 409) message(box, 'Your password was just changed elsewhere. Sign in with the new one.');
      else if (error.status === 401) session.signedOut('Your session has ended. Please sign in again.');
      else if (error.status === 429) message(box, `Too many attempts. Try again in ${error.headers.get('retry-after') ?? 'a few'} seconds.`);
      else message(box, error.message);
    }
  });
}
