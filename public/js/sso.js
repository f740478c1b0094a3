// Single sign-on in the console: a "Sign in with SSO" button when the server says an identity
// provider is configured (GET /auth/providers), and the reason of a failed sign-in, which the
// server sends back as /?sso_error=<reason>, shown in words.
import { get } from './api.js';

const REASONS = {
  provider_unavailable: 'The identity provider could not be reached. Try again in a moment, or sign in with your password.',
  provider_error: 'The identity provider did not sign you in (it refused or the sign-in was cancelled).',
  invalid_state: 'That sign-in link expired or was already used. Start the single sign-on again.',
  invalid_response: 'The identity provider’s answer could not be verified. Start the single sign-on again.',
  missing_username: 'The identity provider did not send a username for you. Ask your administrator.',
  unverified_email: 'Your identity provider has not verified your email address. Verify it there, then sign in again.',
  no_role: 'Your account at the identity provider is in no group that gives access to AuroraSOC. Ask your administrator.',
  account_conflict: 'An AuroraSOC account with your name already exists and signs in with a password. Ask your administrator.',
  role_conflict: 'Your new role would leave AuroraSOC without an administrator. Ask another administrator.',
  user_disabled: 'Your AuroraSOC account is disabled.',
  not_signed_in: 'Sign in first, then confirm it is you again.',
  step_up_mismatch: 'You confirmed as another person at the identity provider. Sign in there as yourself.',
  session_ended: 'Your session ended meanwhile. Sign in again.',
};

/** The sso_error of this page's address, in words, removed from the address bar; null when none. */
export function takeSsoError() {
  const params = new URLSearchParams(window.location.search);
  const reason = params.get('sso_error');
  if (reason === null) return null;
  params.delete('sso_error');
  const rest = params.toString();
  window.history.replaceState(null, '', `${window.location.pathname}${rest ? `?${rest}` : ''}${window.location.hash}`);
  return REASONS[reason] ?? 'Single sign-on failed. Try again, or sign in with your password.';
}

let loginUrl = null;

/** Shows the button when single sign-on is on; it leaves for the provider and comes back here. */
export async function initSso(button) {
  let providers;
  try {
    providers = await get('/auth/providers', { allow401: true });
  } catch {
    return;
  }
  if (typeof providers?.oidc?.login_url !== 'string') return;
  loginUrl = providers.oidc.login_url;
  button.hidden = false;
  button.addEventListener('click', () => {
    const returnTo = `${window.location.pathname}${window.location.hash}`;
    window.location.assign(`${loginUrl}?return_to=${encodeURIComponent(returnTo)}`);
  });
}

/** Whether this session was signed in through the provider, so a step-up can happen there. */
export async function canStepUpAtProvider() {
  if (!loginUrl) return false;
  try {
    const sessions = await get('/auth/sessions');
    return sessions.some((session) => session.current && session.auth_methods.includes('sso'));
  } catch {
    return false;
  }
}

/** A step-up at the provider (a fresh login there), then back to this page. */
export function stepUpAtProvider() {
  const returnTo = `${window.location.pathname}${window.location.hash}`;
  window.location.assign(`${loginUrl}?step_up=1&return_to=${encodeURIComponent(returnTo)}`);
}
