// AuroraSOC console: entry point. Session, routing, sign-in and sign-out.
// Plain ES modules, no build step; the page runs under a strict CSP (no inline script or style).
import { ApiError, get, post, setStepUpHandler, setUnauthenticatedHandler } from './js/api.js';
import { $, busy, labelTableCells, message, show } from './js/dom.js';
import * as alerts from './js/alerts.js';
import * as keys from './js/keys.js';
import * as users from './js/users.js';
import * as audit from './js/audit.js';
import * as account from './js/account.js';
import * as sessions from './js/sessions.js';
import * as security from './js/security.js';
import { askForStepUp } from './js/step-up.js';
import { getAssertion, webAuthnAvailable } from './js/webauthn.js';
import { initSso, takeSsoError } from './js/sso.js';

const PAGES = {
  alerts: { module: alerts, permission: 'alerts:read' },
  keys: { module: keys, permission: 'users:manage' },
  users: { module: users, permission: 'users:manage' },
  audit: { module: audit, permission: 'audit:read' },
  sessions: { module: sessions },
  account: { module: account },
  security: { module: security },
};

/** What a person who must still enrol a second factor may open (the server refuses the rest). */
const OPEN_DURING_ENROLMENT = new Set(['security', 'sessions']);

/** What the console knows about the signed-in principal (from GET /auth/me). */
const session = {
  me: null,
  can(permission) {
    return Boolean(this.me && Array.isArray(this.me.permissions) && this.me.permissions.includes(permission));
  },
  /** Leave the console for the sign-in page, with a reason shown there. */
  signedOut(reason) {
    showSignIn(reason, 'info');
  },
  flash(text, kind = 'error') {
    flash(text, kind);
  },
  /** Set while my own password change is in flight: it ends the old token and brings a new cookie. */
  pendingCredentialChange: null,
  /** My role requires a second factor and I have none yet: only the Security page works. */
  enrolmentRequired: false,
  /** The Security page calls this once the first factor is on: the whole console opens. */
  enrolled() {
    if (session.me) void openConsole(session.me);
  },
};

/** The mfa_token of a sign-in waiting for its second factor. */
let pendingSignIn = null;

let current = null;
let retryTimer = null;
/** While the page loads with a session: the focus stays at the top, where the skip link is. */
let booting = true;

function flash(text, kind) {
  const element = $('flash');
  message(element, text, kind);
  clearTimeout(flash.timer);
  if (text) flash.timer = setTimeout(() => message(element, ''), kind === 'error' ? 8000 : 4000);
}

function showSignIn(reason, kind = 'error') {
  const wasSignedIn = session.me !== null;
  session.me = null;
  for (const page of Object.values(PAGES)) page.module.reset?.();
  current = null;
  show($('boot'), false);
  show($('console-view'), false);
  show($('signin-view'), true);
  showSecondStep(false);
  document.title = 'Sign in · AuroraSOC';
  message($('signin-message'), reason ?? '', kind);
  $('signin-password').value = '';
  if (wasSignedIn || !$('signin-username').value) $('signin-username').focus();
  else $('signin-password').focus();
}

/** Signed in: find out whether my role still requires a second factor before opening the console. */
async function openConsole(me) {
  let required = false;
  try {
    await get('/alerts?limit=1');
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    required = error.status === 403 && error.body?.error === 'mfa_enrolment_required';
  }
  enterConsole(me, required);
}

function enterConsole(me, enrolmentRequired = false) {
  session.me = me;
  session.enrolmentRequired = enrolmentRequired;
  show($('boot'), false);
  show($('signin-view'), false);
  message($('signin-message'), '');
  $('whoami').textContent = me.sub;
  $('whorole').textContent = me.role;
  for (const link of $('nav').querySelectorAll('a[data-view]')) {
    const permission = link.dataset.perm;
    const allowed = (!permission || session.can(permission)) && (!enrolmentRequired || OPEN_DURING_ENROLMENT.has(link.dataset.view));
    link.hidden = !allowed;
    // Pages the role may not use are left out of the page entirely, not just hidden.
    if (!allowed) link.setAttribute('aria-hidden', 'true');
    else link.removeAttribute('aria-hidden');
  }
  show($('console-view'), true);
  if (session.can('alerts:read') && !enrolmentRequired) alerts.start(session);
  if (enrolmentRequired) location.hash = '#/security';
  route();
}

function defaultPage() {
  if (session.enrolmentRequired) return 'security';
  return session.can('alerts:read') ? 'alerts' : 'account';
}

