import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { emptyRedis } from './support/test-database';
import { createUser } from './support/http';
import { attempt, expectTooManyRequests, freshIp, freshUsername } from './support/login-attempts';

/**
 * Needs a Redis server (TEST_REDIS_URL, default redis://127.0.0.1:6379): CI and this machine have
 * one; `npm test` leaves this file out, by name, when none answers.
 */
const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

type Database = Awaited<ReturnType<typeof databaseForFile>>;

describe('login rate limits', () => {
  describe('shared in Redis between two instances (REDIS_URL)', () => {
    let dbs: Database[] = [];
    let a: TestApp;
    let b: TestApp;
    const env = { REDIS_URL, LOGIN_MAX_PER_IP: '5', LOGIN_MAX_FAILURES_PER_USER: '3', TRUST_PROXY: 'loopback' };
    const from = (ip: string) => ({ 'x-forwarded-for': ip });

    beforeAll(async () => {
      await emptyRedis(REDIS_URL);
      // Two instances that share nothing but Redis: each has its own database.
      dbs = [await databaseForFile(), await databaseForFile()];
      a = await startTestApp(env, dbs[0]);
      b = await startTestApp(env, dbs[1]);
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      for (const db of dbs) await db.drop();
    });

    it('counts attempts per IP across instances', async () => {
      const ip = freshIp();
      for (let i = 0; i < 3; i++) expect((await attempt(a, freshUsername('nobody'), 'wrong-password-1', from(ip))).status).toBe(401);
      for (let i = 0; i < 2; i++) expect((await attempt(b, freshUsername('nobody'), 'wrong-password-1', from(ip))).status).toBe(401);
      expectTooManyRequests(await attempt(a, ADMIN.username, ADMIN.password, from(ip)), 60);
      expectTooManyRequests(await attempt(b, ADMIN.username, ADMIN.password, from(ip)), 60);
      expect((await attempt(b, ADMIN.username, ADMIN.password, from(freshIp()))).status).toBe(200);
    });

    it('lets no more than 3 guesses per username through a burst spread over both instances', async () => {
      const ghost = freshUsername('redis-burst');
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => attempt(i % 2 ? a : b, ghost, `burst-guess-${i}-123`, from(freshIp()))));
      const statuses = replies.map((reply) => reply.status);
      expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(3);
      expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
    });

    it('counts failures per username across instances', async () => {
      const ghost = freshUsername('redis-ghost');
      expect((await attempt(a, ghost, 'wrong-password-1', from(freshIp()))).status).toBe(401);
      expect((await attempt(b, ghost, 'wrong-password-1', from(freshIp()))).status).toBe(401);
      expect((await attempt(a, ghost, 'wrong-password-1', from(freshIp()))).status).toBe(401);
      expectTooManyRequests(await attempt(b, ghost, 'wrong-password-1', from(freshIp())), 15 * 60);
    });

    it('resets the username count everywhere when one instance sees a success', async () => {
      const username = freshUsername('redis-user');
      const password = 'shared-password-123';
      for (const t of [a, b]) {
        // Logged in from a fresh address: 127.0.0.1's per-IP count in the shared Redis outlives a run.
        const adminToken = (await attempt(t, ADMIN.username, ADMIN.password, from(freshIp()))).body.access_token as string;
        await createUser(t.baseUrl, adminToken, username, 'viewer', password);
      }
      for (let i = 0; i < 2; i++) expect((await attempt(a, username, 'wrong-password-1', from(freshIp()))).status).toBe(401);
      expect((await attempt(b, username, password, from(freshIp()))).status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await attempt(a, username, 'wrong-password-1', from(freshIp()))).status).toBe(401);
      expect((await attempt(a, username, password, from(freshIp()))).status).toBe(200);
    });
  });
});
