import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { generateApiKey } from '../src/api-keys/api-key-format';
import { AuditRecorder } from '../src/audit/audit-recorder';
import { KeyUsageRecorder } from '../src/api-keys/key-usage-recorder';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { apiKey, bearer, call, Json, login, Reply, waitFor } from './support/http';
import { countQueries } from './support/query-counter';
import { openLive, tryHandshake } from './support/ws';

const KEYS = '/api/v1/auth/api-keys';
const HOUR_MS = 3_600_000;
const VIEW_FIELDS = [
  'allowed_ips',
  'created_at',
  'created_by',
  'expires_at',
  'id',
  'key_prefix',
  'last_used_at',
  'permissions',
  'rate_limit',
  'revoked_at',
  'service_name',
].sort();

interface IssuedKey {
  id: string;
  api_key: string;
  key_prefix: string;
  service_name: string;
  permissions: string[];
}

/**
 * "API key controls" of the contract on one instance (PostgreSQL or the embedded database): keys
 * that read the audit trail, IP allowlists (the client address as TRUST_PROXY=loopback decides it,
 * presented with X-Forwarded-For), per-key rate limits (in memory: no REDIS_URL), PATCH and usage.
 */
describe('API key controls (one instance)', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({ TRUST_PROXY: 'loopback', LOGIN_MAX_PER_IP: '100000' }, db);
    admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

  function createKey(body: Record<string, unknown>): Promise<Reply> {
    return call(t.baseUrl, 'POST', KEYS, { headers: bearer(admin), body });
  }
  async function issue(body: Record<string, unknown> = {}): Promise<IssuedKey> {
    const reply = await createKey({ service_name: unique('controls'), ...body });
    if (reply.status !== 201) throw new Error(`creating a key failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body as IssuedKey;
  }
  const patch = (id: string, body: unknown) => call(t.baseUrl, 'PATCH', `${KEYS}/${id}`, { headers: bearer(admin), body });
  const usage = (id: string, query = '') => call(t.baseUrl, 'GET', `${KEYS}/${id}/usage${query}`, { headers: bearer(admin) });
  const me = (key: string, ip?: string) => call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: { ...apiKey(key), ...(ip ? from(ip) : {}) } });
  async function listed(id: string): Promise<Json> {
    const reply = await call(t.baseUrl, 'GET', KEYS, { headers: bearer(admin) });
    expect(reply.status).toBe(200);
    return (reply.body as Json[]).find((key) => key.id === id);
  }
  async function flushAudit(): Promise<void> {
    const audit = t.app.get(AuditRecorder);
    expect(await waitFor(async () => (await audit.flush(), audit.queueDepth === 0))).toBe(true);
  }
  async function auditEvents(type: string): Promise<Json[]> {
    await flushAudit();
    const reply = await call(t.baseUrl, 'GET', `/api/v1/audit/events?type=${encodeURIComponent(type)}&limit=1000`, { headers: bearer(admin) });
    expect(reply.status).toBe(200);
    return reply.body as Json[];
  }
  function expectIpRefusal(reply: Reply): void {
    expect(reply.status).toBe(403);
    expect(reply.body).toMatchObject({ statusCode: 403, error: 'ip_not_allowed' });
    expect(typeof reply.body.message).toBe('string');
  }
  function expectRateHeaders(reply: Reply, limit: number, remaining: number, window: number): void {
    expect(reply.headers.get('ratelimit-limit')).toBe(String(limit));
    expect(reply.headers.get('ratelimit-remaining')).toBe(String(remaining));
    const reset = Number(reply.headers.get('ratelimit-reset'));
    expect(Number.isInteger(reset)).toBe(true);
    expect(reset).toBeGreaterThanOrEqual(1);
    expect(reset).toBeLessThanOrEqual(window);
  }

  describe('audit:read', () => {
    it('lets a key with audit:read read the events, the NDJSON export and the audit socket', async () => {
      const siem = await issue({ permissions: ['audit:read'] });
      expect(siem.permissions).toEqual(['audit:read']);
      const headers = apiKey(siem.api_key);

      const events = await call(t.baseUrl, 'GET', '/api/v1/audit/events?limit=5', { headers });
      expect(events.status).toBe(200);
      expect(Array.isArray(events.body)).toBe(true);
      expect(events.body.length).toBeGreaterThan(0);

      const exported = await fetch(`${t.baseUrl}/api/v1/audit/events/export`, { headers });
      expect(exported.status).toBe(200);
      expect(exported.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      const lines = (await exported.text()).split('\n').filter((line) => line.length > 0);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(JSON.parse(line)).toHaveProperty('type');

      const socket = await openLive(`${t.wsUrl}/api/v1/ws/audit`, headers);
      try {
        // Something to see: a change to another key is audited and broadcast.
        const other = await issue();
        expect((await patch(other.id, { service_name: unique('renamed') })).status).toBe(200);
        const frame = await socket.nextMessage(
          (m) => m?.type === 'audit.event' && m.data?.type === 'api_key.updated' && String(m.data.reason).includes(other.key_prefix),
        );
        expect(frame.data.outcome).toBe('success');
      } finally {
        socket.close();
      }
      // The key cannot do more than read the audit trail.
      expect((await call(t.baseUrl, 'GET', '/api/v1/alerts', { headers })).status).toBe(403);
    });

    it('refuses the audit routes and the audit socket to a key without audit:read', async () => {
      const plain = await issue();
      expect(plain.permissions).not.toContain('audit:read');
      const headers = apiKey(plain.api_key);
      expect((await call(t.baseUrl, 'GET', '/api/v1/audit/events', { headers })).status).toBe(403);
      expect((await call(t.baseUrl, 'GET', '/api/v1/audit/events/export', { headers })).status).toBe(403);
      const handshake = await tryHandshake(`${t.wsUrl}/api/v1/ws/audit`, headers);
      expect(handshake.opened).toBe(false);
      expect(handshake.status).toBe(403);
    });

    it('never grants users:manage, nor an unknown permission: 400 on create and on PATCH', async () => {
      for (const permissions of [['users:manage'], ['alerts:read', 'users:manage'], ['alerts:admin'], ['']]) {
        const created = await createKey({ service_name: unique('greedy'), permissions });
        expect(created.status).toBe(400);
      }
      const key = await issue({ permissions: ['alerts:read'] });
      const before = await listed(key.id);
      for (const permissions of [['users:manage'], ['audit:read', 'users:manage'], ['root']]) {
        const reply = await patch(key.id, { permissions });
        expect(reply.status).toBe(400);
        expect(reply.body.statusCode).toBe(400);
      }
      expect((await listed(key.id)).permissions).toEqual(before.permissions);
      expect((await me(key.api_key)).body.permissions).toEqual(['alerts:read']);
    });
  });

  describe('allowed_ips', () => {
    it('admits an IPv4 CIDR match and refuses a miss with 403 ip_not_allowed', async () => {
      const key = await issue({ allowed_ips: ['10.0.0.0/8'] });
      expect((await listed(key.id)).allowed_ips).toEqual(['10.0.0.0/8']);
      expect((await me(key.api_key, '10.1.2.3')).status).toBe(200);
      expect((await me(key.api_key, '10.255.255.254')).status).toBe(200);
      expectIpRefusal(await me(key.api_key, '11.0.0.1'));
      expectIpRefusal(await me(key.api_key, '9.255.255.255'));
      // The proxy itself (no X-Forwarded-For: 127.0.0.1) is not in the list either.
      expectIpRefusal(await me(key.api_key));
    });

    it('admits a single address and nothing next to it', async () => {
      const key = await issue({ allowed_ips: ['192.0.2.7'] });
      expect((await me(key.api_key, '192.0.2.7')).status).toBe(200);
      expectIpRefusal(await me(key.api_key, '192.0.2.8'));
      expectIpRefusal(await me(key.api_key, '192.0.2.6'));
    });

    it('admits an IPv6 CIDR match and refuses a miss', async () => {
      const key = await issue({ allowed_ips: ['2001:db8::/32'] });
      expect((await me(key.api_key, '2001:db8::5')).status).toBe(200);
      expect((await me(key.api_key, '2001:db8:ffff::1')).status).toBe(200);
      expectIpRefusal(await me(key.api_key, '2001:db9::5'));
      expectIpRefusal(await me(key.api_key, '10.1.2.3'));
    });

    it('compares an IPv4-mapped IPv6 client address as the IPv4 address it is', async () => {
      const key = await issue({ allowed_ips: ['10.0.0.0/8'] });
      expect((await me(key.api_key, '::ffff:10.1.2.3')).status).toBe(200);
      expectIpRefusal(await me(key.api_key, '::ffff:11.1.2.3'));
    });

    it('admits any address when the list is empty or absent', async () => {
      const empty = await issue({ allowed_ips: [] });
      const absent = await issue();
      expect((await listed(empty.id)).allowed_ips).toEqual([]);
      expect((await listed(absent.id)).allowed_ips).toEqual([]);
      for (const key of [empty, absent]) {
        for (const ip of ['10.1.2.3', '198.51.100.9', '2001:db8::5', '::ffff:203.0.113.1']) expect((await me(key.api_key, ip)).status).toBe(200);
        expect((await me(key.api_key)).status).toBe(200);
      }
    });

    it('audits a refusal as auth.api_key failure ip_not_allowed with the key prefix as actor, never the key', async () => {
      const key = await issue({ allowed_ips: ['10.0.0.0/8'] });
      expectIpRefusal(await me(key.api_key, '203.0.113.77'));
      const events = await auditEvents('auth.api_key');
      const mine = events.filter((event) => event.actor === key.key_prefix);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ type: 'auth.api_key', outcome: 'failure', reason: 'ip_not_allowed', actor: key.key_prefix, ip: '203.0.113.77' });
      expect(JSON.stringify(events)).not.toContain(key.api_key);
      expect(JSON.stringify(events)).not.toContain(key.api_key.slice(7));
    });
  });

  describe('rate_limit', () => {
    it('admits limit requests with RateLimit-Remaining counting down, then 429 with Retry-After and RateLimit-*', async () => {
      const key = await issue({ rate_limit: { limit: 3, window_seconds: 60 } });
      expect((await listed(key.id)).rate_limit).toEqual({ limit: 3, window_seconds: 60 });
      for (const remaining of [2, 1, 0]) {
        const reply = await me(key.api_key);
        expect(reply.status).toBe(200);
        expectRateHeaders(reply, 3, remaining, 60);
      }
      for (let i = 0; i < 2; i++) {
        const refused = await me(key.api_key);
        expect(refused.status).toBe(429);
        expect(refused.body).toMatchObject({ statusCode: 429 });
        const retryAfter = Number(refused.headers.get('retry-after'));
        expect(Number.isInteger(retryAfter)).toBe(true);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expectRateHeaders(refused, 3, 0, 60);
      }
      // Another key is not affected.
      expect((await me((await issue({ rate_limit: { limit: 3, window_seconds: 60 } })).api_key)).status).toBe(200);
    });

    it('puts RateLimit-* on a 403 (missing permission) answer to a limited key too', async () => {
      const key = await issue({ permissions: ['alerts:read'], rate_limit: { limit: 10, window_seconds: 120 } });
      const refused = await call(t.baseUrl, 'GET', '/api/v1/audit/events', { headers: apiKey(key.api_key) });
      expect(refused.status).toBe(403);
      expectRateHeaders(refused, 10, 9, 120);
      const allowed = await call(t.baseUrl, 'GET', '/api/v1/alerts', { headers: apiKey(key.api_key) });
      expect(allowed.status).toBe(200);
      expectRateHeaders(allowed, 10, 8, 120);
    });

    it('sends no RateLimit-* to a key without a limit', async () => {
      const key = await issue();
      expect((await listed(key.id)).rate_limit).toBeNull();
      const reply = await me(key.api_key);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('ratelimit-limit')).toBeNull();
      expect(reply.headers.get('ratelimit-remaining')).toBeNull();
      expect(reply.headers.get('ratelimit-reset')).toBeNull();
    });

    it('is removed at once by PATCH rate_limit: null', async () => {
      const key = await issue({ rate_limit: { limit: 1, window_seconds: 3600 } });
      expect((await me(key.api_key)).status).toBe(200);
      expect((await me(key.api_key)).status).toBe(429);
      const patched = await patch(key.id, { rate_limit: null });
      expect(patched.status).toBe(200);
      expect(patched.body.rate_limit).toBeNull();
      for (let i = 0; i < 3; i++) {
        const reply = await me(key.api_key);
        expect(reply.status).toBe(200);
        expect(reply.headers.get('ratelimit-limit')).toBeNull();
        expect(reply.headers.get('ratelimit-remaining')).toBeNull();
        expect(reply.headers.get('ratelimit-reset')).toBeNull();
        expect(reply.headers.get('retry-after')).toBeNull();
      }
    });
  });

  describe('PATCH /auth/api-keys/{id}', () => {
    it('changes each field, answers 200 with the listed shape, and takes effect at once', async () => {
      const key = await issue({ permissions: ['alerts:read', 'audit:read'] });
      expect((await me(key.api_key, '10.0.0.1')).status).toBe(200);

      const renamed = unique('renamed');
      const r1 = await patch(key.id, { service_name: renamed });
      expect(r1.status).toBe(200);
      expect(Object.keys(r1.body).sort()).toEqual(VIEW_FIELDS);
      expect(r1.body).toMatchObject({
        id: key.id,
        key_prefix: key.key_prefix,
        service_name: renamed,
        permissions: ['alerts:read', 'audit:read'],
        allowed_ips: [],
        rate_limit: null,
        revoked_at: null,
      });
      expect(r1.body).not.toHaveProperty('api_key');
      expect(JSON.stringify(r1.body)).not.toContain(key.api_key);
      expect((await me(key.api_key)).body.sub).toBe(renamed);
      expect(await listed(key.id)).toEqual({ ...r1.body, last_used_at: (await listed(key.id)).last_used_at });

      expect((await call(t.baseUrl, 'GET', '/api/v1/audit/events?limit=1', { headers: apiKey(key.api_key) })).status).toBe(200);
      const r2 = await patch(key.id, { permissions: ['alerts:read'] });
      expect(r2.status).toBe(200);
      expect(r2.body.permissions).toEqual(['alerts:read']);
      expect((await call(t.baseUrl, 'GET', '/api/v1/audit/events?limit=1', { headers: apiKey(key.api_key) })).status).toBe(403);
      expect((await call(t.baseUrl, 'GET', '/api/v1/alerts', { headers: apiKey(key.api_key) })).status).toBe(200);

      const r3 = await patch(key.id, { allowed_ips: ['10.0.0.0/8', '2001:db8::/32'] });
      expect(r3.status).toBe(200);
      expect(r3.body.allowed_ips).toEqual(['10.0.0.0/8', '2001:db8::/32']);
      expect((await me(key.api_key, '10.0.0.1')).status).toBe(200);
      const r4 = await patch(key.id, { allowed_ips: ['10.0.0.0/24'] });
      expect(r4.status).toBe(200);
      expectIpRefusal(await me(key.api_key, '10.0.1.1'));
      expect((await me(key.api_key, '10.0.0.1')).status).toBe(200);

      const r5 = await patch(key.id, { rate_limit: { limit: 2, window_seconds: 30 } });
      expect(r5.status).toBe(200);
      expect(r5.body.rate_limit).toEqual({ limit: 2, window_seconds: 30 });
      const limited = await me(key.api_key, '10.0.0.1');
      expect(limited.status).toBe(200);
      expectRateHeaders(limited, 2, 1, 30);

      const r6 = await patch(key.id, { allowed_ips: [] });
      expect(r6.status).toBe(200);
      expect(r6.body).toMatchObject({ service_name: renamed, permissions: ['alerts:read'], allowed_ips: [], rate_limit: { limit: 2, window_seconds: 30 } });
      expect((await me(key.api_key, '198.51.100.1')).status).toBe(200);
      expect((await me(key.api_key, '198.51.100.1')).status).toBe(429);
    });

    it('audits api_key.updated with the settings before and after, never the secret', async () => {
      const key = await issue({ permissions: ['alerts:read'], allowed_ips: ['10.0.0.0/8'] });
      expect((await patch(key.id, { allowed_ips: ['172.16.0.0/12'], rate_limit: { limit: 7, window_seconds: 90 } })).status).toBe(200);
      const events = (await auditEvents('api_key.updated')).filter((event) => String(event.reason).includes(key.key_prefix));
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'api_key.updated', outcome: 'success', actor: ADMIN.username });
      // Compact JSON of the changed settings only.
      expect(JSON.parse(String(events[0].reason))).toEqual({
        target: `key ${key.key_prefix}`,
        before: { allowed_ips: ['10.0.0.0/8'], rate_limit: null },
        after: { allowed_ips: ['172.16.0.0/12'], rate_limit: { limit: 7, window_seconds: 90 } },
      });
      expect(JSON.stringify(events)).not.toContain(key.api_key);
      expect(JSON.stringify(events)).not.toContain(key.api_key.slice(7));
    });

    it('answers 409 for a revoked key and 404 for an unknown one', async () => {
      const key = await issue();
      expect((await call(t.baseUrl, 'DELETE', `${KEYS}/${key.id}`, { headers: bearer(admin) })).status).toBe(204);
      const revoked = await patch(key.id, { service_name: unique('zombie') });
      expect(revoked.status).toBe(409);
      expect(revoked.body.statusCode).toBe(409);
      expect((await listed(key.id)).service_name).toBe(key.service_name);
      const unknown = await patch(randomUUID(), { service_name: unique('ghost') });
      expect(unknown.status).toBe(404);
      expect(unknown.body.statusCode).toBe(404);
    });

    it('refuses bad input with 400 and changes nothing (PATCH and create)', async () => {
      const key = await issue({ permissions: ['alerts:read'], allowed_ips: ['10.0.0.0/8'], rate_limit: { limit: 5, window_seconds: 60 } });
      const before = await listed(key.id);
      const fiftyOne = Array.from({ length: 51 }, (_, i) => `10.0.${i}.0/24`);
      const bad: unknown[] = [
        { allowed_ips: ['10.0.0.0/33'] },
        { allowed_ips: ['1.2.3'] },
        { allowed_ips: ['abc'] },
        { allowed_ips: ['::1/129'] },
        { allowed_ips: ['10.0.0.0/8', 'abc'] },
        { allowed_ips: ['10.0.0.0/'] },
        { allowed_ips: ['10.0.0.0/8/8'] },
        { allowed_ips: [''] },
        { allowed_ips: [42] },
        { allowed_ips: fiftyOne },
        { allowed_ips: null },
        { allowed_ips: '10.0.0.0/8' },
        { rate_limit: { limit: 0, window_seconds: 60 } },
        { rate_limit: { limit: 1_000_001, window_seconds: 60 } },
        { rate_limit: { limit: -1, window_seconds: 60 } },
        { rate_limit: { limit: 1.5, window_seconds: 60 } },
        { rate_limit: { limit: 5, window_seconds: 0 } },
        { rate_limit: { limit: 5, window_seconds: 86401 } },
        { rate_limit: { limit: 5, window_seconds: 1.5 } },
        { rate_limit: { limit: '5', window_seconds: 60 } },
        { rate_limit: { limit: 5, window_seconds: '60' } },
        { rate_limit: { limit: 5, window_seconds: 60, burst: 10 } },
        { rate_limit: { limit: 5 } },
        { rate_limit: { window_seconds: 60 } },
        { rate_limit: {} },
        { rate_limit: { limit: null, window_seconds: 60 } },
        { rate_limit: 'unlimited' },
        { rate_limit: 5 },
        { rate_limit: [5, 60] },
        { service_name: null },
        { service_name: '' },
        { permissions: null },
        { permissions: 'alerts:read' },
        { api_key: 'aurora_chosen_by_the_client' },
        { key_prefix: 'ak_000000000000' },
        { service_name: unique('ok'), allowed_ips: ['abc'] },
        { service_name: unique('ok'), rate_limit: { limit: 0, window_seconds: 60 } },
      ];
      for (const body of bad) {
        const reply = await patch(key.id, body);
        if (reply.status !== 400) throw new Error(`PATCH ${JSON.stringify(body).slice(0, 120)} answered ${reply.status} ${JSON.stringify(reply.body)}`);
        expect(reply.body.statusCode).toBe(400);
      }
      const after = await listed(key.id);
      expect({ ...after, last_used_at: null }).toEqual({ ...before, last_used_at: null });
      // The key still behaves as before.
      expectIpRefusal(await me(key.api_key, '11.0.0.1'));
      expectRateHeaders(await me(key.api_key, '10.0.0.1'), 5, 4, 60);

      const countBefore = (await call(t.baseUrl, 'GET', KEYS, { headers: bearer(admin) })).body.length;
      for (const extra of bad.slice(0, 29)) {
        const reply = await createKey({ service_name: unique('bad'), ...(extra as object) });
        if (reply.status !== 400) throw new Error(`POST ${JSON.stringify(extra).slice(0, 120)} answered ${reply.status} ${JSON.stringify(reply.body)}`);
      }
      expect((await call(t.baseUrl, 'GET', KEYS, { headers: bearer(admin) })).body.length).toBe(countBefore);
    });

    it('accepts the edges: 50 ranges, limit 1 and 1000000, window 1 and 86400', async () => {
      const key = await issue();
      const fifty = Array.from({ length: 50 }, (_, i) => `10.${i}.0.0/16`);
      const r1 = await patch(key.id, { allowed_ips: fifty, rate_limit: { limit: 1_000_000, window_seconds: 86400 } });
      expect(r1.status).toBe(200);
      expect(r1.body.allowed_ips).toEqual(fifty);
      expect(r1.body.rate_limit).toEqual({ limit: 1_000_000, window_seconds: 86400 });
      expect((await me(key.api_key, '10.49.1.1')).status).toBe(200);
      expectIpRefusal(await me(key.api_key, '10.50.1.1'));
      const r2 = await patch(key.id, { rate_limit: { limit: 1, window_seconds: 1 } });
      expect(r2.status).toBe(200);
      expect(r2.body.rate_limit).toEqual({ limit: 1, window_seconds: 1 });
    });
  });

  describe('usage', () => {
    it('counts successes, denials and rate-limited answers in the current hour, with the last IP', async () => {
      const key = await issue({ permissions: ['alerts:read'], allowed_ips: ['10.0.0.0/8'], rate_limit: { limit: 4, window_seconds: 600 } });
      const startedAt = Date.now();
      expect((await me(key.api_key, '10.0.0.1')).status).toBe(200);
      expect((await me(key.api_key, '10.0.0.2')).status).toBe(200);
      expect((await me(key.api_key, '10.0.0.3')).status).toBe(200);
      // Missing permission: denied (and counted against the limit: the 4th of 4).
      expect((await call(t.baseUrl, 'GET', '/api/v1/audit/events', { headers: { ...apiKey(key.api_key), ...from('10.0.0.4') } })).status).toBe(403);
      expect((await me(key.api_key, '10.0.0.5')).status).toBe(429);
      expect((await me(key.api_key, '10.0.0.6')).status).toBe(429);
      expectIpRefusal(await me(key.api_key, '11.0.0.1'));
      expectIpRefusal(await me(key.api_key, '11.0.0.2'));

      const reply = await usage(key.id);
      const answeredAt = Date.now();
      expect(reply.status).toBe(200);
      expect(Object.keys(reply.body).sort()).toEqual(['hours', 'key_prefix', 'last_ip', 'last_used_at']);
      expect(reply.body.key_prefix).toBe(key.key_prefix);
      expect(reply.body.last_ip).toBe('10.0.0.3');
      const lastUsed = Date.parse(reply.body.last_used_at);
      expect(lastUsed).toBeGreaterThanOrEqual(startedAt - 1000);
      expect(lastUsed).toBeLessThanOrEqual(answeredAt + 1000);
      const hours = reply.body.hours as Json[];
      expect(hours).toHaveLength(24);
      for (const hour of hours) expect(Object.keys(hour).sort()).toEqual(['denied', 'rate_limited', 'start', 'success']);
      const total = (field: string) => hours.reduce((sum, hour) => sum + hour[field], 0);
      expect(total('success')).toBe(3);
      expect(total('denied')).toBe(3);
      expect(total('rate_limited')).toBe(2);
      // All in the hour the requests were made (the current one, unless the clock crossed an hour since).
      const requestHour = new Date(startedAt - (startedAt % HOUR_MS)).toISOString();
      const counted = hours.filter((hour) => hour.success + hour.denied + hour.rate_limited > 0);
      expect(counted).toHaveLength(1);
      expect(counted[0].start).toBe(requestHour);
      expect([hours.length - 1, hours.length - 2]).toContain(hours.indexOf(counted[0]));
      expect(hours[hours.length - 1].start).toBe(new Date(answeredAt - (answeredAt % HOUR_MS)).toISOString());

      // Asked again: the same counts (a flush is not counted twice).
      const again = await usage(key.id);
      expect(again.body.hours.reduce((sum: number, hour: Json) => sum + hour.success, 0)).toBe(3);
      expect(again.body.hours.reduce((sum: number, hour: Json) => sum + hour.denied, 0)).toBe(3);
    });

    it('lists every hour of the window, oldest first: 24 for days=1 (the default), 720 for days=30', async () => {
      const key = await issue();
      for (const [query, length] of [
        ['', 24],
        ['?days=1', 24],
        ['?days=7', 24 * 7],
        ['?days=30', 24 * 30],
      ] as const) {
        const now = Date.now();
        const reply = await usage(key.id, query);
        expect(reply.status).toBe(200);
        const hours = reply.body.hours as Json[];
        expect(hours).toHaveLength(length);
        const starts = hours.map((hour) => Date.parse(hour.start));
        for (const start of starts) expect(start % HOUR_MS).toBe(0);
        for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBe(HOUR_MS);
        expect(starts[starts.length - 1]).toBeGreaterThanOrEqual(now - (now % HOUR_MS));
        expect(starts[starts.length - 1]).toBeLessThanOrEqual(Date.now());
        for (const hour of hours) expect(hour).toMatchObject({ success: 0, denied: 0, rate_limited: 0 });
      }
      const unused = await usage(key.id);
      expect(unused.body).toMatchObject({ key_prefix: key.key_prefix, last_used_at: null, last_ip: null });
    });

    it('refuses days outside 1..30 with 400, an unknown key with 404, and a caller without users:manage with 403', async () => {
      const key = await issue();
      for (const query of ['?days=0', '?days=31', '?days=x', '?days=-1', '?days=1.5', '?days=', '?other=1']) {
        const reply = await usage(key.id, query);
        if (reply.status !== 400) throw new Error(`usage${query} answered ${reply.status}`);
      }
      expect((await usage(randomUUID())).status).toBe(404);
      expect((await call(t.baseUrl, 'GET', `${KEYS}/${key.id}/usage`, { headers: apiKey(key.api_key) })).status).toBe(403);
    });
  });

  describe('the hot path', () => {
    it('answers a warm key with allowed_ips and a rate_limit without a database query, 429s included', async () => {
      const key = await issue({ allowed_ips: ['10.0.0.0/8', '2001:db8::/32'], rate_limit: { limit: 1_000_000, window_seconds: 3600 } });
      const tight = await issue({ allowed_ips: ['10.0.0.0/8'], rate_limit: { limit: 3, window_seconds: 3600 } });
      expect((await me(key.api_key, '10.0.0.1')).status).toBe(200);
      expect((await me(tight.api_key, '10.0.0.1')).status).toBe(200);
      const recorder = t.app.get(KeyUsageRecorder);
      const flushes = jest.spyOn(recorder, 'flush');
      try {
        let statements: string[] = [];
        // A window that the minutely usage batch happens to fall into is measured again (once).
        for (let attempt = 0; attempt < 2; attempt++) {
          await recorder.flush();
          await flushAudit();
          flushes.mockClear();
          const counter = await countQueries(t.app.get(DataSource));
          try {
            for (let i = 0; i < 10; i++) {
              const reply = await me(key.api_key, i % 2 ? '10.9.8.7' : '2001:db8::1');
              expect(reply.status).toBe(200);
              expect(reply.headers.get('ratelimit-limit')).toBe('1000000');
            }
            if (attempt === 0) {
              for (const expected of [200, 200, 429, 429]) expect((await me(tight.api_key, '10.0.0.2')).status).toBe(expected);
            } else {
              for (let i = 0; i < 2; i++) expect((await me(tight.api_key, '10.0.0.2')).status).toBe(429);
            }
            statements = [...counter.statements];
          } finally {
            counter.stop();
          }
          if (flushes.mock.calls.length === 0) break;
        }
        expect(flushes.mock.calls.length).toBe(0);
        expect(statements).toEqual([]);
        // The counter does see a lookup: a key that is not cached.
        const counter = await countQueries(t.app.get(DataSource));
        try {
          expect((await me(generateApiKey(), '10.0.0.1')).status).toBe(401);
          expect(counter.count(/api_keys/)).toBe(1);
        } finally {
          counter.stop();
        }
      } finally {
        flushes.mockRestore();
      }
    });
  });
});