function route() {
  if (!session.me) return;
  const name = location.hash.replace(/^#\/?/, '').split(/[/?]/)[0] || defaultPage();
  const page = PAGES[name];
  if (!page) {
    location.replace(`#/${defaultPage()}`);
    return;
  }
  const allowed = (!page.permission || session.can(page.permission)) && (!session.enrolmentRequired || OPEN_DURING_ENROLMENT.has(name));
  if (current && current !== name) PAGES[current]?.module.leave?.();
  const arrived = current !== name;
  current = name;
  setMenuOpen(false);
  for (const section of document.querySelectorAll('section.view')) section.hidden = true;
  for (const link of $('nav').querySelectorAll('a[data-view]')) {
    if (link.dataset.view === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (!allowed) {
    show($('view-denied'), true);
    document.title = 'Not available · AuroraSOC';
    if (arrived && !booting) focusHeading($('view-denied'));
    return;
  }
  show($(`view-${name}`), true);
  document.title = `${$('nav').querySelector(`a[data-view="${name}"]`)?.textContent ?? name} · AuroraSOC`;
  page.module.enter?.(session);
  // A new page: the focus goes to its heading (else it falls to <body> and a screen reader says
  // nothing). Staying on the page (its filters changed the hash) leaves the focus where it is.
  if (arrived && !booting) focusHeading($(`view-${name}`));
}

function focusHeading(section) {
  section.querySelector('h1')?.focus({ preventScroll: false });
}

/** The phone menu: the pages open from the header's Menu button below 700 px. */
function setMenuOpen(open) {
  $('nav-toggle').setAttribute('aria-expanded', String(open));
  document.querySelector('header.topbar')?.classList.toggle('nav-open', open);
}

function retryAfterSeconds(error) {
  const header = error.headers?.get('retry-after');
  const seconds = Number.parseInt(header ?? '', 10);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = header ? Date.parse(header) : NaN;
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - Date.now()) / 1000)) : 60;
}

