import { ADMIN, startTestApp, databaseForFile, TestApp } from './support/test-app';
import { bearer, call, login } from './support/http';

describe('foundation (runs on PostgreSQL with DATABASE_URL, else on the embedded database)', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({}, db);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('answers /healthz and /readyz', async () => {
    expect((await call(t.baseUrl, 'GET', '/healthz')).status).toBe(200);
    const ready = await call(t.baseUrl, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
  });

  it('bootstraps the configured admin, who can sign in', async () => {
    const token = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    const me = await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(token) });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ sub: ADMIN.username, role: 'admin', auth_method: 'jwt' });
  });

  it('sends security headers and no x-powered-by', async () => {
    const reply = await call(t.baseUrl, 'GET', '/healthz');
    expect(reply.headers.get('x-powered-by')).toBeNull();
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers malformed JSON with 400 and an oversized body with 413, as JSON without a stack', async () => {
    const bad = await call(t.baseUrl, 'POST', '/api/v1/auth/token', { raw: '{"username":', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    const big = await call(t.baseUrl, 'POST', '/api/v1/auth/token', { body: { username: 'x', password: 'y'.repeat(120_000) } });
    expect(big.status).toBe(413);
    expect(JSON.stringify(big.body)).not.toMatch(/at .*\.js:\d+/);
  });

  it('answers a NUL character or absurd nesting in a body with 400, never 500', async () => {
    const token = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    const nul = await call(t.baseUrl, 'POST', '/api/v1/alerts', { headers: bearer(token), body: { title: 'a\u0000b', severity: 'low', source: 's' } });
    expect(nul.status).toBe(400);
    expect(nul.body.message).toMatch(/NUL/);
    const deep = await call(t.baseUrl, 'POST', '/api/v1/auth/token', {
      raw: `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(deep.status).toBe(400);
    const alerts = await call(t.baseUrl, 'GET', '/api/v1/alerts', { headers: bearer(token) });
    expect(alerts.body).toEqual([]);
  });

  it('echoes a sane X-Request-Id and replaces an insane one', async () => {
    const sane = await call(t.baseUrl, 'GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(sane.headers.get('x-request-id')).toBe('abc-123');
    const insane = await call(t.baseUrl, 'GET', '/healthz', { headers: { 'x-request-id': 'a b\tc'.repeat(50) } });
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the OpenAPI document', async () => {
    const doc = await call(t.baseUrl, 'GET', '/api/docs-json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/v1/auth/token', '/api/v1/alerts']));
  });
});
