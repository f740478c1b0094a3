import { DataSource } from 'typeorm';
import { AuditRecorder } from '../src/audit/audit-recorder';
import { MetricsService } from '../src/metrics/metrics.service';
import { apiKey, bearer, call, cookie, createUser, login, type Reply } from './support/http';
import { decodePart } from './support/jwt';
import { awayFromStepEdge, codeAt, enrolTotp, passwordStep, secondStep, signInWithCode } from './support/mfa';
import { countQueries } from './support/query-counter';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { sleep } from './support/ws';

/**
 * The contract's "Second factors and step-up" on one instance (PostgreSQL with DATABASE_URL, else
 * the embedded database), TOTP and recovery codes: enrolment, the sign-in in two steps, replay,
 * the per-user failure limit and the mfa_token's death, step-up (required, granted, expired),
 * MFA_REQUIRED_ROLES, audit events without secrets, and the metric's methods.
 */

const MFA = '/api/v1/auth/mfa';
/** Short, so that a step-up can be seen expiring. */
const STEP_UP_SECONDS = 4;
const tag = () => Math.random().toString(36).slice(2, 10);

describe('second factors: TOTP, recovery codes and step-up', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let adminToken: string;

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({ LOGIN_MAX_PER_IP: '100000', STEP_UP_MAX_AGE_SECONDS: String(STEP_UP_SECONDS), MFA_REQUIRED_ROLES: 'operator' }, db);
    adminToken = await login(t.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  async function person(role = 'analyst') {
    const username = `${role}-${tag()}@mfa.test`;
    const created = await createUser(t.baseUrl, adminToken, username, role, `pw-${tag()}-${tag()}`);
    const token = await login(t.baseUrl, username, created.password);
    return { id: created.id, username, password: created.password, token };
  }

  async function auditOf(actor: string): Promise<Array<{ type: string; outcome: string; reason: string | null }>> {
    await t.app.get(AuditRecorder).flush();
    const reply = await call(t.baseUrl, 'GET', `/api/v1/audit/events?limit=500`, { headers: bearer(adminToken) });
    return (reply.body as Array<{ type: string; outcome: string; actor: string; reason: string | null }>).filter((e) => e.actor === actor);
  }

  const sessionsOf = async (token: string) =>
    (await call(t.baseUrl, 'GET', '/api/v1/auth/sessions', { headers: bearer(token) })).body as Array<{ auth_methods: string[]; current: boolean }>;

  describe('enrolling TOTP', () => {
    it('gives a pending secret with its otpauth URI and QR code, confirmed by a code into 10 recovery codes', async () => {
      const user = await person();
      expect((await call(t.baseUrl, 'GET', MFA, { headers: bearer(user.token) })).body).toEqual({ totp: false, webauthn: [], recovery_codes_left: 0 });

      const started = await call(t.baseUrl, 'POST', `${MFA}/totp`, { headers: bearer(user.token) });
      expect(started.status).toBe(201);
      expect(Object.keys(started.body).sort()).toEqual(['otpauth_uri', 'qr_svg', 'secret']);
      expect(started.body.secret).toMatch(/^[A-Z2-7]{32}$/);
      const uri = new URL(started.body.otpauth_uri);
      expect(uri.searchParams.get('secret')).toBe(started.body.secret);
      expect(decodeURIComponent(uri.pathname)).toContain(user.username);
      expect(started.body.qr_svg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
      expect(started.headers.get('cache-control')).toBe('no-store');
      // Pending: not a factor yet, and signing in still takes the password alone.
      expect((await call(t.baseUrl, 'GET', MFA, { headers: bearer(user.token) })).body.totp).toBe(false);
      expect((await passwordStep(t.baseUrl, user.username, user.password)).body.access_token).toEqual(expect.any(String));

      const wrong = await call(t.baseUrl, 'POST', `${MFA}/totp/confirm`, { headers: bearer(user.token), body: { code: '000000' } });
      const right = codeAt(started.body.secret);
      expect(wrong.status).toBe(right === '000000' ? 200 : 400);
      await awayFromStepEdge();
      const confirmed = await call(t.baseUrl, 'POST', `${MFA}/totp/confirm`, { headers: bearer(user.token), body: { code: codeAt(started.body.secret) } });
      expect(confirmed.status).toBe(200);
      const codes = confirmed.body.recovery_codes as string[];
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      expect((await call(t.baseUrl, 'GET', MFA, { headers: bearer(user.token) })).body).toEqual({ totp: true, webauthn: [], recovery_codes_left: 10 });
      // Enrolled: a second enrolment must remove this one first.
      expect((await call(t.baseUrl, 'POST', `${MFA}/totp`, { headers: bearer(user.token) })).status).toBe(409);

      const events = await auditOf(user.username);
      expect(events.filter((e) => e.type === 'mfa.enrolled')).toEqual([expect.objectContaining({ outcome: 'success', reason: 'totp' })]);
      const trail = JSON.stringify(events);
      expect(trail).not.toContain(started.body.secret);
      for (const code of codes) expect(trail).not.toContain(code);
    });

    it('refuses bad confirmation bodies with 400 and a confirmation with nothing pending with 409', async () => {
      const user = await person();
      expect((await call(t.baseUrl, 'POST', `${MFA}/totp/confirm`, { headers: bearer(user.token), body: { code: '123456' } })).status).toBe(409);
      await call(t.baseUrl, 'POST', `${MFA}/totp`, { headers: bearer(user.token) });
      for (const body of [{}, { code: 123456 }, { code: '12345' }, { code: 'abcdef' }, { code: '123456', extra: 1 }, { code: null }]) {
        expect([body, (await call(t.baseUrl, 'POST', `${MFA}/totp/confirm`, { headers: bearer(user.token), body })).status]).toEqual([body, 400]);
      }
    });

    it('is for people: an API key gets 403', async () => {
      const key = await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(adminToken), body: { service_name: `mfa-${tag()}` } });
      expect(key.status).toBe(201);
      expect((await call(t.baseUrl, 'POST', `${MFA}/totp`, { headers: apiKey(key.body.api_key) })).status).toBe(403);
    });
  });

  describe('signing in in two steps', () => {
    it('answers the password with mfa_required and no token or cookie, then the code with the token, cookie and a pwd+otp session', async () => {
      const user = await person();
      const { secret } = await enrolTotp(t.baseUrl, user.token);
      const first = await passwordStep(t.baseUrl, user.username, user.password);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ mfa_required: true, mfa_token: expect.any(String), methods: ['totp', 'recovery'], expires_in: 300 });
      expect(first.headers.get('set-cookie')).toBeNull();
      expect(first.body.mfa_token.length).toBeGreaterThanOrEqual(40);

      const second = await secondStep(t.baseUrl, first.body.mfa_token, { code: codeAt(secret) });
      expect(second.status).toBe(200);
      expect(Object.keys(second.body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
      expect(second.headers.get('set-cookie')).toMatch(/^access_token=[^;]+;.*HttpOnly/i);
      expect(second.headers.get('cache-control')).toBe('no-store');
      const token = second.body.access_token as string;
      expect((await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: cookie(token) })).status).toBe(200);
      const current = (await sessionsOf(token)).find((s) => s.current)!;
      expect(current.auth_methods).toEqual(['pwd', 'otp']);
      expect(decodePart(token, 1).sid).toEqual(expect.any(String));

      // The mfa_token was used up.
      expect((await secondStep(t.baseUrl, first.body.mfa_token, { code: codeAt(secret, 1) })).status).toBe(401);
    });

    it('expires an mfa_token when the account changes before the second step: a password reset, a role change, disabling', async () => {
      const patches = [{ password: `reset-${tag()}-${tag()}` }, { role: 'viewer' }, { disabled: true }];
      for (const patch of patches) {
        const user = await person();
        const { secret } = await enrolTotp(t.baseUrl, user.token);
        const first = await passwordStep(t.baseUrl, user.username, user.password);
        expect(first.status).toBe(200);
        const changed = await call(t.baseUrl, 'PATCH', `/api/v1/users/${user.id}`, { headers: bearer(adminToken), body: patch });
        expect(changed.status).toBe(200);
        const second = await secondStep(t.baseUrl, first.body.mfa_token, { code: codeAt(secret) });
        expect({ patch, status: second.status }).toEqual({ patch, status: 401 });
        expect(second.body.message).toBe('this sign-in has expired or was already used; sign in with your password again');
        expect(second.headers.get('set-cookie')).toBeNull();
      }
      // Unchanged, the same two steps sign in (the refusal above is the change's doing).
      const user = await person();
      const { secret } = await enrolTotp(t.baseUrl, user.token);
      const first = await passwordStep(t.baseUrl, user.username, user.password);
      expect((await secondStep(t.baseUrl, first.body.mfa_token, { code: codeAt(secret) })).status).toBe(200);
    });

    it('refuses a wrong code with 401, and a code that was already accepted (replay) with 401', async () => {
      const user = await person();
      const { secret } = await enrolTotp(t.baseUrl, user.token);
      await awayFromStepEdge();
      const code = codeAt(secret);
      const a = (await passwordStep(t.baseUrl, user.username, user.password)).body.mfa_token;
      const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
      const refused = await secondStep(t.baseUrl, a, { code: wrong });
      expect(refused.status).toBe(401);
      expect(refused.body.message).not.toContain(wrong);
      expect((await secondStep(t.baseUrl, a, { code })).status).toBe(200);
      const b = (await passwordStep(t.baseUrl, user.username, user.password)).body.mfa_token;
      expect((await secondStep(t.baseUrl, b, { code })).status).toBe(401);
      // An older step than the one taken is refused too; the next step still works.
      expect((await secondStep(t.baseUrl, b, { code: codeAt(secret, -1) })).status).toBe(401);
      expect((await secondStep(t.baseUrl, b, { code: codeAt(secret, 1) })).status).toBe(200);
      const reasons = (await auditOf(user.username)).filter((e) => e.type === 'mfa.failed').map((e) => e.reason);
      expect(reasons).toEqual(expect.arrayContaining(['totp sign_in: wrong_code', 'totp sign_in: code_reused']));
    });

    it('kills an mfa_token after 5 wrong codes, limits second-factor failures per user (429) apart from the password', async () => {
      const user = await person();
      const { secret, recoveryCodes } = await enrolTotp(t.baseUrl, user.token);
      const token = (await passwordStep(t.baseUrl, user.username, user.password)).body.mfa_token;
      for (let i = 0; i < 5; i++) expect((await secondStep(t.baseUrl, token, { code: '000000' === codeAt(secret) ? '111111' : '000000' })).status).toBe(401);
      // Dead: even the right code does not revive it.
      expect((await secondStep(t.baseUrl, token, { code: codeAt(secret) })).status).toBe(401);
      // The password still works (its own count), but the account's second factor is now locked.
      const next = await passwordStep(t.baseUrl, user.username, user.password);
      expect(next.status).toBe(200);
      const locked = await secondStep(t.baseUrl, next.body.mfa_token, { recovery_code: recoveryCodes[0] });
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      // Locked means not even checked: the recovery code was not used up.
      expect((await call(t.baseUrl, 'GET', MFA, { headers: bearer(user.token) })).body.recovery_codes_left).toBe(10);
      const events = await auditOf(user.username);
      expect(events.filter((e) => e.type === 'mfa.failed' && /too_many_failures/.test(e.reason ?? ''))).toHaveLength(1);
    });

    it('signs in with a recovery code once, never twice, and says so in the session and the audit', async () => {
      const user = await person();
      const { recoveryCodes } = await enrolTotp(t.baseUrl, user.token);
      const first = await passwordStep(t.baseUrl, user.username, user.password);
      // Typed loosely (upper case, spaces for dashes): the same code.
      const typed = recoveryCodes[3].toUpperCase().replace(/-/g, ' ');
      const signedIn = await secondStep(t.baseUrl, first.body.mfa_token, { recovery_code: typed });
      expect(signedIn.status).toBe(200);
      expect((await sessionsOf(signedIn.body.access_token)).find((s) => s.current)!.auth_methods).toEqual(['pwd', 'recovery']);
      const again = await passwordStep(t.baseUrl, user.username, user.password);
      expect((await secondStep(t.baseUrl, again.body.mfa_token, { recovery_code: recoveryCodes[3] })).status).toBe(401);
      expect((await call(t.baseUrl, 'GET', MFA, { headers: bearer(user.token) })).body.recovery_codes_left).toBe(9);
      const events = await auditOf(user.username);
      expect(events.filter((e) => e.type === 'mfa.recovery_code_used')).toEqual([
        expect.objectContaining({ outcome: 'success', reason: 'sign_in; 9 recovery codes left' }),
      ]);
      expect(JSON.stringify(events)).not.toContain(recoveryCodes[3]);
    });

    it('refuses second steps that carry no factor, or two, with 400, and an unknown mfa_token with 401', async () => {
      const user = await person();
      const { secret } = await enrolTotp(t.baseUrl, user.token);
      const token = (await passwordStep(t.baseUrl, user.username, user.password)).body.mfa_token;
      expect((await call(t.baseUrl, 'POST', '/api/v1/auth/token/mfa', { body: { mfa_token: token } })).status).toBe(400);
      expect((await secondStep(t.baseUrl, token, { code: codeAt(secret), recovery_code: 'x' })).status).toBe(400);
      expect((await call(t.baseUrl, 'POST', '/api/v1/auth/token/mfa', { body: { code: '123456' } })).status).toBe(400);
      expect((await secondStep(t.baseUrl, 'not-a-token', { code: codeAt(secret) })).status).toBe(401);
    });
  });

  describe('step-up for sensitive actions', () => {
    const createSomeone = (token: string) =>
      call(t.baseUrl, 'POST', '/api/v1/users', {
        headers: bearer(token),
        body: { username: `made-${tag()}@mfa.test`, password: 'made-password-123', role: 'viewer' },
      });
    const stepUp = (token: string, body: Record<string, unknown>) => call(t.baseUrl, 'POST', '/api/v1/auth/step-up', { headers: bearer(token), body });

    it('asks a session that never verified a factor, grants it after POST /auth/step-up, and asks again once STEP_UP_MAX_AGE_SECONDS have passed', async () => {
      const admin = await person('admin');
      // Enrolling in another session: this session signed in with the password alone.
      const other = await login(t.baseUrl, admin.username, admin.password);
      const { secret } = await enrolTotp(t.baseUrl, other);
      const refused = await createSomeone(admin.token);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ statusCode: 403, error: 'step_up_required' });
      // Not sensitive: still answered.
      expect((await call(t.baseUrl, 'GET', '/api/v1/users', { headers: bearer(admin.token) })).status).toBe(200);

      // Wrong: 403 (the caller stays signed in; only the factor was wrong), not 401.
      expect((await stepUp(admin.token, { code: '000000' === codeAt(secret) ? '111111' : '000000' })).status).toBe(403);
      await awayFromStepEdge();
      expect((await stepUp(admin.token, { code: codeAt(secret) })).status).toBe(204);
      expect((await createSomeone(admin.token)).status).toBe(201);
      await sleep(STEP_UP_SECONDS * 1000 + 300);
      expect((await createSomeone(admin.token)).body.error).toBe('step_up_required');

      const events = await auditOf(admin.username);
      expect(events.filter((e) => e.type === 'mfa.step_up')).toEqual([expect.objectContaining({ outcome: 'success', reason: 'otp' })]);
      expect(events.filter((e) => e.type === 'auth.forbidden' && e.reason === 'step_up_required').length).toBeGreaterThanOrEqual(2);
    });

    it('counts a sign-in with a second factor as a step-up, and takes a recovery code for one', async () => {
      const admin = await person('admin');
      const { secret, recoveryCodes } = await enrolTotp(t.baseUrl, admin.token);
      const fresh = await signInWithCode(t.baseUrl, admin.username, admin.password, codeAt(secret));
      expect((await createSomeone(fresh)).status).toBe(201);
      // The enrolling session verified the factor just now too.
      expect((await createSomeone(admin.token)).status).toBe(201);
      await sleep(STEP_UP_SECONDS * 1000 + 300);
      expect((await createSomeone(fresh)).status).toBe(403);
      expect((await stepUp(fresh, { recovery_code: recoveryCodes[0] })).status).toBe(204);
      expect((await createSomeone(fresh)).status).toBe(201);
    });

    it('guards every sensitive route the contract lists (and adding a factor), and no others', async () => {
      const admin = await person('admin');
      const other = await login(t.baseUrl, admin.username, admin.password);
      await enrolTotp(t.baseUrl, other);
      const victim = await person('viewer');
      const key = await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(adminToken), body: { service_name: `k-${tag()}` } });
      const h = bearer(admin.token);
      const sensitive: Array<[string, string, unknown?]> = [
        ['POST', '/api/v1/auth/api-keys', { service_name: 'x' }],
        ['POST', `/api/v1/auth/api-keys/${key.body.id}/rotate`, {}],
        ['PATCH', `/api/v1/auth/api-keys/${key.body.id}`, { service_name: 'y' }],
        ['DELETE', `/api/v1/auth/api-keys/${key.body.id}`],
        ['POST', '/api/v1/users', { username: `u-${tag()}@mfa.test`, password: 'made-password-123', role: 'viewer' }],
        ['PATCH', `/api/v1/users/${victim.id}`, { role: 'analyst' }],
        ['DELETE', `/api/v1/users/${victim.id}`],
        ['DELETE', `/api/v1/users/${victim.id}/sessions`],
        ['GET', '/api/v1/audit/events/export'],
        ['DELETE', `${MFA}/totp`],
        ['POST', `${MFA}/recovery-codes`],
        // Not in the contract's list, but adding a factor to an account that has one must not be
        // open to a session that never proved it holds the existing one.
        ['POST', `${MFA}/totp`],
        ['POST', `${MFA}/totp/confirm`, { code: '123456' }],
        ['POST', `${MFA}/webauthn/options`],
        ['POST', `${MFA}/webauthn`, { name: 'x', response: {} }],
      ];
      for (const [method, path, body] of sensitive) {
        const reply: Reply = await call(t.baseUrl, method, path, { headers: h, body });
        expect([method, path, reply.status, reply.body?.error]).toEqual([method, path, 403, 'step_up_required']);
      }
      for (const [method, path] of [
        ['GET', '/api/v1/auth/api-keys'],
        ['GET', '/api/v1/users'],
        ['GET', `/api/v1/users/${victim.id}/sessions`],
        ['GET', '/api/v1/audit/events'],
        ['GET', '/api/v1/auth/sessions'],
        ['GET', MFA],
      ]) {
        expect([method, path, (await call(t.baseUrl, method, path, { headers: h })).status]).toEqual([method, path, 200]);
      }
    });

    it('decides enrolment and step-up from memory: a warm request of a person with a factor makes no query', async () => {
      const admin = await person('admin');
      const other = await login(t.baseUrl, admin.username, admin.password);
      await enrolTotp(t.baseUrl, other);
      expect((await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(admin.token) })).status).toBe(200);
      await t.app.get(AuditRecorder).flush();
      const counter = await countQueries(t.app.get(DataSource));
      try {
        for (let i = 0; i < 5; i++) {
          expect((await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(admin.token) })).status).toBe(200);
          expect((await createSomeone(admin.token)).body.error).toBe('step_up_required');
        }
        // Refusals are audited in the background; the decision itself read nothing.
        expect(counter.statements.filter((sql) => !/audit_events|last_seen/i.test(sql))).toEqual([]);
      } finally {
        counter.stop();
      }
    });

    it('does not ask people without a second factor, nor API keys', async () => {
      expect((await createSomeone(adminToken)).status).toBe(201);
      const key = await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', {
        headers: bearer(adminToken),
        body: { service_name: `siem-${tag()}`, permissions: ['audit:read'] },
      });
      expect(key.status).toBe(201);
      expect((await call(t.baseUrl, 'GET', '/api/v1/audit/events/export', { headers: apiKey(key.body.api_key) })).status).toBe(200);
    });

    it('refuses a step-up for a person with no factor (409) and from an API key (403)', async () => {
      const user = await person();
      expect((await stepUp(user.token, { code: '123456' })).status).toBe(409);
      const key = await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(adminToken), body: { service_name: `k-${tag()}` } });
      expect((await call(t.baseUrl, 'POST', '/api/v1/auth/step-up', { headers: apiKey(key.body.api_key), body: { code: '123456' } })).status).toBe(403);
    });
  });

  describe('removing a factor and new recovery codes (both need a step-up)', () => {
    it('makes a new set of recovery codes that replaces the old one', async () => {
      const user = await person();
      const { recoveryCodes } = await enrolTotp(t.baseUrl, user.token);
      const renewed = await call(t.baseUrl, 'POST', `${MFA}/recovery-codes`, { headers: bearer(user.token) });
      expect(renewed.status).toBe(200);
      const fresh = renewed.body.recovery_codes as string[];
      expect(fresh).toHaveLength(10);
      expect(fresh.filter((c) => recoveryCodes.includes(c))).toEqual([]);
      const old = await passwordStep(t.baseUrl, user.username, user.password);
      expect((await secondStep(t.baseUrl, old.body.mfa_token, { recovery_code: recoveryCodes[0] })).status).toBe(401);
      expect((await secondStep(t.baseUrl, old.body.mfa_token, { recovery_code: fresh[0] })).status).toBe(200);
    });

    it('removes TOTP: sign-in takes the password alone again, the recovery codes are gone, and it is audited', async () => {
      const user = await person();
      await enrolTotp(t.baseUrl, user.token);
      expect((await call(t.baseUrl, 'DELETE', `${MFA}/totp`, { headers: bearer(user.token) })).status).toBe(204);
      expect((await call(t.baseUrl, 'GET', MFA, { headers: bearer(user.token) })).body).toEqual({ totp: false, webauthn: [], recovery_codes_left: 0 });
      expect((await passwordStep(t.baseUrl, user.username, user.password)).body.access_token).toEqual(expect.any(String));
      expect((await call(t.baseUrl, 'DELETE', `${MFA}/totp`, { headers: bearer(user.token) })).status).toBe(404);
      expect((await call(t.baseUrl, 'POST', `${MFA}/recovery-codes`, { headers: bearer(user.token) })).status).toBe(409);
      expect((await auditOf(user.username)).filter((e) => e.type === 'mfa.removed')).toEqual([expect.objectContaining({ reason: 'totp' })]);
    });
  });

  describe('MFA_REQUIRED_ROLES', () => {
    it('limits a person of such a role without a factor to enrolment, sessions, me and logout, until they enrol', async () => {
      const operator = await person('operator');
      const h = bearer(operator.token);
      for (const path of ['/api/v1/alerts', '/api/v1/audit/events']) {
        const reply = await call(t.baseUrl, 'GET', path, { headers: h });
        expect([path, reply.status, reply.body.error]).toEqual([path, 403, 'mfa_enrolment_required']);
      }
      expect(
        (
          await call(t.baseUrl, 'POST', '/api/v1/users/me/password', {
            headers: h,
            body: { current_password: operator.password, new_password: 'a-new-password-1234' },
          })
        ).status,
      ).toBe(403);
      for (const path of ['/api/v1/auth/me', '/api/v1/auth/sessions', MFA])
        expect([path, (await call(t.baseUrl, 'GET', path, { headers: h })).status]).toEqual([path, 200]);

      await enrolTotp(t.baseUrl, operator.token);
      expect((await call(t.baseUrl, 'GET', '/api/v1/alerts', { headers: h })).status).toBe(200);
      expect((await call(t.baseUrl, 'POST', '/api/v1/auth/logout', { headers: h })).status).toBe(204);
    });

    it('does not touch other roles', async () => {
      const analyst = await person('analyst');
      expect((await call(t.baseUrl, 'GET', '/api/v1/alerts', { headers: bearer(analyst.token) })).status).toBe(200);
    });
  });

  it('counts second factors in aurora_auth_attempts_total by method (totp, recovery)', async () => {
    const user = await person();
    const { secret, recoveryCodes } = await enrolTotp(t.baseUrl, user.token);
    const first = await passwordStep(t.baseUrl, user.username, user.password);
    await secondStep(t.baseUrl, first.body.mfa_token, { code: '000000' === codeAt(secret) ? '111111' : '000000' });
    await secondStep(t.baseUrl, first.body.mfa_token, { recovery_code: recoveryCodes[0] });
    const text = await t.app.get(MetricsService).registry.metrics();
    expect(text).toMatch(/aurora_auth_attempts_total\{method="totp",outcome="failure",reason="wrong_code"\} [1-9]/);
    expect(text).toMatch(/aurora_auth_attempts_total\{method="recovery",outcome="success",reason="ok"\} [1-9]/);
  });
});
