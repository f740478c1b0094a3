import { DataSource } from 'typeorm';
import { generateApiKey, generateKeyPrefix, hashApiKey } from '../src/api-keys/api-key-format';
import { apiKey, bearer, call, cookie, createUser, login, waitFor, type Json } from './support/http';
import { ADMIN, ALLOWED_ORIGIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { closedWithin, LiveClient, openLive, tryHandshake } from './support/ws';

const ALERTS_WS = '/api/v1/ws/alerts';
const AUDIT_WS = '/api/v1/ws/audit';

function claimsOf(token: string): { exp: number; iat: number; jti: string } {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

describe('live WebSockets (/api/v1/ws/alerts, /api/v1/ws/audit)', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let admin: string;
  let viewer: string;
  let operator: string;
  let analyst: string;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({}, db);
    admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    for (const role of ['viewer', 'operator', 'analyst']) await createUser(t.baseUrl, admin, `${role}@ws.test`, role);
    viewer = await login(t.baseUrl, 'viewer@ws.test', 'user-password-123');
    operator = await login(t.baseUrl, 'operator@ws.test', 'user-password-123');
    analyst = await login(t.baseUrl, 'analyst@ws.test', 'user-password-123');
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await t?.close();
    await db?.drop();
  });

  const url = (path: string, query = '') => `${t.wsUrl}${path}${query}`;
  async function open(path: string, headers: Record<string, string> = {}, query = ''): Promise<LiveClient> {
    const client = await openLive(url(path, query), headers);
    clients.push(client);
    return client;
  }
  async function issueKey(body: Record<string, unknown> = {}) {
    const reply = await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', {
      headers: bearer(admin),
      body: { service_name: `ws-${Math.random().toString(36).slice(2, 10)}`, ...body },
    });
    if (reply.status !== 201) throw new Error(`creating a key failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body as { id: string; api_key: string; key_prefix: string };
  }
  async function freshUser(role: string) {
    const username = `${role}-${Math.random().toString(36).slice(2, 10)}@ws.test`;
    const user = await createUser(t.baseUrl, admin, username, role);
    return { ...user, token: await login(t.baseUrl, username, user.password) };
  }

  describe('handshake on /api/v1/ws/alerts', () => {
    it('opens with a Bearer header', async () => {
      expect(await tryHandshake(url(ALERTS_WS), bearer(viewer))).toEqual({ opened: true, status: 101 });
    });

    it('opens with an X-API-Key header', async () => {
      const key = await issueKey();
      expect(await tryHandshake(url(ALERTS_WS), apiKey(key.api_key))).toEqual({ opened: true, status: 101 });
    });

    it('opens with the cookie when Origin is an allowed origin', async () => {
      expect(await tryHandshake(url(ALERTS_WS), { ...cookie(viewer), origin: ALLOWED_ORIGIN })).toEqual({ opened: true, status: 101 });
    });

    it('opens with ?token=', async () => {
      expect(await tryHandshake(url(ALERTS_WS, `?token=${encodeURIComponent(viewer)}`))).toEqual({ opened: true, status: 101 });
    });

    it('refuses a handshake without credentials with HTTP 401 and WWW-Authenticate: Bearer, before the upgrade', async () => {
      const outcome = await tryHandshake(url(ALERTS_WS));
      expect(outcome).toMatchObject({ opened: false, status: 401 });
      expect(outcome.opened === false && outcome.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it.each([
      ['a bad Bearer token', () => bearer('not.a.jwt')],
      ['a token signed with another secret', () => bearer(`${viewer.slice(0, -4)}AAAA`)],
      ['a malformed API key', () => apiKey('aurora_nope')],
      ['a well-formed unknown API key', () => apiKey(generateApiKey())],
    ])('refuses %s with 401', async (_what, headers) => {
      expect(await tryHandshake(url(ALERTS_WS), headers())).toMatchObject({ opened: false, status: 401 });
    });

    it('refuses a bad ?token= with 401', async () => {
      expect(await tryHandshake(url(ALERTS_WS, '?token=garbage'))).toMatchObject({ opened: false, status: 401 });
    });

    it('refuses the cookie from a foreign Origin with 403', async () => {
      const outcome = await tryHandshake(url(ALERTS_WS), { ...cookie(viewer), origin: 'https://evil.example' });
      expect(outcome).toMatchObject({ opened: false, status: 403 });
    });

    it('refuses a revoked API key with 401', async () => {
      const key = await issueKey();
      expect(await tryHandshake(url(ALERTS_WS), apiKey(key.api_key))).toMatchObject({ opened: true });
      expect((await call(t.baseUrl, 'DELETE', `/api/v1/auth/api-keys/${key.id}`, { headers: bearer(admin) })).status).toBe(204);
      expect(await tryHandshake(url(ALERTS_WS), apiKey(key.api_key))).toMatchObject({ opened: false, status: 401 });
    });

    it('refuses with 403 a credential without alerts:read (a key limited to alerts:write)', async () => {
      const key = await issueKey({ permissions: ['alerts:write'] });
      expect(await tryHandshake(url(ALERTS_WS), apiKey(key.api_key))).toMatchObject({ opened: false, status: 403 });
    });

    it('refuses a logged-out token and the token of a disabled user with 401', async () => {
      const loggedOut = await login(t.baseUrl, 'viewer@ws.test', 'user-password-123');
      expect((await call(t.baseUrl, 'POST', '/api/v1/auth/logout', { headers: bearer(loggedOut) })).status).toBe(204);
      expect(await tryHandshake(url(ALERTS_WS), bearer(loggedOut))).toMatchObject({ opened: false, status: 401 });
      const user = await freshUser('viewer');
      expect((await call(t.baseUrl, 'PATCH', `/api/v1/users/${user.id}`, { headers: bearer(admin), body: { disabled: true } })).status).toBe(200);
      expect(await tryHandshake(url(ALERTS_WS, `?token=${user.token}`))).toMatchObject({ opened: false, status: 401 });
    });

    it('answers a refused handshake with the same JSON error body and headers as a refused REST request', async () => {
      const refused = await tryHandshake(url(ALERTS_WS), { ...bearer('not-a-token'), 'x-request-id': 'handshake-json-1' });
      if (refused.opened) throw new Error('the handshake with a bad token opened');
      expect(refused.status).toBe(401);
      expect(refused.headers['content-type']).toMatch(/^application\/json/);
      expect(refused.headers['www-authenticate']).toBe('Bearer');
      expect(refused.headers['x-request-id']).toBe('handshake-json-1');
      const rest = await call(t.baseUrl, 'GET', '/api/v1/alerts', { headers: { ...bearer('not-a-token'), 'x-request-id': 'handshake-json-1' } });
      expect(JSON.parse(refused.body)).toEqual(rest.body);
      const forbidden = await tryHandshake(url(AUDIT_WS), bearer(viewer));
      if (forbidden.opened) throw new Error('a viewer opened the audit socket');
      expect(JSON.parse(forbidden.body)).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message: 'missing permission: audit:read',
        request_id: expect.any(String),
      });
    });

    it('records refused handshakes as the REST guard records refusals, without the credential', async () => {
      const secretish = `${viewer.slice(0, -6)}ZZZZZZ`;
      expect(await tryHandshake(url(ALERTS_WS), bearer(secretish))).toMatchObject({ status: 401 });
      expect(await tryHandshake(url(ALERTS_WS))).toMatchObject({ status: 401 });
      expect(await tryHandshake(url(ALERTS_WS), { ...cookie(analyst), origin: 'https://evil.example' })).toMatchObject({ status: 403 });
      expect(await tryHandshake(url(AUDIT_WS), bearer(viewer))).toMatchObject({ status: 403 });
      const events = async () =>
        ((await call(t.baseUrl, 'GET', '/api/v1/audit/events?outcome=failure&limit=1000', { headers: bearer(admin) })).body as Json[]).filter((e) =>
          ['auth.ws_handshake', 'auth.cross_site', 'auth.forbidden'].includes(e.type),
        );
      expect(
        await waitFor(async () => {
          const all = await events();
          return (
            all.some((e) => e.type === 'auth.cross_site' && e.reason === 'foreign_origin' && e.actor === 'analyst@ws.test') &&
            all.some((e) => e.type === 'auth.ws_handshake' && e.reason === 'missing_credentials') &&
            all.some((e) => e.type === 'auth.ws_handshake' && e.reason === 'bad_signature') &&
            all.some((e) => e.type === 'auth.forbidden' && e.actor === 'viewer@ws.test' && /audit:read/.test(e.reason))
          );
        }),
      ).toBe(true);
      const all = await events();
      expect(all.length).toBeGreaterThanOrEqual(4);
      const text = JSON.stringify(all);
      expect(text).not.toContain(secretish);
      expect(text).not.toContain(viewer);
      expect(text).not.toContain(analyst);
    });
  });

  describe('/api/v1/ws/audit (audit:read)', () => {
    it('refuses a viewer and an analyst with 403, and an anonymous caller with 401', async () => {
      expect(await tryHandshake(url(AUDIT_WS), bearer(viewer))).toMatchObject({ opened: false, status: 403 });
      expect(await tryHandshake(url(AUDIT_WS), bearer(analyst))).toMatchObject({ opened: false, status: 403 });
      expect(await tryHandshake(url(AUDIT_WS))).toMatchObject({ opened: false, status: 401 });
    });

    it('sends an operator every audit event as it is recorded, as {type: audit.event, data}', async () => {
      const socket = await open(AUDIT_WS, bearer(operator));
      await login(t.baseUrl, 'analyst@ws.test', 'user-password-123');
      const frame = await socket.nextMessage((m) => m.type === 'audit.event' && m.data.type === 'auth.login' && m.data.actor === 'analyst@ws.test');
      expect(Object.keys(frame).sort()).toEqual(['data', 'type']);
      expect(Object.keys(frame.data).sort()).toEqual([
        'actor',
        'created_at',
        'hash',
        'id',
        'ip',
        'outcome',
        'reason',
        'request_id',
        'seq',
        'type',
        'user_agent',
      ]);
      expect(frame.data.outcome).toBe('success');
      await call(t.baseUrl, 'POST', '/api/v1/auth/token', { body: { username: 'analyst@ws.test', password: 'wrong-password-000' } });
      const failure = await socket.nextMessage((m) => m.type === 'audit.event' && m.data.type === 'auth.login' && m.data.outcome === 'failure');
      expect(JSON.stringify(failure)).not.toContain('wrong-password-000');
      const listed = (await call(t.baseUrl, 'GET', '/api/v1/audit/events?type=auth.login&limit=1000', { headers: bearer(operator) })).body as Json[];
      expect(listed.find((e) => e.id === frame.data.id)).toEqual(frame.data);
    });

    it('does not send alert frames on the audit socket, nor audit frames on the alerts socket', async () => {
      const auditSocket = await open(AUDIT_WS, bearer(operator));
      const alertSocket = await open(ALERTS_WS, bearer(operator));
      const posted = await call(t.baseUrl, 'POST', '/api/v1/alerts', { headers: bearer(analyst), body: { title: 'separate', severity: 'low', source: 'ws' } });
      await alertSocket.nextMessage((m) => m.type === 'alert.created' && m.data.id === posted.body.id);
      await login(t.baseUrl, 'analyst@ws.test', 'user-password-123');
      await auditSocket.nextMessage((m) => m.type === 'audit.event' && m.data.type === 'auth.login');
      expect(auditSocket.messages.every((m) => m.type === 'audit.event')).toBe(true);
      expect(alertSocket.messages.every((m) => m.type === 'alert.created' || m.type === 'alert.updated')).toBe(true);
    });
  });

  describe('alert frames', () => {
    it('delivers an alert posted by an API key to a viewer as {type: alert.created, data: <alert>}, and a PATCH as alert.updated', async () => {
      const socket = await open(ALERTS_WS, bearer(viewer));
      const keySocket = await open(ALERTS_WS, apiKey((await issueKey()).api_key));
      const writer = await issueKey();
      const posted = await call(t.baseUrl, 'POST', '/api/v1/alerts', {
        headers: apiKey(writer.api_key),
        body: { title: 'Ransomware note', severity: 'critical', source: 'edr', description: 'on host-3' },
      });
      expect(posted.status).toBe(201);
      const created = await socket.nextMessage((m) => m.type === 'alert.created' && m.data.id === posted.body.id);
      expect(created).toEqual({ type: 'alert.created', data: posted.body });
      expect(await keySocket.nextMessage((m) => m.type === 'alert.created' && m.data.id === posted.body.id)).toEqual(created);
      const patched = await call(t.baseUrl, 'PATCH', `/api/v1/alerts/${posted.body.id}`, { headers: apiKey(writer.api_key), body: { status: 'acknowledged' } });
      expect(patched.status).toBe(200);
      const updated = await socket.nextMessage((m) => m.type === 'alert.updated' && m.data.id === posted.body.id);
      expect(updated).toEqual({ type: 'alert.updated', data: patched.body });
    });

    it('delivers an alert too large to travel inline with its full description', async () => {
      const socket = await open(ALERTS_WS, bearer(viewer));
      const posted = await call(t.baseUrl, 'POST', '/api/v1/alerts', {
        headers: bearer(analyst),
        body: { title: 'Big', severity: 'low', source: 'ws', description: 'x'.repeat(10_000) },
      });
      expect(posted.status).toBe(201);
      const created = await socket.nextMessage((m) => m.type === 'alert.created' && m.data.id === posted.body.id);
      expect(created.data).toEqual(posted.body);
    });
  });

  describe('close codes', () => {
    it('closes with 4401 within 1 s when the socket token is logged out, and leaves the user other sessions open', async () => {
      const token = await login(t.baseUrl, 'viewer@ws.test', 'user-password-123');
      const socket = await open(ALERTS_WS, bearer(token));
      const other = await open(ALERTS_WS, bearer(viewer));
      const started = Date.now();
      expect((await call(t.baseUrl, 'POST', '/api/v1/auth/logout', { headers: bearer(token) })).status).toBe(204);
      const closed = await closedWithin(socket, 1000);
      expect(closed.code).toBe(4401);
      expect(closed.at - started).toBeLessThan(1000);
      const posted = await call(t.baseUrl, 'POST', '/api/v1/alerts', {
        headers: bearer(analyst),
        body: { title: 'still here', severity: 'low', source: 'ws' },
      });
      await other.nextMessage((m) => m.data?.id === posted.body.id);
    });

    it('closes with 4401 when the user is disabled', async () => {
      const user = await freshUser('viewer');
      const socket = await open(ALERTS_WS, {}, `?token=${user.token}`);
      const started = Date.now();
      expect((await call(t.baseUrl, 'PATCH', `/api/v1/users/${user.id}`, { headers: bearer(admin), body: { disabled: true } })).status).toBe(200);
      const closed = await closedWithin(socket, 1000);
      expect(closed.code).toBe(4401);
      expect(closed.at - started).toBeLessThan(1000);
    });

    it('closes with 4401 when the user is deleted', async () => {
      const user = await freshUser('operator');
      const socket = await open(AUDIT_WS, bearer(user.token));
      expect((await call(t.baseUrl, 'DELETE', `/api/v1/users/${user.id}`, { headers: bearer(admin) })).status).toBe(204);
      expect((await closedWithin(socket, 1000)).code).toBe(4401);
    });

    it('closes with 4401 when the key is revoked, and leaves other keys open', async () => {
      const key = await issueKey();
      const other = await issueKey();
      const socket = await open(ALERTS_WS, apiKey(key.api_key));
      const survivor = await open(ALERTS_WS, apiKey(other.api_key));
      const started = Date.now();
      expect((await call(t.baseUrl, 'DELETE', `/api/v1/auth/api-keys/${key.id}`, { headers: bearer(admin) })).status).toBe(204);
      const closed = await closedWithin(socket, 1000);
      expect(closed.code).toBe(4401);
      expect(closed.at - started).toBeLessThan(1000);
      const posted = await call(t.baseUrl, 'POST', '/api/v1/alerts', {
        headers: apiKey(other.api_key),
        body: { title: 'survivor', severity: 'low', source: 'ws' },
      });
      await survivor.nextMessage((m) => m.data?.id === posted.body.id);
    });

    it('closes with 4401 a socket of a key rotated without grace, and one of a key rotated with a grace period when it ends', async () => {
      const key = await issueKey();
      const socket = await open(ALERTS_WS, apiKey(key.api_key));
      const rotated = await call(t.baseUrl, 'POST', `/api/v1/auth/api-keys/${key.id}/rotate`, { headers: bearer(admin), body: { grace_period_seconds: 0 } });
      expect(rotated.status).toBe(201);
      expect((await closedWithin(socket, 1000)).code).toBe(4401);
      const renewed = await open(ALERTS_WS, apiKey(rotated.body.api_key));
      const graceStart = Date.now();
      const again = await call(t.baseUrl, 'POST', `/api/v1/auth/api-keys/${key.id}/rotate`, { headers: bearer(admin), body: { grace_period_seconds: 2 } });
      expect(again.status).toBe(201);
      const closed = await closedWithin(renewed, 5000);
      expect(closed.code).toBe(4401);
      expect(closed.at - graceStart).toBeGreaterThanOrEqual(1500);
    });

    it('closes with 4401 when the key expires', async () => {
      const raw = generateApiKey();
      const prefix = generateKeyPrefix();
      const expiresAt = Date.now() + 2500;
      await t.app
        .get(DataSource)
        .query(`INSERT INTO "api_keys" ("service_name", "key_prefix", "key_hash", "permissions", "created_by", "expires_at") VALUES ($1, $2, $3, $4, $5, $6)`, [
          'expiring',
          prefix,
          hashApiKey(raw),
          ['alerts:read'],
          ADMIN.username,
          new Date(expiresAt).toISOString(),
        ]);
      const socket = await open(ALERTS_WS, apiKey(raw));
      const closed = await closedWithin(socket, 6000);
      expect(closed.code).toBe(4401);
      expect(closed.at).toBeGreaterThanOrEqual(expiresAt - 100);
      expect(closed.at).toBeLessThan(expiresAt + 1000);
    });

    describe('on an app whose tokens live about 4 s (JWT_EXPIRY_HOURS=0.001)', () => {
      let shortDb: Awaited<ReturnType<typeof databaseForFile>>;
      let short: TestApp;
      let closedShort = false;

      beforeAll(async () => {
        shortDb = await databaseForFile();
        short = await startTestApp({ JWT_EXPIRY_HOURS: '0.001' }, shortDb);
      });
      afterAll(async () => {
        if (!closedShort) await short?.close();
        await shortDb?.drop();
      });

      it('closes with 4401 when the token expires', async () => {
        const token = await login(short.baseUrl, ADMIN.username, ADMIN.password);
        const { exp } = claimsOf(token);
        const socket = await openLive(`${short.wsUrl}${ALERTS_WS}`, bearer(token));
        clients.push(socket);
        const closed = await closedWithin(socket, 8000);
        expect(closed.code).toBe(4401);
        expect(closed.at).toBeGreaterThanOrEqual(exp * 1000 - 100);
        expect(closed.at).toBeLessThan(exp * 1000 + 1000);
      });

      it('closes every socket with 1001 when the app shuts down', async () => {
        const token = await login(short.baseUrl, ADMIN.username, ADMIN.password);
        const key = await call(short.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(token), body: { service_name: 'shutdown' } });
        const alerts = await openLive(`${short.wsUrl}${ALERTS_WS}`, apiKey(key.body.api_key));
        const audit = await openLive(`${short.wsUrl}${AUDIT_WS}`, bearer(token));
        closedShort = true;
        await short.close();
        const [alertsClosed, auditClosed] = await Promise.all([closedWithin(alerts, 2000), closedWithin(audit, 2000)]);
        expect(alertsClosed.code).toBe(1001);
        expect(auditClosed.code).toBe(1001);
      });
    });
  });
});
