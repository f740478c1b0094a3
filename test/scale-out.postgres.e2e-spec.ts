import { randomInt, randomUUID } from 'node:crypto';
import { apiKey, bearer, call, createUser, login, Reply, waitFor } from './support/http';
import { ADMIN, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase, emptyRedis, TestDatabase } from './support/test-database';
import { closedWithin, LiveClient, openLive, sleep } from './support/ws';

/** Redis runs on this machine and in CI; the CI sets TEST_REDIS_URL. */
const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const LOGIN_MAX_PER_IP = 6;
const LOGIN_MAX_FAILURES_PER_USER = 4;
const CROSS_INSTANCE_MS = 1000;
const ALERTS_WS = '/api/v1/ws/alerts';

/** Addresses and usernames no earlier run sharing the same Redis has used. */
const freshIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
const freshUsername = (name: string) => `${name}-${randomUUID()}@scale.test`;

/**
 * Issue 7: three stateless instances behind a load balancer, sharing one PostgreSQL database (data,
 * LISTEN/NOTIFY) and one Redis (rate-limit counters). Whichever instance a request lands on, the
 * limits, revocations and live alerts are the same as on one instance.
 */
describe('scale-out: three instances on one PostgreSQL database and one Redis', () => {
  let db: TestDatabase;
  const instances: TestApp[] = [];
  let single: TestApp;
  let adminToken: string;
  const clients: LiveClient[] = [];

  const env = {
    REDIS_URL,
    TRUST_PROXY: 'loopback',
    LOGIN_MAX_PER_IP: String(LOGIN_MAX_PER_IP),
    LOGIN_MAX_FAILURES_PER_USER: String(LOGIN_MAX_FAILURES_PER_USER),
    // Far beyond the test: only the cross-instance notification can explain a refusal within 1 s.
    API_KEY_CACHE_TTL_SECONDS: '600',
  };
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const attempt = (t: TestApp, username: string, password: string, ip: string): Promise<Reply> =>
    call(t.baseUrl, 'POST', '/api/v1/auth/token', { body: { username, password }, headers: from(ip) });
  /** The 1-based number of the first attempt answered 429, or 0 when none was. */
  const firstRefusal = (statuses: number[]) => statuses.indexOf(429) + 1;

  beforeAll(async () => {
    await emptyRedis(REDIS_URL);
    db = await createTestDatabase();
    for (let i = 0; i < 3; i++) instances.push(await startTestApp(env, { url: db.url }));
    // The reference: the same limits on one instance alone (requests go to it only).
    single = await startTestApp(env, { url: db.url });
    adminToken = await login(instances[0].baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    for (const t of instances) await t?.close();
    await single?.close();
    await db?.drop();
  });

  async function open(t: TestApp, headers: Record<string, string>): Promise<LiveClient> {
    const client = await openLive(`${t.wsUrl}${ALERTS_WS}`, headers);
    clients.push(client);
    return client;
  }
  async function issueKey(on: TestApp): Promise<{ id: string; api_key: string }> {
    const reply = await call(on.baseUrl, 'POST', '/api/v1/auth/api-keys', {
      headers: bearer(adminToken),
      body: { service_name: `scale-${randomUUID().slice(0, 8)}` },
    });
    if (reply.status !== 201) throw new Error(`creating a key failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body;
  }
  const meStatus = async (t: TestApp, headers: Record<string, string>) => (await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers })).status;

  describe('login rate limits shared in Redis', () => {
    it(`answers 429 at the same attempt (${LOGIN_MAX_PER_IP + 1}th per IP) whether logins go to one instance or round-robin over three`, async () => {
      const attempts = LOGIN_MAX_PER_IP + 3;
      const onOne: number[] = [];
      const ipOne = freshIp();
      for (let i = 0; i < attempts; i++) onOne.push((await attempt(single, freshUsername('nobody'), 'wrong-password-1', ipOne)).status);

      const spread: number[] = [];
      const ipSpread = freshIp();
      for (let i = 0; i < attempts; i++) spread.push((await attempt(instances[i % 3], freshUsername('nobody'), 'wrong-password-1', ipSpread)).status);

      expect(firstRefusal(onOne)).toBe(LOGIN_MAX_PER_IP + 1);
      expect(firstRefusal(spread)).toBe(firstRefusal(onOne));
      expect(spread).toEqual(onOne);
      expect(spread.slice(0, LOGIN_MAX_PER_IP).every((status) => status === 401)).toBe(true);
      expect(spread.slice(LOGIN_MAX_PER_IP).every((status) => status === 429)).toBe(true);
    });

    it('lets no more than the per-IP limit through when a burst is spread over the three at once', async () => {
      const ip = freshIp();
      const replies = await Promise.all(Array.from({ length: 15 }, (_, i) => attempt(instances[i % 3], freshUsername('nobody'), 'wrong-password-1', ip)));
      const statuses = replies.map((reply) => reply.status);
      expect(statuses.filter((status) => status === 401)).toHaveLength(LOGIN_MAX_PER_IP);
      expect(statuses.filter((status) => status === 429)).toHaveLength(15 - LOGIN_MAX_PER_IP);
    });

    it('counts failures for one username across the three (each attempt from a new IP)', async () => {
      const username = freshUsername('target');
      const statuses: number[] = [];
      for (let i = 0; i < LOGIN_MAX_FAILURES_PER_USER + 2; i++) {
        statuses.push((await attempt(instances[i % 3], username, 'wrong-password-1', freshIp())).status);
      }
      expect(firstRefusal(statuses)).toBe(LOGIN_MAX_FAILURES_PER_USER + 1);
    });
  });

  it('refuses on the two other instances within 1 s a key revoked on one', async () => {
    const key = await issueKey(instances[0]);
    // Warm every instance's cache, so that only the notification can make them refuse it.
    for (const t of instances) expect(await meStatus(t, apiKey(key.api_key))).toBe(200);
    const started = Date.now();
    expect((await call(instances[1].baseUrl, 'DELETE', `/api/v1/auth/api-keys/${key.id}`, { headers: bearer(adminToken) })).status).toBe(204);
    expect(await meStatus(instances[1], apiKey(key.api_key))).toBe(401);
    const refusedAt = await Promise.all(
      [instances[0], instances[2]].map(async (t) => {
        const refused = await waitFor(async () => (await meStatus(t, apiKey(key.api_key))) === 401, CROSS_INSTANCE_MS, 20);
        return refused ? Date.now() - started : Infinity;
      }),
    );
    for (const elapsed of refusedAt) expect(elapsed).toBeLessThanOrEqual(CROSS_INSTANCE_MS);
  });

  it('closes with 4401 the sockets on the other instances of a user disabled on one', async () => {
    const user = await createUser(instances[0].baseUrl, adminToken, freshUsername('viewer'), 'viewer');
    const token = await login(instances[0].baseUrl, user.username, user.password);
    const sockets = await Promise.all(instances.map((t) => open(t, bearer(token))));
    const started = Date.now();
    const disabled = await call(instances[2].baseUrl, 'PATCH', `/api/v1/users/${user.id}`, { headers: bearer(adminToken), body: { disabled: true } });
    expect(disabled.status).toBe(200);
    const closes = await Promise.all(sockets.map((socket) => closedWithin(socket, CROSS_INSTANCE_MS + 500)));
    for (const closed of closes) {
      expect(closed.code).toBe(4401);
      expect(closed.at - started).toBeLessThanOrEqual(CROSS_INSTANCE_MS);
    }
    for (const t of instances) expect(await meStatus(t, bearer(token))).toBe(401);
  });

  it('delivers an alert posted on one instance to sockets on all three', async () => {
    const viewer = await createUser(instances[0].baseUrl, adminToken, freshUsername('watcher'), 'viewer');
    const token = await login(instances[1].baseUrl, viewer.username, viewer.password);
    const sockets = await Promise.all(instances.map((t) => open(t, bearer(token))));
    const writer = await issueKey(instances[2]);
    const posted = await call(instances[1].baseUrl, 'POST', '/api/v1/alerts', {
      headers: apiKey(writer.api_key),
      body: { title: `Beaconing ${randomUUID()}`, severity: 'critical', source: 'edr' },
    });
    expect(posted.status).toBe(201);
    const frames = await Promise.all(sockets.map((socket) => socket.nextMessage((m) => m.type === 'alert.created' && m.data?.id === posted.body.id, 2000)));
    for (const frame of frames) expect(frame).toEqual({ type: 'alert.created', data: posted.body });
    // Exactly once per socket: an instance must not relay its own notification back to itself.
    await sleep(300);
    for (const socket of sockets) expect(socket.messages.filter((m) => m.data?.id === posted.body.id)).toHaveLength(1);
  });
});
