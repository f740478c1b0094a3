import { bearer, call, createUser, login } from './support/http';
import { enrolTotp, passwordStep } from './support/mfa';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';

/**
 * No input to a second-factor route makes the server answer 5xx: wrong types, nulls, nested junk,
 * WebAuthn "responses" of every wrong shape. Each answer is a 4xx with the contract's error body.
 */

const tag = () => Math.random().toString(36).slice(2, 10);
const JUNK: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  '',
  'x'.repeat(5000),
  [],
  [1, 2],
  {},
  { __proto__: { admin: true } },
  { constructor: { prototype: {} } },
  { id: 5 },
  { id: 'x', response: null },
  { id: 'x', response: { clientDataJSON: 5 } },
  { id: 'x', response: { clientDataJSON: 'not base64 !!' } },
  { id: 'x', response: { clientDataJSON: Buffer.from('{"challenge":5}').toString('base64url') } },
  { id: 'x', response: { clientDataJSON: Buffer.from('{"challenge":"abc","type":"webauthn.get"}').toString('base64url'), attestationObject: 'AAAA' } },
  { id: 'x'.repeat(2000), rawId: 'y', type: 'public-key', response: { clientDataJSON: Buffer.from('[]').toString('base64url') } },
];

describe('second-factor routes never answer 5xx to bad input', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let token: string;
  let mfaToken: string;

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({ LOGIN_MAX_PER_IP: '100000' }, db);
    const admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    const username = `inputs-${tag()}@mfa.test`;
    const created = await createUser(t.baseUrl, admin, username, 'admin', `pw-${tag()}-${tag()}`);
    token = await login(t.baseUrl, username, created.password);
    await enrolTotp(t.baseUrl, token);
    mfaToken = (await passwordStep(t.baseUrl, username, created.password)).body.mfa_token as string;
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('answers every junk body with a 4xx and the JSON error body', async () => {
    const routes: Array<[string, (value: unknown) => Record<string, unknown>, boolean]> = [
      ['/api/v1/auth/mfa/totp/confirm', (v) => ({ code: v }), true],
      ['/api/v1/auth/step-up', (v) => ({ code: v }), true],
      ['/api/v1/auth/step-up', (v) => ({ recovery_code: v }), true],
      ['/api/v1/auth/step-up', (v) => ({ webauthn: v }), true],
      ['/api/v1/auth/mfa/webauthn', (v) => ({ name: 'junk', response: v }), true],
      ['/api/v1/auth/mfa/webauthn', (v) => ({ name: v, response: {} }), true],
      ['/api/v1/auth/token/mfa', (v) => ({ mfa_token: v, code: '123456' }), false],
      ['/api/v1/auth/token/mfa/webauthn-options', (v) => ({ mfa_token: v }), false],
      ['/api/v1/auth/passkey', (v) => ({ response: v }), false],
    ];
    const fives: string[] = [];
    for (const [path, body, signedIn] of routes) {
      for (const value of JUNK) {
        const reply = await call(t.baseUrl, 'POST', path, { headers: signedIn ? bearer(token) : {}, body: body(value) });
        if (reply.status >= 500 || reply.status < 400 || typeof reply.body?.message === 'undefined')
          fives.push(`${path} ${JSON.stringify(body(value)).slice(0, 80)} → ${reply.status}`);
      }
    }
    // The second step with a real mfa_token and junk factors too (it dies after 5 wrong ones: 401 then).
    for (const value of JUNK.slice(0, 8)) {
      const reply = await call(t.baseUrl, 'POST', '/api/v1/auth/token/mfa', { body: { mfa_token: mfaToken, webauthn: value } });
      if (reply.status >= 500 || reply.status < 400) fives.push(`/auth/token/mfa webauthn=${JSON.stringify(value)?.slice(0, 40)} → ${reply.status}`);
    }
    expect(fives).toEqual([]);
  });
});
