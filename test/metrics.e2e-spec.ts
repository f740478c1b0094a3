import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { call, login } from './support/http';
import { freePort } from './support/server-process';

describe('Prometheus metrics', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let metricsUrl: string;

  beforeAll(async () => {
    db = await databaseForFile();
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    t = await startTestApp({ METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' }, db);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('serves the Prometheus text format on METRICS_PORT', async () => {
    await login(t.baseUrl, ADMIN.username, ADMIN.password);
    const reply = await fetch(metricsUrl);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await reply.text();
    for (const name of [
      'aurora_api_key_cache_entries',
      'aurora_event_bus_connected 1',
      'aurora_audit_queue_depth',
      'aurora_open_sockets{gateway="alerts"}',
      'process_resident_memory_bytes',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('is not served on the public port', async () => {
    const reply = await call(t.baseUrl, 'GET', '/metrics');
    expect(reply.status).toBe(404);
  });
});
