import { randomInt, randomUUID } from 'node:crypto';
import { KeyUsageRecorder } from '../src/api-keys/key-usage-recorder';
import { AuditRecorder } from '../src/audit/audit-recorder';
import { apiKey, bearer, call, Json, Reply, waitFor } from './support/http';
import { ADMIN, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase, TestDatabase } from './support/test-database';

/** Redis runs on this machine and in CI; the CI sets TEST_REDIS_URL. */
const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const KEYS = '/api/v1/auth/api-keys';
const CROSS_INSTANCE_MS = 1000;

interface IssuedKey {
  id: string;
  api_key: string;
  key_prefix: string;
}

/**
 * "API key controls" on two instances sharing one PostgreSQL database (data, LISTEN/NOTIFY) and
 * one Redis (the keys' rate-limit counters): a key's limit is counted once for both, and a PATCH
 * made on A holds on B within 1 second although B had the key cached for far longer. Every test
 * uses keys of its own, so counters left in Redis by earlier runs cannot collide.
 * Named *.postgres.e2e-spec.ts like the other multi-instance files: it needs a PostgreSQL server.
 */
describe('API key controls on two instances (one PostgreSQL database, one Redis)', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let admin: string;

  const env = {
    REDIS_URL,
    TRUST_PROXY: 'loopback',
    // Far beyond the test: only the cross-instance notification can explain a change within 1 s.
    API_KEY_CACHE_TTL_SECONDS: '600',
  };
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const freshIp = () => `172.${randomInt(16, 32)}.${randomInt(256)}.${randomInt(1, 255)}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    // One after the other: the first runs the migrations and creates the admin.
    a = await startTestApp(env, { url: db.url });
    b = await startTestApp(env, { url: db.url });
    // From a fresh address: 127.0.0.1's login count in the shared Redis outlives a run.
    const signIn = await call(a.baseUrl, 'POST', '/api/v1/auth/token', { body: ADMIN, headers: from(freshIp()) });
    expect(signIn.status).toBe(200);
    admin = signIn.body.access_token as string;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  async function issueOnA(body: Record<string, unknown>): Promise<IssuedKey> {
    const reply = await call(a.baseUrl, 'POST', KEYS, { headers: bearer(admin), body: { service_name: `two-${randomUUID()}`, ...body } });
    if (reply.status !== 201) throw new Error(`creating a key failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body as IssuedKey;
  }
  const patchOnA = (id: string, body: unknown) => call(a.baseUrl, 'PATCH', `${KEYS}/${id}`, { headers: bearer(admin), body });
  const get = (t: TestApp, path: string, key: string, ip?: string) => call(t.baseUrl, 'GET', path, { headers: { ...apiKey(key), ...(ip ? from(ip) : {}) } });
  const me = (t: TestApp, key: string, ip?: string) => get(t, '/api/v1/auth/me', key, ip);

  /** Polls until `done` holds for an answer; returns how long after `since` that was (Infinity: never within 5 s). */
  async function heldAfter(since: number, request: () => Promise<Reply>, done: (reply: Reply) => boolean): Promise<number> {
    while (Date.now() - since < 5000) {
      if (done(await request())) return Date.now() - since;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return Number.POSITIVE_INFINITY;
  }

  it('counts a limit of 10 per 60 s once for both instances: 10 pass, the 11th is 429 on either', async () => {
    const key = await issueOnA({ rate_limit: { limit: 10, window_seconds: 60 } });
    const remaining: string[] = [];
    for (let i = 0; i < 10; i++) {
      const reply = await me(i % 2 ? b : a, key.api_key);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('ratelimit-limit')).toBe('10');
      remaining.push(reply.headers.get('ratelimit-remaining')!);
    }
    expect(remaining).toEqual(['9', '8', '7', '6', '5', '4', '3', '2', '1', '0']);
    for (const t of [a, b, a, b]) {
      const refused = await me(t, key.api_key);
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers.get('ratelimit-limit')).toBe('10');
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
      const reset = Number(refused.headers.get('ratelimit-reset'));
      expect(reset).toBeGreaterThanOrEqual(1);
      expect(reset).toBeLessThanOrEqual(60);
    }
  });

  it('lets no more than 10 of a concurrent burst of 30 through, spread over both instances', async () => {
    const key = await issueOnA({ rate_limit: { limit: 10, window_seconds: 60 } });
    // Warm both caches first (2 of the 10).
    expect((await me(a, key.api_key)).status).toBe(200);
    expect((await me(b, key.api_key)).status).toBe(200);
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => me(i % 2 ? a : b, key.api_key)));
    const statuses = replies.map((reply) => reply.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(8);
    expect(statuses.filter((status) => status === 429)).toHaveLength(22);
  });

  it('honours on B within 1 s a PATCH made on A: allowed_ips narrowed, permissions narrowed, rate_limit changed and removed', async () => {
    const key = await issueOnA({ permissions: ['alerts:read', 'audit:read'], allowed_ips: ['10.0.0.0/8'] });
    // B has the key cached, with its current settings.
    expect((await me(b, key.api_key, '10.0.1.5')).status).toBe(200);
    expect((await get(b, '/api/v1/audit/events?limit=1', key.api_key, '10.0.0.5')).status).toBe(200);
    expect((await me(b, key.api_key, '10.0.0.5')).headers.get('ratelimit-limit')).toBeNull();

    let since = Date.now();
    expect((await patchOnA(key.id, { allowed_ips: ['10.0.0.0/24'] })).status).toBe(200);
    expect(
      await heldAfter(
        since,
        () => me(b, key.api_key, '10.0.1.5'),
        (reply) => reply.status === 403,
      ),
    ).toBeLessThan(CROSS_INSTANCE_MS);
    const refused = await me(b, key.api_key, '10.0.1.5');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ statusCode: 403, error: 'ip_not_allowed' });
    expect((await me(b, key.api_key, '10.0.0.5')).status).toBe(200);

    since = Date.now();
    expect((await patchOnA(key.id, { permissions: ['alerts:read'] })).status).toBe(200);
    expect(
      await heldAfter(
        since,
        () => get(b, '/api/v1/audit/events?limit=1', key.api_key, '10.0.0.5'),
        (reply) => reply.status === 403,
      ),
    ).toBeLessThan(CROSS_INSTANCE_MS);
    expect((await get(b, '/api/v1/audit/events?limit=1', key.api_key, '10.0.0.5')).status).toBe(403);
    expect((await get(b, '/api/v1/alerts', key.api_key, '10.0.0.5')).status).toBe(200);
    expect((await me(b, key.api_key, '10.0.0.5')).body.permissions).toEqual(['alerts:read']);

    since = Date.now();
    expect((await patchOnA(key.id, { rate_limit: { limit: 1000, window_seconds: 60 } })).status).toBe(200);
    expect(
      await heldAfter(
        since,
        () => me(b, key.api_key, '10.0.0.5'),
        (reply) => reply.headers.get('ratelimit-limit') === '1000',
      ),
    ).toBeLessThan(CROSS_INSTANCE_MS);

    since = Date.now();
    expect((await patchOnA(key.id, { rate_limit: { limit: 2, window_seconds: 60 } })).status).toBe(200);
    expect(
      await heldAfter(
        since,
        () => me(b, key.api_key, '10.0.0.5'),
        (reply) => reply.headers.get('ratelimit-limit') === '2',
      ),
    ).toBeLessThan(CROSS_INSTANCE_MS);
    // The new limit is counted for both instances: one of the two is used by now.
    const second = await me(a, key.api_key, '10.0.0.5');
    expect(second.status).toBe(200);
    expect(second.headers.get('ratelimit-remaining')).toBe('0');
    expect((await me(b, key.api_key, '10.0.0.5')).status).toBe(429);

    since = Date.now();
    expect((await patchOnA(key.id, { rate_limit: null })).status).toBe(200);
    expect(
      await heldAfter(
        since,
        () => me(b, key.api_key, '10.0.0.5'),
        (reply) => reply.status === 200 && reply.headers.get('ratelimit-limit') === null,
      ),
    ).toBeLessThan(CROSS_INSTANCE_MS);
  });

  it('refuses on B a key used from outside its allowed_ips, audited (seen through A) with the key prefix as actor', async () => {
    const key = await issueOnA({ allowed_ips: ['192.0.2.0/24'] });
    expect((await me(b, key.api_key, '192.0.2.10')).status).toBe(200);
    const refused = await me(b, key.api_key, '198.51.100.1');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ statusCode: 403, error: 'ip_not_allowed' });
    const audit = b.app.get(AuditRecorder);
    expect(await waitFor(async () => (await audit.flush(), audit.queueDepth === 0))).toBe(true);
    const events = await call(a.baseUrl, 'GET', '/api/v1/audit/events?type=auth.api_key&limit=1000', { headers: bearer(admin) });
    expect(events.status).toBe(200);
    const mine = (events.body as Json[]).filter((event) => event.actor === key.key_prefix);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ outcome: 'failure', reason: 'ip_not_allowed', ip: '198.51.100.1' });
    expect(JSON.stringify(events.body)).not.toContain(key.api_key);
  });

  it('adds up the usage counted on both instances', async () => {
    const key = await issueOnA({ allowed_ips: ['10.0.0.0/8'], rate_limit: { limit: 3, window_seconds: 60 } });
    expect((await me(a, key.api_key, '10.0.0.1')).status).toBe(200);
    expect((await me(b, key.api_key, '10.0.0.2')).status).toBe(200);
    expect((await me(a, key.api_key, '10.0.0.3')).status).toBe(200);
    expect((await me(b, key.api_key, '10.0.0.4')).status).toBe(429);
    expect((await me(b, key.api_key, '11.0.0.1')).status).toBe(403);
    // The instance that answers flushes its own counts; B's are flushed here as its minutely batch would.
    await b.app.get(AuditRecorder).flush();
    await b.app.get(KeyUsageRecorder).flush();
    const usage = await call(a.baseUrl, 'GET', `${KEYS}/${key.id}/usage`, { headers: bearer(admin) });
    expect(usage.status).toBe(200);
    const total = (field: string) => (usage.body.hours as Json[]).reduce((sum, hour) => sum + hour[field], 0);
    expect(total('success')).toBe(3);
    expect(total('rate_limited')).toBe(1);
    expect(total('denied')).toBe(1);
    expect(usage.body.last_ip).toBe('10.0.0.3');
  });
});
