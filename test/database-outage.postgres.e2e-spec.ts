import * as net from 'node:net';
import { randomUUID } from 'node:crypto';
import { EventBus } from '../src/database/event-bus';
import { apiKey, bearer, call, cookie, createUser, login, Reply, waitFor } from './support/http';
import { claimsFor, forgeToken } from './support/jwt';
import { ADMIN, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase, TestDatabase } from './support/test-database';

/** The contract's bound for noticing the outage and for answering a request that needs the database. */
const OUTAGE_BOUND_MS = 5000;

/**
 * A TCP relay between the app and PostgreSQL that the test can cut (every connection dropped, new
 * ones refused, as when the database host goes away) and restore, on the same port.
 */
class PostgresRelay {
  private server?: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private stalled = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    await this.listen(0);
  }

  private listen(port: number): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      const pair = { client, upstream };
      this.pairs.add(pair);
      for (const socket of [client, upstream]) {
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.pairs.delete(pair);
          client.destroy();
          upstream.destroy();
        });
      }
      if (!this.stalled) PostgresRelay.connect(pair);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  private static connect({ client, upstream }: { client: net.Socket; upstream: net.Socket }): void {
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Drops every relayed connection and stops listening: new connections are refused. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const { client, upstream } of this.pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    await closed;
  }

  async restore(): Promise<void> {
    await this.listen(this.port);
  }

  /**
   * A partition rather than a refusal: connections stay open (and new ones are accepted) but no
   * byte passes until resume(), like a database host behind a firewall that drops packets.
   */
  stall(): void {
    this.stalled = true;
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  resume(): void {
    this.stalled = false;
    for (const pair of this.pairs) {
      PostgresRelay.connect(pair);
      pair.client.resume();
      pair.upstream.resume();
    }
  }

  async stop(): Promise<void> {
    this.resume();
    await this.cut();
  }
}

