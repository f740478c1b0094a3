import { randomUUID } from 'node:crypto';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { bearer, call, createUser, login, waitFor } from './support/http';

interface AuditEventView {
  id: string;
  seq: number;
  type: string;
  outcome: 'success' | 'failure';
  actor: string | null;
  ip: string | null;
  created_at: string;
}

/**
 * GET /api/v1/audit/events beyond type, outcome, since and limit (issue 19, an extension of the
 * contract): until, actor, ip, and before for paging newest first. Each client address comes from
 * X-Forwarded-For (TRUST_PROXY=loopback), so this file's events are told apart from the rest.
 */
describe('audit list filters and paging', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let adminToken: string;

  const list = (query: string, token = adminToken) => call<AuditEventView[]>(t.baseUrl, 'GET', `/api/v1/audit/events?${query}`, { headers: bearer(token) });
  const failLogin = (username: string, ip: string) =>
    call(t.baseUrl, 'POST', '/api/v1/auth/token', { body: { username, password: 'not-the-password-1' }, headers: { 'x-forwarded-for': ip } });
  const tag = () => randomUUID().slice(0, 8);
  /** Waits until the recorder has written what the test just caused (it writes from a queue). */
  const eventually = async (query: string, count: number) => {
    let events: AuditEventView[] = [];
    expect(
      await waitFor(async () => {
        events = (await list(query)).body;
        return events.length >= count;
      }),
    ).toBe(true);
    return events;
  };

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({ TRUST_PROXY: 'loopback', LOGIN_MAX_PER_IP: '100000', LOGIN_MAX_FAILURES_PER_USER: '100000' }, db);
    adminToken = await login(t.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('filters by actor exactly (a username), newest first', async () => {
    const alice = `alice-${tag()}@filters.test`;
    const bob = `bob-${tag()}@filters.test`;
    for (const name of [alice, bob, alice]) expect((await failLogin(name, '203.0.113.7')).status).toBe(401);
    const events = await eventually(`actor=${encodeURIComponent(alice)}`, 2);
    expect(events).toHaveLength(2);
    expect(events.every((event) => event.actor === alice && event.type === 'auth.login')).toBe(true);
    expect(Number(events[0].id)).toBeGreaterThan(Number(events[1].id));
    // Exact, not a prefix or a pattern.
    expect((await list(`actor=${encodeURIComponent(alice.slice(0, -2))}`)).body).toEqual([]);
    expect((await list(`actor=${encodeURIComponent('%')}`)).body).toEqual([]);
    // Combined with the other filters.
    expect((await list(`actor=${encodeURIComponent(alice)}&outcome=success`)).body).toEqual([]);
    expect((await list(`actor=${encodeURIComponent(alice)}&type=auth.login&outcome=failure`)).body).toHaveLength(2);
  });

  it('finds an actor recorded with escaped control characters by the name as typed or as displayed', async () => {
    const name = `mallory-${tag()}\nadmin`;
    expect((await failLogin(name, '203.0.113.8')).status).toBe(401);
    const shown = name.replace('\n', '\\u000a');
    const [event] = await eventually(`actor=${encodeURIComponent(shown)}`, 1);
    expect(event.actor).toBe(shown);
    expect((await list(`actor=${encodeURIComponent(name)}`)).body.map((e) => e.id)).toEqual([event.id]);
  });

  it('filters by client IP, an IPv4 address also matching its IPv4-mapped IPv6 form', async () => {
    const ip = `198.51.100.${10 + Math.floor(Math.random() * 200)}`;
    const name = `by-ip-${tag()}@filters.test`;
    for (let i = 0; i < 3; i++) expect((await failLogin(name, ip)).status).toBe(401);
    const events = await eventually(`ip=${ip}`, 3);
    expect(events.every((event) => event.ip === ip)).toBe(true);
    expect((await list(`ip=::ffff:${ip}&actor=${encodeURIComponent(name)}`)).body).toHaveLength(3);
    expect((await list(`ip=2001:db8::1&actor=${encodeURIComponent(name)}`)).body).toEqual([]);
  });

  it('takes a time window: since inclusive, until exclusive', async () => {
    const name = `window-${tag()}@filters.test`;
    expect((await failLogin(name, '203.0.113.9')).status).toBe(401);
    const [event] = await eventually(`actor=${encodeURIComponent(name)}`, 1);
    const at = event.created_at;
    const ms = Date.parse(at);
    const q = (window: string) => list(`actor=${encodeURIComponent(name)}&${window}`);
    expect((await q(`since=${encodeURIComponent(at)}`)).body).toHaveLength(1);
    expect((await q(`until=${encodeURIComponent(at)}`)).body).toHaveLength(0);
    expect((await q(`until=${encodeURIComponent(new Date(ms + 1).toISOString())}`)).body).toHaveLength(1);
    expect(
      (await q(`since=${encodeURIComponent(new Date(ms - 60_000).toISOString())}&until=${encodeURIComponent(new Date(ms + 60_000).toISOString())}`)).body,
    ).toHaveLength(1);
    expect((await q(`since=${encodeURIComponent(new Date(ms + 1).toISOString())}`)).body).toHaveLength(0);
  });

  it('pages newest first with before=<id of the last event of the previous page>, without gaps or repeats', async () => {
    const name = `pager-${tag()}@filters.test`;
    for (let i = 0; i < 7; i++) expect((await failLogin(name, '203.0.113.10')).status).toBe(401);
    const all = await eventually(`actor=${encodeURIComponent(name)}`, 7);
    expect(all).toHaveLength(7);
    const pages: string[][] = [];
    let before = '';
    for (;;) {
      const page = (await list(`actor=${encodeURIComponent(name)}&limit=3${before ? `&before=${before}` : ''}`)).body;
      if (page.length === 0) break;
      pages.push(page.map((event) => event.id));
      before = page[page.length - 1].id;
      expect(pages.length).toBeLessThan(5);
    }
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(all.map((event) => event.id));
    // Paging the unfiltered list works the same way.
    const first = (await list('limit=5')).body;
    const second = (await list(`limit=5&before=${first[4].id}`)).body;
    expect(second.length).toBeGreaterThan(0);
    expect(Number(second[0].id)).toBeLessThan(Number(first[4].id));
    expect(second.every((event) => Number(event.id) < Number(first[4].id))).toBe(true);
  });

  it.each([
    ['until that is not a time', 'until=yesterday'],
    ['until as a week date', 'until=2026-W48'],
    ['until before since', 'since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z'],
    ['until equal to since', 'since=2026-11-02T00:00:00Z&until=2026-11-02T00:00:00Z'],
    ['an empty actor', 'actor='],
    ['an actor over 200 characters', `actor=${'a'.repeat(201)}`],
    ['two actors', 'actor=a&actor=b'],
    ['an ip that is not an address', 'ip=not-an-ip'],
    ['an ip range', 'ip=10.0.0.0/8'],
    ['an ip with a port', 'ip=10.0.0.1:80'],
    ['before that is not an id', 'before=abc'],
    ['before as zero', 'before=0'],
    ['a negative before', 'before=-5'],
    ['before beyond bigint', 'before=9223372036854775808'],
    ['before with a fraction', 'before=1.5'],
    ['an unknown parameter', 'after=5'],
  ])('answers 400 to %s', async (_name, query) => {
    const reply = await list(query);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('accepts the largest bigint as before, and an actor with NUL (nothing matches)', async () => {
    expect((await list('before=9223372036854775807&limit=1')).status).toBe(200);
    const nul = await list(`actor=${encodeURIComponent('x\u0000y')}`);
    expect(nul.status).toBe(200);
    expect(nul.body).toEqual([]);
  });

  it('needs audit:read: an analyst without it gets 403, with the new filters too', async () => {
    const user = await createUser(t.baseUrl, adminToken, `an-${tag()}@filters.test`, 'analyst');
    const token = await login(t.baseUrl, user.username, user.password);
    const reply = await list('actor=x&ip=127.0.0.1&before=10', token);
    expect(reply.status).toBe(403);
  });
});
