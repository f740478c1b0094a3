import { DataSource } from 'typeorm';
import { generateApiKey } from '../src/api-keys/api-key-format';
import { AuditRecorder } from '../src/audit/audit-recorder';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { apiKey, bearer, call, cookie, login, waitFor } from './support/http';
import { countQueries, QueryCounter } from './support/query-counter';

/** The hot path: once warm, authenticating a request costs no database query, on any credential. */
describe('the authentication hot path makes no database query', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let token: string;
  let key: string;
  let counter: QueryCounter;

  const me = (headers: Record<string, string>) => call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers });

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({ LOGIN_MAX_PER_IP: '100000' }, db);
    token = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    const created = await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(token), body: { service_name: 'hot-path' } });
    expect(created.status).toBe(201);
    key = created.body.api_key;
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  beforeEach(async () => {
    // Audit events of the set-up are written now, not while the counter watches.
    const audit = t.app.get(AuditRecorder);
    expect(await waitFor(async () => (await audit.flush(), audit.queueDepth === 0))).toBe(true);
    counter = await countQueries(t.app.get(DataSource));
  });
  afterEach(() => counter.stop());

  it('answers JWT requests (Bearer header and cookie) from memory', async () => {
    for (let i = 0; i < 10; i++) {
      expect((await me(bearer(token))).status).toBe(200);
      expect((await me(cookie(token))).status).toBe(200);
    }
    expect(counter.statements).toEqual([]);
  });

  it('answers a warm cached API key from memory', async () => {
    for (let i = 0; i < 10; i++) {
      const reply = await me(apiKey(key));
      expect(reply.status).toBe(200);
      expect(reply.body.auth_method).toBe('api_key');
    }
    expect(counter.statements).toEqual([]);
  });

  it('does see the lookup of a key that is not cached (the counter works)', async () => {
    expect((await me(apiKey(generateApiKey()))).status).toBe(401);
    expect(counter.count(/api_keys/)).toBe(1);
  });
});
