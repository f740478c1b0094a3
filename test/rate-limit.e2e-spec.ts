import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { bearer, call, createUser, login, waitFor } from './support/http';
import { attempt, expectTooManyRequests, freshIp, freshUsername } from './support/login-attempts';

type Database = Awaited<ReturnType<typeof databaseForFile>>;

describe('login rate limits', () => {
  describe('per client IP (LOGIN_MAX_PER_IP=5, behind a trusted loopback proxy)', () => {
    let db: Database;
    let t: TestApp;
    const from = (ip: string) => ({ 'x-forwarded-for': ip });

    beforeAll(async () => {
      db = await databaseForFile();
      t = await startTestApp({ LOGIN_MAX_PER_IP: '5', LOGIN_MAX_FAILURES_PER_USER: '3', TRUST_PROXY: 'loopback' }, db);
    });
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    it('allows 5 attempts per IP, successful or not, then answers 429 with Retry-After even to the right password', async () => {
      const ip = freshIp();
      expect((await attempt(t, ADMIN.username, ADMIN.password, from(ip))).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await attempt(t, freshUsername('nobody'), 'wrong-password-1', from(ip))).status).toBe(401);
      expect((await attempt(t, ADMIN.username, ADMIN.password, from(ip))).status).toBe(200);
      expectTooManyRequests(await attempt(t, ADMIN.username, ADMIN.password, from(ip)), 60);
      expectTooManyRequests(await attempt(t, freshUsername('nobody'), 'wrong-password-1', from(ip)), 60);
    });

    it('counts successful logins toward the per-IP limit', async () => {
      const ip = freshIp();
      for (let i = 0; i < 5; i++) expect((await attempt(t, ADMIN.username, ADMIN.password, from(ip))).status).toBe(200);
      expectTooManyRequests(await attempt(t, ADMIN.username, ADMIN.password, from(ip)), 60);
    });

    it('lets no more than 5 attempts from one IP through when they arrive all at once', async () => {
      const ip = freshIp();
      const replies = await Promise.all(Array.from({ length: 12 }, () => attempt(t, freshUsername('nobody'), 'wrong-password-1', from(ip))));
      const statuses = replies.map((reply) => reply.status);
      expect(statuses.filter((status) => status === 401)).toHaveLength(5);
      expect(statuses.filter((status) => status === 429)).toHaveLength(7);
    });

    it('limits each IP on its own', async () => {
      const blocked = freshIp();
      for (let i = 0; i < 5; i++) await attempt(t, freshUsername('nobody'), 'wrong-password-1', from(blocked));
      expectTooManyRequests(await attempt(t, ADMIN.username, ADMIN.password, from(blocked)), 60);
      expect((await attempt(t, ADMIN.username, ADMIN.password, from(freshIp()))).status).toBe(200);
    });

    it('does not let a client escape the limit by prepending addresses to X-Forwarded-For', async () => {
      const real = freshIp();
      for (let i = 0; i < 5; i++) {
        expect((await attempt(t, freshUsername('nobody'), 'wrong-password-1', from(`198.51.100.${i + 1}, ${real}`))).status).toBe(401);
      }
      expectTooManyRequests(await attempt(t, ADMIN.username, ADMIN.password, from(`198.51.100.99, ${real}`)), 60);
    });

    it('counts only the login route', async () => {
      const ip = freshIp();
      const token = await login(t.baseUrl, ADMIN.username, ADMIN.password);
      for (let i = 0; i < 4; i++) await attempt(t, freshUsername('nobody'), 'wrong-password-1', from(ip));
      for (let i = 0; i < 10; i++) {
        expect((await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: { ...bearer(token), ...from(ip) } })).status).toBe(200);
      }
      expect((await attempt(t, ADMIN.username, ADMIN.password, from(ip))).status).toBe(200);
    });
  });

  describe('without a trusted proxy', () => {
    let db: Database;
    let t: TestApp;

    beforeAll(async () => {
      db = await databaseForFile();
      t = await startTestApp({ LOGIN_MAX_PER_IP: '5', LOGIN_MAX_FAILURES_PER_USER: '1000' }, db);
    });
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    it('ignores X-Forwarded-For, so a client cannot rotate its apparent address', async () => {
      for (let i = 0; i < 5; i++) {
        expect((await attempt(t, freshUsername('nobody'), 'wrong-password-1', { 'x-forwarded-for': freshIp() })).status).toBe(401);
      }
      expectTooManyRequests(await attempt(t, ADMIN.username, ADMIN.password, { 'x-forwarded-for': freshIp() }), 60);
    });
  });

  describe('per username (LOGIN_MAX_FAILURES_PER_USER=3, per-IP limit out of the way)', () => {
    let db: Database;
    let t: TestApp;
    let adminToken: string;

    beforeAll(async () => {
      db = await databaseForFile();
      t = await startTestApp({ LOGIN_MAX_PER_IP: '100000', LOGIN_MAX_FAILURES_PER_USER: '3' }, db);
      adminToken = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    });
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    it('answers 429 with Retry-After after 3 failures, even to the right password', async () => {
      const user = await createUser(t.baseUrl, adminToken, freshUsername('locked'), 'viewer');
      for (let i = 0; i < 3; i++) expect((await attempt(t, user.username, 'wrong-password-1')).status).toBe(401);
      expectTooManyRequests(await attempt(t, user.username, user.password), 15 * 60);
      expectTooManyRequests(await attempt(t, user.username, 'wrong-password-1'), 15 * 60);
    });

    it('locks only that username', async () => {
      const locked = await createUser(t.baseUrl, adminToken, freshUsername('locked'), 'viewer');
      const other = await createUser(t.baseUrl, adminToken, freshUsername('other'), 'viewer');
      for (let i = 0; i < 3; i++) await attempt(t, locked.username, 'wrong-password-1');
      expect((await attempt(t, locked.username, locked.password)).status).toBe(429);
      expect((await attempt(t, other.username, other.password)).status).toBe(200);
    });

    it('lets no more than 3 guesses through when they arrive all at once', async () => {
      const user = await createUser(t.baseUrl, adminToken, freshUsername('burst'), 'viewer');
      const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => attempt(t, user.username, `burst-guess-${i}-123`)));
      const statuses = replies.map((reply) => reply.status);
      expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(3);
      expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
      expectTooManyRequests(await attempt(t, user.username, user.password), 15 * 60);
    });

    it('counts failures whatever the case of the username', async () => {
      const user = await createUser(t.baseUrl, adminToken, freshUsername('cased'), 'viewer');
      await attempt(t, user.username.toUpperCase(), 'wrong-password-1');
      await attempt(t, user.username, 'wrong-password-1');
      await attempt(t, user.username.toUpperCase(), 'wrong-password-1');
      expectTooManyRequests(await attempt(t, user.username, user.password), 15 * 60);
    });

    it('locks unknown usernames the same way, so the lock reveals nothing', async () => {
      const ghost = freshUsername('ghost');
      for (let i = 0; i < 3; i++) expect((await attempt(t, ghost, 'wrong-password-1')).status).toBe(401);
      expectTooManyRequests(await attempt(t, ghost, 'wrong-password-1'), 15 * 60);
    });

    it('resets the count on a successful login', async () => {
      const user = await createUser(t.baseUrl, adminToken, freshUsername('reset'), 'viewer');
      for (let i = 0; i < 2; i++) expect((await attempt(t, user.username, 'wrong-password-1')).status).toBe(401);
      expect((await attempt(t, user.username, user.password)).status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await attempt(t, user.username, 'wrong-password-1')).status).toBe(401);
      expect((await attempt(t, user.username, user.password)).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await attempt(t, user.username, 'wrong-password-1')).status).toBe(401);
      expectTooManyRequests(await attempt(t, user.username, user.password), 15 * 60);
    });

    it('records the refused attempt in the audit log', async () => {
      const ghost = freshUsername('audited');
      for (let i = 0; i < 4; i++) await attempt(t, ghost, 'wrong-password-1');
      let events: Array<{ actor: string; reason: string; outcome: string }> = [];
      const found = async () => {
        events = (await call(t.baseUrl, 'GET', '/api/v1/audit/events?type=auth.login&limit=1000', { headers: bearer(adminToken) })).body;
        return events.some((event) => event.actor === ghost && event.reason === 'too_many_failures');
      };
      expect(await waitFor(found, 5000, 50)).toBe(true);
      expect(events.find((event) => event.actor === ghost && event.reason === 'too_many_failures')?.outcome).toBe('failure');
    });
  });
});
