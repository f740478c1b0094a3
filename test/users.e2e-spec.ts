import { randomUUID } from 'node:crypto';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { apiKey, bearer, call, cookie, createUser, login, Reply } from './support/http';

/** Users API (users:manage unless noted), every line of the contract. */
describe('users', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let adminToken: string;
  /** Every reply this file receives, to prove that no password hash ever leaves the server. */
  const replies: Reply[] = [];

  const request = async (method: string, path: string, options: Parameters<typeof call>[3] = {}) => {
    const reply = await call(t.baseUrl, method, path, options);
    replies.push(reply);
    return reply;
  };
  const asAdmin = (method: string, path: string, body?: unknown) =>
    request(method, path, { headers: bearer(adminToken), ...(body === undefined ? {} : { body }) });
  const me = (token: string) => request('GET', '/api/v1/auth/me', { headers: bearer(token) });
  const loginStatus = async (username: string, password: string) => (await request('POST', '/api/v1/auth/token', { body: { username, password } })).status;
  const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}@test.local`;

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({ LOGIN_MAX_PER_IP: '100000', LOGIN_MAX_FAILURES_PER_USER: '100000' }, db);
    adminToken = await login(t.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  describe('POST /api/v1/users', () => {
    it('creates a user: 201 with id, username, role, disabled and created_at', async () => {
      const username = unique('analyst');
      const reply = await asAdmin('POST', '/api/v1/users', { username, password: 'analyst-password-1', role: 'analyst' });
      expect(reply.status).toBe(201);
      expect(reply.body).toMatchObject({ username, role: 'analyst', disabled: false });
      expect(reply.body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Date(reply.body.created_at).toISOString()).toBe(reply.body.created_at);
      expect(Math.abs(Date.parse(reply.body.created_at) - Date.now())).toBeLessThan(60_000);
      expect(await loginStatus(username, 'analyst-password-1')).toBe(200);
    });

    it('lets a user whose name has U+0130 (İ) sign in with the name they were created with, in any case or Unicode form', async () => {
      const username = `İlker-${randomUUID().slice(0, 6)}@test.local`;
      expect((await asAdmin('POST', '/api/v1/users', { username, password: 'dotted-password-1', role: 'viewer' })).status).toBe(201);
      expect(await loginStatus(username, 'dotted-password-1')).toBe(200);
      expect(await loginStatus(username.toUpperCase(), 'dotted-password-1')).toBe(200);
      expect(await loginStatus(username.normalize('NFD'), 'dotted-password-1')).toBe(200);
      // Dotless and dotted names stay different people.
      expect(await loginStatus(username.replace('İ', 'I'), 'dotted-password-1')).toBe(401);
    });

    it('treats names equal under full case folding as one name: "straße" exists, "STRASSE" is a duplicate', async () => {
      const suffix = randomUUID().slice(0, 6);
      expect((await asAdmin('POST', '/api/v1/users', { username: `straße-${suffix}`, password: 'street-password-1', role: 'viewer' })).status).toBe(201);
      expect((await asAdmin('POST', '/api/v1/users', { username: `STRASSE-${suffix}`, password: 'street-password-2', role: 'viewer' })).status).toBe(409);
      expect(await loginStatus(`Strasse-${suffix}`, 'street-password-1')).toBe(200);
    });

    it.each(['admin', 'analyst', 'operator', 'viewer', 'api_service'])('accepts the role %s', async (role) => {
      expect((await asAdmin('POST', '/api/v1/users', { username: unique(role), password: 'any-password-123', role })).status).toBe(201);
    });

    it('answers 409 to a duplicate username, whatever its case', async () => {
      expect((await asAdmin('POST', '/api/v1/users', { username: 'Ana', password: 'ana-password-123', role: 'viewer' })).status).toBe(201);
      for (const username of ['Ana', 'ana', 'ANA']) {
        const reply = await asAdmin('POST', '/api/v1/users', { username, password: 'other-password-123', role: 'admin' });
        expect(reply.status).toBe(409);
        expect(reply.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
      }
      expect(await loginStatus('Ana', 'other-password-123')).toBe(401);
      expect(await loginStatus('Ana', 'ana-password-123')).toBe(200);
    });

    it('lets exactly one of several concurrent creations of the same username succeed', async () => {
      const base = unique('race');
      const replies = await Promise.all(
        [base, base.toUpperCase(), base, base.toUpperCase()].map((username) =>
          asAdmin('POST', '/api/v1/users', { username, password: 'race-password-123', role: 'viewer' }),
        ),
      );
      expect(replies.map((reply) => reply.status).sort()).toEqual([201, 409, 409, 409]);
    });

    it.each([
      ['an unknown role', { role: 'root' }],
      ['a role in the wrong case', { role: 'Admin' }],
      ['a password of 11 characters', { password: 'elevenchars' }],
      ['an empty password', { password: '' }],
      ['a password over 1024 characters', { password: 'p'.repeat(1025) }],
      ['a numeric password', { password: 123456789012345 }],
      ['an unknown field', { is_admin: true }],
      ['a password_hash field', { password_hash: '$argon2id$v=19$m=19456,t=2,p=1$abc$def' }],
      ['a username with a line break', { username: 'mallory\r\nadmin' }],
      ['a username with leading spaces', { username: '  padded@test.local' }],
      ['an empty username', { username: '' }],
      ['a username over 100 characters', { username: `${'u'.repeat(101)}` }],
      ['a missing role', { role: undefined }],
    ])('answers 400 to %s', async (_name, overrides) => {
      const username = unique('invalid');
      const body: Record<string, unknown> = { username, password: 'valid-password-123', role: 'viewer', ...overrides };
      for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
      const reply = await asAdmin('POST', '/api/v1/users', body);
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect((await asAdmin('GET', '/api/v1/users')).body.map((u: { username: string }) => u.username)).not.toContain(username);
    });

    it('accepts a password of exactly 12 characters', async () => {
      expect((await asAdmin('POST', '/api/v1/users', { username: unique('twelve'), password: 'twelve-chars', role: 'viewer' })).status).toBe(201);
    });

    it('needs users:manage (403) and authentication (401)', async () => {
      const analyst = await createUser(t.baseUrl, adminToken, unique('not-manager'), 'analyst');
      const token = await login(t.baseUrl, analyst.username, analyst.password);
      const body = { username: unique('by-analyst'), password: 'analyst-made-123', role: 'admin' };
      expect((await request('POST', '/api/v1/users', { headers: bearer(token), body })).status).toBe(403);
      expect((await request('POST', '/api/v1/users', { body })).status).toBe(401);
    });
  });

  describe('GET /api/v1/users', () => {
    it('lists users, admin included, without any password field', async () => {
      const created = await createUser(t.baseUrl, adminToken, unique('listed'), 'operator');
      const reply = await asAdmin('GET', '/api/v1/users');
      expect(reply.status).toBe(200);
      expect(Array.isArray(reply.body)).toBe(true);
      const usernames = reply.body.map((u: { username: string }) => u.username);
      expect(usernames).toEqual(expect.arrayContaining([ADMIN.username, created.username]));
      for (const user of reply.body) {
        expect(user).toEqual(
          expect.objectContaining({
            id: expect.any(String),
            username: expect.any(String),
            role: expect.any(String),
            disabled: expect.any(Boolean),
            created_at: expect.any(String),
          }),
        );
        expect(Object.keys(user).filter((key) => /pass|hash|secret|token/i.test(key))).toEqual([]);
      }
    });

    it('needs users:manage', async () => {
      const operator = await createUser(t.baseUrl, adminToken, unique('operator'), 'operator');
      expect((await request('GET', '/api/v1/users', { headers: bearer(await login(t.baseUrl, operator.username, operator.password)) })).status).toBe(403);
      expect((await request('GET', '/api/v1/users')).status).toBe(401);
    });
  });

  describe('PATCH /api/v1/users/{id}', () => {
    it('changes the role (200) and revokes the existing tokens', async () => {
      const user = await createUser(t.baseUrl, adminToken, unique('role'), 'viewer');
      const token = await login(t.baseUrl, user.username, user.password);
      expect((await me(token)).status).toBe(200);
      const reply = await asAdmin('PATCH', `/api/v1/users/${user.id}`, { role: 'operator' });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ id: user.id, username: user.username, role: 'operator', disabled: false });
      expect((await me(token)).status).toBe(401);
      const fresh = await login(t.baseUrl, user.username, user.password);
      expect((await me(fresh)).body.role).toBe('operator');
    });

    it('disables a user (200): the existing tokens and the password stop working', async () => {
      const user = await createUser(t.baseUrl, adminToken, unique('disable'), 'analyst');
      const token = await login(t.baseUrl, user.username, user.password);
      const reply = await asAdmin('PATCH', `/api/v1/users/${user.id}`, { disabled: true });
      expect(reply.status).toBe(200);
      expect(reply.body.disabled).toBe(true);
      expect((await me(token)).status).toBe(401);
      expect(await loginStatus(user.username, user.password)).toBe(401);
      expect((await asAdmin('PATCH', `/api/v1/users/${user.id}`, { disabled: false })).body.disabled).toBe(false);
      expect(await loginStatus(user.username, user.password)).toBe(200);
    });

    it('sets a new password (200): the existing tokens and the old password stop working', async () => {
      const user = await createUser(t.baseUrl, adminToken, unique('reset'), 'analyst');
      const token = await login(t.baseUrl, user.username, user.password);
      const reply = await asAdmin('PATCH', `/api/v1/users/${user.id}`, { password: 'reset-by-admin-456' });
      expect(reply.status).toBe(200);
      expect((await me(token)).status).toBe(401);
      expect(await loginStatus(user.username, user.password)).toBe(401);
      expect(await loginStatus(user.username, 'reset-by-admin-456')).toBe(200);
    });

    it.each([
      ['an unknown role', { role: 'superuser' }],
      ['a weak password', { password: 'short' }],
      ['a string for disabled', { disabled: 'yes' }],
      ['an unknown field', { username: 'renamed@test.local' }],
    ])('answers 400 to %s and changes nothing', async (_name, body) => {
      const user = await createUser(t.baseUrl, adminToken, unique('patch-invalid'), 'viewer');
      const token = await login(t.baseUrl, user.username, user.password);
      expect((await asAdmin('PATCH', `/api/v1/users/${user.id}`, body)).status).toBe(400);
      expect((await me(token)).body).toMatchObject({ sub: user.username, role: 'viewer' });
    });

    it('answers 404 to an unknown id and to an id that is not a UUID', async () => {
      expect((await asAdmin('PATCH', `/api/v1/users/${randomUUID()}`, { role: 'viewer' })).status).toBe(404);
      expect((await asAdmin('PATCH', '/api/v1/users/not-a-uuid', { role: 'viewer' })).status).toBe(404);
      expect((await asAdmin('PATCH', "/api/v1/users/1' OR '1'='1", { role: 'viewer' })).status).toBe(404);
    });

    it('needs users:manage', async () => {
      const user = await createUser(t.baseUrl, adminToken, unique('self-promote'), 'analyst');
      const token = await login(t.baseUrl, user.username, user.password);
      expect((await request('PATCH', `/api/v1/users/${user.id}`, { headers: bearer(token), body: { role: 'admin' } })).status).toBe(403);
      expect((await me(token)).body.role).toBe('analyst');
    });

    it('refuses (409) to demote or disable the last enabled admin', async () => {
      // A fresh app on its own database has exactly one admin.
      const adminId = (await asAdmin('GET', '/api/v1/users')).body.find((u: { username: string }) => u.username === ADMIN.username).id;
      const admins = (await asAdmin('GET', '/api/v1/users')).body.filter((u: { role: string; disabled: boolean }) => u.role === 'admin' && !u.disabled);
      for (const other of admins.filter((u: { id: string }) => u.id !== adminId)) {
        expect((await asAdmin('PATCH', `/api/v1/users/${other.id}`, { disabled: true })).status).toBe(200);
      }
      expect((await asAdmin('PATCH', `/api/v1/users/${adminId}`, { role: 'viewer' })).status).toBe(409);
      expect((await asAdmin('PATCH', `/api/v1/users/${adminId}`, { disabled: true })).status).toBe(409);
      expect((await asAdmin('DELETE', `/api/v1/users/${adminId}`)).status).toBe(409);
      expect((await me(adminToken)).body.role).toBe('admin');
    });
  });

  describe('DELETE /api/v1/users/{id}', () => {
    it('deletes a user (204): its tokens and its password stop working', async () => {
      const user = await createUser(t.baseUrl, adminToken, unique('delete'), 'analyst');
      const token = await login(t.baseUrl, user.username, user.password);
      const reply = await asAdmin('DELETE', `/api/v1/users/${user.id}`);
      expect(reply.status).toBe(204);
      expect(reply.body).toBeUndefined();
      expect((await me(token)).status).toBe(401);
      expect(await loginStatus(user.username, user.password)).toBe(401);
      expect((await asAdmin('GET', '/api/v1/users')).body.map((u: { id: string }) => u.id)).not.toContain(user.id);
      expect((await asAdmin('DELETE', `/api/v1/users/${user.id}`)).status).toBe(404);
    });

    it("does not let a deleted user's token act as a new user of the same name", async () => {
      const username = unique('reused');
      const first = await createUser(t.baseUrl, adminToken, username, 'admin');
      const oldToken = await login(t.baseUrl, username, first.password);
      expect((await asAdmin('DELETE', `/api/v1/users/${first.id}`)).status).toBe(204);
      await createUser(t.baseUrl, adminToken, username, 'viewer', 'second-person-123');
      expect((await me(oldToken)).status).toBe(401);
      expect((await me(await login(t.baseUrl, username, 'second-person-123'))).status).toBe(200);
    });

    it('answers 404 to an unknown id', async () => {
      expect((await asAdmin('DELETE', `/api/v1/users/${randomUUID()}`)).status).toBe(404);
      expect((await asAdmin('DELETE', '/api/v1/users/12345')).status).toBe(404);
    });

    it('needs users:manage', async () => {
      const victim = await createUser(t.baseUrl, adminToken, unique('victim'), 'viewer');
      const attacker = await createUser(t.baseUrl, adminToken, unique('attacker'), 'operator');
      const token = await login(t.baseUrl, attacker.username, attacker.password);
      expect((await request('DELETE', `/api/v1/users/${victim.id}`, { headers: bearer(token) })).status).toBe(403);
      expect(await loginStatus(victim.username, victim.password)).toBe(200);
    });
  });

  describe('POST /api/v1/users/me/password (any authenticated user)', () => {
    const change = (headers: Record<string, string>, body: unknown) => request('POST', '/api/v1/users/me/password', { headers, body });

    it('answers 204 to a viewer: other sessions end, this one lives on, the new password signs in, the old one does not', async () => {
      const user = await createUser(t.baseUrl, adminToken, unique('own-password'), 'viewer');
      const token = await login(t.baseUrl, user.username, user.password);
      const otherDevice = await login(t.baseUrl, user.username, user.password);
      const reply = await change(bearer(token), { current_password: user.password, new_password: 'my-new-password-789' });
      expect(reply.status).toBe(204);
      expect(reply.body).toBeUndefined();
      expect((await me(token)).status).toBe(200);
      expect((await me(otherDevice)).status).toBe(401);
      expect(await loginStatus(user.username, user.password)).toBe(401);
      expect(await loginStatus(user.username, 'my-new-password-789')).toBe(200);
    });

    it('answers 403 to a wrong current password (the caller is authenticated), changing nothing', async () => {
      const user = await createUser(t.baseUrl, adminToken, unique('wrong-current'), 'analyst');
      const token = await login(t.baseUrl, user.username, user.password);
      const reply = await change(bearer(token), { current_password: 'not-my-password-1', new_password: 'attacker-chosen-123' });
      expect(reply.status).toBe(403);
      expect(reply.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
      expect(await loginStatus(user.username, 'attacker-chosen-123')).toBe(401);
      expect(await loginStatus(user.username, user.password)).toBe(200);
      expect((await me(token)).status).toBe(200);
    });

    it.each([
      ['a weak new password', { new_password: 'too-short' }],
      ['a missing current password', { current_password: undefined }],
      ['an unknown field', { username: 'admin@test.local' }],
    ])('answers 400 to %s', async (_name, overrides) => {
      const user = await createUser(t.baseUrl, adminToken, unique('own-invalid'), 'viewer');
      const token = await login(t.baseUrl, user.username, user.password);
      const body: Record<string, unknown> = { current_password: user.password, new_password: 'valid-new-password-1', ...overrides };
      for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
      expect((await change(bearer(token), body)).status).toBe(400);
      expect((await me(token)).status).toBe(200);
    });

    it("keeps a cookie-authenticated browser signed in and ends the person's other sessions", async () => {
      const user = await createUser(t.baseUrl, adminToken, unique('own-cookie'), 'viewer');
      const token = await login(t.baseUrl, user.username, user.password);
      const otherDevice = await login(t.baseUrl, user.username, user.password);
      const reply = await change(cookie(token), { current_password: user.password, new_password: 'browser-password-321' });
      expect(reply.status).toBe(204);
      expect((await request('GET', '/api/v1/auth/me', { headers: cookie(token) })).body.sub).toBe(user.username);
      expect((await request('GET', '/api/v1/auth/me', { headers: cookie(otherDevice) })).status).toBe(401);
    });

    it('needs authentication', async () => {
      expect((await change({}, { current_password: ADMIN.password, new_password: 'unauthenticated-1' })).status).toBe(401);
    });

    it('refuses an API key (403): keys have no password', async () => {
      const issued = await asAdmin('POST', '/api/v1/auth/api-keys', { service_name: 'password-changer' });
      expect(issued.status).toBe(201);
      const reply = await change(apiKey(issued.body.api_key), { current_password: ADMIN.password, new_password: 'key-chosen-123456' });
      expect(reply.status).toBe(403);
      expect(await loginStatus(ADMIN.username, ADMIN.password)).toBe(200);
    });
  });

  it('never sends a password hash in any response of this file', () => {
    expect(replies.length).toBeGreaterThan(50);
    for (const reply of replies) {
      const text = JSON.stringify(reply.body ?? '');
      expect(text).not.toMatch(/\$argon2/);
      expect(text).not.toMatch(/"password_?hash"\s*:/i);
    }
  });
});
