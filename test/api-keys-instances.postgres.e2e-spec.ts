import { ApiKeyCache } from '../src/api-keys/api-key-cache';
import { apiKey, bearer, call, login } from './support/http';
import { ADMIN, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase, TestDatabase } from './support/test-database';

/** Needs a PostgreSQL server shared by several instances: the cross-instance bus is LISTEN/NOTIFY. */
describe('API keys across instances (two apps on one PostgreSQL database)', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let adminOnA: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    // One after the other: the first runs the migrations and creates the admin.
    a = await startTestApp({ API_KEY_CACHE_TTL_SECONDS: '30' }, { url: db.url });
    b = await startTestApp({ API_KEY_CACHE_TTL_SECONDS: '30' }, { url: db.url });
    adminOnA = await login(a.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  const me = (app: TestApp, key: string) => call(app.baseUrl, 'GET', '/api/v1/auth/me', { headers: apiKey(key) });
  async function issueOnA(): Promise<{ id: string; api_key: string; key_prefix: string }> {
    const reply = await call(a.baseUrl, 'POST', '/api/v1/auth/api-keys', {
      headers: bearer(adminOnA),
      body: { service_name: `multi-${Math.random().toString(36).slice(2, 10)}` },
    });
    if (reply.status !== 201) throw new Error(`creating a key failed: ${reply.status}`);
    return reply.body;
  }

  /** Polls the instance until the key is refused; returns how long that took after `since`. */
  async function refusedAfter(app: TestApp, key: string, since: number, timeoutMs = 5000): Promise<number> {
    while (Date.now() - since < timeoutMs) {
      if ((await me(app, key)).status === 401) return Date.now() - since;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return Number.POSITIVE_INFINITY;
  }

  it('accepts on B a key created on A at once', async () => {
    const key = await issueOnA();
    const reply = await me(b, key.api_key);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ auth_method: 'api_key', key_prefix: key.key_prefix });
  });

  it('refuses on B within 1 s a key revoked on A, although both had it cached for 30 s', async () => {
    const key = await issueOnA();
    for (const app of [a, b]) for (let i = 0; i < 2; i++) expect((await me(app, key.api_key)).status).toBe(200);
    const cacheOnB = b.app.get(ApiKeyCache);
    const hitsBefore = cacheOnB.hits;
    expect((await me(b, key.api_key)).status).toBe(200);
    expect(cacheOnB.hits).toBeGreaterThan(hitsBefore);
    const started = Date.now();
    expect((await call(a.baseUrl, 'DELETE', `/api/v1/auth/api-keys/${key.id}`, { headers: bearer(adminOnA) })).status).toBe(204);
    expect((await me(a, key.api_key)).status).toBe(401);
    expect(await refusedAfter(b, key.api_key, started)).toBeLessThan(1000);
    expect((await me(b, key.api_key)).status).toBe(401);
  });

  it('refuses on B within 1 s the old secret of a key rotated on A without grace, and accepts the new one', async () => {
    const key = await issueOnA();
    expect((await me(b, key.api_key)).status).toBe(200);
    const started = Date.now();
    const rotated = await call(a.baseUrl, 'POST', `/api/v1/auth/api-keys/${key.id}/rotate`, { headers: bearer(adminOnA), body: { grace_period_seconds: 0 } });
    expect(rotated.status).toBe(201);
    expect(await refusedAfter(b, key.api_key, started)).toBeLessThan(1000);
    expect((await me(b, rotated.body.api_key)).status).toBe(200);
  });

  describe('with API_KEY_CACHE_TTL_SECONDS=0', () => {
    let c: TestApp;

    beforeAll(async () => {
      c = await startTestApp({ API_KEY_CACHE_TTL_SECONDS: '0' }, { url: db.url });
    });
    afterAll(async () => {
      await c?.close();
    });

    it('keeps keys working, caches nothing, and refuses a revoked key at once', async () => {
      const key = await issueOnA();
      for (let i = 0; i < 3; i++) {
        const reply = await me(c, key.api_key);
        expect(reply.status).toBe(200);
        expect(reply.body).toMatchObject({ role: 'api_service', key_prefix: key.key_prefix });
      }
      const cache = c.app.get(ApiKeyCache);
      expect(cache.enabled).toBe(false);
      expect(cache.size).toBe(0);
      const adminOnC = await login(c.baseUrl, ADMIN.username, ADMIN.password);
      const own = await call(c.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(adminOnC), body: { service_name: 'uncached' } });
      expect(own.status).toBe(201);
      expect((await me(c, own.body.api_key)).status).toBe(200);
      expect(cache.size).toBe(0);
      expect((await call(a.baseUrl, 'DELETE', `/api/v1/auth/api-keys/${key.id}`, { headers: bearer(adminOnA) })).status).toBe(204);
      expect((await me(c, key.api_key)).status).toBe(401);
    });
  });
});
