import { AuditRecorder } from '../src/audit/audit-recorder';
import { DetectionsService } from '../src/detections/detections.service';
import { apiKey, bearer, call, login, type Json } from './support/http';
import { freshIp, freshUsername } from './support/login-attempts';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { emptyRedis, postgresServerUrl } from './support/test-database';
import { openLive } from './support/ws';

/**
 * The contract's four detections, end to end: failures over HTTP → audit → alerts (list and
 * /ws/alerts). Run without Redis here (memory windows, PostgreSQL marks) and with it by
 * audit-detections.redis.e2e-spec.ts.
 */
export function describeDetections(env: Record<string, string>): void {
  describe(`Detections over the audit stream (${postgresServerUrl() ? 'PostgreSQL' : 'embedded PGlite'}, ${env.REDIS_URL ? 'Redis' : 'no Redis'})`, () => {
    let db: Awaited<ReturnType<typeof databaseForFile>>;
    let t: TestApp;
    let admin: string;

    beforeAll(async () => {
      if (env.REDIS_URL) await emptyRedis(env.REDIS_URL);
      db = await databaseForFile();
      t = await startTestApp({ TRUST_PROXY: 'loopback', LOGIN_MAX_PER_IP: '100', ...env }, db);
      admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    });
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    const failLogin = (username: string, ip: string) =>
      call(t.baseUrl, 'POST', '/api/v1/auth/token', { headers: { 'x-forwarded-for': ip }, body: { username, password: 'not-the-password-1' } });

    /** Waits until every recorded event has been written and looked at. */
    async function settled(): Promise<void> {
      await t.app.get(AuditRecorder).flush();
      await t.app.get(DetectionsService).idle();
    }

    async function detected(match: (alert: Json) => boolean): Promise<Json[]> {
      await settled();
      const reply = await call(t.baseUrl, 'GET', '/api/v1/alerts?limit=200', { headers: bearer(admin) });
      expect(reply.status).toBe(200);
      return (reply.body as Json[]).filter((alert) => alert.source === 'aurorasoc-auth' && match(alert));
    }

    it('credential stuffing: one alert at the 10th failed sign-in of a username from 3 addresses, none at the 9th', async () => {
      const username = freshUsername('stuffed');
      const ips = [freshIp(), freshIp(), freshIp()];
      const about = (alert: Json) => String(alert.title).includes(username);
      // Past the 5th failure the per-username limit answers 429: still failed sign-ins, still counted.
      for (let i = 0; i < 9; i++) expect([401, 429]).toContain((await failLogin(username, ips[i % 3])).status);
      expect(await detected(about)).toEqual([]);
      const live = await openLive(`${t.wsUrl}/api/v1/ws/alerts`, bearer(admin));
      try {
        await failLogin(username, ips[0]);
        const alerts = await detected(about);
        expect(alerts).toHaveLength(1);
        expect(alerts[0]).toMatchObject({ severity: 'high', status: 'open', title: `Credential stuffing against account ${username}` });
        const frame = await live.nextMessage((m: Json) => m?.type === 'alert.created' && m.data?.source === 'aurorasoc-auth' && about(m.data));
        expect(frame.data.id).toBe(alerts[0].id);
      } finally {
        live.close();
      }
      for (let i = 0; i < 5; i++) await failLogin(username, ips[i % 3]);
      expect(await detected(about)).toHaveLength(1);
    });

    it('no credential stuffing alert for many failures from 2 addresses', async () => {
      const username = freshUsername('two-addresses');
      const ips = [freshIp(), freshIp()];
      for (let i = 0; i < 14; i++) await failLogin(username, ips[i % 2]);
      expect(await detected((alert) => String(alert.title).includes(username))).toEqual([]);
    });

    it('password spraying: one alert at the 10th username failing from one address, none at the 9th', async () => {
      const ip = freshIp();
      const about = (alert: Json) => alert.title === `Password spraying from ${ip}`;
      for (let i = 0; i < 9; i++) await failLogin(freshUsername(`sprayed${i}`), ip);
      expect(await detected(about)).toEqual([]);
      await failLogin(freshUsername('sprayed9'), ip);
      expect(await detected(about)).toHaveLength(1);
      for (let i = 0; i < 5; i++) await failLogin(freshUsername(`sprayed-more${i}`), ip);
      expect(await detected(about)).toHaveLength(1);
    });

    async function issueKey(body: Record<string, unknown> = {}): Promise<{ id: string; api_key: string; key_prefix: string }> {
      const reply = await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(admin), body: { service_name: `det-${Date.now()}`, ...body } });
      expect(reply.status).toBe(201);
      return reply.body;
    }
    const useKey = (key: string, ip: string) => call(t.baseUrl, 'GET', '/api/v1/alerts?limit=1', { headers: { ...apiKey(key), 'x-forwarded-for': ip } });

    it('an API key refused outside its allowed_ips: one alert, not one per refusal', async () => {
      const key = await issueKey({ allowed_ips: ['10.0.0.0/8'] });
      const about = (alert: Json) => String(alert.title).includes(key.key_prefix);
      expect((await useKey(key.api_key, '10.1.2.3')).status).toBe(200);
      expect(await detected(about)).toEqual([]);
      expect((await useKey(key.api_key, '198.51.100.66')).status).toBe(403);
      const alerts = await detected(about);
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ title: `API key ${key.key_prefix} used from a disallowed address` });
      expect(JSON.stringify(alerts)).not.toContain(key.api_key);
      expect((await useKey(key.api_key, '198.51.100.67')).status).toBe(403);
      expect(await detected(about)).toHaveLength(1);
    });

    it('a revoked key still presented: one alert, not one per use', async () => {
      const key = await issueKey();
      const about = (alert: Json) => String(alert.title).includes(key.key_prefix);
      expect((await useKey(key.api_key, freshIp())).status).toBe(200);
      expect((await call(t.baseUrl, 'DELETE', `/api/v1/auth/api-keys/${key.id}`, { headers: bearer(admin) })).status).toBe(204);
      expect(await detected(about)).toEqual([]);
      expect((await useKey(key.api_key, freshIp())).status).toBe(401);
      const alerts = await detected(about);
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ title: `Revoked API key ${key.key_prefix} still in use`, severity: 'high' });
      expect(JSON.stringify(alerts)).not.toContain(key.api_key);
      expect((await useKey(key.api_key, freshIp())).status).toBe(401);
      expect(await detected(about)).toHaveLength(1);
    });

    it('a secret rotated out, presented after its grace: the same alert', async () => {
      const key = await issueKey();
      const rotated = await call(t.baseUrl, 'POST', `/api/v1/auth/api-keys/${key.id}/rotate`, { headers: bearer(admin), body: { grace_period_seconds: 1 } });
      expect(rotated.status).toBe(201);
      expect((await useKey(key.api_key, freshIp())).status).toBe(200);
      expect(await detected((alert) => String(alert.title).includes(key.key_prefix))).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect((await useKey(key.api_key, freshIp())).status).toBe(401);
      expect(await detected((alert) => alert.title === `Revoked API key ${key.key_prefix} still in use`)).toHaveLength(1);
    });

    it('a secret rotated out with no grace, presented afterwards: the same alert', async () => {
      const key = await issueKey();
      const rotated = await call(t.baseUrl, 'POST', `/api/v1/auth/api-keys/${key.id}/rotate`, { headers: bearer(admin), body: { grace_period_seconds: 0 } });
      expect(rotated.status).toBe(201);
      expect((await useKey(key.api_key, freshIp())).status).toBe(401);
      expect(await detected((alert) => alert.title === `Revoked API key ${key.key_prefix} still in use`)).toHaveLength(1);
    });
  });
}
