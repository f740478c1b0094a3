import { MetricsService } from '../src/metrics/metrics.service';
import { bearer, call, createUser, login } from './support/http';
import { passwordStep } from './support/mfa';
import { ADMIN, ALLOWED_ORIGIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { SoftAuthenticator } from './support/webauthn';

/**
 * WebAuthn in the contract's "Second factors and step-up": several named credentials, one used as
 * the second step of a sign-in, a passkey alone, a step-up; the server checks the origin
 * (ALLOWED_ORIGINS), the relying party id, the challenge (single use) and the signature counter.
 * The authenticator is a software one (test/support/webauthn.ts), so each check can be given a bad value.
 */

const MFA = '/api/v1/auth/mfa';
const tag = () => Math.random().toString(36).slice(2, 10);

describe('second factors: WebAuthn credentials and passkeys', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let adminToken: string;

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({ LOGIN_MAX_PER_IP: '100000' }, db);
    adminToken = await login(t.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  async function person(role = 'admin') {
    const username = `${role}-${tag()}@webauthn.test`;
    const created = await createUser(t.baseUrl, adminToken, username, role, `pw-${tag()}-${tag()}`);
    return { id: created.id, username, password: created.password, token: await login(t.baseUrl, username, created.password) };
  }

  async function register(token: string, authenticator: SoftAuthenticator, name: string) {
    const options = await call(t.baseUrl, 'POST', `${MFA}/webauthn/options`, { headers: bearer(token) });
    expect(options.status).toBe(200);
    return call(t.baseUrl, 'POST', `${MFA}/webauthn`, { headers: bearer(token), body: { name, response: authenticator.create(options.body) } });
  }

  const sessionMethods = async (token: string) =>
    ((await call(t.baseUrl, 'GET', '/api/v1/auth/sessions', { headers: bearer(token) })).body as Array<{ current: boolean; auth_methods: string[] }>).find(
      (s) => s.current,
    )!.auth_methods;

  it('refuses a credential id over 1023 bytes with 400 and drops transports WebAuthn does not define (client-controlled with attestation none)', async () => {
    const user = await person();
    const tooLong = await call(t.baseUrl, 'POST', `${MFA}/webauthn/options`, { headers: bearer(user.token) });
    const authenticator = new SoftAuthenticator(ALLOWED_ORIGIN);
    const refused = await call(t.baseUrl, 'POST', `${MFA}/webauthn`, {
      headers: bearer(user.token),
      body: { name: 'Huge', response: authenticator.create(tooLong.body, { credentialIdBytes: 2000 }) },
    });
    expect(refused.status).toBe(400);
    for (const transports of ['usb', [1, { a: 1 }, 'usb', 'made-up'], true]) {
      const fresh = await person();
      const options = await call(t.baseUrl, 'POST', `${MFA}/webauthn/options`, { headers: bearer(fresh.token) });
      const created = await call(t.baseUrl, 'POST', `${MFA}/webauthn`, {
        headers: bearer(fresh.token),
        body: { name: 'Odd transports', response: authenticator.create(options.body, { transports }) },
      });
      expect(created.status).toBe(201);
    }
  });

  it('registers several named credentials; the first comes with the recovery codes; options name this relying party', async () => {
    const user = await person();
    const options = await call(t.baseUrl, 'POST', `${MFA}/webauthn/options`, { headers: bearer(user.token) });
    expect(options.body).toMatchObject({
      rp: { id: new URL(ALLOWED_ORIGIN).hostname, name: 'AuroraSOC' },
      user: { name: user.username },
      challenge: expect.any(String),
    });
    const laptop = new SoftAuthenticator(ALLOWED_ORIGIN);
    const first = await call(t.baseUrl, 'POST', `${MFA}/webauthn`, {
      headers: bearer(user.token),
      body: { name: 'Laptop', response: laptop.create(options.body) },
    });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ id: expect.any(String), name: 'Laptop', created_at: expect.any(String), recovery_codes: expect.any(Array) });
    expect(first.body.recovery_codes).toHaveLength(10);
    const key = await register(user.token, new SoftAuthenticator(ALLOWED_ORIGIN), 'YubiKey');
    expect(key.status).toBe(201);
    expect(key.body.recovery_codes).toBeUndefined();
    const status = (await call(t.baseUrl, 'GET', MFA, { headers: bearer(user.token) })).body;
    expect(status).toMatchObject({ totp: false, recovery_codes_left: 10 });
    expect(status.webauthn.map((c: { name: string }) => c.name)).toEqual(['Laptop', 'YubiKey']);
  });

  it('refuses a registration whose challenge was already used, from another origin, or for another relying party (400)', async () => {
    const user = await person();
    const authenticator = new SoftAuthenticator(ALLOWED_ORIGIN);
    const options = (await call(t.baseUrl, 'POST', `${MFA}/webauthn/options`, { headers: bearer(user.token) })).body;
    const response = authenticator.create(options);
    expect((await call(t.baseUrl, 'POST', `${MFA}/webauthn`, { headers: bearer(user.token), body: { name: 'one', response } })).status).toBe(201);
    expect((await call(t.baseUrl, 'POST', `${MFA}/webauthn`, { headers: bearer(user.token), body: { name: 'again', response } })).status).toBe(400);
    for (const overrides of [{ origin: 'https://evil.example' }, { rpId: 'evil.example' }, { type: 'webauthn.get' }]) {
      const fresh = (await call(t.baseUrl, 'POST', `${MFA}/webauthn/options`, { headers: bearer(user.token) })).body;
      const reply = await call(t.baseUrl, 'POST', `${MFA}/webauthn`, {
        headers: bearer(user.token),
        body: { name: 'bad', response: authenticator.create(fresh, overrides) },
      });
      expect([overrides, reply.status]).toEqual([overrides, 400]);
    }
    for (const body of [{ name: '', response: {} }, { name: 'x' }, { name: 'x'.repeat(65), response: {} }, { name: 'x', response: 'text' }]) {
      expect((await call(t.baseUrl, 'POST', `${MFA}/webauthn`, { headers: bearer(user.token), body })).status).toBe(400);
    }
  });

  it('finishes a sign-in with a credential as the second step, once per challenge, and refuses a counter that did not grow', async () => {
    const user = await person();
    const authenticator = new SoftAuthenticator(ALLOWED_ORIGIN);
    expect((await register(user.token, authenticator, 'Laptop')).status).toBe(201);
    const first = await passwordStep(t.baseUrl, user.username, user.password);
    expect(first.body.methods).toEqual(['webauthn', 'recovery']);
    const options = await call(t.baseUrl, 'POST', '/api/v1/auth/token/mfa/webauthn-options', { body: { mfa_token: first.body.mfa_token } });
    expect(options.status).toBe(200);
    expect(options.body.allowCredentials).toHaveLength(1);
    const assertion = authenticator.get(options.body);
    const signedIn = await call(t.baseUrl, 'POST', '/api/v1/auth/token/mfa', { body: { mfa_token: first.body.mfa_token, webauthn: assertion } });
    expect(signedIn.status).toBe(200);
    expect(await sessionMethods(signedIn.body.access_token)).toEqual(['pwd', 'webauthn']);

    // The same assertion again (its challenge is used up), then an assertion whose counter went back.
    const second = await passwordStep(t.baseUrl, user.username, user.password);
    expect((await call(t.baseUrl, 'POST', '/api/v1/auth/token/mfa', { body: { mfa_token: second.body.mfa_token, webauthn: assertion } })).status).toBe(401);
    const again = (await call(t.baseUrl, 'POST', '/api/v1/auth/token/mfa/webauthn-options', { body: { mfa_token: second.body.mfa_token } })).body;
    const cloned = authenticator.get(again, { counter: 1 });
    expect((await call(t.baseUrl, 'POST', '/api/v1/auth/token/mfa', { body: { mfa_token: second.body.mfa_token, webauthn: cloned } })).status).toBe(401);
    // A challenge made for one pending sign-in does not finish another.
    const third = await passwordStep(t.baseUrl, user.username, user.password);
    const foreign = authenticator.get(
      (await call(t.baseUrl, 'POST', '/api/v1/auth/token/mfa/webauthn-options', { body: { mfa_token: second.body.mfa_token } })).body,
    );
    expect((await call(t.baseUrl, 'POST', '/api/v1/auth/token/mfa', { body: { mfa_token: third.body.mfa_token, webauthn: foreign } })).status).toBe(401);
  });

  it('signs in with a passkey alone (discoverable credential): a stepped-up webauthn session; the response works once', async () => {
    const user = await person();
    const authenticator = new SoftAuthenticator(ALLOWED_ORIGIN);
    expect((await register(user.token, authenticator, 'Phone')).status).toBe(201);
    const options = await call(t.baseUrl, 'POST', '/api/v1/auth/passkey/options', {});
    expect(options.status).toBe(200);
    expect(options.body.allowCredentials ?? []).toEqual([]);
    expect(options.body.userVerification).toBe('required');
    const response = authenticator.get(options.body);
    const signedIn = await call(t.baseUrl, 'POST', '/api/v1/auth/passkey', { body: { response } });
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers.get('set-cookie')).toMatch(/^access_token=/);
    const token = signedIn.body.access_token as string;
    expect((await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(token) })).body.sub).toBe(user.username);
    expect(await sessionMethods(token)).toEqual(['webauthn']);
    // A sensitive action straight away: the passkey was the step-up.
    expect((await call(t.baseUrl, 'GET', '/api/v1/audit/events/export', { headers: bearer(token) })).status).toBe(200);
    expect((await call(t.baseUrl, 'POST', '/api/v1/auth/passkey', { body: { response } })).status).toBe(401);
    // Naming another user than the credential's: refused.
    const other = (await call(t.baseUrl, 'POST', '/api/v1/auth/passkey/options', {})).body;
    const forged = authenticator.get(other, { userHandle: Buffer.from(adminToken.slice(0, 36)).toString('base64url') });
    expect((await call(t.baseUrl, 'POST', '/api/v1/auth/passkey', { body: { response: forged } })).status).toBe(401);
    // From another origin: refused.
    const fresh = (await call(t.baseUrl, 'POST', '/api/v1/auth/passkey/options', {})).body;
    expect(
      (await call(t.baseUrl, 'POST', '/api/v1/auth/passkey', { body: { response: authenticator.get(fresh, { origin: 'https://evil.example' }) } })).status,
    ).toBe(401);
    const text = await t.app.get(MetricsService).registry.metrics();
    expect(text).toMatch(/aurora_auth_attempts_total\{method="passkey",outcome="success",reason="ok"\} [1-9]/);
  });

  it('asks a session older than the credential for a step-up before removing one, takes the credential for it, and keeps the others', async () => {
    const user = await person();
    const older = await login(t.baseUrl, user.username, user.password);
    const authenticator = new SoftAuthenticator(ALLOWED_ORIGIN);
    const laptop = await register(user.token, authenticator, 'Laptop');
    expect((await register(user.token, authenticator, 'Key')).status).toBe(201);
    const refused = await call(t.baseUrl, 'DELETE', `${MFA}/webauthn/${laptop.body.id}`, { headers: bearer(older) });
    expect([refused.status, refused.body.error]).toEqual([403, 'step_up_required']);
    const options = await call(t.baseUrl, 'POST', '/api/v1/auth/step-up/webauthn-options', { headers: bearer(older) });
    expect(options.status).toBe(200);
    expect(options.body.allowCredentials).toHaveLength(2);
    expect(
      (await call(t.baseUrl, 'POST', '/api/v1/auth/step-up', { headers: bearer(older), body: { webauthn: authenticator.get(options.body) } })).status,
    ).toBe(204);
    expect((await call(t.baseUrl, 'DELETE', `${MFA}/webauthn/${laptop.body.id}`, { headers: bearer(older) })).status).toBe(204);
    expect((await call(t.baseUrl, 'DELETE', `${MFA}/webauthn/${laptop.body.id}`, { headers: bearer(older) })).status).toBe(404);
    const status = (await call(t.baseUrl, 'GET', MFA, { headers: bearer(user.token) })).body;
    expect(status.webauthn.map((c: { name: string }) => c.name)).toEqual(['Key']);
    expect(status.recovery_codes_left).toBe(10);
    const text = await t.app.get(MetricsService).registry.metrics();
    expect(text).toMatch(/aurora_auth_attempts_total\{method="webauthn",outcome="success",reason="ok"\} [1-9]/);
  });
});
