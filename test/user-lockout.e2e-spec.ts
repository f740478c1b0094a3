import { randomUUID } from 'node:crypto';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { bearer, call, createUser, login, waitFor } from './support/http';
import { enrolTotp } from './support/mfa';

const MAX_FAILURES = 3;

/**
 * The per-username sign-in lockout seen and lifted by an admin (issue 19, admin gaps; an extension
 * of the contract): GET /users says until when a user is locked, DELETE /users/{id}/lockout
 * clears their failures at once, audited as user.unlocked.
 */
describe('locked-out users', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let adminToken: string;

  const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}@lockout.test`;
  const signIn = (username: string, password: string) => call(t.baseUrl, 'POST', '/api/v1/auth/token', { body: { username, password } });
  const listed = async (token: string, username: string) => {
    const reply = await call(t.baseUrl, 'GET', '/api/v1/users', { headers: bearer(token) });
    expect(reply.status).toBe(200);
    return reply.body.find((user: { username: string }) => user.username === username);
  };
  const unlock = (token: string, id: string) => call(t.baseUrl, 'DELETE', `/api/v1/users/${id}/lockout`, { headers: bearer(token) });
  const lockOut = async (username: string) => {
    for (let i = 0; i < MAX_FAILURES; i++) expect((await signIn(username, `wrong-password-${i}-xyz`)).status).toBe(401);
  };

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({ LOGIN_MAX_PER_IP: '100000', LOGIN_MAX_FAILURES_PER_USER: String(MAX_FAILURES) }, db);
    adminToken = await login(t.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('lists locked_until (null when not locked, an ISO time about 15 minutes ahead once locked), and unlocking lets the user sign in at once', async () => {
    const user = await createUser(t.baseUrl, adminToken, unique('locked'), 'analyst', 'locked-password-123');
    const bystander = await createUser(t.baseUrl, adminToken, unique('bystander'), 'viewer');
    expect(await listed(adminToken, user.username)).toMatchObject({ id: user.id, locked_until: null });

    // One failure short of the limit is not a lock.
    for (let i = 0; i < MAX_FAILURES - 1; i++) expect((await signIn(user.username, `wrong-password-${i}-abc`)).status).toBe(401);
    expect((await listed(adminToken, user.username)).locked_until).toBeNull();
    expect((await signIn(user.username, 'wrong-password-last')).status).toBe(401);

    const before = Date.now();
    const lockedUntil: string = (await listed(adminToken, user.username)).locked_until;
    expect(typeof lockedUntil).toBe('string');
    expect(new Date(lockedUntil).toISOString()).toBe(lockedUntil);
    expect(Date.parse(lockedUntil)).toBeGreaterThan(before + 14 * 60_000);
    expect(Date.parse(lockedUntil)).toBeLessThanOrEqual(before + 15 * 60_000 + 1000);
    expect((await listed(adminToken, bystander.username)).locked_until).toBeNull();
    // Locked: even the right password is refused.
    expect((await signIn(user.username, user.password)).status).toBe(429);

    const reply = await unlock(adminToken, user.id);
    expect(reply.status).toBe(204);
    expect(reply.body).toBeUndefined();
    expect((await listed(adminToken, user.username)).locked_until).toBeNull();
    expect((await signIn(user.username, user.password)).status).toBe(200);
    // Unlocking someone who is not locked is harmless.
    expect((await unlock(adminToken, bystander.id)).status).toBe(204);
  });

  it('finds the lock whatever case or Unicode form the failed attempts used', async () => {
    const user = await createUser(t.baseUrl, adminToken, unique('Straße'), 'viewer', 'strasse-password-1');
    for (let i = 0; i < MAX_FAILURES; i++) expect((await signIn(user.username.toUpperCase(), `nope-password-${i}`)).status).toBe(401);
    expect((await listed(adminToken, user.username)).locked_until).not.toBeNull();
    expect((await unlock(adminToken, user.id)).status).toBe(204);
    expect((await signIn(user.username, user.password)).status).toBe(200);
  });

  it('audits user.unlocked with the admin as actor and the user as reason, and no password anywhere', async () => {
    const password = `secret-${randomUUID()}`;
    const user = await createUser(t.baseUrl, adminToken, unique('audited'), 'viewer', password);
    await lockOut(user.username);
    const started = new Date(Date.now() - 1000).toISOString();
    expect((await unlock(adminToken, user.id)).status).toBe(204);
    let events: Array<Record<string, unknown>> = [];
    expect(
      await waitFor(async () => {
        const reply = await call(t.baseUrl, 'GET', `/api/v1/audit/events?type=user.unlocked&since=${encodeURIComponent(started)}`, {
          headers: bearer(adminToken),
        });
        events = (reply.body as Array<Record<string, unknown>>).filter((event) => event.reason === user.username);
        return events.length === 1;
      }),
    ).toBe(true);
    expect(events[0]).toMatchObject({ type: 'user.unlocked', outcome: 'success', actor: ADMIN.username, reason: user.username });
    expect(JSON.stringify(events)).not.toContain(password);
    expect(JSON.stringify(events)).not.toContain('wrong-password');
  });

  it('needs users:manage (viewer and analyst 403, no credential 401) and leaves the lock in place when refused', async () => {
    const user = await createUser(t.baseUrl, adminToken, unique('still-locked'), 'viewer');
    await lockOut(user.username);
    for (const role of ['viewer', 'analyst']) {
      const other = await createUser(t.baseUrl, adminToken, unique(role), role);
      const token = await login(t.baseUrl, other.username, other.password);
      expect((await unlock(token, user.id)).status).toBe(403);
      expect((await call(t.baseUrl, 'GET', '/api/v1/users', { headers: bearer(token) })).status).toBe(403);
    }
    expect((await call(t.baseUrl, 'DELETE', `/api/v1/users/${user.id}/lockout`)).status).toBe(401);
    expect((await listed(adminToken, user.username)).locked_until).not.toBeNull();
    expect((await signIn(user.username, user.password)).status).toBe(429);
  });

  it('answers 404 to an unknown user and to an id that is not a UUID (a path id that is not a UUID names nothing)', async () => {
    const unknown = await unlock(adminToken, randomUUID());
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    for (const id of ['not-a-uuid', '123', `${randomUUID()}x`]) expect((await unlock(adminToken, encodeURIComponent(id))).status).toBe(404);
  });

  it('needs a step-up from an admin with a second factor, like the other user-admin writes', async () => {
    const admin = await createUser(t.baseUrl, adminToken, unique('mfa-admin'), 'admin');
    const token = await login(t.baseUrl, admin.username, admin.password);
    // Enrolled in another session: this one signed in with the password alone.
    await enrolTotp(t.baseUrl, await login(t.baseUrl, admin.username, admin.password));
    const user = await createUser(t.baseUrl, adminToken, unique('step-up'), 'viewer');
    const refused = await unlock(token, user.id);
    expect([refused.status, refused.body.error]).toEqual([403, 'step_up_required']);
    expect((await call(t.baseUrl, 'GET', '/api/v1/users', { headers: bearer(token) })).status).toBe(200);
  });
});