describe('database outage: one instance loses PostgreSQL and gets it back, without a restart', () => {
  let db: TestDatabase;
  let relay: PostgresRelay;
  let relayed: TestApp;
  let direct: TestApp;
  let adminToken: string;
  let viewer: { id: string; username: string; password: string; token: string };
  let gone: { id: string; username: string; password: string; token: string };
  let warmKey: { id: string; api_key: string };
  let keyRevokedDuringOutage: { id: string; api_key: string };
  const probe = `outage-probe-${randomUUID()}`;
  let cutAt = 0;

  const ms = () => Date.now() - cutAt;
  const me = (t: TestApp, headers: Record<string, string>) => call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers });
  async function issueKey(): Promise<{ id: string; api_key: string }> {
    const reply = await call(direct.baseUrl, 'POST', '/api/v1/auth/api-keys', {
      headers: bearer(adminToken),
      body: { service_name: `outage-${randomUUID().slice(0, 8)}` },
    });
    if (reply.status !== 201) throw new Error(`creating a key failed: ${reply.status}`);
    return reply.body;
  }
  function expectServiceUnavailable(reply: Reply): void {
    expect(reply.status).toBe(503);
    expect(reply.headers.get('content-type')).toMatch(/application\/json/);
    expect(reply.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', message: expect.any(String) });
    expect(JSON.stringify(reply.body)).not.toMatch(/ECONNREFUSED|at .*\.js|stack/i);
  }
  async function timed<T>(work: () => Promise<T>): Promise<{ value: T; elapsed: number }> {
    const started = Date.now();
    const value = await work();
    return { value, elapsed: Date.now() - started };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    relay = new PostgresRelay(target.hostname, Number(target.port || 5432));
    await relay.start();
    const relayedUrl = new URL(db.url);
    relayedUrl.hostname = '127.0.0.1';
    relayedUrl.port = String(relay.port);
    // A cache TTL far beyond the test: a key refused after the outage was refused because of the
    // resync or a notification, not because its entry aged out.
    const env = { API_KEY_CACHE_TTL_SECONDS: '600', LOGIN_MAX_PER_IP: '100000' };
    direct = await startTestApp(env, { url: db.url });
    relayed = await startTestApp(env, { url: relayedUrl.toString() });
    adminToken = await login(direct.baseUrl, ADMIN.username, ADMIN.password);
    const withToken = async (name: string) => {
      const user = await createUser(direct.baseUrl, adminToken, `${name}-${randomUUID().slice(0, 8)}@outage.test`, 'viewer');
      return { ...user, token: await login(direct.baseUrl, user.username, user.password) };
    };
    viewer = await withToken('viewer');
    gone = await withToken('gone');
    warmKey = await issueKey();
    keyRevokedDuringOutage = await issueKey();
    // Warm the relayed instance: the users' state and both keys are now in its memory.
    for (const headers of [bearer(viewer.token), bearer(gone.token), bearer(adminToken), apiKey(warmKey.api_key), apiKey(keyRevokedDuringOutage.api_key)]) {
      expect((await me(relayed, headers)).status).toBe(200);
    }
    expect((await call(relayed.baseUrl, 'GET', '/readyz')).status).toBe(200);
    expect(relayed.app.get(EventBus).connected).toBe(true);
  });
  afterAll(async () => {
    await relayed?.close();
    await direct?.close();
    await relay?.stop();
    await db?.drop();
  });

  describe('while the database is unreachable', () => {
    beforeAll(async () => {
      cutAt = Date.now();
      await relay.cut();
    });

    it('answers /readyz 503 within 5 s (and /healthz stays 200)', async () => {
      const down = await waitFor(async () => (await call(relayed.baseUrl, 'GET', '/readyz')).status === 503, OUTAGE_BOUND_MS, 100);
      expect({ down, withinBound: ms() <= OUTAGE_BOUND_MS }).toEqual({ down: true, withinBound: true });
      expect((await call(relayed.baseUrl, 'GET', '/healthz')).status).toBe(200);
    });

    it('answers a write that needs the database with 503 JSON within 5 s, not 500 and not a hang', async () => {
      const { value, elapsed } = await timed(() =>
        call(relayed.baseUrl, 'POST', '/api/v1/alerts', { headers: bearer(adminToken), body: { title: 'During outage', severity: 'high', source: 'ids' } }),
      );
      expectServiceUnavailable(value);
      expect(elapsed).toBeLessThanOrEqual(OUTAGE_BOUND_MS);
    });

    it('answers reads that need the database with 503 JSON within 5 s', async () => {
      for (const path of ['/api/v1/users', '/api/v1/alerts', '/api/v1/audit/events']) {
        const { value, elapsed } = await timed(() => call(relayed.baseUrl, 'GET', path, { headers: bearer(adminToken) }));
        expectServiceUnavailable(value);
        expect(elapsed).toBeLessThanOrEqual(OUTAGE_BOUND_MS);
      }
    });

    it('answers 503, not 401, to a credential it would have to look up (a key it has not cached)', async () => {
      const cold = await issueKey();
      const { value, elapsed } = await timed(() => me(relayed, apiKey(cold.api_key)));
      expectServiceUnavailable(value);
      expect(elapsed).toBeLessThanOrEqual(OUTAGE_BOUND_MS);
    });

    it('keeps serving what needs no database: a cached API key, a JWT (Bearer and cookie) whose user state is in memory', async () => {
      const byKey = await me(relayed, apiKey(warmKey.api_key));
      expect(byKey.status).toBe(200);
      expect(byKey.body).toMatchObject({ auth_method: 'api_key' });
      const byBearer = await me(relayed, bearer(viewer.token));
      expect(byBearer.status).toBe(200);
      expect(byBearer.body).toMatchObject({ sub: viewer.username, auth_method: 'jwt' });
      expect((await me(relayed, cookie(viewer.token))).status).toBe(200);
    });

    it('still refuses bad credentials with 401 (no database needed to see a bad signature or a malformed key)', async () => {
      const forged = forgeToken(claimsFor(viewer.username, 'admin'), { secret: 'not-the-server-secret-0123456789-abcdef' });
      const headers = { 'user-agent': probe };
      expect((await me(relayed, { ...bearer(forged), ...headers })).status).toBe(401);
      expect((await me(relayed, { ...bearer('not.a.jwt'), ...headers })).status).toBe(401);
      expect((await me(relayed, { ...apiKey('aurora_this-is-not-a-valid-key'), ...headers })).status).toBe(401);
    });

    it('meanwhile other instances change things it cannot hear about (bus down): a user disabled, a key revoked', async () => {
      expect(relayed.app.get(EventBus).connected).toBe(false);
      expect((await call(direct.baseUrl, 'PATCH', `/api/v1/users/${gone.id}`, { headers: bearer(adminToken), body: { disabled: true } })).status).toBe(200);
      expect((await call(direct.baseUrl, 'DELETE', `/api/v1/auth/api-keys/${keyRevokedDuringOutage.id}`, { headers: bearer(adminToken) })).status).toBe(204);
    });
  });

  describe('after the database returns', () => {
    beforeAll(async () => {
      await relay.restore();
    });

    it('answers /readyz 200 again and serves requests that need the database (the pool reconnected)', async () => {
      expect(await waitFor(async () => (await call(relayed.baseUrl, 'GET', '/readyz')).status === 200, 10_000, 100)).toBe(true);
      const posted = await call(relayed.baseUrl, 'POST', '/api/v1/alerts', {
        headers: bearer(adminToken),
        body: { title: 'After outage', severity: 'low', source: 'ids' },
      });
      expect(posted.status).toBe(201);
      expect((await call(relayed.baseUrl, 'GET', '/api/v1/users', { headers: bearer(adminToken) })).status).toBe(200);
    });

    it('writes the failed authentications raised during the outage to audit_events', async () => {
      const written = async () => {
        const reply = await call(direct.baseUrl, 'GET', '/api/v1/audit/events?outcome=failure&limit=500', { headers: bearer(adminToken) });
        return (reply.body as Array<{ user_agent: string; type: string }>).filter((event) => event.user_agent === probe);
      };
      expect(await waitFor(async () => (await written()).length >= 3, 10_000, 200)).toBe(true);
      const events = await written();
      expect(events.map((event) => event.type).sort()).toEqual(['auth.api_key', 'auth.jwt', 'auth.jwt']);
    });

    it('re-subscribes its LISTEN connection (the bus reconnects) and resyncs what it missed', async () => {
      const bus = relayed.app.get(EventBus);
      expect(await waitFor(() => bus.connected, 10_000, 50)).toBe(true);
      expect(bus.reconnects).toBeGreaterThanOrEqual(1);
      // Changes made elsewhere while it was deaf: the resync makes it refuse them.
      expect(await waitFor(async () => (await me(relayed, bearer(gone.token))).status === 401, 2000, 50)).toBe(true);
      expect(await waitFor(async () => (await me(relayed, apiKey(keyRevokedDuringOutage.api_key))).status === 401, 2000, 50)).toBe(true);
      expect((await me(relayed, bearer(viewer.token))).status).toBe(200);
    });

    it('hears cross-instance events again: a key revoked on another instance after the restore is refused within a second or two', async () => {
      const key = await issueKey();
      expect((await me(relayed, apiKey(key.api_key))).status).toBe(200);
      const started = Date.now();
      expect((await call(direct.baseUrl, 'DELETE', `/api/v1/auth/api-keys/${key.id}`, { headers: bearer(adminToken) })).status).toBe(204);
      expect(await waitFor(async () => (await me(relayed, apiKey(key.api_key))).status === 401, 2000, 20)).toBe(true);
      expect(Date.now() - started).toBeLessThanOrEqual(2000);
    });
  });
});

