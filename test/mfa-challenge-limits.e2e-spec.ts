import { bearer, call, createUser, login } from './support/http';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';

/**
 * Every route that stores a WebAuthn challenge counts towards the per-address limit of guessable
 * routes (LOGIN_MAX_PER_IP), so nobody can fill the challenge table from one address: the
 * registration options, the step-up options and the sign-in's second-step options alike.
 */
describe('WebAuthn challenge routes are limited per address', () => {
  const LIMIT = 3;
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let token: string;

  beforeAll(async () => {
    db = await databaseForFile();
    // The set-up's two sign-ins come from 127.0.0.1; each case below from an address of its own.
    t = await startTestApp({ LOGIN_MAX_PER_IP: String(LIMIT), TRUST_PROXY: 'loopback' }, db);
    const admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    const user = await createUser(t.baseUrl, admin, `limits-${Date.now()}@webauthn.test`, 'analyst', `pw-${Date.now()}-limits`);
    token = await login(t.baseUrl, user.username, user.password);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it.each([
    ['registration options', '198.51.100.1', '/api/v1/auth/mfa/webauthn/options', true, undefined],
    ['step-up options', '198.51.100.2', '/api/v1/auth/step-up/webauthn-options', true, undefined],
    ['second-step options of a sign-in', '198.51.100.3', '/api/v1/auth/token/mfa/webauthn-options', false, { mfa_token: 'not-a-pending-sign-in' }],
  ])('%s: the request past LOGIN_MAX_PER_IP in a minute is 429', async (_name, address, path, signedIn, body) => {
    const headers = { 'x-forwarded-for': address, ...(signedIn ? bearer(token) : {}) };
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await call(t.baseUrl, 'POST', path, { headers, body })).status);
    expect(statuses.slice(0, LIMIT)).not.toContain(429);
    expect(statuses[LIMIT]).toBe(429);
  });
});
