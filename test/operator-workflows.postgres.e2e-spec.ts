import { randomUUID } from 'node:crypto';
import { ApiKeyCache } from '../src/api-keys/api-key-cache';
import { hashApiKey } from '../src/api-keys/api-key-format';
import { apiKey, bearer, call, createUser, login, Reply, waitFor, type Json } from './support/http';
import { ADMIN, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase, TestDatabase } from './support/test-database';
import { closedWithin, LiveClient, openLive, sleep } from './support/ws';

const KEYS = '/api/v1/auth/api-keys';
const AUDIT_WS = '/api/v1/ws/audit';

interface IssuedKey {
  id: string;
  api_key: string;
  key_prefix: string;
  service_name: string;
  permissions: string[];
  expires_at: string;
}

/**
 * The operator workflows of issue 9 on two instances sharing one PostgreSQL database: key rotation
 * with and without a grace period (the cache of every instance treats the old secret like a revoked
 * one once the grace ends), last_used_at during the grace, the rotation's audit event, and the live
 * audit socket of one instance carrying a failure raised on the other.
 */
describe('operator workflows across two instances (one PostgreSQL database)', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let admin: string;
  let operatorToken: string;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await startTestApp({}, { url: db.url });
    b = await startTestApp({}, { url: db.url });
    admin = await login(a.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  const me = (app: TestApp, key: string) => call(app.baseUrl, 'GET', '/api/v1/auth/me', { headers: apiKey(key) });
  const rotate = (id: string, grace?: number) =>
    call<IssuedKey>(a.baseUrl, 'POST', `${KEYS}/${id}/rotate`, { headers: bearer(admin), body: grace === undefined ? {} : { grace_period_seconds: grace } });
  const listed = async (app: TestApp, id: string) => {
    const reply = await call(app.baseUrl, 'GET', KEYS, { headers: bearer(admin) });
    expect(reply.status).toBe(200);
    return (reply.body as Array<{ id: string; last_used_at: string | null }>).find((key) => key.id === id)!;
  };

  async function issueOnA(body: Record<string, unknown> = {}): Promise<IssuedKey> {
    const reply = await call(a.baseUrl, 'POST', KEYS, {
      headers: bearer(admin),
      body: { service_name: `rotation-${randomUUID().slice(0, 8)}`, ...body },
    });
    if (reply.status !== 201) throw new Error(`creating a key failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body as IssuedKey;
  }

  /** Uses the secret on both instances until each serves it from its cache (a hit, no lookup). */
  async function warmOnBoth(secret: string): Promise<void> {
    for (const app of [a, b]) {
      expect((await me(app, secret)).status).toBe(200);
      const cache = app.app.get(ApiKeyCache);
      const hitsBefore = cache.hits;
      expect((await me(app, secret)).status).toBe(200);
      expect(cache.hits).toBeGreaterThan(hitsBefore);
    }
  }

  /** Polls until the secret is refused with 401 on the app; returns when (epoch ms), or null. */
  async function refusedAt(app: TestApp, secret: string, timeoutMs: number): Promise<number | null> {
    let at: number | null = null;
    await waitFor(
      async () => {
        const reply = await me(app, secret);
        if (reply.status !== 401) {
          expect(reply.status).toBe(200);
          return false;
        }
        at = Date.now();
        return true;
      },
      timeoutMs,
      20,
    );
    return at;
  }

  it('rotation with grace 0 on A: the old secret, warm in both caches, is refused on A at once and on B within 1 s; the new one works on both', async () => {
    const issued = await issueOnA({ permissions: ['alerts:read'] });
    await warmOnBoth(issued.api_key);
    // The caches live for API_KEY_CACHE_TTL_SECONDS (30 s): only the cross-instance eviction can make B refuse in time.
    const rotated = await rotate(issued.id, 0);
    const rotatedAt = Date.now();
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({ id: issued.id, key_prefix: issued.key_prefix, permissions: ['alerts:read'], expires_at: issued.expires_at });

    expect((await me(a, issued.api_key)).status).toBe(401);
    const onB = await refusedAt(b, issued.api_key, 3000);
    expect(onB).not.toBeNull();
    expect(onB! - rotatedAt).toBeLessThan(1000);
    // And it stays refused (no stale entry comes back), on both.
    for (const app of [a, b]) {
      for (let i = 0; i < 3; i++) expect((await me(app, issued.api_key)).status).toBe(401);
    }

    for (const app of [a, b]) {
      const fresh = await me(app, rotated.body.api_key);
      expect(fresh.status).toBe(200);
      expect(fresh.body).toMatchObject({ auth_method: 'api_key', key_prefix: issued.key_prefix, sub: issued.service_name });
    }
  });

  it('rotation with a 3 s grace: the old secret works on both instances during the grace, last_used_at moves while it is used, and it is refused on both after the grace', async () => {
    const GRACE_MS = 3000;
    const issued = await issueOnA();
    await warmOnBoth(issued.api_key);
    // A live socket on B opened with the old secret: it lives through the grace and closes when it ends.
    const socket = await openLive(`${b.wsUrl}/api/v1/ws/alerts`, apiKey(issued.api_key));
    clients.push(socket);
    const userAgent = `late-client/${randomUUID()}`;

    const requestedAt = Date.now();
    const rotated = await rotate(issued.id, GRACE_MS / 1000);
    expect(rotated.status).toBe(201);
    expect(rotated.body.api_key).not.toBe(issued.api_key);
    expect(rotated.body).toMatchObject({ id: issued.id, key_prefix: issued.key_prefix, expires_at: issued.expires_at });

    // During the grace: both secrets, on both instances (the old one was evicted and looked up again).
    for (const app of [a, b]) {
      expect((await me(app, issued.api_key)).status).toBe(200);
      expect((await me(app, rotated.body.api_key)).status).toBe(200);
    }

    // Only the old secret is used from here on: last_used_at is how the operator sees it still is.
    const before = await listed(b, issued.id);
    expect(before.last_used_at).not.toBeNull();
    await sleep(50);
    expect((await me(b, issued.api_key)).status).toBe(200);
    const usedAt = Date.now();
    const afterUseOnB = await listed(b, issued.id);
    expect(new Date(afterUseOnB.last_used_at!).getTime()).toBeGreaterThan(new Date(before.last_used_at!).getTime());
    expect(new Date(afterUseOnB.last_used_at!).getTime()).toBeLessThanOrEqual(usedAt + 50);
    // The other instance reads the same, now-written value from the shared database.
    expect(new Date((await listed(a, issued.id)).last_used_at!).getTime()).toBeGreaterThanOrEqual(new Date(afterUseOnB.last_used_at!).getTime());

    // Still within the grace (with a margin for slow requests), on both.
    await sleep(Math.max(0, requestedAt + GRACE_MS - 1000 - Date.now()));
    if (Date.now() < requestedAt + GRACE_MS - 600) {
      for (const app of [a, b]) expect((await me(app, issued.api_key)).status).toBe(200);
    }

    // After the grace: refused on both, although the entries are still inside the cache TTL.
    const [onA, onB] = await Promise.all([refusedAt(a, issued.api_key, GRACE_MS + 3000), refusedAt(b, issued.api_key, GRACE_MS + 3000)]);
    const answeredAt = Date.now();
    for (const at of [onA, onB]) {
      expect(at).not.toBeNull();
      expect(at! - requestedAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
      expect(at! - requestedAt).toBeLessThan(GRACE_MS + 1500);
    }
    expect(answeredAt - requestedAt).toBeLessThan(GRACE_MS + 3000);
    // Never again, and the new secret is unaffected.
    for (const app of [a, b]) {
      expect((await me(app, issued.api_key)).status).toBe(401);
      expect((await me(app, rotated.body.api_key)).status).toBe(200);
    }

    const closed = await closedWithin(socket, 1500);
    expect(closed.code).toBe(4401);
    expect(closed.at - requestedAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(closed.at - requestedAt).toBeLessThan(GRACE_MS + 1500);

    // A client still holding the old secret shows up in the audit trail by key_prefix: how the operator finds it.
    expect((await call(b.baseUrl, 'GET', '/api/v1/auth/me', { headers: { ...apiKey(issued.api_key), 'user-agent': userAgent } })).status).toBe(401);
    let late: Json;
    expect(
      await waitFor(async () => {
        const events = await call(a.baseUrl, 'GET', '/api/v1/audit/events?type=auth.api_key&outcome=failure&limit=1000', { headers: bearer(admin) });
        late = (events.body as Json[]).find((event) => event.user_agent === userAgent);
        return late !== undefined;
      }),
    ).toBe(true);
    expect(late).toMatchObject({ actor: issued.key_prefix, reason: 'api_key_revoked' });
  });

  it('records the rotation as an audit event naming the key_prefix and the grace period, without either secret', async () => {
    const issued = await issueOnA();
    const rotated = await rotate(issued.id, 120);
    expect(rotated.status).toBe(201);
    let events: Reply<Json[]> | undefined;
    const found = await waitFor(async () => {
      events = await call(b.baseUrl, 'GET', '/api/v1/audit/events?type=api_key.rotated&limit=1000', { headers: bearer(admin) });
      return events.status === 200 && events.body.some((event) => event.reason?.includes(issued.key_prefix));
    });
    expect(found).toBe(true);
    const event = events!.body.find((e) => e.reason?.includes(issued.key_prefix));
    expect(event).toMatchObject({ type: 'api_key.rotated', outcome: 'success', actor: ADMIN.username });
    expect(event.reason).toMatch(/grace 120\s*s/);
    const text = JSON.stringify(event);
    for (const secret of [issued.api_key, rotated.body.api_key]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(hashApiKey(secret));
    }
  });

  it('the audit socket on B, opened by an operator (audit:read) as a SIEM forwarder would, receives a failed authentication raised on A', async () => {
    await createUser(a.baseUrl, admin, `siem-${randomUUID()}@ops.test`, 'operator', 'siem-forwarder-password').then(async (user) => {
      operatorToken = await login(b.baseUrl, user.username, 'siem-forwarder-password');
    });
    const socket = await openLive(`${b.wsUrl}${AUDIT_WS}`, bearer(operatorToken));
    clients.push(socket);
    const userAgent = `operator-workflows/${randomUUID()}`;
    const refused = await call(a.baseUrl, 'GET', '/api/v1/auth/me', { headers: { ...bearer('not.a.token'), 'user-agent': userAgent } });
    expect(refused.status).toBe(401);
    const frame = await socket.nextMessage((m) => m?.type === 'audit.event' && m.data?.user_agent === userAgent, 5000);
    expect(Object.keys(frame).sort()).toEqual(['data', 'type']);
    expect(frame.data).toMatchObject({ type: 'auth.jwt', outcome: 'failure', reason: 'malformed_token', user_agent: userAgent });
    expect(frame.data.id).toEqual(expect.any(String));
    expect(frame.data.created_at).toEqual(expect.any(String));
    expect(JSON.stringify(frame)).not.toContain('not.a.token');
    // And it is the event A wrote to the shared table.
    const listedOnA = await call(a.baseUrl, 'GET', '/api/v1/audit/events?type=auth.jwt&outcome=failure&limit=1000', { headers: bearer(admin) });
    expect(listedOnA.body.find((e: Json) => e.user_agent === userAgent)).toEqual(frame.data);
  });
});
