import { DataSource } from 'typeorm';
import { apiKey, bearer, call, createUser, login, type Json } from './support/http';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { LiveClient, openLive } from './support/ws';

const ALERTS = '/api/v1/alerts';
const ALERT_FIELDS = ['assignee', 'created_at', 'description', 'id', 'severity', 'source', 'status', 'title', 'updated_at'];
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const STATUSES = ['open', 'acknowledged', 'resolved'] as const;
const RANK: Record<string, number> = { critical: 4, high: 3, medium: 2, low: 1 };
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const PASSWORD = 'user-password-123';

interface AlertBody {
  id: string;
  title: string;
  severity: string;
  source: string;
  description: string | null;
  status: string;
  assignee: string | null;
  created_at: string;
  updated_at: string;
}

/** A word no other test's alerts hold, so a search isolates one test's alerts. */
const tag = () => `t${Math.random().toString(36).slice(2, 10)}`;

describe('alert triage (assignee, notes, history, bulk, search, sort, summary)', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let admin: string;
  let analyst: string;
  let viewer: string;
  let operator: string;
  let key: string;
  /** How history and notes name the key: its label, then its service name. */
  let keyActor: string;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({}, db);
    admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    await createUser(t.baseUrl, admin, 'ana@triage.test', 'analyst');
    await createUser(t.baseUrl, admin, 'Bob@Triage.test', 'analyst');
    await createUser(t.baseUrl, admin, 'viewer@triage.test', 'viewer');
    await createUser(t.baseUrl, admin, 'operator@triage.test', 'operator');
    const gone = await createUser(t.baseUrl, admin, 'gone@triage.test', 'analyst');
    const disabled = await call(t.baseUrl, 'PATCH', `/api/v1/users/${gone.id}`, { headers: bearer(admin), body: { disabled: true } });
    if (disabled.status !== 200) throw new Error(`disabling failed: ${disabled.status}`);
    analyst = await login(t.baseUrl, 'ana@triage.test', PASSWORD);
    viewer = await login(t.baseUrl, 'viewer@triage.test', PASSWORD);
    operator = await login(t.baseUrl, 'operator@triage.test', PASSWORD);
    const issued = await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(admin), body: { service_name: 'soar-bot' } });
    key = issued.body.api_key;
    keyActor = `${issued.body.key_prefix as string} (soar-bot)`;
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await t?.close();
    await db?.drop();
  });

  const get = (path: string, headers: Record<string, string> = bearer(viewer)) => call(t.baseUrl, 'GET', path, { headers });
  const patch = (id: string, body: unknown, headers: Record<string, string> = bearer(analyst)) =>
    call(t.baseUrl, 'PATCH', `${ALERTS}/${id}`, { headers, body });
  const bulk = (body: unknown, headers: Record<string, string> = bearer(analyst)) => call(t.baseUrl, 'PATCH', ALERTS, { headers, body });
  const note = (id: string, body: unknown, headers: Record<string, string> = bearer(analyst)) =>
    call(t.baseUrl, 'POST', `${ALERTS}/${id}/notes`, { headers, body });
  const detail = async (id: string) => {
    const reply = await get(`${ALERTS}/${id}`);
    expect(reply.status).toBe(200);
    return reply.body as AlertBody & { notes: Json[]; history: Json[] };
  };
  const list = async (query: string): Promise<AlertBody[]> => {
    const reply = await get(`${ALERTS}?${query}`);
    if (reply.status !== 200) throw new Error(`GET ${ALERTS}?${query}: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body as AlertBody[];
  };
  async function createAlert(fields: Partial<AlertBody> = {}): Promise<AlertBody> {
    const reply = await call<AlertBody>(t.baseUrl, 'POST', ALERTS, {
      headers: bearer(analyst),
      body: { title: 'Suspicious login', severity: 'medium', source: 'idp', ...fields },
    });
    if (reply.status !== 201) throw new Error(`creating an alert failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body;
  }
  /** Creates alerts in order (created_at strictly increasing), a few at a time. */
  async function createMany(n: number, fields: (i: number) => Partial<AlertBody>): Promise<AlertBody[]> {
    const created: AlertBody[] = [];
    for (let i = 0; i < n; i++) created.push(await createAlert(fields(i)));
    return created;
  }
  async function open(headers: Record<string, string> = bearer(viewer)): Promise<LiveClient> {
    const client = await openLive(`${t.wsUrl}/api/v1/ws/alerts`, headers);
    clients.push(client);
    return client;
  }

  describe('assignee', () => {
    it('is null on a new alert, in the POST answer, the list and the detail', async () => {
      const alert = await createAlert();
      expect(Object.keys(alert).sort()).toEqual(ALERT_FIELDS);
      expect(alert.assignee).toBeNull();
      expect((await detail(alert.id)).assignee).toBeNull();
      const [listed] = await list(`limit=1`);
      expect(listed).toEqual(alert);
    });

    it('names an enabled analyst or admin by username, compared as sign-in compares it, and shows the stored name', async () => {
      const alert = await createAlert();
      const reply = await patch(alert.id, { assignee: 'BOB@triage.TEST' });
      expect(reply.status).toBe(200);
      expect(Object.keys(reply.body).sort()).toEqual(ALERT_FIELDS);
      expect(reply.body).toMatchObject({ id: alert.id, assignee: 'Bob@Triage.test', status: 'open' });
      expect((await detail(alert.id)).assignee).toBe('Bob@Triage.test');
      expect((await patch(alert.id, { assignee: ADMIN.username })).body.assignee).toBe(ADMIN.username);
    });

    it.each([
      ['an unknown user', 'nobody@triage.test'],
      ['a disabled user', 'gone@triage.test'],
      ['a viewer (no alerts:write)', 'viewer@triage.test'],
      ['an operator (no alerts:write)', 'operator@triage.test'],
    ])('refuses %s with 400 and changes nothing', async (_what, username) => {
      const alert = await createAlert();
      await patch(alert.id, { assignee: 'ana@triage.test' });
      const reply = await patch(alert.id, { assignee: username, status: 'resolved' });
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ statusCode: 400, message: expect.stringMatching(/assignee/) });
      const after = await detail(alert.id);
      expect(after).toMatchObject({ assignee: 'ana@triage.test', status: 'open' });
      expect(after.history).toHaveLength(1);
    });

    it('unassigns with null', async () => {
      const alert = await createAlert();
      await patch(alert.id, { assignee: 'ana@triage.test' });
      const reply = await patch(alert.id, { assignee: null });
      expect(reply.status).toBe(200);
      expect(reply.body.assignee).toBeNull();
      expect((await detail(alert.id)).assignee).toBeNull();
    });

    it('is taken off the alerts of a deleted user, with a history row naming them', async () => {
      const user = await createUser(t.baseUrl, admin, 'leaver@triage.test', 'analyst');
      const alert = await createAlert();
      expect((await patch(alert.id, { assignee: 'leaver@triage.test' })).status).toBe(200);
      expect((await call(t.baseUrl, 'DELETE', `/api/v1/users/${user.id}`, { headers: bearer(admin) })).status).toBe(204);
      const after = await detail(alert.id);
      expect(after.assignee).toBeNull();
      expect(after.history.at(-1)).toMatchObject({ actor: 'system', field: 'assignee', from: 'leaver@triage.test', to: null });
    });
  });

  describe('PATCH /api/v1/alerts/{id}', () => {
    it('changes status and assignee together and answers the alert', async () => {
      const alert = await createAlert();
      const reply = await patch(alert.id, { status: 'acknowledged', assignee: 'ana@triage.test' });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ status: 'acknowledged', assignee: 'ana@triage.test', created_at: alert.created_at });
    });

    it.each([
      ['an empty body', {}],
      ['status null', { status: null }],
      ['status closed', { status: 'closed' }],
      ['an empty assignee', { assignee: '' }],
      ['an assignee that is a number', { assignee: 5 }],
      ['an assignee that is an object', { assignee: { username: 'ana@triage.test' } }],
      ['an assignee of 101 characters', { assignee: 'a'.repeat(101) }],
      ['an unknown field', { status: 'resolved', owner: 'ana@triage.test' }],
      ['ids (the bulk field)', { ids: [UNKNOWN_ID], status: 'resolved' }],
    ])('refuses %s with 400 and changes nothing', async (_what, body) => {
      const alert = await createAlert();
      const reply = await patch(alert.id, body);
      expect(reply.status).toBe(400);
      expect(await detail(alert.id)).toMatchObject({ status: 'open', assignee: null, updated_at: alert.updated_at, history: [] });
    });

    it('answers 404 for an unknown id and a malformed one', async () => {
      expect((await patch(UNKNOWN_ID, { status: 'resolved' })).status).toBe(404);
      expect((await patch('not-an-id', { status: 'resolved' })).status).toBe(404);
      expect((await get(`${ALERTS}/${UNKNOWN_ID}`)).status).toBe(404);
      expect((await get(`${ALERTS}/not-an-id`)).status).toBe(404);
    });

    it('refuses a viewer and an operator with 403', async () => {
      const alert = await createAlert();
      expect((await patch(alert.id, { assignee: null }, bearer(viewer))).status).toBe(403);
      expect((await patch(alert.id, { assignee: null }, bearer(operator))).status).toBe(403);
    });
  });

  describe('history', () => {
    it('records every change of status and assignee with when, who, from and to, oldest first', async () => {
      const alert = await createAlert();
      await patch(alert.id, { status: 'acknowledged', assignee: 'Bob@Triage.test' });
      await patch(alert.id, { assignee: 'ana@triage.test' }, apiKey(key));
      await patch(alert.id, { assignee: null, status: 'resolved' }, bearer(admin));
      const { history } = await detail(alert.id);
      expect(history.map((h: Json) => ({ actor: h.actor, field: h.field, from: h.from, to: h.to }))).toEqual([
        { actor: 'ana@triage.test', field: 'status', from: 'open', to: 'acknowledged' },
        { actor: 'ana@triage.test', field: 'assignee', from: null, to: 'Bob@Triage.test' },
        { actor: keyActor, field: 'assignee', from: 'Bob@Triage.test', to: 'ana@triage.test' },
        { actor: ADMIN.username, field: 'status', from: 'acknowledged', to: 'resolved' },
        { actor: ADMIN.username, field: 'assignee', from: 'ana@triage.test', to: null },
      ]);
      for (const row of history) {
        expect(Object.keys(row).sort()).toEqual(['actor', 'at', 'field', 'from', 'to']);
        expect(Math.abs(Date.parse(row.at) - Date.now())).toBeLessThan(60_000);
      }
      const times = history.map((h: Json) => Date.parse(h.at));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    });

    it('writes no row when a value does not change', async () => {
      const alert = await createAlert();
      expect((await patch(alert.id, { status: 'open', assignee: null })).status).toBe(200);
      expect((await detail(alert.id)).history).toEqual([]);
    });
  });

  describe('notes (POST /api/v1/alerts/{id}/notes)', () => {
    it('answers 201 with the note, its author the caller; the detail lists notes oldest first', async () => {
      const alert = await createAlert();
      const first = await note(alert.id, { text: 'looked at the proxy logs' });
      expect(first.status).toBe(201);
      expect(Object.keys(first.body).sort()).toEqual(['author', 'created_at', 'id', 'text']);
      expect(first.body).toMatchObject({ author: 'ana@triage.test', text: 'looked at the proxy logs' });
      const second = await note(alert.id, { text: 'x'.repeat(4000) }, apiKey(key));
      expect(second.status).toBe(201);
      expect(second.body.author).toBe(keyActor);
      expect(keyActor).toMatch(/^ak_\S+ \(soar-bot\)$/);
      const found = await detail(alert.id);
      expect(found.notes).toEqual([first.body, second.body]);
      expect(Date.parse(found.updated_at)).toBeGreaterThan(Date.parse(alert.updated_at));
    });

    it.each([
      ['an empty text', { text: '' }],
      ['a text of 4001 characters', { text: 'x'.repeat(4001) }],
      ['a blank text', { text: '   ' }],
      ['text null', { text: null }],
      ['no text', {}],
      ['a text that is not a string', { text: ['a'] }],
      ['an unknown field', { text: 'a', author: 'mallory' }],
    ])('refuses %s with 400 and adds nothing', async (_what, body) => {
      const alert = await createAlert();
      expect((await note(alert.id, body)).status).toBe(400);
      expect((await detail(alert.id)).notes).toEqual([]);
    });

    it('answers 404 for an unknown alert, 403 for a viewer and an operator', async () => {
      expect((await note(UNKNOWN_ID, { text: 'a' })).status).toBe(404);
      expect((await note('nope', { text: 'a' })).status).toBe(404);
      const alert = await createAlert();
      expect((await note(alert.id, { text: 'a' }, bearer(viewer))).status).toBe(403);
      expect((await note(alert.id, { text: 'a' }, bearer(operator))).status).toBe(403);
    });
  });

  describe('bulk triage (PATCH /api/v1/alerts)', () => {
    it('changes every alert, writes each one history, and answers the count', async () => {
      const alerts = await createMany(3, () => ({}));
      const reply = await bulk({ ids: alerts.map((a) => a.id.toUpperCase()), status: 'acknowledged', assignee: 'bob@triage.test' });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ updated: 3 });
      for (const alert of alerts) {
        const found = await detail(alert.id);
        expect(found).toMatchObject({ status: 'acknowledged', assignee: 'Bob@Triage.test' });
        expect(found.history.map((h: Json) => [h.actor, h.field, h.from, h.to])).toEqual([
          ['ana@triage.test', 'status', 'open', 'acknowledged'],
          ['ana@triage.test', 'assignee', null, 'Bob@Triage.test'],
        ]);
      }
    });

    it('changes nothing when one id is unknown (404), nor when the assignee is refused (400)', async () => {
      const alerts = await createMany(3, () => ({}));
      const ids = alerts.map((a) => a.id);
      const unknown = await bulk({ ids: [...ids, UNKNOWN_ID], status: 'resolved' });
      expect(unknown.status).toBe(404);
      expect(unknown.body.message).toContain(UNKNOWN_ID);
      const refused = await bulk({ ids, status: 'resolved', assignee: 'viewer@triage.test' });
      expect(refused.status).toBe(400);
      for (const alert of alerts) {
        expect(await detail(alert.id)).toMatchObject({ status: 'open', assignee: null, updated_at: alert.updated_at, history: [] });
      }
    });

    it('unassigns many with assignee null', async () => {
      const alerts = await createMany(2, () => ({}));
      const ids = alerts.map((a) => a.id);
      expect((await bulk({ ids, assignee: 'ana@triage.test' })).status).toBe(200);
      expect((await bulk({ ids, assignee: null })).body).toEqual({ updated: 2 });
      for (const id of ids) expect((await detail(id)).assignee).toBeNull();
    });

    it('runs overlapping bulk changes side by side without a deadlock, each history row starting where the last ended', async () => {
      const alerts = await createMany(12, () => ({}));
      const ids = alerts.map((a) => a.id);
      const statuses = ['acknowledged', 'resolved', 'open'] as const;
      const replies = await Promise.all(
        Array.from({ length: 8 }, (_, i) => {
          // Each request names the ids in another order; the server locks them in one order.
          const order = [...ids].sort(() => Math.random() - 0.5);
          return bulk({ ids: order, status: statuses[i % 3], assignee: i % 2 ? 'ana@triage.test' : 'Bob@Triage.test' });
        }),
      );
      expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200));
      for (const id of ids) {
        const found = await detail(id);
        for (const field of ['status', 'assignee']) {
          const rows = found.history.filter((h: Json) => h.field === field);
          for (let i = 1; i < rows.length; i++) expect(rows[i].from).toBe(rows[i - 1].to);
          if (rows.length > 0) expect(rows.at(-1).to).toBe(field === 'status' ? found.status : found.assignee);
        }
      }
    });

    it('runs beside the deletion of the assignee without a deadlock: every answer a success, every alert unassigned', async () => {
      for (let round = 0; round < 12; round++) {
        const user = await createUser(t.baseUrl, admin, `racer${round}@triage.test`, 'analyst');
        const alerts = await Promise.all(Array.from({ length: 40 }, () => createAlert()));
        const ids = alerts.map((alert) => alert.id);
        expect((await bulk({ ids, assignee: `racer${round}@triage.test` })).status).toBe(200);
        // The bulk change locks the alerts in id order; the deletion's trigger must too, or each
        // holds one alert the other waits for (PostgreSQL then aborts one: a 500 before the fix).
        const [deleted, ...changed] = await Promise.all([
          call(t.baseUrl, 'DELETE', `/api/v1/users/${user.id}`, { headers: bearer(admin) }),
          ...['acknowledged', 'resolved', 'open'].map((status) => bulk({ ids, status })),
        ]);
        expect([deleted.status, ...changed.map((reply) => reply.status)]).toEqual([204, 200, 200, 200]);
        for (const id of ids) expect((await detail(id)).assignee).toBeNull();
      }
    });

    it('takes 500 ids and refuses 501', async () => {
      const ids = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
      expect((await bulk({ ids: ids(500), status: 'resolved' })).status).toBe(404);
      const tooMany = await bulk({ ids: ids(501), status: 'resolved' });
      expect(tooMany.status).toBe(400);
      expect(JSON.stringify(tooMany.body.message)).toMatch(/ids/);
    });

    it.each([
      ['no ids', { status: 'resolved' }],
      ['an empty list', { ids: [], status: 'resolved' }],
      ['ids that is not a list', { ids: UNKNOWN_ID, status: 'resolved' }],
      ['a malformed id', { ids: ['not-an-id'], status: 'resolved' }],
      ['a null id', { ids: [null], status: 'resolved' }],
      ['a repeated id', { ids: [UNKNOWN_ID, UNKNOWN_ID.toUpperCase()], status: 'resolved' }],
      ['nothing to change', { ids: [UNKNOWN_ID] }],
      ['status null', { ids: [UNKNOWN_ID], status: null }],
      ['an unknown field', { ids: [UNKNOWN_ID], status: 'resolved', colour: 'red' }],
    ])('refuses %s with 400', async (_what, body) => {
      const reply = await bulk(body);
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    });

    it('refuses a viewer with 403', async () => {
      expect((await bulk({ ids: [UNKNOWN_ID], status: 'resolved' }, bearer(viewer))).status).toBe(403);
    });
  });

  describe('live socket', () => {
    it('sends alert.updated with the alert for a PATCH, a note, and each alert of a bulk change', async () => {
      const socket = await open();
      const alerts = await createMany(3, () => ({}));
      const patched = await patch(alerts[0].id, { assignee: 'ana@triage.test' });
      expect(await socket.nextMessage((m) => m.type === 'alert.updated' && m.data.id === alerts[0].id)).toEqual({ type: 'alert.updated', data: patched.body });

      const noted = await note(alerts[1].id, { text: 'called the user' });
      expect(noted.status).toBe(201);
      const afterNote = await detail(alerts[1].id);
      const { notes: _notes, history: _history, ...noteAlert } = afterNote;
      expect(await socket.nextMessage((m) => m.type === 'alert.updated' && m.data.id === alerts[1].id)).toEqual({ type: 'alert.updated', data: noteAlert });

      expect((await bulk({ ids: alerts.map((a) => a.id), status: 'resolved' })).status).toBe(200);
      for (const alert of alerts) {
        const frame = await socket.nextMessage((m) => m.type === 'alert.updated' && m.data.id === alert.id && m.data.status === 'resolved');
        expect(Object.keys(frame.data).sort()).toEqual(ALERT_FIELDS);
      }
    });

    it('sends nothing for a refused change', async () => {
      const socket = await open();
      const alert = await createAlert();
      await socket.nextMessage((m) => m.type === 'alert.created' && m.data.id === alert.id);
      expect((await bulk({ ids: [alert.id, UNKNOWN_ID], status: 'resolved' })).status).toBe(404);
      expect((await patch(alert.id, { assignee: 'nobody' })).status).toBe(400);
      const marker = await createAlert();
      await socket.nextMessage((m) => m.type === 'alert.created' && m.data.id === marker.id);
      expect(socket.messages.filter((m) => m.type === 'alert.updated' && m.data.id === alert.id)).toEqual([]);
    });
  });

  describe('search and filters on GET /api/v1/alerts', () => {
    let word: string;
    let inTitle: AlertBody;
    let inDescription: AlertBody;
    let inSource: AlertBody;
    let both: AlertBody;

    beforeAll(async () => {
      word = tag();
      inTitle = await createAlert({ title: `Phishing ${word.toUpperCase()} campaign` });
      inDescription = await createAlert({ title: 'Beacon', description: `host-17.${word}.example.com calls home` });
      inSource = await createAlert({ title: 'Login', source: `edr-${word}` });
      both = await createAlert({ title: `Ransomware ${word}`, description: 'encrypting shares', severity: 'critical' });
    });
    const ids = (alerts: AlertBody[]) => alerts.map((a) => a.id).sort();

    it('finds the word case-insensitively in title, description (inside a host name) and source', async () => {
      expect(ids(await list(`q=${word}`))).toEqual(ids([inTitle, inDescription, inSource, both]));
      expect(ids(await list(`q=${word.toUpperCase()}`))).toEqual(ids([inTitle, inDescription, inSource, both]));
    });

    it('needs every word, whole, or its start when written with *', async () => {
      expect(ids(await list(`q=${word}%20encrypting`))).toEqual([both.id]);
      expect(await list(`q=${word}%20ENCRYPT`)).toEqual([]);
      expect(ids(await list(`q=${word}%20ENCRYPT*`))).toEqual([both.id]);
      expect(await list(`q=${word.slice(0, -2)}`)).toEqual([]);
      expect(ids(await list(`q=${word.slice(0, -2)}*`))).toEqual(ids([inTitle, inDescription, inSource, both]));
      expect(ids(await list(`q=phish*%20${word}`))).toEqual([inTitle.id]);
      expect(ids(await list(`q=${word}%20calls%20home`))).toEqual([inDescription.id]);
      expect(await list(`q=${word}%20absentword`)).toEqual([]);
      expect(await list(`q=hishing*%20${word}`)).toEqual([]);
    });

    it('reads search syntax as words', async () => {
      expect(ids(await list(`q=${encodeURIComponent(`${word} & !ransomware | :* ' <->`)}`))).toEqual(ids([both]));
      expect(ids(await list(`q=${encodeURIComponent(`host-17.${word}.example.com`)}`))).toEqual([inDescription.id]);
    });

    it('combines q with the other filters', async () => {
      expect(ids(await list(`q=${word}&severity=critical`))).toEqual([both.id]);
      await patch(inSource.id, { status: 'acknowledged', assignee: 'ana@triage.test' });
      expect(ids(await list(`q=${word}&status=acknowledged`))).toEqual([inSource.id]);
      expect(ids(await list(`q=${word}&assignee=ANA@triage.test`))).toEqual([inSource.id]);
      expect(ids(await list(`q=${word}&assignee=none`))).toEqual(ids([inTitle, inDescription, both]));
      expect(await list(`q=${word}&assignee=nobody@triage.test`)).toEqual([]);
    });

    it('takes since (inclusive) and until (exclusive) on created_at', async () => {
      expect(ids(await list(`q=${word}&since=${inDescription.created_at}`))).toEqual(ids([inDescription, inSource, both]));
      expect(ids(await list(`q=${word}&until=${inDescription.created_at}`))).toEqual([inTitle.id]);
      expect(ids(await list(`q=${word}&since=${inDescription.created_at}&until=${both.created_at}`))).toEqual(ids([inDescription, inSource]));
      expect(await list(`q=${word}&since=2000-01-01&until=2000-01-02`)).toEqual([]);
    });
  });

  describe('sort and before', () => {
    let word: string;
    let created: AlertBody[];

    beforeAll(async () => {
      word = tag();
      created = await createMany(250, (i) => ({ title: `page ${i}`, source: word, severity: SEVERITIES[(i * 7) % 4] }));
    }, 120_000);

    const expected: Record<string, (a: AlertBody, b: AlertBody) => number> = {
      newest: (a, b) => created.indexOf(b) - created.indexOf(a),
      oldest: (a, b) => created.indexOf(a) - created.indexOf(b),
      severity: (a, b) => RANK[b.severity] - RANK[a.severity] || created.indexOf(b) - created.indexOf(a),
    };

    it.each(['newest', 'oldest', 'severity'])('pages through all 250 alerts with sort=%s and before=<id>, each exactly once, in order', async (sort) => {
      const seen: AlertBody[] = [];
      let before = '';
      for (let page = 0; page < 20; page++) {
        const rows = await list(`q=${word}&sort=${sort}&limit=37${before}`);
        if (rows.length === 0) break;
        seen.push(...rows.map((row) => created.find((c) => c.id === row.id)!));
        before = `&before=${rows.at(-1)!.id}`;
      }
      expect(seen).toHaveLength(250);
      expect(new Set(seen.map((a) => a.id)).size).toBe(250);
      expect(seen.map((a) => a.id)).toEqual([...created].sort(expected[sort]).map((a) => a.id));
    });

    it('sorts newest first when sort is left out', async () => {
      expect((await list(`q=${word}&limit=5`)).map((a) => a.id)).toEqual(
        created
          .slice(-5)
          .reverse()
          .map((a) => a.id),
      );
    });

    it('keeps before=<ISO time> for newest', async () => {
      const rows = await list(`q=${word}&before=${created[10].created_at}&limit=200`);
      expect(rows.map((a) => a.id)).toEqual(
        created
          .slice(0, 10)
          .reverse()
          .map((a) => a.id),
      );
    });

    it.each([
      ['before=<time> with sort=oldest', (c: AlertBody[]) => `sort=oldest&before=${c[0].created_at}`],
      ['before=<time> with sort=severity', (c: AlertBody[]) => `sort=severity&before=${c[0].created_at}`],
      ['before=<unknown id>', () => `before=${UNKNOWN_ID}`],
      ['sort=random', () => 'sort=random'],
      ['sort=', () => 'sort='],
    ])('refuses %s with 400', async (_what, query) => {
      expect((await get(`${ALERTS}?${query(created)}`)).status).toBe(400);
    });
  });

  describe('GET /api/v1/alerts/summary', () => {
    const summary = async (query = '') => {
      const reply = await get(`${ALERTS}/summary${query}`);
      expect(reply.status).toBe(200);
      return reply.body as { total: number; by_severity: Record<string, Record<string, number>> };
    };

    it('counts every alert by severity and status, over the whole table and a window, not a page', async () => {
      const before = await summary();
      expect(Object.keys(before.by_severity).sort()).toEqual([...SEVERITIES].sort());
      for (const severity of SEVERITIES) expect(Object.keys(before.by_severity[severity]).sort()).toEqual([...STATUSES].sort());
      const created = await createMany(250, (i) => ({ title: `count ${i}`, severity: SEVERITIES[i % 4] }));
      const statusOf = (i: number) => STATUSES[Math.floor(i / 4) % 3];
      for (const status of ['acknowledged', 'resolved'] as const) {
        const ids = created.filter((_, i) => statusOf(i) === status).map((a) => a.id);
        expect((await bulk({ ids, status })).status).toBe(200);
      }
      const want: Record<string, Record<string, number>> = {};
      for (const severity of SEVERITIES) want[severity] = { open: 0, acknowledged: 0, resolved: 0 };
      created.forEach((a, i) => (want[a.severity][statusOf(i)] += 1));
      expect(want.critical.open).toBeGreaterThan(20);

      const after = await summary();
      expect(after.total - before.total).toBe(250);
      for (const severity of SEVERITIES) {
        for (const status of STATUSES) expect(after.by_severity[severity][status] - before.by_severity[severity][status]).toBe(want[severity][status]);
      }
      expect(await summary('?since=2000-01-01T00:30:00Z&until=2100-01-01T00:00:00Z')).toEqual(after);
      const total = Object.values(after.by_severity).reduce((sum, byStatus) => sum + Object.values(byStatus).reduce((a, b) => a + b, 0), 0);
      expect(total).toBe(after.total);

      const until = new Date(Date.parse(created.at(-1)!.created_at) + 1).toISOString();
      const windowed = await summary(`?since=${created[0].created_at}&until=${until}`);
      expect(windowed).toEqual({ total: 250, by_severity: want });
      const withoutFirst = await summary(`?since=${created[1].created_at}&until=${until}`);
      expect(withoutFirst.total).toBe(249);
      expect(withoutFirst.by_severity[created[0].severity][statusOf(0)]).toBe(want[created[0].severity][statusOf(0)] - 1);
      expect((await summary(`?until=${created[0].created_at}`)).total).toBe(before.total);
    }, 120_000);

    it('is open to alerts:read (viewer) and refused without credentials', async () => {
      expect((await get(`${ALERTS}/summary`, bearer(operator))).status).toBe(200);
      expect((await get(`${ALERTS}/summary`, {})).status).toBe(401);
    });
  });

  describe('search past the newest rows (the page is looked for among the newest 4,000 first)', () => {
    let word: string;
    let older: AlertBody[];

    beforeAll(async () => {
      word = tag();
      older = await createMany(3, (i) => ({ title: `old ${word} ${i}`, severity: 'high' }));
      // 4,100 newer alerts without the word, straight into the table (4,100 POSTs would take minutes),
      // 1 ms apart (the embedded database's clock may give rows of one statement the same time).
      await t.app.get(DataSource).query(
        `INSERT INTO "alerts" ("title", "severity", "source", "created_at")
           SELECT 'filler ' || i, 'low', 'filler-source', clock_timestamp() + i * interval '1 millisecond' FROM generate_series(1, 4100) AS i`,
      );
    }, 60_000);

    it('still finds older matches, newest first, with before and the other filters', async () => {
      expect((await list(`q=${word}`)).map((a) => a.id)).toEqual(older.map((a) => a.id).reverse());
      const first = await list(`q=${word}&limit=2`);
      expect(first.map((a) => a.id)).toEqual([older[2].id, older[1].id]);
      expect((await list(`q=${word}&limit=2&before=${first[1].id}`)).map((a) => a.id)).toEqual([older[0].id]);
      expect((await list(`q=${word}&sort=oldest&limit=2`)).map((a) => a.id)).toEqual([older[0].id, older[1].id]);
      expect((await list(`q=${word}&severity=high&status=open`)).map((a) => a.id)).toEqual(older.map((a) => a.id).reverse());
      expect(await list(`q=${word}&severity=low`)).toEqual([]);
    });

    it('finds a full page among the newest rows', async () => {
      const page = await list(`q=filler%20source&limit=5`);
      expect(page.map((a) => a.title)).toEqual(['filler 4100', 'filler 4099', 'filler 4098', 'filler 4097', 'filler 4096']);
    });
  });

  describe('junk input is a 4xx, never a 5xx', () => {
    it.each([
      `${ALERTS}?q=`,
      `${ALERTS}?q=%25%25%25`,
      `${ALERTS}?q=${'a%20'.repeat(9)}`,
      `${ALERTS}?q=${'a'.repeat(201)}`,
      `${ALERTS}?q[]=x`,
      `${ALERTS}?q=a&q=b`,
      `${ALERTS}?assignee=`,
      `${ALERTS}?assignee[]=x`,
      `${ALERTS}?assignee=a%00b`,
      `${ALERTS}?assignee=%0A`,
      `${ALERTS}?since=yesterday`,
      `${ALERTS}?until=2024-13-01`,
      `${ALERTS}?since=2026-01-02&until=2026-01-01`,
      `${ALERTS}?sort=severity&before=yesterday`,
      `${ALERTS}/summary?since=x`,
      `${ALERTS}/summary?until=2024-02-30T99:00:00Z`,
      `${ALERTS}/summary?status=open`,
      `${ALERTS}/summary?since=2026-01-02&until=2026-01-01`,
    ])('GET %s → 400', async (path) => {
      const reply = await get(path);
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    });

    it.each([
      ['a string body', '"acknowledge"'],
      ['a list body', `["${UNKNOWN_ID}"]`],
      ['null', 'null'],
      ['ids of numbers', '{"ids":[1,2],"status":"resolved"}'],
      ['ids of objects', '{"ids":[{}],"status":"resolved"}'],
    ])('PATCH /alerts with %s → 400', async (_what, raw) => {
      const reply = await call(t.baseUrl, 'PATCH', ALERTS, { headers: { ...bearer(analyst), 'content-type': 'application/json' }, raw });
      expect(reply.status).toBe(400);
    });

    it('counts characters as the columns do: variation selectors count (they passed @Length and reached varchar as a 500)', async () => {
      const alert = await createAlert();
      const selectors = 'a\uFE0F';
      expect((await note(alert.id, { text: selectors.repeat(2000) })).status).toBe(201);
      const tooLong = await note(alert.id, { text: selectors.repeat(2001) });
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.message).toMatch(/text must be 1 to 4000 characters long/);
      const title = await call(t.baseUrl, 'POST', ALERTS, {
        headers: bearer(analyst),
        body: { title: selectors.repeat(101), severity: 'low', source: 'idp' },
      });
      expect(title.status).toBe(400);
      const source = await call(t.baseUrl, 'POST', ALERTS, {
        headers: bearer(analyst),
        body: { title: 'x', severity: 'low', source: selectors.repeat(51) },
      });
      expect(source.status).toBe(400);
      expect((await detail(alert.id)).notes).toHaveLength(1);
    });

    it('POST notes with a non-object body → 400', async () => {
      const alert = await createAlert();
      const reply = await call(t.baseUrl, 'POST', `${ALERTS}/${alert.id}/notes`, {
        headers: { ...bearer(analyst), 'content-type': 'application/json' },
        raw: '"hi"',
      });
      expect(reply.status).toBe(400);
    });
  });
});
