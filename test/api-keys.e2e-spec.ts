import { DataSource } from 'typeorm';
import { generateApiKey, generateKeyPrefix, hashApiKey } from '../src/api-keys/api-key-format';
import { AuditRecorder } from '../src/audit/audit-recorder';
import { apiKey, bearer, call, createUser, login, waitFor, type Json } from './support/http';
import { countQueries } from './support/query-counter';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { sleep } from './support/ws';

const KEYS = '/api/v1/auth/api-keys';
const ISSUED_FIELDS = ['api_key', 'created_at', 'expires_at', 'id', 'key_prefix', 'permissions', 'service_name'];
const LISTED_FIELDS = [
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
];
const DAY_MS = 86_400_000;

/** One character of the key replaced by another base62 character. */
function mistype(key: string, position: number): string {
  const replacement = key[position] === 'x' ? 'y' : 'x';
  return key.slice(0, position) + replacement + key.slice(position + 1);
}

describe('API keys (POST/GET/DELETE /api/v1/auth/api-keys, rotation, X-API-Key)', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let admin: string;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({}, db);
    admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    dataSource = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const createKey = (body: Record<string, unknown>, headers: Record<string, string> = bearer(admin)) => call(t.baseUrl, 'POST', KEYS, { headers, body });
  async function issueKey(body: Record<string, unknown> = {}) {
    const reply = await createKey({ service_name: `svc-${Math.random().toString(36).slice(2, 10)}`, ...body });
    if (reply.status !== 201) throw new Error(`creating a key failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body as {
      id: string;
      api_key: string;
      key_prefix: string;
      service_name: string;
      permissions: string[];
      expires_at: string;
      created_at: string;
    };
  }
  const me = (key: string) => call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: apiKey(key) });
  const list = () => call(t.baseUrl, 'GET', KEYS, { headers: bearer(admin) });
  const rotate = (id: string, body: Record<string, unknown> = {}) => call(t.baseUrl, 'POST', `${KEYS}/${id}/rotate`, { headers: bearer(admin), body });
  const revoke = (id: string) => call(t.baseUrl, 'DELETE', `${KEYS}/${id}`, { headers: bearer(admin) });

  /** A key written straight into the table, so that no instance has it cached. */
  async function insertKey(expiresAt: Date, permissions = ['alerts:read', 'alerts:write']) {
    const raw = generateApiKey();
    const prefix = generateKeyPrefix();
    const rows: Array<{ id: string }> = await dataSource.query(
      `INSERT INTO "api_keys" ("service_name", "key_prefix", "key_hash", "permissions", "created_by", "expires_at")
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING "id"`,
      [`direct-${prefix}`, prefix, hashApiKey(raw), permissions, ADMIN.username, expiresAt.toISOString()],
    );
    return { id: rows[0].id, raw, prefix };
  }

  describe('POST /api/v1/auth/api-keys', () => {
    it('answers 201 with id, api_key, service_name, key_prefix, permissions, created_at and expires_at', async () => {
      const reply = await createKey({ service_name: 'siem-forwarder' });
      expect(reply.status).toBe(201);
      expect(Object.keys(reply.body).sort()).toEqual(ISSUED_FIELDS);
      expect(reply.body).toMatchObject({ service_name: 'siem-forwarder', permissions: expect.arrayContaining(['alerts:read', 'alerts:write']) });
      expect(reply.body.permissions).toHaveLength(2);
      expect(reply.body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isNaN(Date.parse(reply.body.created_at))).toBe(false);
    });

    it('issues aurora_ + 38 base62 characters, and a key_prefix of ak_ + 12 lowercase hex that is not part of the key', async () => {
      const first = await issueKey();
      const second = await issueKey();
      for (const issued of [first, second]) {
        expect(issued.api_key).toMatch(/^aurora_[0-9A-Za-z]{38}$/);
        expect(issued.key_prefix).toMatch(/^ak_[0-9a-f]{12}$/);
        expect(issued.api_key).not.toContain(issued.key_prefix);
        expect(issued.api_key).not.toContain(issued.key_prefix.slice(3));
      }
      expect(first.api_key).not.toBe(second.api_key);
      expect(first.key_prefix).not.toBe(second.key_prefix);
    });

    it('expires after 90 days by default, else after expires_in_days', async () => {
      const byDefault = await issueKey();
      expect(Date.parse(byDefault.expires_at) - Date.parse(byDefault.created_at)).toBeGreaterThan(90 * DAY_MS - 60_000);
      expect(Date.parse(byDefault.expires_at) - Date.parse(byDefault.created_at)).toBeLessThan(90 * DAY_MS + 60_000);
      for (const days of [1, 3650]) {
        const issued = await issueKey({ expires_in_days: days });
        expect(Math.abs(Date.parse(issued.expires_at) - Date.now() - days * DAY_MS)).toBeLessThan(60_000);
      }
    });

    it.each([[0], [3651], [1.5], ['x'], [-1]])('refuses expires_in_days %p with 400', async (days) => {
      const reply = await createKey({ service_name: 'bad-expiry', expires_in_days: days });
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    });

    it('refuses a service_name that is empty, longer than 100 characters or missing with 400, and accepts 100 characters', async () => {
      expect((await createKey({ service_name: '' })).status).toBe(400);
      expect((await createKey({ service_name: 'a'.repeat(101) })).status).toBe(400);
      expect((await createKey({})).status).toBe(400);
      expect((await createKey({ service_name: 42 })).status).toBe(400);
      expect((await createKey({ service_name: 'a'.repeat(100) })).status).toBe(201);
    });

    it('refuses an unknown permission, or permissions that are not a list, with 400', async () => {
      expect((await createKey({ service_name: 'bad-perm', permissions: ['alerts:delete'] })).status).toBe(400);
      expect((await createKey({ service_name: 'bad-perm', permissions: ['alerts:read', 'root'] })).status).toBe(400);
      expect((await createKey({ service_name: 'bad-perm', permissions: 'alerts:read' })).status).toBe(400);
    });

    it('refuses a field that is not in the contract with 400', async () => {
      const reply = await createKey({ service_name: 'extra', api_key: 'aurora_chosen_by_the_client' });
      expect(reply.status).toBe(400);
    });

    it('creates a key with a narrower permissions list', async () => {
      const issued = await issueKey({ permissions: ['alerts:read'] });
      expect(issued.permissions).toEqual(['alerts:read']);
    });

    it('refuses with 400 users:manage (and anything unknown) for a key, even for an admin', async () => {
      for (const permissions of [['users:manage'], ['alerts:read', 'users:manage'], ['audit:write']]) {
        const refused = await createKey({ service_name: 'escalation', permissions });
        expect(refused.status).toBe(400);
        expect(refused.body.message).toMatch(/users:manage|audit:write/);
      }
      const keys = await call(t.baseUrl, 'GET', '/api/v1/auth/api-keys', { headers: bearer(admin) });
      expect(keys.body.some((key: { service_name: string }) => key.service_name === 'escalation')).toBe(false);
    });

    it('refuses callers without users:manage with 403, and anonymous callers with 401', async () => {
      await createUser(t.baseUrl, admin, 'key-analyst@test.local', 'analyst');
      const analyst = await login(t.baseUrl, 'key-analyst@test.local', 'user-password-123');
      const service = await issueKey();
      expect((await createKey({ service_name: 'nope' }, bearer(analyst))).status).toBe(403);
      expect((await createKey({ service_name: 'nope' }, apiKey(service.api_key))).status).toBe(403);
      expect((await call(t.baseUrl, 'GET', KEYS, { headers: bearer(analyst) })).status).toBe(403);
      expect((await call(t.baseUrl, 'DELETE', `${KEYS}/${service.id}`, { headers: bearer(analyst) })).status).toBe(403);
      expect((await call(t.baseUrl, 'POST', `${KEYS}/${service.id}/rotate`, { headers: bearer(analyst), body: {} })).status).toBe(403);
      const anonymous = await call(t.baseUrl, 'POST', KEYS, { body: { service_name: 'nope' } });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await me(service.api_key)).status).toBe(200);
    });
  });

  describe('GET /api/v1/auth/api-keys', () => {
    it('lists the contract fields and never the key or its hash', async () => {
      const issued = await issueKey({ service_name: 'listed-service' });
      const reply = await list();
      expect(reply.status).toBe(200);
      const entry = reply.body.find((key: { id: string }) => key.id === issued.id);
      expect(Object.keys(entry).sort()).toEqual(LISTED_FIELDS);
      expect(entry).toMatchObject({
        service_name: 'listed-service',
        key_prefix: issued.key_prefix,
        permissions: issued.permissions,
        expires_at: issued.expires_at,
        created_by: ADMIN.username,
        revoked_at: null,
      });
      for (const key of reply.body) expect(Object.keys(key).sort()).toEqual(LISTED_FIELDS);
      const text = JSON.stringify(reply.body);
      expect(text).not.toContain(issued.api_key);
      expect(text).not.toContain(issued.api_key.slice('aurora_'.length));
      expect(text).not.toContain(hashApiKey(issued.api_key));
    });

    it('shows last_used_at once the key has been used, and revoked_at once revoked', async () => {
      const issued = await issueKey();
      const entryOf = async () => (await list()).body.find((key: { id: string }) => key.id === issued.id);
      expect((await entryOf()).last_used_at).toBeNull();
      const before = Date.now();
      expect((await me(issued.api_key)).status).toBe(200);
      const used = await entryOf();
      expect(used.last_used_at).not.toBeNull();
      expect(Date.parse(used.last_used_at)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(used.last_used_at)).toBeLessThanOrEqual(Date.now() + 1000);
      expect((await revoke(issued.id)).status).toBe(204);
      expect((await entryOf()).revoked_at).not.toBeNull();
    });
  });

  describe('X-API-Key authentication', () => {
    it('authenticates as role api_service with the key permissions; /auth/me shows auth_method api_key and the key_prefix', async () => {
      const issued = await issueKey({ service_name: 'me-service' });
      const reply = await me(issued.api_key);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        sub: 'me-service',
        role: 'api_service',
        permissions: issued.permissions,
        auth_method: 'api_key',
        key_prefix: issued.key_prefix,
      });
      const alert = await call(t.baseUrl, 'POST', '/api/v1/alerts', {
        headers: apiKey(issued.api_key),
        body: { title: 'from a key', severity: 'low', source: 'me-service' },
      });
      expect(alert.status).toBe(201);
    });

    it('gives a key limited to alerts:read 403 on POST /api/v1/alerts, while it may read alerts', async () => {
      const issued = await issueKey({ permissions: ['alerts:read'] });
      expect((await me(issued.api_key)).body.permissions).toEqual(['alerts:read']);
      expect((await call(t.baseUrl, 'GET', '/api/v1/alerts', { headers: apiKey(issued.api_key) })).status).toBe(200);
      const write = await call(t.baseUrl, 'POST', '/api/v1/alerts', {
        headers: apiKey(issued.api_key),
        body: { title: 'not allowed', severity: 'low', source: 'reader' },
      });
      expect(write.status).toBe(403);
    });

    it('refuses a malformed, truncated, extended or one-character-mistyped key with 401', async () => {
      const issued = await issueKey();
      const body = issued.api_key.slice('aurora_'.length);
      const variants = [
        'not-a-key',
        '',
        issued.api_key.slice(0, -1),
        issued.api_key.slice(0, 20),
        `${issued.api_key}0`,
        `Aurora_${body}`,
        `aurora-${body}`,
        mistype(issued.api_key, 10),
        mistype(issued.api_key, issued.api_key.length - 1),
        generateApiKey(),
      ];
      for (const variant of variants) {
        const reply = await me(variant);
        expect({ variant, status: reply.status }).toEqual({ variant, status: 401 });
        expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
      expect((await me(issued.api_key)).status).toBe(200);
    });

    it('refuses a key whose expires_at has passed', async () => {
      const expired = await insertKey(new Date(Date.now() - 60_000));
      expect((await me(expired.raw)).status).toBe(401);
    });

    it('refuses a key once it expires, although the cache still holds it (within API_KEY_CACHE_TTL_SECONDS)', async () => {
      const soon = await insertKey(new Date(Date.now() + 2500));
      expect((await me(soon.raw)).status).toBe(200);
      await sleep(2600);
      expect((await me(soon.raw)).status).toBe(401);
    });
  });

  describe('DELETE /api/v1/auth/api-keys/{id}', () => {
    it('answers 204, and 404 for an unknown id', async () => {
      const issued = await issueKey();
      expect((await revoke(issued.id)).status).toBe(204);
      expect((await revoke('00000000-0000-4000-8000-000000000000')).status).toBe(404);
      expect((await revoke('not-a-uuid')).status).toBe(404);
    });

    it('refuses a key used once and then revoked on the very next request', async () => {
      const issued = await issueKey();
      expect((await me(issued.api_key)).status).toBe(200);
      expect((await me(issued.api_key)).status).toBe(200);
      expect((await revoke(issued.id)).status).toBe(204);
      expect((await me(issued.api_key)).status).toBe(401);
    });
  });

  describe('POST /api/v1/auth/api-keys/{id}/rotate', () => {
    it('with grace_period_seconds 0: refuses the old key at once, and the new key works with the same id, key_prefix, permissions and expires_at', async () => {
      const issued = await issueKey({ permissions: ['alerts:read'], expires_in_days: 30 });
      expect((await me(issued.api_key)).status).toBe(200);
      const rotated = await rotate(issued.id, { grace_period_seconds: 0 });
      expect(rotated.status).toBe(201);
      expect(Object.keys(rotated.body).sort()).toEqual(ISSUED_FIELDS);
      expect(rotated.body).toMatchObject({
        id: issued.id,
        key_prefix: issued.key_prefix,
        service_name: issued.service_name,
        permissions: ['alerts:read'],
        expires_at: issued.expires_at,
      });
      expect(rotated.body.api_key).toMatch(/^aurora_[0-9A-Za-z]{38}$/);
      expect(rotated.body.api_key).not.toBe(issued.api_key);
      expect((await me(issued.api_key)).status).toBe(401);
      const fresh = await me(rotated.body.api_key);
      expect(fresh.status).toBe(200);
      expect(fresh.body.key_prefix).toBe(issued.key_prefix);
    });

    it('defaults grace_period_seconds to 0', async () => {
      const issued = await issueKey();
      expect((await me(issued.api_key)).status).toBe(200);
      const rotated = await rotate(issued.id);
      expect(rotated.status).toBe(201);
      expect((await me(issued.api_key)).status).toBe(401);
      expect((await me(rotated.body.api_key)).status).toBe(200);
    });

    it('with grace_period_seconds 2: the old key keeps working, then is refused after about 2 s', async () => {
      const issued = await issueKey();
      expect((await me(issued.api_key)).status).toBe(200);
      const rotatedAt = Date.now();
      const rotated = await rotate(issued.id, { grace_period_seconds: 2 });
      expect(rotated.status).toBe(201);
      expect((await me(issued.api_key)).status).toBe(200);
      expect((await me(rotated.body.api_key)).status).toBe(200);
      let refusedAt = 0;
      const refused = await waitFor(
        async () => {
          if ((await me(issued.api_key)).status !== 401) return false;
          refusedAt = Date.now();
          return true;
        },
        6000,
        100,
      );
      expect(refused).toBe(true);
      expect(refusedAt - rotatedAt).toBeGreaterThanOrEqual(1500);
      expect((await me(rotated.body.api_key)).status).toBe(200);
    });

    it('answers 409 for a revoked or an expired key, and 404 for an unknown id', async () => {
      const issued = await issueKey();
      expect((await revoke(issued.id)).status).toBe(204);
      const revoked = await rotate(issued.id, { grace_period_seconds: 0 });
      expect(revoked.status).toBe(409);
      expect(revoked.body).toMatchObject({ statusCode: 409 });
      const expired = await insertKey(new Date(Date.now() - 60_000));
      expect((await rotate(expired.id)).status).toBe(409);
      expect((await rotate('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    });

    it.each([[86401], [-1], [1.5], ['10']])('refuses grace_period_seconds %p with 400', async (grace) => {
      const issued = await issueKey();
      expect((await rotate(issued.id, { grace_period_seconds: grace })).status).toBe(400);
      expect((await me(issued.api_key)).status).toBe(200);
    });

    it('accepts grace_period_seconds 86400', async () => {
      const issued = await issueKey();
      const rotated = await rotate(issued.id, { grace_period_seconds: 86400 });
      expect(rotated.status).toBe(201);
      expect((await me(issued.api_key)).status).toBe(200);
      expect((await me(rotated.body.api_key)).status).toBe(200);
    });
  });

  describe('storage and the cache', () => {
    it('stores only the SHA-256 hash: no text of any row of any table holds the key', async () => {
      const issued = await issueKey({ service_name: 'stored-service' });
      const rotated = await rotate(issued.id, { grace_period_seconds: 60 });
      const secrets = [issued.api_key, rotated.body.api_key];
      await t.app.get(AuditRecorder).flush();
      const tables: Array<{ table_name: string }> = await dataSource.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
      );
      expect(tables.map((row) => row.table_name)).toEqual(expect.arrayContaining(['api_keys', 'audit_events']));
      const occurrences = async (needle: string) => {
        let found = 0;
        for (const { table_name } of tables) {
          const rows: Array<{ n: string }> = await dataSource.query(`SELECT count(*)::text AS n FROM "${table_name}" AS r WHERE strpos(r::text, $1) > 0`, [
            needle,
          ]);
          found += Number(rows[0].n);
        }
        return found;
      };
      for (const secret of secrets) {
        expect(await occurrences(secret)).toBe(0);
        expect(await occurrences(secret.slice('aurora_'.length, 'aurora_'.length + 32))).toBe(0);
        // The search does find what is there: the hashes.
        expect(await occurrences(hashApiKey(secret))).toBe(1);
      }
      const [row] = await dataSource.query(`SELECT key_hash FROM api_keys WHERE id = $1`, [issued.id]);
      expect(row).toEqual({ key_hash: hashApiKey(rotated.body.api_key) });
      const graceRows = await dataSource.query(`SELECT key_hash FROM api_key_grace_secrets WHERE key_id = $1`, [issued.id]);
      expect(graceRows).toEqual([{ key_hash: hashApiKey(issued.api_key) }]);
    });

    it('makes no database query for a warm cache hit (and the counter does see the cold lookup)', async () => {
      const cold = await insertKey(new Date(Date.now() + 10 * DAY_MS));
      const recorder = t.app.get(AuditRecorder);
      await recorder.flush();
      const counter = await countQueries(dataSource);
      try {
        expect((await me(cold.raw)).status).toBe(200);
        expect(counter.count(/api_keys/)).toBeGreaterThan(0);
        await recorder.flush();
        counter.reset();
        for (let i = 0; i < 5; i++) expect((await me(cold.raw)).status).toBe(200);
        expect(counter.statements).toEqual([]);
      } finally {
        counter.stop();
      }
    });

    it('looks a key up once when 32 requests miss the cache at the same moment', async () => {
      const cold = await insertKey(new Date(Date.now() + 10 * DAY_MS));
      const counter = await countQueries(dataSource);
      try {
        const replies = await Promise.all(Array.from({ length: 32 }, () => me(cold.raw)));
        expect(replies.map((reply) => reply.status)).toEqual(replies.map(() => 200));
        expect(counter.count(/api_keys/)).toBe(1);
      } finally {
        counter.stop();
      }
    });

    it('refuses a malformed or mistyped key without looking it up, and remembers an unknown well-formed key', async () => {
      const issued = await issueKey();
      const counter = await countQueries(dataSource);
      try {
        for (const bad of ['aurora_short', mistype(issued.api_key, 12), issued.api_key.slice(0, -2), 'x'.repeat(45)]) {
          expect((await me(bad)).status).toBe(401);
        }
        expect(counter.count(/api_keys/)).toBe(0);
        const unknown = generateApiKey();
        expect((await me(unknown)).status).toBe(401);
        expect(counter.count(/api_keys/)).toBe(1);
        expect((await me(unknown)).status).toBe(401);
        expect(counter.count(/api_keys/)).toBe(1);
      } finally {
        counter.stop();
      }
    });
  });

  describe('audit', () => {
    it('records creation, rotation and revocation with the key_prefix, and never the key', async () => {
      const issued = await issueKey({ service_name: 'audited-service' });
      const rotated = await rotate(issued.id, { grace_period_seconds: 0 });
      expect((await revoke(issued.id)).status).toBe(204);
      const mistyped = mistype(rotated.body.api_key, 9);
      expect((await me(mistyped)).status).toBe(401);
      const events = async () => (await call(t.baseUrl, 'GET', '/api/v1/audit/events?limit=1000', { headers: bearer(admin) })).body as Json[];
      const mentions = (all: Json[], type: string) =>
        all.filter((event) => event.type === type && event.outcome === 'success' && String(event.reason).includes(issued.key_prefix));
      expect(
        await waitFor(async () => {
          const all = await events();
          return ['api_key.created', 'api_key.rotated', 'api_key.revoked'].every((type) => mentions(all, type).length === 1);
        }),
      ).toBe(true);
      const all = await events();
      for (const type of ['api_key.created', 'api_key.rotated', 'api_key.revoked']) {
        expect(mentions(all, type)[0]).toMatchObject({ actor: ADMIN.username });
      }
      expect(all.some((event) => event.type === 'auth.api_key' && event.outcome === 'failure')).toBe(true);
      const text = JSON.stringify(all);
      for (const secret of [issued.api_key, rotated.body.api_key, mistyped]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(secret.slice('aurora_'.length, 'aurora_'.length + 32));
        expect(text).not.toContain(hashApiKey(secret));
      }
    });
  });
});
