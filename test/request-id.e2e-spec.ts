import { randomUUID } from 'node:crypto';
import { bearer, call, createUser, login, waitFor, type Json } from './support/http';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import WebSocket from 'ws';
import { tryHandshake } from './support/ws';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * X-Request-Id: on every response (the client's when it is a sane token of at most 64 characters,
 * else a new UUID), in error bodies, in every log line of the request, and in audit rows — on the
 * WebSocket handshake too.
 */
describe('X-Request-Id', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let admin: string;
  const logChunks: string[] = [];
  let stdoutSpy: jest.SpyInstance;

  beforeAll(async () => {
    // Installed before the app exists: pino picks its destination (process.stdout) at start.
    stdoutSpy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logChunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
    db = await databaseForFile();
    t = await startTestApp({ LOG_LEVEL: 'info', LOGIN_MAX_PER_IP: '100000' }, db);
    admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
    stdoutSpy?.mockRestore();
  });

  const uniqueId = (label: string) => `${label}-${randomUUID()}`;
  /** Every JSON log line written so far. */
  const logLines = (): Json[] =>
    logChunks
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => {
        try {
          return JSON.parse(line);
        } catch {
          return undefined;
        }
      })
      .filter(Boolean);
  const auditEvents = async (query: string): Promise<Json[]> => {
    const reply = await call(t.baseUrl, 'GET', `/api/v1/audit/events?${query}&limit=1000`, { headers: bearer(admin) });
    expect(reply.status).toBe(200);
    return reply.body;
  };

  describe('on responses', () => {
    it('echoes a sane client id, on success and on error', async () => {
      const id = uniqueId('sane.id:1');
      const ok = await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: { ...bearer(admin), 'x-request-id': id } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-request-id')).toBe(id);
      const health = await call(t.baseUrl, 'GET', '/healthz', { headers: { 'x-request-id': id } });
      expect(health.headers.get('x-request-id')).toBe(id);
      const max = 'M'.repeat(64);
      expect((await call(t.baseUrl, 'GET', '/healthz', { headers: { 'x-request-id': max } })).headers.get('x-request-id')).toBe(max);
    });

    it('gives every response a new UUID when the client sent none, and a different one each time', async () => {
      const first = (await call(t.baseUrl, 'GET', '/healthz')).headers.get('x-request-id');
      const second = (await call(t.baseUrl, 'GET', '/api/v1/auth/me')).headers.get('x-request-id');
      expect(first).toMatch(UUID);
      expect(second).toMatch(UUID);
      expect(first).not.toBe(second);
    });

    it.each([
      ['65 characters', 'x'.repeat(65)],
      ['a space', 'has space'],
      ['a slash', 'a/b'],
      ['markup', '<script>alert(1)</script>'],
      ['a quote', 'id"quoted'],
      ['non-ASCII (percent-encoded)', encodeURIComponent('ïd')],
      ['an empty value', ''],
    ])('replaces an id with %s by a new UUID', async (_name, offered) => {
      const reply = await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: { 'x-request-id': offered } });
      expect(reply.status).toBe(401);
      const answered = reply.headers.get('x-request-id');
      expect(answered).toMatch(UUID);
      expect(reply.body.request_id).toBe(answered);
    });

    it('names the id in every error body: 401, 403, 404 and 400', async () => {
      const viewerId = uniqueId('unauthenticated');
      const unauthenticated = await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: { 'x-request-id': viewerId } });
      expect(unauthenticated.status).toBe(401);
      expect(unauthenticated.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', request_id: viewerId });

      const viewer = await createUser(t.baseUrl, admin, 'request-id-viewer@test.local', 'viewer');
      const viewerToken = await login(t.baseUrl, viewer.username, viewer.password);
      const forbidden = await call(t.baseUrl, 'GET', '/api/v1/users', { headers: { ...bearer(viewerToken), 'x-request-id': 'forbidden-1' } });
      expect(forbidden.status).toBe(403);
      expect(forbidden.body).toMatchObject({ statusCode: 403, request_id: 'forbidden-1' });

      const missing = await call(t.baseUrl, 'GET', '/api/v1/no-such-route', { headers: { ...bearer(admin), 'x-request-id': 'missing-1' } });
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ statusCode: 404, request_id: 'missing-1' });
      expect(missing.headers.get('x-request-id')).toBe('missing-1');

      const invalid = await call(t.baseUrl, 'POST', '/api/v1/auth/token', { headers: { 'x-request-id': 'invalid-1' }, body: { username: 'x' } });
      expect(invalid.status).toBe(400);
      expect(invalid.body).toMatchObject({ statusCode: 400, request_id: 'invalid-1' });
    });

    it('names the id on the answers of the body parser too: malformed JSON (400) and a body over 100 kB (413)', async () => {
      const malformed = await call(t.baseUrl, 'POST', '/api/v1/auth/token', {
        headers: { 'x-request-id': 'malformed-1', 'content-type': 'application/json' },
        raw: '{"username":',
      });
      expect(malformed.status).toBe(400);
      expect(malformed.headers.get('x-request-id')).toBe('malformed-1');
      expect(malformed.body).toMatchObject({ statusCode: 400, request_id: 'malformed-1' });

      const tooLarge = await call(t.baseUrl, 'POST', '/api/v1/auth/token', {
        headers: { 'x-request-id': 'x'.repeat(65), 'content-type': 'application/json' },
        raw: JSON.stringify({ username: 'a', password: 'p'.repeat(120_000) }),
      });
      expect(tooLarge.status).toBe(413);
      const answered = tooLarge.headers.get('x-request-id');
      expect(answered).toMatch(UUID);
      expect(tooLarge.body).toMatchObject({ statusCode: 413, request_id: answered });
    });
  });

  describe('in logs and audit rows', () => {
    it('a failed login that sent a known id: every log line of the request names it, and the audit row records it', async () => {
      const id = uniqueId('login-fail');
      const reply = await call(t.baseUrl, 'POST', '/api/v1/auth/token', {
        headers: { 'x-request-id': id },
        body: { username: ADMIN.username, password: 'Definitely-Wrong-Password-7' },
      });
      expect(reply.status).toBe(401);
      expect(reply.headers.get('x-request-id')).toBe(id);
      expect(reply.body.request_id).toBe(id);

      // The request's own lines: the access log line and the audit line logged while it ran.
      let lines: Json[] = [];
      expect(await waitFor(() => (lines = logLines().filter((line) => JSON.stringify(line).includes(id))).length >= 2)).toBe(true);
      const access = lines.find((line) => line.res?.statusCode === 401);
      expect(access).toBeDefined();
      expect(access.req.id).toBe(id);
      const auditLine = lines.find((line) => line.audit);
      expect(auditLine).toBeDefined();
      expect(auditLine.audit).toMatchObject({ type: 'auth.login', outcome: 'failure', reason: 'wrong_password', request_id: id });
      // Lines about a request name its id explicitly (no per-request logger context: bench/RESULTS.md, issue 20).
      expect(auditLine.audit.request_id).toBe(access.req.id);
      for (const line of lines) expect(JSON.stringify(line)).not.toContain('Definitely-Wrong-Password-7');

      let rows: Json[] = [];
      expect(await waitFor(async () => (rows = (await auditEvents('type=auth.login&outcome=failure')).filter((e) => e.request_id === id)).length === 1)).toBe(
        true,
      );
      expect(rows[0]).toMatchObject({ type: 'auth.login', outcome: 'failure', actor: ADMIN.username, reason: 'wrong_password', request_id: id });
    });

    it('an audit row records the server-made UUID, not the rejected client value', async () => {
      const rejected = `bad id ${randomUUID()}`;
      const userAgent = `request-id-spec/${randomUUID()}`;
      const reply = await call(t.baseUrl, 'GET', '/api/v1/auth/me', {
        headers: { ...bearer('garbage.token.value'), 'x-request-id': rejected, 'user-agent': userAgent },
      });
      expect(reply.status).toBe(401);
      const answered = reply.headers.get('x-request-id')!;
      expect(answered).toMatch(UUID);
      let rows: Json[] = [];
      expect(await waitFor(async () => (rows = (await auditEvents('type=auth.jwt')).filter((e) => e.user_agent === userAgent)).length === 1)).toBe(true);
      expect(rows[0].request_id).toBe(answered);
      // The raw header may be logged among the request headers, but never as the request's id.
      const ids = logLines().flatMap((line) => [line.req?.id, line.audit?.request_id]);
      expect(ids).toContain(answered);
      expect(ids).not.toContain(rejected);
    });

    it('a refused WebSocket handshake answers with the X-Request-Id and audits it', async () => {
      const id = uniqueId('ws-refused');
      const refused = await tryHandshake(`${t.wsUrl}/api/v1/ws/alerts`, { ...bearer('garbage.token.value'), 'x-request-id': id });
      expect(refused).toMatchObject({ opened: false, status: 401 });
      if (refused.opened) return;
      expect(refused.headers['x-request-id']).toBe(id);
      let rows: Json[] = [];
      expect(await waitFor(async () => (rows = (await auditEvents('type=auth.ws_handshake')).filter((e) => e.request_id === id)).length === 1)).toBe(true);
      expect(rows[0]).toMatchObject({ type: 'auth.ws_handshake', outcome: 'failure', reason: 'malformed_token', request_id: id });

      const insane = await tryHandshake(`${t.wsUrl}/api/v1/ws/audit`, { 'x-request-id': 'y'.repeat(65) });
      expect(insane).toMatchObject({ opened: false, status: 401 });
      if (insane.opened) return;
      expect(insane.headers['x-request-id']).toMatch(UUID);
    });

    it('an accepted WebSocket handshake (101) carries the X-Request-Id too', async () => {
      const id = uniqueId('ws-accepted');
      const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const socket = new WebSocket(`${t.wsUrl}/api/v1/ws/alerts`, { headers: { ...bearer(admin), 'x-request-id': id } });
        socket.on('upgrade', (res) => {
          resolve({ ...res.headers });
          socket.close();
        });
        socket.on('unexpected-response', (_req, res) => reject(new Error(`handshake refused with ${res.statusCode}`)));
        socket.on('error', reject);
      });
      expect(headers['x-request-id']).toBe(id);
    });
  });
});