function describeWait(seconds) {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return rest ? `${minutes} min ${rest} s` : `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

function unlockSignIn() {
  clearInterval(retryTimer);
  retryTimer = null;
  $('signin-submit').disabled = false;
  $('signin-submit').textContent = 'Sign in';
}

/**
 * 429: count down the wait the server named, with the button disabled. The limit may be per
 * username, so typing another username enables the button again (the server still decides).
 */
function lockSignIn(seconds) {
  const button = $('signin-submit');
  const box = $('signin-message');
  clearInterval(retryTimer);
  const lockedUsername = $('signin-username').value;
  $('signin-username').addEventListener('input', function onInput() {
    if ($('signin-username').value === lockedUsername) return;
    $('signin-username').removeEventListener('input', onInput);
    if (retryTimer !== null) {
      unlockSignIn();
      message(box, '');
    }
  });
  // The message (an alert region) is said once; the countdown runs on the button, which is not
  // announced each second.
  let left = seconds;
  message(box, `Too many sign-in attempts. Try again in ${describeWait(left)}.`, 'error');
  const tick = () => {
    if (left <= 0) {
      unlockSignIn();
      message(box, 'You can try signing in again now.', 'info');
      return;
    }
    button.disabled = true;
    button.textContent = `Sign in (wait ${describeWait(left)})`;
    left -= 1;
  };
  tick();
  retryTimer = setInterval(tick, 1000);
}

async function signIn(event) {
  event.preventDefault();
  const username = $('signin-username').value.trim();
  const password = $('signin-password').value;
  const box = $('signin-message');
  if (!username || !password) {
    message(box, 'Enter your username and password.');
    focusMessage(box);
    return;
  }
  const button = $('signin-submit');
  message(box, 'Signing in…', 'info');
  await busy(button, async () => {
    try {
      // The server sets the httpOnly access_token cookie; the token in the body is not kept.
      const answer = await post('/auth/token', { username, password }, { allow401: true });
      $('signin-password').value = '';
      if (answer?.mfa_required) {
        pendingSignIn = answer.mfa_token;
        message(box, '');
        showSecondStep(true, answer.methods);
        return;
      }
      await openConsole(await get('/auth/me', { allow401: true }));
    } catch (error) {
      $('signin-password').value = '';
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 401) message(box, 'Wrong username or password.');
      else if (error.status === 429) {
        const seconds = retryAfterSeconds(error);
        setTimeout(() => lockSignIn(seconds));
      } else if (error.status === 400) message(box, 'Enter a valid username and password.');
      else message(box, error.message);
      focusMessage(box);
    }
  });
}

/** A refused sign-in: the keyboard (and a screen reader's cursor) goes to the reason, not to <body>. */
function focusMessage(box) {
  setTimeout(() => {
    if (!box.hidden) box.focus();
  });
}

/** The second step of a sign-in: the code (or a recovery code) for the pending mfa_token. */
function showSecondStep(visible, methods = []) {
  show($('signin-form'), !visible);
  show($('signin-mfa-passkey'), visible && methods.includes('webauthn') && webAuthnAvailable());
  show($('signin-mfa-form'), visible);
  $('signin-code').value = '';
  $('signin-recovery').value = '';
  message($('signin-mfa-message'), '');
  if (visible) $('signin-code').focus();
  else pendingSignIn = null;
}

async function secondStep(event) {
  event.preventDefault();
  const code = $('signin-code').value.trim();
  const recovery = $('signin-recovery').value.trim();
  const box = $('signin-mfa-message');
  if (!pendingSignIn) return showSecondStep(false);
  if (!code && !recovery) return message(box, 'Enter the code from your authenticator app, or a recovery code.');
  if (code && !/^\d{6}$/.test(code)) return message(box, 'The code has 6 digits.');
  const factor = code ? { code } : { recovery_code: recovery };
  await busy($('signin-mfa-submit'), async () => {
    try {
      await post('/auth/token/mfa', { mfa_token: pendingSignIn, ...factor }, { allow401: true });
      pendingSignIn = null;
      await openConsole(await get('/auth/me', { allow401: true }));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      $('signin-code').value = '';
      $('signin-recovery').value = '';
      if (error.status === 401) message(box, 'That code was not accepted. Enter the current code; after several wrong ones, go back and sign in again.');
      else if (error.status === 429) message(box, `Too many wrong codes. Try again in ${describeWait(retryAfterSeconds(error))}.`);
      else message(box, error.message);
    }
  });
}

/** The second step with a passkey or security key instead of a code. */
async function secondStepWithPasskey() {
  const box = $('signin-mfa-message');
  await busy($('signin-mfa-passkey'), async () => {
    try {
      const options = await post('/auth/token/mfa/webauthn-options', { mfa_token: pendingSignIn }, { allow401: true });
      const webauthn = await getAssertion(options);
      await post('/auth/token/mfa', { mfa_token: pendingSignIn, webauthn }, { allow401: true });
      pendingSignIn = null;
      await openConsole(await get('/auth/me', { allow401: true }));
    } catch (error) {
      if (!(error instanceof ApiError)) return message(box, 'The browser did not use a passkey (cancelled, or none for this site).');
      if (error.status === 401) message(box, 'That passkey was not accepted; go back and sign in again if it keeps failing.');
      else if (error.status === 429) message(box, `Too many wrong attempts. Try again in ${describeWait(retryAfterSeconds(error))}.`);
      else message(box, error.message);
    }
  });
}

/** Sign-in with a passkey alone: no username, no password. */
async function signInWithPasskey() {
  const box = $('signin-message');
  await busy($('signin-passkey'), async () => {
    try {
      const options = await post('/auth/passkey/options', undefined, { allow401: true });
      const response = await getAssertion(options);
      await post('/auth/passkey', { response }, { allow401: true });
      await openConsole(await get('/auth/me', { allow401: true }));
    } catch (error) {
      if (!(error instanceof ApiError)) return message(box, 'The browser did not use a passkey (cancelled, or none for this site).');
      if (error.status === 401) message(box, 'That passkey was not accepted.');
      else if (error.status === 429) lockSignIn(retryAfterSeconds(error));
      else message(box, error.message);
    }
  });
}

async function signOut() {
  const button = $('signout');
  await busy(button, async () => {
    try {
      await post('/auth/logout', undefined, { allow401: true });
      showSignIn('You have signed out.', 'info');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) showSignIn('You have signed out.', 'info');
      else flash(`Sign-out failed: ${error.message} Your session may still be active.`, 'error');
    }
  });
}

async function boot() {
  const ssoError = takeSsoError();
  void initSso($('signin-sso'));
  $('signin-form').addEventListener('submit', (event) => void signIn(event));
  $('signin-mfa-form').addEventListener('submit', (event) => void secondStep(event));
  $('signin-mfa-cancel').addEventListener('click', () => showSecondStep(false));
  $('signin-mfa-passkey').addEventListener('click', () => void secondStepWithPasskey());
  $('signin-passkey').addEventListener('click', () => void signInWithPasskey());
  $('signin-passkey').hidden = !webAuthnAvailable();
  setStepUpHandler(askForStepUp);
  $('signout').addEventListener('click', () => void signOut());
  $('nav-toggle').addEventListener('click', () => setMenuOpen($('nav-toggle').getAttribute('aria-expanded') !== 'true'));
  // The skip link moves the focus to the page; following its #main would be taken for a route.
  document.querySelector('.skip-link')?.addEventListener('click', (event) => {
    event.preventDefault();
    $('main').focus();
  });
  window.addEventListener('hashchange', route);
  setUnauthenticatedHandler(async (reason) => {
    if (!session.me) return;
    if (session.pendingCredentialChange) {
      // A request raced my own password change: the fresh cookie may still be good.
      await session.pendingCredentialChange;
      try {
        await get('/auth/me', { allow401: true });
        return;
      } catch {
        // really signed out
      }
    }
    if (session.me) showSignIn(reason, 'info');
  });
  for (const page of Object.values(PAGES)) page.module.init?.(session);
  labelTableCells($('main'));
  try {
    await openConsole(await get('/auth/me', { allow401: true }));
    if (ssoError) flash(ssoError, 'error');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) showSignIn(ssoError ?? '');
    else showSignIn(error instanceof ApiError ? error.message : 'The console could not start.');
  } finally {
    booting = false;
  }
}

void boot();
