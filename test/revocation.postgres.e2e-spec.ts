import { ADMIN, startTestApp, TEST_SECRET, TestApp } from './support/test-app';
import { createTestDatabase, TestDatabase } from './support/test-database';
import { bearer, call, createUser, login, waitFor } from './support/http';
import { claimsLike, forgeToken } from './support/jwt';

const NEW_SECRET = 'rotated-secret-0123456789-abcdefghijklm';
const CROSS_INSTANCE_MS = 1000;

/** Several instances on one PostgreSQL database: what one instance revokes, every other refuses within a second. */
describe('revocation across instances (PostgreSQL)', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let adminToken: string;
  let counter = 0;

  const status = async (t: TestApp, token: string) => (await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(token) })).status;
  const newUser = (role = 'analyst') => createUser(a.baseUrl, adminToken, `cross-${++counter}-${Date.now()}@test.local`, role);

  /** Runs the change on A, then measures how long B keeps accepting the token. */
  async function expectRefusedOnBWithinASecond(token: string, change: () => Promise<void>): Promise<void> {
    expect(await status(b, token)).toBe(200);
    await change();
    const started = Date.now();
    const refused = await waitFor(async () => (await status(b, token)) === 401, CROSS_INSTANCE_MS, 20);
    const elapsed = Date.now() - started;
    expect({ refused, withinOneSecond: elapsed <= CROSS_INSTANCE_MS }).toEqual({ refused: true, withinOneSecond: true });
    expect(await status(a, token)).toBe(401);
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await startTestApp({ LOGIN_MAX_PER_IP: '100000' }, { url: db.url });
    b = await startTestApp({ LOGIN_MAX_PER_IP: '100000' }, { url: db.url });
    adminToken = await login(a.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('accepts on B a user created on A after B started, and its tokens', async () => {
    const user = await newUser();
    const token = await login(a.baseUrl, user.username, user.password);
    expect(await status(b, token)).toBe(200);
    expect(await status(b, await login(b.baseUrl, user.username, user.password))).toBe(200);
  });

  it('refuses on B within 1 s a token logged out on A', async () => {
    const user = await newUser();
    const token = await login(a.baseUrl, user.username, user.password);
    await expectRefusedOnBWithinASecond(token, async () => {
      expect((await call(a.baseUrl, 'POST', '/api/v1/auth/logout', { headers: bearer(token) })).status).toBe(204);
    });
  });

  it('refuses on B within 1 s the token of a user disabled on A', async () => {
    const user = await newUser();
    const token = await login(b.baseUrl, user.username, user.password);
    await expectRefusedOnBWithinASecond(token, async () => {
      expect((await call(a.baseUrl, 'PATCH', `/api/v1/users/${user.id}`, { headers: bearer(adminToken), body: { disabled: true } })).status).toBe(200);
    });
    expect((await call(b.baseUrl, 'POST', '/api/v1/auth/token', { body: { username: user.username, password: user.password } })).status).toBe(401);
  });

  it('refuses on B within 1 s a token issued before a role change on A, and B serves the new role', async () => {
    const user = await newUser('viewer');
    const token = await login(a.baseUrl, user.username, user.password);
    await expectRefusedOnBWithinASecond(token, async () => {
      expect((await call(a.baseUrl, 'PATCH', `/api/v1/users/${user.id}`, { headers: bearer(adminToken), body: { role: 'operator' } })).status).toBe(200);
    });
    const fresh = await login(a.baseUrl, user.username, user.password);
    expect((await call(b.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(fresh) })).body).toMatchObject({ sub: user.username, role: 'operator' });
    expect((await call(b.baseUrl, 'GET', '/api/v1/audit/events?limit=1', { headers: bearer(fresh) })).status).toBe(200);
  });

  it('refuses on B within 1 s the token of another session of a user who changed their password on A', async () => {
    const user = await newUser();
    const current = await login(a.baseUrl, user.username, user.password);
    const other = await login(b.baseUrl, user.username, user.password);
    await expectRefusedOnBWithinASecond(other, async () => {
      const reply = await call(a.baseUrl, 'POST', '/api/v1/users/me/password', {
        headers: bearer(current),
        body: { current_password: user.password, new_password: 'changed-on-a-123' },
      });
      expect(reply.status).toBe(204);
    });
    // The session that made the change lives on, on both instances.
    expect(await status(a, current)).toBe(200);
    expect(await status(b, current)).toBe(200);
    expect(await status(b, await login(b.baseUrl, user.username, 'changed-on-a-123'))).toBe(200);
  });

  it('refuses on B within 1 s the token of a user deleted on A', async () => {
    const user = await newUser();
    const token = await login(a.baseUrl, user.username, user.password);
    await expectRefusedOnBWithinASecond(token, async () => {
      expect((await call(a.baseUrl, 'DELETE', `/api/v1/users/${user.id}`, { headers: bearer(adminToken) })).status).toBe(204);
    });
  });

  it('refuses on B the token of a deleted user even after the username is reused on A', async () => {
    const first = await newUser('admin');
    const token = await login(b.baseUrl, first.username, first.password);
    expect((await call(a.baseUrl, 'DELETE', `/api/v1/users/${first.id}`, { headers: bearer(adminToken) })).status).toBe(204);
    await createUser(a.baseUrl, adminToken, first.username, 'viewer', 'second-owner-123');
    expect(
      await waitFor(
        async () => (await call(b.baseUrl, 'POST', '/api/v1/auth/token', { body: { username: first.username, password: 'second-owner-123' } })).status === 200,
        CROSS_INSTANCE_MS,
        20,
      ),
    ).toBe(true);
    expect(await status(b, token)).toBe(401);
    expect(await status(a, token)).toBe(401);
  });

  describe('JWT_SECRET_KEY rotation', () => {
    let rotated: TestApp;
    let withoutPrevious: TestApp;

    beforeAll(async () => {
      rotated = await startTestApp({ JWT_SECRET_KEY: NEW_SECRET, JWT_SECRET_KEY_PREVIOUS: TEST_SECRET }, { url: db.url });
      withoutPrevious = await startTestApp({ JWT_SECRET_KEY: NEW_SECRET }, { url: db.url });
    });
    afterAll(async () => {
      await rotated?.close();
      await withoutPrevious?.close();
    });

    it('accepts on the rotated instance a token issued before the rotation (JWT_SECRET_KEY_PREVIOUS)', async () => {
      const user = await newUser();
      const oldToken = await login(a.baseUrl, user.username, user.password);
      const reply = await call(rotated.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(oldToken) });
      expect(reply.status).toBe(200);
      expect(reply.body.sub).toBe(user.username);
    });

    it('refuses that token where the previous secret is not configured', async () => {
      const user = await newUser();
      const oldToken = await login(a.baseUrl, user.username, user.password);
      expect(await status(withoutPrevious, oldToken)).toBe(401);
    });

    it('signs new tokens with the new secret, which every rotated instance accepts', async () => {
      const user = await newUser();
      const newToken = await login(rotated.baseUrl, user.username, user.password);
      expect(await status(rotated, newToken)).toBe(200);
      expect(await status(withoutPrevious, newToken)).toBe(200);
      expect(await status(a, newToken)).toBe(401);
    });

    it('still refuses on the rotated instance a token logged out on an old instance', async () => {
      const user = await newUser();
      const oldToken = await login(a.baseUrl, user.username, user.password);
      expect(await status(rotated, oldToken)).toBe(200);
      expect((await call(a.baseUrl, 'POST', '/api/v1/auth/logout', { headers: bearer(oldToken) })).status).toBe(204);
      expect(await waitFor(async () => (await status(rotated, oldToken)) === 401, CROSS_INSTANCE_MS, 20)).toBe(true);
    });

    it('refuses a token signed with neither secret', async () => {
      const user = await newUser();
      const issued = await login(a.baseUrl, user.username, user.password);
      expect(await status(rotated, forgeToken(claimsLike(issued), { secret: 'a-third-secret-0123456789-abcdefghijk' }))).toBe(401);
      expect(await status(rotated, forgeToken(claimsLike(issued), { secret: NEW_SECRET }))).toBe(200);
    });
  });
});