describe('database partition: PostgreSQL stops answering (packets dropped, nothing refused)', () => {
  let db: TestDatabase;
  let relay: PostgresRelay;
  let relayed: TestApp;
  let adminToken: string;
  let stalledAt = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    relay = new PostgresRelay(target.hostname, Number(target.port || 5432));
    await relay.start();
    const relayedUrl = new URL(db.url);
    relayedUrl.hostname = '127.0.0.1';
    relayedUrl.port = String(relay.port);
    relayed = await startTestApp({ LOGIN_MAX_PER_IP: '100000' }, { url: relayedUrl.toString() });
    adminToken = await login(relayed.baseUrl, ADMIN.username, ADMIN.password);
    // Several pooled connections exist and sit idle, as in production.
    await Promise.all(Array.from({ length: 4 }, () => call(relayed.baseUrl, 'GET', '/api/v1/users', { headers: bearer(adminToken) })));
    relay.stall();
    stalledAt = Date.now();
  });
  afterAll(async () => {
    await relayed?.close();
    await relay?.stop();
    await db?.drop();
  });

  it('answers /readyz 503 within 5 s', async () => {
    const down = await waitFor(async () => (await call(relayed.baseUrl, 'GET', '/readyz')).status === 503, OUTAGE_BOUND_MS, 100);
    expect({ down, withinBound: Date.now() - stalledAt <= OUTAGE_BOUND_MS }).toEqual({ down: true, withinBound: true });
  });

  it('answers requests that need the database with 503 JSON within 5 s, several at once, rather than hanging', async () => {
    const started = Date.now();
    const replies = await Promise.all([
      call(relayed.baseUrl, 'POST', '/api/v1/alerts', { headers: bearer(adminToken), body: { title: 'Partition', severity: 'high', source: 'ids' } }),
      call(relayed.baseUrl, 'GET', '/api/v1/users', { headers: bearer(adminToken) }),
      call(relayed.baseUrl, 'GET', '/api/v1/alerts', { headers: bearer(adminToken) }),
      call(relayed.baseUrl, 'PATCH', `/api/v1/users/${randomUUID()}`, { headers: bearer(adminToken), body: { disabled: true } }),
    ]);
    const elapsed = Date.now() - started;
    for (const reply of replies) {
      expect(reply.status).toBe(503);
      expect(reply.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', message: expect.any(String) });
    }
    expect(elapsed).toBeLessThanOrEqual(OUTAGE_BOUND_MS);
  });

  it('keeps serving a JWT whose user state is in memory', async () => {
    expect((await call(relayed.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(adminToken) })).status).toBe(200);
  });

  it('recovers when the packets flow again', async () => {
    relay.resume();
    expect(await waitFor(async () => (await call(relayed.baseUrl, 'GET', '/readyz')).status === 200, 10_000, 100)).toBe(true);
    const posted = await call(relayed.baseUrl, 'POST', '/api/v1/alerts', {
      headers: bearer(adminToken),
      body: { title: 'Healed', severity: 'low', source: 'ids' },
    });
    expect(posted.status).toBe(201);
  });
});
