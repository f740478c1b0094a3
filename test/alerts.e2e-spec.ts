import { DataSource } from 'typeorm';
import { apiKey, bearer, call, cookie, createUser, login } from './support/http';
import { ADMIN, ALLOWED_ORIGIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { sleep } from './support/ws';

const ALERTS = '/api/v1/alerts';
const ALERT_FIELDS = ['assignee', 'created_at', 'description', 'id', 'severity', 'source', 'status', 'title', 'updated_at'];

interface AlertBody {
  id: string;
  title: string;
  severity: string;
  source: string;
  description: string | null;
  status: string;
  created_at: string;
  updated_at: string;
}

describe('alerts (POST/GET/PATCH /api/v1/alerts)', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let admin: string;
  let analyst: string;
  let operator: string;
  let viewer: string;
  let key: string;

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({}, db);
    admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    for (const role of ['analyst', 'operator', 'viewer']) await createUser(t.baseUrl, admin, `${role}@alerts.test`, role);
    analyst = await login(t.baseUrl, 'analyst@alerts.test', 'user-password-123');
    operator = await login(t.baseUrl, 'operator@alerts.test', 'user-password-123');
    viewer = await login(t.baseUrl, 'viewer@alerts.test', 'user-password-123');
    const issued = await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(admin), body: { service_name: 'edr-connector' } });
    key = issued.body.api_key;
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const post = (body: unknown, headers: Record<string, string> = bearer(analyst)) => call<AlertBody>(t.baseUrl, 'POST', ALERTS, { headers, body });
  const patch = (id: string, body: unknown, headers: Record<string, string> = bearer(analyst)) =>
    call<AlertBody>(t.baseUrl, 'PATCH', `${ALERTS}/${id}`, { headers, body });
  const list = (query = '', headers: Record<string, string> = bearer(viewer)) => call<AlertBody[]>(t.baseUrl, 'GET', `${ALERTS}${query}`, { headers });
  async function createAlert(fields: Partial<AlertBody> = {}): Promise<AlertBody> {
    const reply = await post({ title: 'Suspicious login', severity: 'medium', source: 'idp', ...fields });
    if (reply.status !== 201) throw new Error(`creating an alert failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body;
  }

  describe('POST /api/v1/alerts', () => {
    it('answers 201 with the alert, status open', async () => {
      const reply = await post({ title: 'Malware beacon', severity: 'critical', source: 'edr', description: 'host-17 calls home' });
      expect(reply.status).toBe(201);
      expect(Object.keys(reply.body).sort()).toEqual(ALERT_FIELDS);
      expect(reply.body).toMatchObject({ title: 'Malware beacon', severity: 'critical', source: 'edr', description: 'host-17 calls home', status: 'open' });
      expect(reply.body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Math.abs(Date.parse(reply.body.created_at) - Date.now())).toBeLessThan(60_000);
      expect(reply.body.updated_at).toBe(reply.body.created_at);
    });

    it('accepts every severity, and a missing description as null', async () => {
      for (const severity of ['low', 'medium', 'high', 'critical']) {
        const reply = await post({ title: `sev ${severity}`, severity, source: 'test' });
        expect(reply.status).toBe(201);
        expect(reply.body.severity).toBe(severity);
        expect(reply.body.description).toBeNull();
      }
    });

    it.each([
      ['an unknown severity', { title: 'x', severity: 'urgent', source: 's' }],
      ['an upper-case severity', { title: 'x', severity: 'HIGH', source: 's' }],
      ['a missing severity', { title: 'x', source: 's' }],
      ['an empty title', { title: '', severity: 'low', source: 's' }],
      ['a title of 201 characters', { title: 't'.repeat(201), severity: 'low', source: 's' }],
      ['a missing title', { severity: 'low', source: 's' }],
      ['a title that is not a string', { title: 5, severity: 'low', source: 's' }],
      ['an empty source', { title: 'x', severity: 'low', source: '' }],
      ['a source of 101 characters', { title: 'x', severity: 'low', source: 's'.repeat(101) }],
      ['a missing source', { title: 'x', severity: 'low' }],
      ['a description of 10001 characters', { title: 'x', severity: 'low', source: 's', description: 'd'.repeat(10_001) }],
      ['a description that is not a string', { title: 'x', severity: 'low', source: 's', description: { text: 'no' } }],
      ['an unknown field', { title: 'x', severity: 'low', source: 's', owner: 'mallory' }],
      ['a status (alerts are created open)', { title: 'x', severity: 'low', source: 's', status: 'resolved' }],
      ['an id chosen by the client', { id: '00000000-0000-4000-8000-000000000000', title: 'x', severity: 'low', source: 's' }],
    ])('refuses %s with 400', async (_what, body) => {
      const reply = await post(body);
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    });

    it('accepts a title of 200, a source of 100 and a description of 10000 characters', async () => {
      const reply = await post({ title: 't'.repeat(200), severity: 'low', source: 's'.repeat(100), description: 'd'.repeat(10_000) });
      expect(reply.status).toBe(201);
      expect(reply.body.description).toHaveLength(10_000);
    });

    it('refuses a viewer and an operator with 403, and an anonymous caller with 401', async () => {
      const body = { title: 'x', severity: 'low', source: 's' };
      expect((await post(body, bearer(viewer))).status).toBe(403);
      expect((await post(body, bearer(operator))).status).toBe(403);
      const anonymous = await post(body, {});
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });

    it('lets an API key and an admin write alerts', async () => {
      const byKey = await post({ title: 'from the EDR', severity: 'high', source: 'edr' }, apiKey(key));
      expect(byKey.status).toBe(201);
      expect((await patch(byKey.body.id, { status: 'acknowledged' }, apiKey(key))).status).toBe(200);
      expect((await post({ title: 'by admin', severity: 'low', source: 'console' }, bearer(admin))).status).toBe(201);
    });

    it('accepts the cookie from an allowed origin and refuses it from a foreign one', async () => {
      const body = { title: 'from the console', severity: 'low', source: 'console' };
      expect((await post(body, { ...cookie(analyst), origin: ALLOWED_ORIGIN })).status).toBe(201);
      expect((await post(body, { ...cookie(analyst), origin: 'https://evil.example' })).status).toBe(403);
    });
  });

  describe('PATCH /api/v1/alerts/{id}', () => {
    it('changes the status with 200, moves updated_at and keeps created_at', async () => {
      const alert = await createAlert();
      await sleep(20);
      const acknowledged = await patch(alert.id, { status: 'acknowledged' });
      expect(acknowledged.status).toBe(200);
      expect(Object.keys(acknowledged.body).sort()).toEqual(ALERT_FIELDS);
      expect(acknowledged.body).toMatchObject({ id: alert.id, title: alert.title, status: 'acknowledged', created_at: alert.created_at });
      expect(Date.parse(acknowledged.body.updated_at)).toBeGreaterThan(Date.parse(alert.updated_at));
      await sleep(20);
      const resolved = await patch(alert.id, { status: 'resolved' });
      expect(resolved.body.status).toBe('resolved');
      expect(Date.parse(resolved.body.updated_at)).toBeGreaterThan(Date.parse(acknowledged.body.updated_at));
      const reopened = await patch(alert.id, { status: 'open' });
      expect(reopened.status).toBe(200);
      expect(reopened.body.status).toBe('open');
      const listed = (await list('?limit=200')).body.find((a) => a.id === alert.id);
      expect(listed).toEqual(reopened.body);
    });

    it('answers 404 for an unknown id', async () => {
      expect((await patch('00000000-0000-4000-8000-000000000000', { status: 'resolved' })).status).toBe(404);
      expect((await patch('not-an-id', { status: 'resolved' })).status).toBe(404);
    });

    it.each([
      ['an unknown status', { status: 'closed' }],
      ['a missing status', {}],
      ['another field', { status: 'resolved', title: 'renamed' }],
    ])('refuses %s with 400', async (_what, body) => {
      const alert = await createAlert();
      expect((await patch(alert.id, body)).status).toBe(400);
    });

    it('refuses a viewer with 403', async () => {
      const alert = await createAlert();
      expect((await patch(alert.id, { status: 'resolved' }, bearer(viewer))).status).toBe(403);
      expect((await list('?limit=200')).body.find((a) => a.id === alert.id)?.status).toBe('open');
    });
  });

  describe('GET /api/v1/alerts', () => {
    it('lets a viewer, an operator and an API key read, and refuses an anonymous caller with 401', async () => {
      expect((await list('', bearer(viewer))).status).toBe(200);
      expect((await list('', bearer(operator))).status).toBe(200);
      expect((await list('', apiKey(key))).status).toBe(200);
      expect((await list('', {})).status).toBe(401);
    });

    it('lists newest first', async () => {
      const first = await createAlert({ title: 'first' });
      const second = await createAlert({ title: 'second' });
      const third = await createAlert({ title: 'third' });
      const reply = await list('?limit=200');
      expect(reply.status).toBe(200);
      const ids = reply.body.map((a) => a.id);
      expect(ids.indexOf(third.id)).toBeLessThan(ids.indexOf(second.id));
      expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));
      expect(ids.indexOf(third.id)).toBeGreaterThanOrEqual(0);
      const times = reply.body.map((a) => Date.parse(a.created_at));
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThanOrEqual(times[i - 1]);
      for (const alert of reply.body) expect(Object.keys(alert).sort()).toEqual(ALERT_FIELDS);
    });

    it('filters by status and by severity', async () => {
      const critical = await createAlert({ severity: 'critical', title: 'critical one' });
      const low = await createAlert({ severity: 'low', title: 'low one' });
      await patch(low.id, { status: 'resolved' });
      const bySeverity = (await list('?severity=critical&limit=200')).body;
      expect(bySeverity.map((a) => a.id)).toContain(critical.id);
      expect(bySeverity.every((a) => a.severity === 'critical')).toBe(true);
      const resolved = (await list('?status=resolved&limit=200')).body;
      expect(resolved.map((a) => a.id)).toContain(low.id);
      expect(resolved.every((a) => a.status === 'resolved')).toBe(true);
      const open = (await list('?status=open&limit=200')).body;
      expect(open.map((a) => a.id)).toContain(critical.id);
      expect(open.map((a) => a.id)).not.toContain(low.id);
      const both = (await list('?status=resolved&severity=low&limit=200')).body;
      expect(both.map((a) => a.id)).toContain(low.id);
      expect(both.every((a) => a.status === 'resolved' && a.severity === 'low')).toBe(true);
      expect((await list('?status=open&severity=low&limit=200')).body.map((a) => a.id)).not.toContain(low.id);
    });

    it.each([['?status=closed'], ['?severity=urgent'], ['?limit=0'], ['?limit=201'], ['?limit=x'], ['?limit=1.5'], ['?colour=red'], ['?before=yesterday']])(
      'refuses %s with 400',
      async (query) => {
        const reply = await list(query);
        expect(reply.status).toBe(400);
        expect(reply.body).toMatchObject({ statusCode: 400 });
      },
    );

    it('returns at most limit alerts (1..200), 50 by default', async () => {
      const existing = (await list('?limit=200')).body.length;
      for (let i = existing; i < 55; i++) await createAlert({ title: `bulk ${i}` });
      expect((await list()).body).toHaveLength(50);
      expect((await list('?limit=1')).body).toHaveLength(1);
      expect((await list('?limit=7')).body).toHaveLength(7);
      const all = (await list('?limit=200')).body;
      expect(all.length).toBeGreaterThanOrEqual(55);
      expect(all.length).toBeLessThanOrEqual(200);
    });

    it('pages with before=<alert id>: only alerts older than that one, and the pages add up to the whole list', async () => {
      for (let i = 0; i < 12; i++) await createAlert({ title: `page ${i}` });
      const all = (await list('?limit=200')).body;
      expect(all.length).toBeLessThan(200);
      const anchor = all[5];
      const older = (await list(`?before=${anchor.id}&limit=200`)).body;
      expect(older.map((a) => a.id)).toEqual(all.slice(6).map((a) => a.id));
      const paged: string[] = [];
      let cursor = '';
      for (let page = 0; page < 100; page++) {
        const reply = await list(`?limit=7${cursor}`);
        expect(reply.status).toBe(200);
        paged.push(...reply.body.map((a) => a.id));
        if (reply.body.length < 7) break;
        cursor = `&before=${reply.body[reply.body.length - 1].id}`;
      }
      expect(paged).toEqual(all.map((a) => a.id));
    });

    it('pages with before=<alert id> without losing an older alert created in the same millisecond', async () => {
      const inserted: Array<{ id: string }> = await t.app.get(DataSource).query(
        `INSERT INTO "alerts" ("title", "severity", "source", "created_at", "updated_at")
         VALUES ('same ms, older', 'low', 'clock', '2001-01-01T00:00:00.123100Z', '2001-01-01T00:00:00.123100Z'),
                ('same ms, anchor', 'low', 'clock', '2001-01-01T00:00:00.123456Z', '2001-01-01T00:00:00.123456Z'),
                ('same ms, newer', 'low', 'clock', '2001-01-01T00:00:00.123789Z', '2001-01-01T00:00:00.123789Z')
         RETURNING "id"`,
      );
      const [older, anchorAlert, newer] = inserted.map((row) => row.id);
      const page = (await list(`?before=${anchorAlert}&limit=200`)).body.map((a) => a.id);
      expect(page).toContain(older);
      expect(page).not.toContain(anchorAlert);
      expect(page).not.toContain(newer);
      expect((await list(`?before=${newer}&limit=200`)).body.slice(0, 2).map((a) => a.id)).toEqual([anchorAlert, older]);
    });

    it('pages with before=<ISO time>: only alerts created before it', async () => {
      const all = (await list('?limit=200')).body;
      const before = all[3].created_at;
      const older = (await list(`?before=${encodeURIComponent(before)}&limit=200`)).body;
      expect(older.length).toBeGreaterThan(0);
      expect(older.every((a) => Date.parse(a.created_at) < Date.parse(before))).toBe(true);
      expect(older.map((a) => a.id)).toEqual(all.filter((a) => Date.parse(a.created_at) < Date.parse(before)).map((a) => a.id));
      const future = (await list(`?before=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}&limit=200`)).body;
      expect(future.map((a) => a.id)).toEqual(all.map((a) => a.id));
      expect((await list('?before=2000-01-01T00:00:00Z')).body).toEqual([]);
    });

    it.each([
      ['?before=0000-01-01'],
      ['?before=0001-01-01T00:00:00Z'],
      ['?before=9999-12-31T23:59:59.999Z'],
      ['?before=2024-02-30'],
      ['?before=2024-13-45'],
      ['?before=2024-01-01T25:00:00Z'],
      ['?before=2024-01-01garbage'],
      ['?before=00000000-0000-0000-0000-000000000000'],
      ['?before=FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'],
      ['?before=' + 'a'.repeat(65)],
      ['?before=&limit='],
      ['?limit=1e2'],
      ['?limit=-1'],
      ['?limit=99999999999999999999'],
      ['?status=open&status=resolved'],
      ['?severity[]=low'],
      ['?before[]=x'],
    ])('answers %s with 200 or 400, never 5xx', async (query) => {
      const reply = await list(query);
      expect([200, 400]).toContain(reply.status);
    });

    it('combines before with the filters', async () => {
      const high = (await list('?severity=high&limit=200')).body;
      const first = await createAlert({ severity: 'high', title: 'high a' });
      const second = await createAlert({ severity: 'high', title: 'high b' });
      const page = (await list(`?severity=high&before=${second.id}&limit=200`)).body;
      expect(page.map((a) => a.id)).toEqual([first.id, ...high.map((a) => a.id)]);
    });
  });
});
