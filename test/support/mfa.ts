import { totpCode } from '../../src/mfa/totp';
import { bearer, call, type Reply } from './http';

/** Helpers for second-factor tests: TOTP codes computed here, as an authenticator app would. */

const STEP_MS = 30_000;
/** Margin before a step ends: a code computed later might reach the server in the next step. */
const MARGIN_MS = 3_000;

/** The code of the step `offset` steps from now (within the server's ±1 window: -1, 0 or 1). */
export function codeAt(secret: string, offset = 0): string {
  return totpCode(secret, Date.now() + offset * STEP_MS);
}

/** Waits, when the current 30-second step is about to end, for the next one to begin. */
export async function awayFromStepEdge(): Promise<void> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < MARGIN_MS) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

export interface Enrolled {
  secret: string;
  recoveryCodes: string[];
}

/**
 * Enrols TOTP for the token's user and confirms it with the previous step's code, so that the
 * current and next steps' codes are still free for the test (each step is accepted once).
 */
export async function enrolTotp(baseUrl: string, token: string): Promise<Enrolled> {
  const started = await call(baseUrl, 'POST', '/api/v1/auth/mfa/totp', { headers: bearer(token) });
  if (started.status !== 201) throw new Error(`TOTP enrolment failed: ${started.status} ${JSON.stringify(started.body)}`);
  const secret = started.body.secret as string;
  await awayFromStepEdge();
  const confirmed = await call(baseUrl, 'POST', '/api/v1/auth/mfa/totp/confirm', { headers: bearer(token), body: { code: codeAt(secret, -1) } });
  if (confirmed.status !== 200) throw new Error(`TOTP confirmation failed: ${confirmed.status} ${JSON.stringify(confirmed.body)}`);
  return { secret, recoveryCodes: confirmed.body.recovery_codes as string[] };
}

/** Step one of a sign-in: the password; the answer (mfa_required, mfa_token …) as it came. */
export function passwordStep(baseUrl: string, username: string, password: string): Promise<Reply> {
  return call(baseUrl, 'POST', '/api/v1/auth/token', { body: { username, password } });
}

/** Step two: the second factor for an mfa_token. */
export function secondStep(baseUrl: string, mfaToken: string, factor: { code?: string; recovery_code?: string }): Promise<Reply> {
  return call(baseUrl, 'POST', '/api/v1/auth/token/mfa', { body: { mfa_token: mfaToken, ...factor } });
}

/** Both steps; the access token. */
export async function signInWithCode(baseUrl: string, username: string, password: string, code: string): Promise<string> {
  const first = await passwordStep(baseUrl, username, password);
  if (first.status !== 200 || !first.body.mfa_token) throw new Error(`password step failed: ${first.status} ${JSON.stringify(first.body)}`);
  const second = await secondStep(baseUrl, first.body.mfa_token, { code });
  if (second.status !== 200) throw new Error(`second step failed: ${second.status} ${JSON.stringify(second.body)}`);
  return second.body.access_token as string;
}
