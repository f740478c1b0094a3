import { apiKey, bearer, call, createUser, login } from './support/http';
import { ADMIN, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase, TestDatabase } from './support/test-database';
import { closedWithin, LiveClient, openLive } from './support/ws';

const ALERTS_WS = '/api/v1/ws/alerts';
const AUDIT_WS = '/api/v1/ws/audit';

/** Needs a PostgreSQL server shared by several instances: events travel over LISTEN/NOTIFY. */
describe('live WebSockets across instances (two apps on one PostgreSQL database)', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let adminOnA: string;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await startTestApp({}, { url: db.url });
    b = await startTestApp({}, { url: db.url });
    adminOnA = await login(a.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  async function open(app: TestApp, path: string, headers: Record<string, string>): Promise<LiveClient> {
    const client = await openLive(`${app.wsUrl}${path}`, headers);
    clients.push(client);
    return client;
  }
  async function issueOnA() {
    const reply = await call(a.baseUrl, 'POST', '/api/v1/auth/api-keys', {
      headers: bearer(adminOnA),
      body: { service_name: `ws-multi-${Math.random().toString(36).slice(2, 10)}` },
    });
    if (reply.status !== 201) throw new Error(`creating a key failed: ${reply.status}`);
    return reply.body as { id: string; api_key: string };
  }
  async function userOnA(role: string) {
    const username = `${role}-${Math.random().toString(36).slice(2, 10)}@multi.test`;
    const user = await createUser(a.baseUrl, adminOnA, username, role);
    return { ...user, token: await login(a.baseUrl, username, user.password) };
  }

  it('delivers an alert posted on A to sockets on A and B, and a change made on B to both', async () => {
    const viewer = await userOnA('viewer');
    const onA = await open(a, ALERTS_WS, bearer(viewer.token));
    const onB = await open(b, ALERTS_WS, bearer(viewer.token));
    const writer = await issueOnA();
    const posted = await call(a.baseUrl, 'POST', '/api/v1/alerts', {
      headers: apiKey(writer.api_key),
      body: { title: 'Lateral movement', severity: 'high', source: 'ndr' },
    });
    expect(posted.status).toBe(201);
    expect(await onB.nextMessage((m) => m.type === 'alert.created' && m.data.id === posted.body.id)).toEqual({ type: 'alert.created', data: posted.body });
    expect(await onA.nextMessage((m) => m.type === 'alert.created' && m.data.id === posted.body.id)).toEqual({ type: 'alert.created', data: posted.body });
    const patched = await call(b.baseUrl, 'PATCH', `/api/v1/alerts/${posted.body.id}`, { headers: apiKey(writer.api_key), body: { status: 'resolved' } });
    expect(patched.status).toBe(200);
    expect(await onA.nextMessage((m) => m.type === 'alert.updated' && m.data.id === posted.body.id)).toEqual({ type: 'alert.updated', data: patched.body });
    expect(await onB.nextMessage((m) => m.type === 'alert.updated' && m.data.id === posted.body.id)).toEqual({ type: 'alert.updated', data: patched.body });
    expect(onB.messages.filter((m) => m.data?.id === posted.body.id)).toHaveLength(2);
  });

  it('delivers an alert too large for a notification from A to a socket on B', async () => {
    const viewer = await userOnA('viewer');
    const onB = await open(b, ALERTS_WS, bearer(viewer.token));
    const posted = await call(a.baseUrl, 'POST', '/api/v1/alerts', {
      headers: bearer(adminOnA),
      body: { title: 'Big', severity: 'low', source: 'ndr', description: 'y'.repeat(10_000) },
    });
    expect(posted.status).toBe(201);
    expect((await onB.nextMessage((m) => m.type === 'alert.created' && m.data.id === posted.body.id)).data).toEqual(posted.body);
  });

  it('delivers audit events recorded on A to an audit socket on B', async () => {
    const operator = await userOnA('operator');
    const onB = await open(b, AUDIT_WS, bearer(operator.token));
    const viewer = await userOnA('viewer');
    const frame = await onB.nextMessage((m) => m.type === 'audit.event' && m.data.type === 'auth.login' && m.data.actor === viewer.username);
    expect(frame.data.outcome).toBe('success');
  });

  it('closes with 4401 within 1 s a socket on B whose key is revoked on A', async () => {
    const key = await issueOnA();
    const onB = await open(b, ALERTS_WS, apiKey(key.api_key));
    const started = Date.now();
    expect((await call(a.baseUrl, 'DELETE', `/api/v1/auth/api-keys/${key.id}`, { headers: bearer(adminOnA) })).status).toBe(204);
    const closed = await closedWithin(onB, 1000);
    expect(closed.code).toBe(4401);
    expect(closed.at - started).toBeLessThan(1000);
  });

  it('closes with 4401 within 1 s the socket on B of a user disabled on A', async () => {
    const viewer = await userOnA('viewer');
    const onB = await open(b, ALERTS_WS, bearer(viewer.token));
    const started = Date.now();
    expect((await call(a.baseUrl, 'PATCH', `/api/v1/users/${viewer.id}`, { headers: bearer(adminOnA), body: { disabled: true } })).status).toBe(200);
    const closed = await closedWithin(onB, 1000);
    expect(closed.code).toBe(4401);
    expect(closed.at - started).toBeLessThan(1000);
  });

  it('closes with 4401 within 1 s the socket on B of a token logged out on A', async () => {
    const viewer = await userOnA('viewer');
    const onB = await open(b, ALERTS_WS, bearer(viewer.token));
    const started = Date.now();
    expect((await call(a.baseUrl, 'POST', '/api/v1/auth/logout', { headers: bearer(viewer.token) })).status).toBe(204);
    const closed = await closedWithin(onB, 1000);
    expect(closed.code).toBe(4401);
    expect(closed.at - started).toBeLessThan(1000);
  });
});
