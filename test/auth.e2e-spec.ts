import { generateKeyPairSync, randomUUID } from 'node:crypto';
import * as jwt from 'jsonwebtoken';
import { ADMIN, ALLOWED_ORIGIN, databaseForFile, startTestApp, TEST_SECRET, TestApp } from './support/test-app';
import { bearer, call, cookie, createUser, login, Reply } from './support/http';
import { claimsFor, claimsLike, decodePart, forgeToken, nowSeconds, tamper } from './support/jwt';

const PREVIOUS_SECRET = 'previous-secret-0123456789-abcdefghijkl';
const OTHER_SECRET = 'attacker-secret-0123456789-abcdefghijkl';
const EVIL_ORIGIN = 'http://evil.test';

/** The attacker's view: everything here goes over real HTTP to the real app. */
describe('authentication (attacked from outside)', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let adminToken: string;
  let viewer: Awaited<ReturnType<typeof createUser>>;
  let viewerToken: string;

  const me = (headers: Record<string, string>) => call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers });
  const loginReply = (username: unknown, password: unknown, headers: Record<string, string> = {}) =>
    call(t.baseUrl, 'POST', '/api/v1/auth/token', { body: { username, password }, headers });

  function expectUnauthorized(reply: Reply): void {
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe('Bearer');
    expect(reply.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect(typeof reply.body.message).toBe('string');
  }

  beforeAll(async () => {
    db = await databaseForFile();
    // Limits high enough that this file's many logins are never throttled (rate-limit.e2e-spec covers them).
    t = await startTestApp({ LOGIN_MAX_PER_IP: '100000', LOGIN_MAX_FAILURES_PER_USER: '100000', JWT_SECRET_KEY_PREVIOUS: PREVIOUS_SECRET }, db);
    adminToken = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    viewer = await createUser(t.baseUrl, adminToken, 'viewer@test.local', 'viewer', 'viewer-password-123');
    viewerToken = await login(t.baseUrl, viewer.username, viewer.password);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  describe('login', () => {
    it('answers 200 with access_token, token_type bearer and expires_in', async () => {
      const reply = await loginReply(viewer.username, viewer.password);
      expect(reply.status).toBe(200);
      expect(Object.keys(reply.body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
      expect(reply.body.token_type).toBe('bearer');
      expect(reply.body.expires_in).toBe(24 * 3600);
      expect(reply.body.access_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    });

    it('sets the access_token cookie HttpOnly, SameSite=Strict, Path=/, Max-Age=expires_in and not Secure outside production', async () => {
      const reply = await loginReply(viewer.username, viewer.password);
      const cookies = reply.headers.getSetCookie();
      expect(cookies).toHaveLength(1);
      const [pair, ...attributes] = cookies[0].split(';').map((part) => part.trim());
      expect(pair).toBe(`access_token=${reply.body.access_token}`);
      const lower = attributes.map((attribute) => attribute.toLowerCase());
      expect(lower).toContain('httponly');
      expect(lower).toContain('samesite=strict');
      expect(lower).toContain('path=/');
      expect(lower).toContain(`max-age=${reply.body.expires_in}`);
      expect(lower).not.toContain('secure');
    });

    it('forbids caching the token response', async () => {
      const reply = await loginReply(viewer.username, viewer.password);
      expect(reply.headers.get('cache-control')).toMatch(/\bno-store\b/);
    });

    it('issues an HS256 JWT with sub, role, exp, iat and a unique jti', async () => {
      const first = (await loginReply(viewer.username, viewer.password)).body;
      const second = (await loginReply(viewer.username, viewer.password)).body;
      expect(decodePart(first.access_token, 0).alg).toBe('HS256');
      const payload = jwt.verify(first.access_token, TEST_SECRET, { algorithms: ['HS256'] }) as jwt.JwtPayload;
      expect(payload).toMatchObject({ sub: viewer.username, role: 'viewer' });
      expect(Math.abs(payload.iat! - nowSeconds())).toBeLessThanOrEqual(5);
      expect(payload.exp! - payload.iat!).toBe(first.expires_in);
      expect(typeof payload.jti).toBe('string');
      expect(payload.jti).not.toBe(decodePart(second.access_token, 1).jti);
    });

    it('signs with JWT_SECRET_KEY even when a previous secret is configured', async () => {
      const token = (await loginReply(viewer.username, viewer.password)).body.access_token;
      expect(() => jwt.verify(token, TEST_SECRET, { algorithms: ['HS256'] })).not.toThrow();
      expect(() => jwt.verify(token, PREVIOUS_SECRET, { algorithms: ['HS256'] })).toThrow();
    });

    it('gives the same 401 body for a wrong password and an unknown user', async () => {
      const requestId = { 'x-request-id': 'same-request-id' };
      const wrongPassword = await loginReply(viewer.username, 'not-the-password-1', requestId);
      const unknownUser = await loginReply('nobody@test.local', 'not-the-password-1', requestId);
      expectUnauthorized(wrongPassword);
      expectUnauthorized(unknownUser);
      expect(unknownUser.body).toEqual(wrongPassword.body);
      expect(wrongPassword.headers.getSetCookie()).toEqual([]);
    });

    it('refuses a disabled user with that same 401, even with the right password', async () => {
      const user = await createUser(t.baseUrl, adminToken, 'disabled-login@test.local', 'analyst');
      expect((await call(t.baseUrl, 'PATCH', `/api/v1/users/${user.id}`, { headers: bearer(adminToken), body: { disabled: true } })).status).toBe(200);
      const requestId = { 'x-request-id': 'disabled-request-id' };
      const disabled = await loginReply(user.username, user.password, requestId);
      expectUnauthorized(disabled);
      expect(disabled.body).toEqual((await loginReply('nobody@test.local', user.password, requestId)).body);
    });

    it.each([
      ['an empty object', {}],
      ['a missing password', { username: 'admin@test.local' }],
      ['a missing username', { password: 'admin-password-123' }],
      ['a numeric username', { username: 42, password: 'admin-password-123' }],
      ['an empty password', { username: 'admin@test.local', password: '' }],
      ['an object as password', { username: 'admin@test.local', password: { $ne: null } }],
      ['an unknown field', { username: 'admin@test.local', password: 'admin-password-123', role: 'admin' }],
      ['an array', [{ username: 'admin@test.local', password: 'admin-password-123' }]],
      ['a username over 100 characters', { username: `${'a'.repeat(101)}`, password: 'admin-password-123' }],
      ['a password over 1024 characters', { username: 'admin@test.local', password: 'p'.repeat(1025) }],
    ])('answers 400 to %s', async (_name, body) => {
      const reply = await call(t.baseUrl, 'POST', '/api/v1/auth/token', { body });
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(reply.headers.getSetCookie()).toEqual([]);
    });

    it('answers 400 to a username with a NUL (no body may hold one), and 401 to a lone surrogate; never 5xx', async () => {
      for (const username of ['admin\u0000@test.local', '\u0000']) {
        const reply = await loginReply(username, 'whatever-password-1');
        expect(reply.status).toBe(400);
        expect(reply.body.message).toMatch(/NUL/);
      }
      expectUnauthorized(await loginReply('a\ud800b', 'whatever-password-1'));
    });

    it('answers 400 to a body that is not JSON', async () => {
      const reply = await call(t.baseUrl, 'POST', '/api/v1/auth/token', { raw: 'username=a&password=b', headers: { 'content-type': 'application/json' } });
      expect(reply.status).toBe(400);
    });

    it('takes about the same time for a wrong password as for an unknown user', async () => {
      const known = await createUser(t.baseUrl, adminToken, 'timing@test.local', 'viewer');
      const timed = async (username: string) => {
        const started = performance.now();
        expect((await loginReply(username, 'wrong-password-for-timing')).status).toBe(401);
        return performance.now() - started;
      };
      await timed(known.username);
      await timed(`warm-up-${randomUUID()}@test.local`);
      const knownTimes: number[] = [];
      const unknownTimes: number[] = [];
      for (let i = 0; i < 8; i++) {
        knownTimes.push(await timed(known.username));
        unknownTimes.push(await timed(`unknown-${randomUUID()}@test.local`));
      }
      const median = (values: number[]) => {
        const sorted = [...values].sort((a, b) => a - b);
        return (sorted[3] + sorted[4]) / 2;
      };
      const ratio = median(knownTimes) / median(unknownTimes);
      expect(ratio).toBeGreaterThan(0.5);
      expect(ratio).toBeLessThan(2);
    });
  });

  describe('tokens the server must refuse with 401 and WWW-Authenticate: Bearer', () => {
    it('accepts a well-formed HS256 token signed with JWT_SECRET_KEY (the forgeries below differ only where named)', async () => {
      const reply = await me(bearer(forgeToken(claimsLike(viewerToken))));
      expect(reply.status).toBe(200);
      expect(reply.body.sub).toBe(viewer.username);
    });

    it.each(['none', 'None', 'NONE'])('refuses a token with alg %s and no signature', async (alg) => {
      expectUnauthorized(await me(bearer(forgeToken(claimsFor(ADMIN.username, 'admin'), { alg, signature: '' }))));
    });

    it('refuses a token with alg none and a signature', async () => {
      expectUnauthorized(await me(bearer(forgeToken(claimsFor(ADMIN.username, 'admin'), { alg: 'none', hmac: 'sha256' }))));
    });

    it('refuses a token signed with HS384', async () => {
      expectUnauthorized(await me(bearer(forgeToken(claimsFor(ADMIN.username, 'admin'), { alg: 'HS384' }))));
    });

    it('refuses a token signed with HS512', async () => {
      expectUnauthorized(await me(bearer(forgeToken(claimsFor(ADMIN.username, 'admin'), { alg: 'HS512' }))));
    });

    it('refuses an RS256 header over an HMAC made with the secret (algorithm confusion)', async () => {
      expectUnauthorized(await me(bearer(forgeToken(claimsFor(ADMIN.username, 'admin'), { alg: 'RS256', hmac: 'sha256' }))));
    });

    it('refuses a genuine RS256 token', async () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const token = jwt.sign(claimsFor(ADMIN.username, 'admin'), privateKey, { algorithm: 'RS256' });
      expectUnauthorized(await me(bearer(token)));
    });

    it('refuses a token whose payload was tampered with', async () => {
      expect((await me(bearer(viewerToken))).status).toBe(200);
      expectUnauthorized(await me(bearer(tamper(viewerToken, { sub: ADMIN.username, role: 'admin' }))));
      expectUnauthorized(await me(bearer(tamper(viewerToken, { exp: nowSeconds() + 10 * 365 * 86400 }))));
    });

    it('refuses an expired token', async () => {
      expectUnauthorized(await me(bearer(forgeToken(claimsFor(viewer.username, 'viewer', { iat: nowSeconds() - 120, exp: nowSeconds() - 1 })))));
    });

    it('refuses a token without exp', async () => {
      const claims = claimsFor(viewer.username, 'viewer');
      delete claims.exp;
      expectUnauthorized(await me(bearer(forgeToken(claims))));
    });

    it('refuses a token without iat', async () => {
      const claims = claimsFor(viewer.username, 'viewer');
      delete claims.iat;
      expectUnauthorized(await me(bearer(forgeToken(claims))));
    });

    it('refuses a token whose nbf is in the future', async () => {
      expectUnauthorized(await me(bearer(forgeToken(claimsFor(viewer.username, 'viewer', { nbf: nowSeconds() + 3600 })))));
    });

    it('refuses a token signed with another secret', async () => {
      expectUnauthorized(await me(bearer(forgeToken(claimsFor(viewer.username, 'viewer'), { secret: OTHER_SECRET }))));
      expectUnauthorized(await me(bearer(jwt.sign(claimsFor(viewer.username, 'viewer'), OTHER_SECRET, { algorithm: 'HS256' }))));
    });

    it('refuses a token for a subject that does not exist', async () => {
      expectUnauthorized(await me(bearer(forgeToken(claimsFor('ghost@test.local', 'admin')))));
    });

    it.each([
      ['garbage', 'not-a-jwt'],
      ['an empty Bearer', ''],
      ['three empty segments', '..'],
    ])('refuses %s as a Bearer token', async (_name, token) => {
      expectUnauthorized(await me({ authorization: `Bearer ${token}` }));
    });

    it('refuses a request without credentials', async () => {
      expectUnauthorized(await me({}));
    });

    it('accepts a token signed with JWT_SECRET_KEY_PREVIOUS', async () => {
      const reply = await me(bearer(forgeToken(claimsLike(viewerToken), { secret: PREVIOUS_SECRET })));
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ sub: viewer.username, role: 'viewer' });
    });

    it('refuses an expired token signed with JWT_SECRET_KEY_PREVIOUS', async () => {
      const claims = claimsFor(viewer.username, 'viewer', { iat: nowSeconds() - 120, exp: nowSeconds() - 1 });
      expectUnauthorized(await me(bearer(forgeToken(claims, { secret: PREVIOUS_SECRET }))));
    });
  });

  describe('logout', () => {
    it('answers 204, clears the cookie and revokes the presented token', async () => {
      const user = await createUser(t.baseUrl, adminToken, 'logout@test.local', 'analyst');
      const token = await login(t.baseUrl, user.username, user.password);
      const other = await login(t.baseUrl, user.username, user.password);
      const reply = await call(t.baseUrl, 'POST', '/api/v1/auth/logout', { headers: bearer(token) });
      expect(reply.status).toBe(204);
      const cleared = reply.headers.getSetCookie();
      expect(cleared).toHaveLength(1);
      expect(cleared[0]).toMatch(/^access_token=;/);
      expect(cleared[0]).toMatch(/Expires=Thu, 01 Jan 1970 00:00:00 GMT/i);
      expectUnauthorized(await me(bearer(token)));
      expectUnauthorized(await me(cookie(token)));
      expectUnauthorized(await call(t.baseUrl, 'POST', '/api/v1/auth/logout', { headers: bearer(token) }));
      expect((await me(bearer(other))).status).toBe(200);
    });

    it('revokes a cookie-borne token too', async () => {
      const user = await createUser(t.baseUrl, adminToken, 'logout-cookie@test.local', 'analyst');
      const token = await login(t.baseUrl, user.username, user.password);
      expect((await call(t.baseUrl, 'POST', '/api/v1/auth/logout', { headers: { ...cookie(token), origin: ALLOWED_ORIGIN } })).status).toBe(204);
      expectUnauthorized(await me(cookie(token)));
    });

    it('needs authentication', async () => {
      expectUnauthorized(await call(t.baseUrl, 'POST', '/api/v1/auth/logout'));
    });
  });

  describe('credential changes', () => {
    it('refuses a token issued before a role change, while a login right after the change works', async () => {
      const user = await createUser(t.baseUrl, adminToken, 'promoted@test.local', 'viewer');
      const before = await login(t.baseUrl, user.username, user.password);
      expect((await me(bearer(before))).status).toBe(200);
      const patched = await call(t.baseUrl, 'PATCH', `/api/v1/users/${user.id}`, { headers: bearer(adminToken), body: { role: 'analyst' } });
      expect(patched.status).toBe(200);
      expectUnauthorized(await me(bearer(before)));
      const after = await login(t.baseUrl, user.username, user.password);
      const reply = await me(bearer(after));
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ sub: user.username, role: 'analyst' });
      expect(decodePart(after, 1).role).toBe('analyst');
    });

    it('refuses the token of a user who was disabled', async () => {
      const user = await createUser(t.baseUrl, adminToken, 'to-disable@test.local', 'analyst');
      const token = await login(t.baseUrl, user.username, user.password);
      expect((await call(t.baseUrl, 'PATCH', `/api/v1/users/${user.id}`, { headers: bearer(adminToken), body: { disabled: true } })).status).toBe(200);
      expectUnauthorized(await me(bearer(token)));
      // Re-enabling does not bring old tokens back.
      expect((await call(t.baseUrl, 'PATCH', `/api/v1/users/${user.id}`, { headers: bearer(adminToken), body: { disabled: false } })).status).toBe(200);
      expectUnauthorized(await me(bearer(token)));
    });
  });

  describe('where credentials may come from', () => {
    it('authenticates with the access_token cookie', async () => {
      const reply = await me(cookie(viewerToken));
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ sub: viewer.username, auth_method: 'jwt' });
    });

    it('gives the Bearer header precedence over the cookie', async () => {
      const reply = await me({ ...bearer(viewerToken), ...cookie(adminToken) });
      expect(reply.status).toBe(200);
      expect(reply.body.sub).toBe(viewer.username);
    });

    it('does not fall back to a valid cookie when the Bearer token is bad', async () => {
      expectUnauthorized(await me({ ...bearer(forgeToken(claimsFor(viewer.username, 'viewer'), { secret: OTHER_SECRET })), ...cookie(adminToken) }));
      expectUnauthorized(await me({ authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`, ...cookie(adminToken) }));
    });

    it('refuses ?token= on a REST route', async () => {
      expectUnauthorized(await call(t.baseUrl, 'GET', `/api/v1/auth/me?token=${adminToken}`));
      expectUnauthorized(await call(t.baseUrl, 'GET', `/api/v1/auth/me?access_token=${adminToken}`));
    });
  });

  describe('cross-site requests with the cookie (CSRF)', () => {
    const newUser = (suffix: string) => ({ username: `csrf-${suffix}-${randomUUID().slice(0, 8)}@test.local`, password: 'csrf-password-123', role: 'viewer' });
    const usernames = async () =>
      ((await call(t.baseUrl, 'GET', '/api/v1/users', { headers: bearer(adminToken) })).body as Array<{ username: string }>).map((u) => u.username);

    it('refuses a cookie-authenticated POST from a foreign Origin with 403, changing nothing', async () => {
      const body = newUser('evil');
      const reply = await call(t.baseUrl, 'POST', '/api/v1/users', { headers: { ...cookie(adminToken), origin: EVIL_ORIGIN }, body });
      expect(reply.status).toBe(403);
      expect(reply.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
      expect(await usernames()).not.toContain(body.username);
    });

    it('refuses a cookie-authenticated POST whose Referer is foreign when Origin is absent', async () => {
      const body = newUser('referer');
      const reply = await call(t.baseUrl, 'POST', '/api/v1/users', { headers: { ...cookie(adminToken), referer: `${EVIL_ORIGIN}/page` }, body });
      expect(reply.status).toBe(403);
      expect(await usernames()).not.toContain(body.username);
    });

    it.each(['PATCH', 'DELETE'])('refuses a cookie-authenticated %s from a foreign Origin', async (method) => {
      const user = await createUser(t.baseUrl, adminToken, `csrf-${method.toLowerCase()}@test.local`, 'viewer');
      const reply = await call(t.baseUrl, method, `/api/v1/users/${user.id}`, {
        headers: { ...cookie(adminToken), origin: EVIL_ORIGIN },
        ...(method === 'PATCH' ? { body: { role: 'admin' } } : {}),
      });
      expect(reply.status).toBe(403);
      const stored = ((await call(t.baseUrl, 'GET', '/api/v1/users', { headers: bearer(adminToken) })).body as Array<{ id: string; role: string }>).find(
        (u) => u.id === user.id,
      );
      expect(stored?.role).toBe('viewer');
    });

    it('refuses a cookie-authenticated logout from a foreign Origin, leaving the token valid', async () => {
      const token = await login(t.baseUrl, viewer.username, viewer.password);
      expect((await call(t.baseUrl, 'POST', '/api/v1/auth/logout', { headers: { ...cookie(token), origin: EVIL_ORIGIN } })).status).toBe(403);
      expect((await me(cookie(token))).status).toBe(200);
    });

    it('lets a cookie-authenticated POST from the allowed origin through', async () => {
      const body = newUser('allowed');
      const reply = await call(t.baseUrl, 'POST', '/api/v1/users', { headers: { ...cookie(adminToken), origin: ALLOWED_ORIGIN }, body });
      expect(reply.status).toBe(201);
      expect(await usernames()).toContain(body.username);
    });

    it('lets a cookie-authenticated GET from a foreign Origin through (it changes nothing)', async () => {
      expect((await me({ ...cookie(viewerToken), origin: EVIL_ORIGIN })).status).toBe(200);
    });

    it('does not apply the origin rule to Bearer requests', async () => {
      const reply = await call(t.baseUrl, 'POST', '/api/v1/users', { headers: { ...bearer(adminToken), origin: EVIL_ORIGIN }, body: newUser('bearer') });
      expect(reply.status).toBe(201);
    });
  });

  describe('permissions and /me', () => {
    it('answers 403 to a viewer creating a user, and creates nothing', async () => {
      const username = `by-viewer-${randomUUID().slice(0, 8)}@test.local`;
      const reply = await call(t.baseUrl, 'POST', '/api/v1/users', {
        headers: bearer(viewerToken),
        body: { username, password: 'viewer-made-123', role: 'admin' },
      });
      expect(reply.status).toBe(403);
      expect(reply.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
      expect(reply.headers.get('www-authenticate')).toBeNull();
      const list = await call(t.baseUrl, 'GET', '/api/v1/users', { headers: bearer(adminToken) });
      expect((list.body as Array<{ username: string }>).map((u) => u.username)).not.toContain(username);
    });

    it('answers 403 to a viewer listing users', async () => {
      expect((await call(t.baseUrl, 'GET', '/api/v1/users', { headers: bearer(viewerToken) })).status).toBe(403);
    });

    it('answers /me with sub, role, permissions and auth_method', async () => {
      const viewerMe = await me(bearer(viewerToken));
      expect(viewerMe.status).toBe(200);
      expect(viewerMe.body).toEqual({
        sub: viewer.username,
        role: 'viewer',
        permissions: ['alerts:read'],
        auth_method: 'jwt',
        session_id: decodePart(viewerToken, 1).sid,
      });
      const adminMe = await me(bearer(adminToken));
      expect(adminMe.body).toMatchObject({ sub: ADMIN.username, role: 'admin', auth_method: 'jwt' });
      expect([...adminMe.body.permissions].sort()).toEqual(['alerts:read', 'alerts:write', 'audit:read', 'users:manage']);
      expect(adminMe.body).not.toHaveProperty('key_prefix');
    });
  });

  describe('with COOKIE_SECURE=true', () => {
    let secureDb: Awaited<ReturnType<typeof databaseForFile>>;
    let secure: TestApp;

    beforeAll(async () => {
      secureDb = await databaseForFile();
      secure = await startTestApp({ COOKIE_SECURE: 'true' }, secureDb);
    });
    afterAll(async () => {
      await secure?.close();
      await secureDb?.drop();
    });

    it('marks the auth cookie Secure, and clears it with the same attributes on logout', async () => {
      const reply = await call(secure.baseUrl, 'POST', '/api/v1/auth/token', { body: { username: ADMIN.username, password: ADMIN.password } });
      expect(reply.status).toBe(200);
      const attributes = (cookieHeader: string) =>
        cookieHeader
          .split(';')
          .slice(1)
          .map((part) => part.trim().toLowerCase());
      expect(attributes(reply.headers.getSetCookie()[0])).toEqual(expect.arrayContaining(['secure', 'httponly', 'samesite=strict', 'path=/']));
      const logout = await call(secure.baseUrl, 'POST', '/api/v1/auth/logout', { headers: bearer(reply.body.access_token) });
      expect(logout.status).toBe(204);
      expect(attributes(logout.headers.getSetCookie()[0])).toEqual(expect.arrayContaining(['secure', 'httponly', 'samesite=strict', 'path=/']));
    });
  });
});
