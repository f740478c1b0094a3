import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { apiKey, bearer, call, login, waitFor } from './support/http';
import { freePort } from './support/server-process';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { LiveClient, openLive, tryHandshake } from './support/ws';

/** One sample of the Prometheus text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** A scrape: the sum of the samples of a metric whose labels include the given ones (0 when absent). */
class Scrape {
  constructor(readonly samples: Sample[]) {}
  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
  }
  has(name: string): boolean {
    return this.samples.some((s) => s.name === name);
  }
}

/**
 * The counters and gauges of issue 9 move when the thing they count happens: scraped from
 * METRICS_PORT before and after each action.
 */
describe('Prometheus metrics move with what they count', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let metricsUrl: string;
  let admin: string;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    db = await databaseForFile();
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    t = await startTestApp({ METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1', LOGIN_MAX_FAILURES_PER_USER: '2', LOGIN_MAX_PER_IP: '100000' }, db);
    admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await t?.close();
    await db?.drop();
  });

  async function scrape(): Promise<Scrape> {
    const reply = await fetch(metricsUrl);
    expect(reply.status).toBe(200);
    return new Scrape(parseMetrics(await reply.text()));
  }
  const tokenLogin = (username: string, password: string) => call(t.baseUrl, 'POST', '/api/v1/auth/token', { body: { username, password } });
  const AUTH = 'aurora_auth_attempts_total';

  it('a failed login moves aurora_auth_attempts_total{method="login",outcome="failure",reason="wrong_password"}, and the login histogram observes it', async () => {
    const before = await scrape();
    expect((await tokenLogin(ADMIN.username, 'Not-The-Admin-Password-1')).status).toBe(401);
    const after = await scrape();
    const labels = { method: 'login', outcome: 'failure', reason: 'wrong_password' };
    expect(after.value(AUTH, labels) - before.value(AUTH, labels)).toBe(1);
    expect(after.value(AUTH, { method: 'login', outcome: 'success' })).toBe(before.value(AUTH, { method: 'login', outcome: 'success' }));
    expect(after.value('aurora_login_duration_seconds_count') - before.value('aurora_login_duration_seconds_count')).toBe(1);
  });

  it('a successful login moves the success counter, and the histogram has observations in its buckets and sum', async () => {
    const before = await scrape();
    await login(t.baseUrl, ADMIN.username, ADMIN.password);
    const after = await scrape();
    expect(
      after.value(AUTH, { method: 'login', outcome: 'success', reason: 'ok' }) - before.value(AUTH, { method: 'login', outcome: 'success', reason: 'ok' }),
    ).toBe(1);
    const count = after.value('aurora_login_duration_seconds_count');
    expect(count).toBeGreaterThanOrEqual(3); // the beforeAll login, the failed one, this one
    expect(after.value('aurora_login_duration_seconds_bucket', { le: '+Inf' })).toBe(count);
    expect(after.value('aurora_login_duration_seconds_sum')).toBeGreaterThan(before.value('aurora_login_duration_seconds_sum'));
    // Password hashing takes real time: not every observation fits the smallest bucket.
    expect(after.value('aurora_login_duration_seconds_bucket', { le: '0.01' })).toBeLessThan(count);
  });

  it('a bad Bearer token moves {method="jwt",outcome="failure"} with its reason', async () => {
    const before = await scrape();
    expect((await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer('garbage.token.value') })).status).toBe(401);
    const after = await scrape();
    expect(after.value(AUTH, { method: 'jwt', outcome: 'failure' }) - before.value(AUTH, { method: 'jwt', outcome: 'failure' })).toBe(1);
    expect(
      after.value(AUTH, { method: 'jwt', outcome: 'failure', reason: 'malformed_token' }) -
        before.value(AUTH, { method: 'jwt', outcome: 'failure', reason: 'malformed_token' }),
    ).toBe(1);
  });

  it('an API key served from the warm cache moves aurora_api_key_cache_lookups_total{result="hit"} and the api_key success counter; a new key adds an entry', async () => {
    const entriesBefore = (await scrape()).value('aurora_api_key_cache_entries');
    const created = await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(admin), body: { service_name: 'metrics-cache' } });
    expect(created.status).toBe(201);
    const key = created.body.api_key as string;
    const before = await scrape();
    expect(before.value('aurora_api_key_cache_entries')).toBe(entriesBefore + 1);
    for (let i = 0; i < 3; i++) expect((await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: apiKey(key) })).status).toBe(200);
    const after = await scrape();
    const hit = { result: 'hit' };
    expect(after.value('aurora_api_key_cache_lookups_total', hit) - before.value('aurora_api_key_cache_lookups_total', hit)).toBe(3);
    expect(after.value('aurora_api_key_cache_lookups_total', { result: 'miss' })).toBe(before.value('aurora_api_key_cache_lookups_total', { result: 'miss' }));
    const success = { method: 'api_key', outcome: 'success', reason: 'ok' };
    expect(after.value(AUTH, success) - before.value(AUTH, success)).toBe(3);
    expect(after.has('aurora_api_key_cache_entries')).toBe(true);
  });

  it('a 429 moves aurora_rate_limit_rejections_total and the login failure counter with its reason', async () => {
    const username = 'metrics-locked@test.local';
    const before = await scrape();
    expect((await tokenLogin(username, 'Wrong-Guess-Number-1')).status).toBe(401);
    expect((await tokenLogin(username, 'Wrong-Guess-Number-2')).status).toBe(401);
    expect((await tokenLogin(username, 'Wrong-Guess-Number-3')).status).toBe(429);
    const after = await scrape();
    expect(after.value('aurora_rate_limit_rejections_total') - before.value('aurora_rate_limit_rejections_total')).toBe(1);
    const rule = { rule: 'username_failures' };
    expect(after.value('aurora_rate_limit_rejections_total', rule) - before.value('aurora_rate_limit_rejections_total', rule)).toBe(1);
    const locked = { method: 'login', outcome: 'failure', reason: 'too_many_failures' };
    expect(after.value(AUTH, locked) - before.value(AUTH, locked)).toBe(1);
  });

  it('WebSocket handshakes move method="ws", and the open-sockets gauge counts an open alerts socket until it closes', async () => {
    const before = await scrape();
    const refused = await tryHandshake(`${t.wsUrl}/api/v1/ws/alerts`, bearer('garbage.token.value'));
    expect(refused).toMatchObject({ opened: false, status: 401 });
    const socket = await openLive(`${t.wsUrl}/api/v1/ws/alerts`, bearer(admin));
    clients.push(socket);
    const during = await scrape();
    expect(during.value(AUTH, { method: 'ws', outcome: 'failure' }) - before.value(AUTH, { method: 'ws', outcome: 'failure' })).toBe(1);
    expect(during.value(AUTH, { method: 'ws', outcome: 'success' }) - before.value(AUTH, { method: 'ws', outcome: 'success' })).toBe(1);
    expect(during.value('aurora_open_sockets', { gateway: 'alerts' }) - before.value('aurora_open_sockets', { gateway: 'alerts' })).toBe(1);
    expect(during.value('aurora_open_sockets', { gateway: 'audit' })).toBe(before.value('aurora_open_sockets', { gateway: 'audit' }));

    socket.close();
    await socket.closed;
    expect(
      await waitFor(
        async () => (await scrape()).value('aurora_open_sockets', { gateway: 'alerts' }) === before.value('aurora_open_sockets', { gateway: 'alerts' }),
      ),
    ).toBe(true);
  });

  it('exposes the bus, audit queue and default process gauges', async () => {
    const now = await scrape();
    expect(now.value('aurora_event_bus_connected')).toBe(1);
    for (const name of [
      'aurora_event_bus_reconnects_total',
      'aurora_audit_queue_depth',
      'aurora_audit_dropped_total',
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(now.has(name)).toBe(true);
    }
    expect(now.value('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('docs/grafana-dashboard.json parses, takes its datasource as ${DS_PROMETHEUS}, and queries only metrics this process exports', async () => {
    const dashboard = JSON.parse(readFileSync(path.join(__dirname, '..', 'docs', 'grafana-dashboard.json'), 'utf8')) as {
      __inputs: unknown;
      panels: Array<{ targets?: Array<{ expr: string; datasource: { uid: string } }> }>;
    };
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    const queries = dashboard.panels.flatMap((panel) => panel.targets ?? []);
    expect(queries.length).toBeGreaterThan(10);
    for (const query of queries) expect(query.datasource.uid).toBe('${DS_PROMETHEUS}');
    const queried = new Set(queries.flatMap((query) => query.expr.match(/\b(?:aurora|process|nodejs)_[a-z0-9_]+/g) ?? []));
    const now = await scrape();
    for (const name of queried) expect([name, now.has(name)]).toEqual([name, true]);
    // Every aurora_ metric the issue lists has a panel.
    for (const name of [
      'aurora_auth_attempts_total',
      'aurora_login_duration_seconds_bucket',
      'aurora_api_key_cache_lookups_total',
      'aurora_api_key_cache_entries',
      'aurora_event_bus_connected',
      'aurora_event_bus_reconnects_total',
      'aurora_audit_queue_depth',
      'aurora_audit_dropped_total',
      'aurora_open_sockets',
      'aurora_rate_limit_rejections_total',
    ]) {
      expect(queried).toContain(name);
    }
  });
});
