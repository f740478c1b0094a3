import { createHmac } from 'node:crypto';
import { ADMIN, ALLOWED_ORIGIN, databaseForFile, startTestApp, TestApp, TEST_SECRET } from './support/test-app';
import { bearer, call, cookie, login, waitFor } from './support/http';
import { claimsFor, forgeToken, nowSeconds } from './support/jwt';

/** Findings of a black-box probe of the running service, kept as regressions. */
describe('hardening', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({ TRUST_PROXY: 'loopback', LOGIN_MAX_PER_IP: '2' }, db);
    admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const newAlert = { title: 'probe', severity: 'low', source: 'ids' };

  it('treats a present but empty Origin on a cookie-authenticated write as foreign (403)', async () => {
    const refused = await call(t.baseUrl, 'POST', '/api/v1/alerts', { headers: { ...cookie(admin), origin: '' }, body: newAlert });
    expect(refused.status).toBe(403);
    const allowed = await call(t.baseUrl, 'POST', '/api/v1/alerts', { headers: { ...cookie(admin), origin: ALLOWED_ORIGIN }, body: newAlert });
    expect(allowed.status).toBe(201);
  });

  it.each(['2026-W48', '20261129', '2026-333', '2026-11-29T02:33:00,5Z'])('answers since=%s on the audit endpoints with 400, not 500', async (since) => {
    for (const path of ['/api/v1/audit/events', '/api/v1/audit/events/export']) {
      const reply = await call(t.baseUrl, 'GET', `${path}?since=${encodeURIComponent(since)}`, { headers: bearer(admin) });
      expect(reply.status).toBe(400);
    }
  });

  it('answers paths outside the API that hold no file with the JSON 404, not an HTML page', async () => {
    for (const path of ['/nonexistent', '/.env', '/metrics', '/js']) {
      const reply = await call(t.baseUrl, 'GET', path);
      expect(reply.status).toBe(404);
      expect(reply.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    }
    expect((await call(t.baseUrl, 'GET', '/')).status).toBe(200);
  });

  it('marks the responses that carry a new API key as not cacheable', async () => {
    const created = await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(admin), body: { service_name: 'no-store' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const rotated = await call(t.baseUrl, 'POST', `/api/v1/auth/api-keys/${created.body.id}/rotate`, { headers: bearer(admin), body: {} });
    expect(rotated.status).toBe(201);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses blank alert titles and sources', async () => {
    for (const body of [
      { ...newAlert, title: '   ' },
      { ...newAlert, source: '\t ' },
    ]) {
      expect((await call(t.baseUrl, 'POST', '/api/v1/alerts', { headers: bearer(admin), body })).status).toBe(400);
    }
  });

  it('refuses a token with a critical header extension, and one issued in the future', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', crit: ['exp'] })).toString('base64url');
    const payload = Buffer.from(JSON.stringify(claimsFor(ADMIN.username, 'admin'))).toString('base64url');
    const crit = `${header}.${payload}.${createHmac('sha256', TEST_SECRET).update(`${header}.${payload}`).digest('base64url')}`;
    expect((await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(crit) })).status).toBe(401);
    const future = forgeToken(claimsFor(ADMIN.username, 'admin', { iat: nowSeconds() + 3600, exp: nowSeconds() + 7200 }));
    expect((await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(future) })).status).toBe(401);
  });

  it('audits logins refused by the per-IP limit', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.77', 'user-agent': 'hardening/per-ip' };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (await call(t.baseUrl, 'POST', '/api/v1/auth/token', { headers, body: { username: 'flood@test.local', password: 'wrong-password-123' } })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 429]);
    // Audit rows are written just after the answer: poll briefly.
    let events: Array<Record<string, unknown>> = [];
    await waitFor(async () => {
      events = (await call(t.baseUrl, 'GET', '/api/v1/audit/events?type=auth.login&outcome=failure', { headers: bearer(admin) })).body;
      return events.some((event) => event.reason === 'too_many_attempts_from_ip');
    }, 3000);
    expect(events).toContainEqual(
      expect.objectContaining({ actor: 'flood@test.local', reason: 'too_many_attempts_from_ip', ip: '203.0.113.77', user_agent: 'hardening/per-ip' }),
    );
  });
});
