import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import WebSocket from 'ws';
import { AuditRecorder } from '../src/audit/audit-recorder';
import { apiKey, bearer, call, cookie, createUser, Reply, waitFor } from './support/http';
import { decodePart } from './support/jwt';
import { countQueries } from './support/query-counter';
import { ADMIN, ALLOWED_ORIGIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { closedWithin, LiveClient, openLive, sleep } from './support/ws';

/**
 * The contract's "Sessions" section on one instance (PostgreSQL with DATABASE_URL, else the embedded
 * database): every sign-in is a session its user and the admins can list and end; what ends one
 * (its expiry, idleness, logout, its user, an admin, a role change, disabling, deletion, another
 * session's password change) refuses its tokens at once and closes its WebSockets with 4401, audited
 * as `session.ended` with who and why; and checking a session costs no database query.
 */

const SESSIONS = '/api/v1/auth/sessions';
const ALERTS_WS = '/api/v1/ws/alerts';
const AUDIT_WS = '/api/v1/ws/audit';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SESSION_KEYS = ['auth_methods', 'created_at', 'current', 'expires_at', 'id', 'ip', 'last_seen_at', 'user_agent'];
/** JWT_EXPIRY_HOURS of the main app: not the default, so that `expires_at` must come from the setting. */
const EXPIRY_HOURS = 2;
/** A bound on how long a test waits for a close that should already be under way; not a speed claim. */
const CLOSE_WAIT_MS = 2000;
const SURVIVAL_WATCH_MS = 500;
const CREDENTIAL_INVALID = 4401;
/**
 * SESSION_IDLE_MINUTES of the idle test and the README's bound on how much later than that a session
 * may end (last-seen is written in batches, at most once a minute).
 */
const IDLE_MINUTES = 1;
const IDLE_MS = IDLE_MINUTES * 60_000;
const IDLE_SLACK_MS = 60_000;

interface SessionView {
  id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  auth_methods: string[];
  current: boolean;
}

interface AuditEventView {
  id: string;
  type: string;
  outcome: string;
  actor: string | null;
  reason: string | null;
  user_agent: string | null;
  ip: string | null;
  created_at: string;
}

interface TestUser {
  id: string;
  username: string;
  password: string;
}

interface SignedIn {
  token: string;
  sid: string;
  userAgent: string;
}

const tag = () => Math.random().toString(36).slice(2, 10);

describe('sessions (one instance)', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let admin: SignedIn;
  let adminId: string;
  const clients: LiveClient[] = [];
  /** Every password and token this file sends or receives: none may appear in an audit event. */
  const secrets = new Set<string>();
  const keep = <T extends string>(secret: T): T => {
    secrets.add(secret);
    return secret;
  };

  // ---- helpers over the real HTTP API ------------------------------------------------------------

  async function signIn(app: TestApp, user: { username: string; password: string }, userAgent = `sessions-spec/${tag()}`): Promise<SignedIn> {
    const reply = await call(app.baseUrl, 'POST', '/api/v1/auth/token', {
      headers: { 'user-agent': userAgent },
      body: { username: user.username, password: keep(user.password) },
    });
    if (reply.status !== 200) throw new Error(`sign-in as ${user.username} failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    const token = keep(reply.body.access_token as string);
    return { token, sid: decodePart(token, 1).sid, userAgent };
  }

  async function freshUser(role = 'analyst'): Promise<TestUser> {
    const username = `${role}-${tag()}@sessions.test`;
    const created = await createUser(t.baseUrl, admin.token, username, role, keep(`pw-${tag()}-${tag()}`));
    return { id: created.id, username, password: created.password };
  }

  const me = (token: string, app = t) => call(app.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(token) });
  const status = async (token: string, app = t) => (await me(token, app)).status;
  const cookieStatus = async (token: string) => (await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: cookie(token) })).status;
  const listOwn = (token: string, app = t) => call<SessionView[]>(app.baseUrl, 'GET', SESSIONS, { headers: bearer(token) });
  const endOwn = (token: string, id: string, headers: Record<string, string> = {}) =>
    call(t.baseUrl, 'DELETE', `${SESSIONS}/${id}`, { headers: { ...bearer(token), ...headers } });
  const endOthers = (token: string, headers: Record<string, string> = {}) => call(t.baseUrl, 'DELETE', SESSIONS, { headers: { ...bearer(token), ...headers } });
  const listOf = (userId: string, token = admin.token) => call<SessionView[]>(t.baseUrl, 'GET', `/api/v1/users/${userId}/sessions`, { headers: bearer(token) });
  const endAllOf = (userId: string, token = admin.token) => call(t.baseUrl, 'DELETE', `/api/v1/users/${userId}/sessions`, { headers: bearer(token) });
  const logout = (token: string) => call(t.baseUrl, 'POST', '/api/v1/auth/logout', { headers: bearer(token) });
  const patchUser = async (id: string, body: Record<string, unknown>) => {
    const reply = await call(t.baseUrl, 'PATCH', `/api/v1/users/${id}`, { headers: bearer(admin.token), body });
    expect(reply.status).toBe(200);
  };
  const changeOwnPassword = async (token: string, user: TestUser, next: string, headers: Record<string, string> = bearer(token)) => {
    const reply = await call(t.baseUrl, 'POST', '/api/v1/users/me/password', {
      headers,
      body: { current_password: user.password, new_password: keep(next) },
    });
    expect(reply.status).toBe(204);
    return reply;
  };
  const ids = (reply: Reply<SessionView[]>) => reply.body.map((session) => session.id);

  async function openSocket(path: string, headers: Record<string, string>, query = ''): Promise<LiveClient> {
    const client = await openLive(`${t.wsUrl}${path}${query}`, headers);
    clients.push(client);
    return client;
  }

  /** Each socket is closed by the server with 4401. */
  async function expectClosedWith4401(sockets: Record<string, LiveClient>): Promise<void> {
    const closes = await Promise.all(
      Object.entries(sockets).map(async ([name, socket]) => {
        const closed = await closedWithin(socket, CLOSE_WAIT_MS).catch((error: Error) => ({ code: `still open (${error.message})` }));
        return [name, closed.code] as const;
      }),
    );
    expect(Object.fromEntries(closes)).toEqual(Object.fromEntries(Object.keys(sockets).map((name) => [name, CREDENTIAL_INVALID])));
  }

  /** Each alerts socket is still open after a while and receives an alert posted now. */
  async function expectAlertSocketsAlive(sockets: Record<string, LiveClient>): Promise<void> {
    await sleep(SURVIVAL_WATCH_MS);
    const states = Object.entries(sockets).map(([name, socket]) => [
      name,
      socket.socket.readyState === WebSocket.OPEN ? 'open' : `readyState ${socket.socket.readyState}`,
    ]);
    expect(Object.fromEntries(states)).toEqual(Object.fromEntries(Object.keys(sockets).map((name) => [name, 'open'])));
    const posted = await call(t.baseUrl, 'POST', '/api/v1/alerts', {
      headers: bearer(admin.token),
      body: { title: `still listening ${tag()}`, severity: 'low', source: 'sessions-spec' },
    });
    expect(posted.status).toBe(201);
    await Promise.all(
      Object.values(sockets).map((socket) => socket.nextMessage((m) => m.type === 'alert.created' && m.data?.id === posted.body.id, CLOSE_WAIT_MS)),
    );
  }

  // ---- audit --------------------------------------------------------------------------------------

  const endedEvents = async (): Promise<AuditEventView[]> => {
    const reply = await call<AuditEventView[]>(t.baseUrl, 'GET', '/api/v1/audit/events?type=session.ended&limit=1000', { headers: bearer(admin.token) });
    expect(reply.status).toBe(200);
    return reply.body;
  };
  async function settleAudit(): Promise<void> {
    const audit = t.app.get(AuditRecorder);
    expect(await waitFor(async () => (await audit.flush(), audit.queueDepth === 0))).toBe(true);
  }
  /** The session.ended events recorded because of the action (none recorded before it). */
  async function endedEventsOf(action: () => Promise<void>): Promise<AuditEventView[]> {
    await settleAudit();
    await sleep(100);
    await settleAudit();
    const before = new Set((await endedEvents()).map((event) => event.id));
    await action();
    let fresh: AuditEventView[] = [];
    await waitFor(
      async () => {
        await t.app.get(AuditRecorder).flush();
        fresh = (await endedEvents()).filter((event) => !before.has(event.id));
        return fresh.length > 0;
      },
      5000,
      50,
    );
    return fresh;
  }
  /**
   * At least one event, and every one names this actor and a reason matching the word (looked for
   * outside the names and ids the reason may quote, so that a username cannot supply the word).
   */
  function expectEnded(events: AuditEventView[], actor: string, reason: RegExp, names: string[]): void {
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      expect({ type: event.type, outcome: event.outcome, actor: event.actor }).toEqual({ type: 'session.ended', outcome: 'success', actor });
      let why = event.reason ?? '';
      for (const name of names) why = why.split(name).join(' ');
      why = why.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, ' ');
      expect({ reason: event.reason, matches: reason.test(why) }).toEqual({ reason: event.reason, matches: true });
    }
  }

  beforeAll(async () => {
    db = await databaseForFile();
    // Many sign-ins from one address: the login limits are not what this file tests.
    t = await startTestApp({ LOGIN_MAX_PER_IP: '100000', LOGIN_MAX_FAILURES_PER_USER: '100000', JWT_EXPIRY_HOURS: String(EXPIRY_HOURS) }, db);
    admin = await signIn(t, ADMIN);
    const users = await call(t.baseUrl, 'GET', '/api/v1/users', { headers: bearer(admin.token) });
    adminId = (users.body as TestUser[]).find((user) => user.username === ADMIN.username)!.id;
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await t?.close();
    await db?.drop();
  });

  describe('every sign-in creates a session', () => {
    it('puts its id in the token (sid) and in GET /auth/me (session_id), by Bearer and by cookie; each sign-in is a new session', async () => {
      const user = await freshUser();
      const first = await signIn(t, user);
      const second = await signIn(t, user);
      expect(first.sid).toMatch(UUID);
      expect(second.sid).toMatch(UUID);
      expect(second.sid).not.toBe(first.sid);
      const byBearer = await me(first.token);
      expect(byBearer.status).toBe(200);
      expect(byBearer.body).toMatchObject({ sub: user.username, auth_method: 'jwt', session_id: first.sid });
      const byCookie = await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: cookie(second.token) });
      expect(byCookie.status).toBe(200);
      expect(byCookie.body.session_id).toBe(second.sid);
    });

    it("lists the caller's live sessions newest first, with the contract's fields and exactly one current: the caller's", async () => {
      const user = await freshUser();
      const bystander = await freshUser();
      const signedIn: SignedIn[] = [];
      for (const device of ['laptop', 'phone', 'tablet']) signedIn.push(await signIn(t, user, `sessions-spec/${device}/${tag()}`));
      const other = await signIn(t, bystander);
      const startedBy = (s: SignedIn) => decodePart(s.token, 1) as { iat: number; exp: number };

      const reply = await listOwn(signedIn[1].token);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('cache-control')).toMatch(/no-store/);
      expect(ids(reply)).toEqual([signedIn[2].sid, signedIn[1].sid, signedIn[0].sid]);
      expect(ids(reply)).not.toContain(other.sid);
      expect(reply.body.map((s) => s.current)).toEqual([false, true, false]);

      for (const [index, session] of reply.body.entries()) {
        const signed = signedIn[2 - index];
        expect(Object.keys(session).sort()).toEqual(expect.arrayContaining(SESSION_KEYS));
        expect(session.auth_methods).toEqual(['pwd']);
        expect(session.user_agent).toBe(signed.userAgent);
        expect(session.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
        const created = Date.parse(session.created_at);
        const expires = Date.parse(session.expires_at);
        const lastSeen = Date.parse(session.last_seen_at);
        expect([created, expires, lastSeen].every(Number.isFinite)).toBe(true);
        expect(Math.abs(created - startedBy(signed).iat * 1000)).toBeLessThanOrEqual(2000);
        expect(Math.abs(expires - created - EXPIRY_HOURS * 3_600_000)).toBeLessThanOrEqual(2000);
        expect(Math.abs(expires - startedBy(signed).exp * 1000)).toBeLessThanOrEqual(2000);
        expect(lastSeen).toBeGreaterThanOrEqual(created - 1000);
        expect(lastSeen).toBeLessThanOrEqual(Date.now() + 1000);
        expect(JSON.stringify(session)).not.toContain(signed.token);
      }
      const created = reply.body.map((s) => Date.parse(s.created_at));
      expect([...created].sort((x, y) => y - x)).toEqual(created);

      // Another device asks: the mark moves to it.
      expect((await listOwn(signedIn[2].token)).body.map((s) => s.current)).toEqual([true, false, false]);
      const byCookie = await call<SessionView[]>(t.baseUrl, 'GET', SESSIONS, { headers: cookie(signedIn[0].token) });
      expect(byCookie.status).toBe(200);
      expect(byCookie.body.filter((s) => s.current).map((s) => s.id)).toEqual([signedIn[0].sid]);
    });

    it('gives an API key no session: GET /auth/sessions is 403, /auth/me has no session_id; without credentials 401', async () => {
      const created = await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(admin.token), body: { service_name: `sessions-${tag()}` } });
      expect(created.status).toBe(201);
      const key = keep(created.body.api_key as string);
      expect((await call(t.baseUrl, 'GET', SESSIONS, { headers: apiKey(key) })).status).toBe(403);
      const meByKey = await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: apiKey(key) });
      expect(meByKey.status).toBe(200);
      expect(meByKey.body.session_id).toBeUndefined();
      expect((await call(t.baseUrl, 'GET', SESSIONS)).status).toBe(401);
      expect((await call(t.baseUrl, 'DELETE', SESSIONS)).status).toBe(401);
      expect((await call(t.baseUrl, 'DELETE', `${SESSIONS}/${randomUUID()}`)).status).toBe(401);
    });
  });

  describe('a user ends their own sessions', () => {
    it('DELETE /auth/sessions/{id} ends another of my sessions: its token is refused at once (Bearer and cookie), mine still works', async () => {
      const user = await freshUser();
      const mine = await signIn(t, user);
      const stolen = await signIn(t, user);
      expect(await status(stolen.token)).toBe(200);

      expect((await endOwn(mine.token, stolen.sid)).status).toBe(204);

      expect(await status(stolen.token)).toBe(401);
      expect(await cookieStatus(stolen.token)).toBe(401);
      expect(await status(mine.token)).toBe(200);
      expect(ids(await listOwn(mine.token))).toEqual([mine.sid]);
      // Ending it again: it names no live session.
      expect((await endOwn(mine.token, stolen.sid)).status).toBe(404);
      // A new sign-in on that device works again.
      expect(await status((await signIn(t, user)).token)).toBe(200);
    });

    it('DELETE /auth/sessions/{id} ends the current session too: its token is refused at once', async () => {
      const user = await freshUser();
      const other = await signIn(t, user);
      const mine = await signIn(t, user);
      expect((await endOwn(mine.token, mine.sid)).status).toBe(204);
      expect(await status(mine.token)).toBe(401);
      expect(await cookieStatus(mine.token)).toBe(401);
      expect(await status(other.token)).toBe(200);
      expect(ids(await listOwn(other.token))).toEqual([other.sid]);
    });

    it("answers 404 for another user's session id (which stays alive), an unknown id and a malformed id", async () => {
      const user = await freshUser();
      const victim = await freshUser();
      const mine = await signIn(t, user);
      const theirs = await signIn(t, victim);

      expect((await endOwn(mine.token, theirs.sid)).status).toBe(404);
      expect((await endOwn(mine.token, theirs.sid.toUpperCase())).status).toBe(404);
      // Not even an admin ends someone else's session through the caller's own route.
      expect((await endOwn(admin.token, theirs.sid)).status).toBe(404);
      expect((await endOwn(mine.token, randomUUID())).status).toBe(404);
      for (const malformed of ['not-a-uuid', '1', `${theirs.sid}x`, "' OR 1=1 --"]) {
        const reply = await endOwn(mine.token, encodeURIComponent(malformed));
        expect({ malformed, status: reply.status }).toEqual({ malformed, status: 404 });
      }
      expect(await status(theirs.token)).toBe(200);
      expect(ids(await listOwn(theirs.token))).toEqual([theirs.sid]);
      expect(await status(mine.token)).toBe(200);
    });

    it('DELETE /auth/sessions ends every session of the caller but the current one; other users keep theirs', async () => {
      const user = await freshUser();
      const bystander = await freshUser();
      const first = await signIn(t, user);
      const current = await signIn(t, user);
      const third = await signIn(t, user);
      const theirs = await signIn(t, bystander);

      expect((await endOthers(current.token)).status).toBe(204);

      expect(await status(first.token)).toBe(401);
      expect(await status(third.token)).toBe(401);
      expect(await status(current.token)).toBe(200);
      expect(await status(theirs.token)).toBe(200);
      const listed = await listOwn(current.token);
      expect(listed.body).toEqual([expect.objectContaining({ id: current.sid, current: true })]);
      // Nothing else to end: still 204, and the current session lives on.
      expect((await endOthers(current.token)).status).toBe(204);
      expect(await status(current.token)).toBe(200);
    });

    it('POST /auth/logout ends only the current session', async () => {
      const user = await freshUser();
      const leaving = await signIn(t, user);
      const staying = await signIn(t, user);
      expect((await logout(leaving.token)).status).toBe(204);
      expect(await status(leaving.token)).toBe(401);
      expect(await cookieStatus(leaving.token)).toBe(401);
      expect(await status(staying.token)).toBe(200);
      expect(ids(await listOwn(staying.token))).toEqual([staying.sid]);
    });
  });

  describe('an admin sees and ends the sessions of any user (GET and DELETE /users/{id}/sessions)', () => {
    it("lists a user's live sessions newest first, none current for the admin; the admin's own list marks the admin's session", async () => {
      const user = await freshUser();
      const first = await signIn(t, user, `admin-view/first/${tag()}`);
      const second = await signIn(t, user, `admin-view/second/${tag()}`);
      const ended = await signIn(t, user);
      expect((await logout(ended.token)).status).toBe(204);

      const reply = await listOf(user.id);
      expect(reply.status).toBe(200);
      expect(ids(reply)).toEqual([second.sid, first.sid]);
      expect(reply.body.map((s) => s.current)).toEqual([false, false]);
      expect(reply.body.map((s) => s.user_agent)).toEqual([second.userAgent, first.userAgent]);
      for (const session of reply.body) {
        expect(Object.keys(session)).toEqual(expect.arrayContaining(SESSION_KEYS));
        expect(session.auth_methods).toEqual(['pwd']);
      }

      const own = await listOf(adminId);
      expect(own.status).toBe(200);
      expect(own.body.filter((s) => s.current).map((s) => s.id)).toEqual([admin.sid]);
    });

    it("ends every session of the user: their tokens are refused at once; other users' sessions live; a new sign-in works", async () => {
      const user = await freshUser();
      const bystander = await freshUser();
      const sessions = [await signIn(t, user), await signIn(t, user)];
      const theirs = await signIn(t, bystander);

      expect((await endAllOf(user.id)).status).toBe(204);

      for (const session of sessions) {
        expect(await status(session.token)).toBe(401);
        expect(await cookieStatus(session.token)).toBe(401);
      }
      expect(await status(theirs.token)).toBe(200);
      expect(await status(admin.token)).toBe(200);
      expect((await listOf(user.id)).body).toEqual([]);
      const again = await signIn(t, user);
      expect(await status(again.token)).toBe(200);
      expect(ids(await listOf(user.id))).toEqual([again.sid]);
      // Again, with nothing left to end: still 204.
      expect((await endAllOf(bystander.id)).status).toBe(204);
      expect(await status(theirs.token)).toBe(401);
      expect((await endAllOf(bystander.id)).status).toBe(204);
    });

    it('refuses callers without users:manage (403) and answers 404 for an unknown or malformed user id', async () => {
      const user = await freshUser();
      const target = await signIn(t, user);
      for (const role of ['viewer', 'analyst', 'operator']) {
        const caller = await signIn(t, await freshUser(role));
        expect({ role, list: (await listOf(user.id, caller.token)).status, end: (await endAllOf(user.id, caller.token)).status }).toEqual({
          role,
          list: 403,
          end: 403,
        });
      }
      expect(await status(target.token)).toBe(200);
      expect((await listOf(randomUUID())).status).toBe(404);
      expect((await endAllOf(randomUUID())).status).toBe(404);
      expect((await listOf('not-a-uuid')).status).toBe(404);
      expect((await endAllOf('not-a-uuid')).status).toBe(404);
      expect((await call(t.baseUrl, 'GET', `/api/v1/users/${user.id}/sessions`)).status).toBe(401);
    });
  });

  describe('changes to the user end sessions', () => {
    it('a role change ends every session of the user; a new sign-in works with the new role', async () => {
      const user = await freshUser('viewer');
      const sessions = [await signIn(t, user), await signIn(t, user)];
      await patchUser(user.id, { role: 'operator' });
      for (const session of sessions) expect(await status(session.token)).toBe(401);
      const again = await signIn(t, user);
      expect((await me(again.token)).body).toMatchObject({ role: 'operator', session_id: again.sid });
      expect(ids(await listOf(user.id))).toEqual([again.sid]);
    });

    it('disabling the user ends every session', async () => {
      const user = await freshUser();
      const sessions = [await signIn(t, user), await signIn(t, user)];
      await patchUser(user.id, { disabled: true });
      for (const session of sessions) expect(await status(session.token)).toBe(401);
      expect((await listOf(user.id)).body).toEqual([]);
      // Enabling again brings none of them back.
      await patchUser(user.id, { disabled: false });
      for (const session of sessions) expect(await status(session.token)).toBe(401);
      expect((await listOf(user.id)).body).toEqual([]);
    });

    it('deleting the user ends every session; the user then names nothing (404)', async () => {
      const user = await freshUser();
      const sessions = [await signIn(t, user), await signIn(t, user)];
      expect((await call(t.baseUrl, 'DELETE', `/api/v1/users/${user.id}`, { headers: bearer(admin.token) })).status).toBe(204);
      for (const session of sessions) expect(await status(session.token)).toBe(401);
      expect((await listOf(user.id)).status).toBe(404);
      expect((await endAllOf(user.id)).status).toBe(404);
    });

    it('an admin setting a new password (PATCH {password}) ends every session of the user', async () => {
      const user = await freshUser();
      const sessions = [await signIn(t, user), await signIn(t, user)];
      await patchUser(user.id, { password: keep(`admin-set-${tag()}-pw`) });
      for (const session of sessions) expect(await status(session.token)).toBe(401);
      expect((await listOf(user.id)).body).toEqual([]);
    });

    it("the user's own password change (Bearer) ends every other session; the current one keeps working with the same token", async () => {
      const user = await freshUser();
      const others = [await signIn(t, user), await signIn(t, user)];
      const current = await signIn(t, user);
      const next = `changed-${tag()}-password`;

      await changeOwnPassword(current.token, user, next);

      for (const other of others) expect(await status(other.token)).toBe(401);
      const still = await me(current.token);
      expect(still.status).toBe(200);
      expect(still.body.session_id).toBe(current.sid);
      expect(await cookieStatus(current.token)).toBe(200);
      expect(ids(await listOwn(current.token))).toEqual([current.sid]);
      expect(await status((await signIn(t, { username: user.username, password: next })).token)).toBe(200);
    });

    it("the user's own password change from the console (cookie) ends every other session; the current one keeps working", async () => {
      const user = await freshUser();
      const other = await signIn(t, user);
      const current = await signIn(t, user);

      const reply = await changeOwnPassword(current.token, user, `cookie-changed-${tag()}-pw`, { ...cookie(current.token), origin: ALLOWED_ORIGIN });

      expect(await status(other.token)).toBe(401);
      // The old token of the current session keeps working, by cookie and by Bearer ...
      expect(await cookieStatus(current.token)).toBe(200);
      expect((await me(current.token)).body.session_id).toBe(current.sid);
      // ... and a fresh cookie, if the response set one, works too.
      const fresh = /access_token=([^;]+)/.exec(reply.headers.get('set-cookie') ?? '')?.[1];
      if (fresh) expect(await cookieStatus(keep(fresh))).toBe(200);
    });
  });

  describe('session.ended is audited with who ended it and why', () => {
    it('records logout, ending by the user, by an admin, password change, role change, disabling and deletion; never a secret', async () => {
      const user = await freshUser('viewer');
      const names = [user.username, ADMIN.username];
      let a = await signIn(t, user);
      let b = await signIn(t, user);

      expectEnded(await endedEventsOf(async () => void expect((await logout(a.token)).status).toBe(204)), user.username, /log.?out|sign.?out/i, names);

      a = await signIn(t, user);
      expectEnded(await endedEventsOf(async () => void expect((await endOwn(b.token, a.sid)).status).toBe(204)), user.username, /user|self|own/i, names);

      a = await signIn(t, user);
      expectEnded(await endedEventsOf(async () => void expect((await endOthers(b.token)).status).toBe(204)), user.username, /user|self|own/i, names);

      a = await signIn(t, user);
      expectEnded(await endedEventsOf(async () => void expect((await endAllOf(user.id)).status).toBe(204)), ADMIN.username, /admin/i, names);

      a = await signIn(t, user);
      b = await signIn(t, user);
      const next = `audited-${tag()}-password`;
      expectEnded(await endedEventsOf(async () => void (await changeOwnPassword(b.token, user, next))), user.username, /password/i, names);
      user.password = next;

      expectEnded(await endedEventsOf(() => patchUser(user.id, { role: 'analyst' })), ADMIN.username, /role/i, names);

      a = await signIn(t, user);
      expectEnded(await endedEventsOf(() => patchUser(user.id, { disabled: true })), ADMIN.username, /disabl/i, names);

      await patchUser(user.id, { disabled: false });
      a = await signIn(t, user);
      expectEnded(
        await endedEventsOf(
          async () => void expect((await call(t.baseUrl, 'DELETE', `/api/v1/users/${user.id}`, { headers: bearer(admin.token) })).status).toBe(204),
        ),
        ADMIN.username,
        /delet|remov/i,
        names,
      );

      await settleAudit();
      const all = await call(t.baseUrl, 'GET', '/api/v1/audit/events?limit=1000', { headers: bearer(admin.token) });
      expect(all.status).toBe(200);
      const text = JSON.stringify(all.body);
      expect([...secrets].filter((secret) => text.includes(secret))).toEqual([]);
    });
  });

  describe('WebSockets of an ended session close with 4401', () => {
    const bearerSocket = (path: string, token: string) => openSocket(path, bearer(token));
    const querySocket = (path: string, token: string) => openSocket(path, {}, `?token=${encodeURIComponent(token)}`);
    const cookieSocket = (path: string, token: string) => openSocket(path, { ...cookie(token), origin: ALLOWED_ORIGIN });

    it("ending one session (DELETE /auth/sessions/{id}) closes its sockets on every carrier and both paths; the other session's socket stays open", async () => {
      const user = await freshUser('operator');
      const ended = await signIn(t, user);
      const kept = await signIn(t, user);
      const doomed = {
        'alerts/bearer': await bearerSocket(ALERTS_WS, ended.token),
        'alerts/query': await querySocket(ALERTS_WS, ended.token),
        'alerts/cookie': await cookieSocket(ALERTS_WS, ended.token),
        'audit/bearer': await bearerSocket(AUDIT_WS, ended.token),
      };
      const survivor = await bearerSocket(ALERTS_WS, kept.token);

      expect((await endOwn(kept.token, ended.sid)).status).toBe(204);

      await expectClosedWith4401(doomed);
      await expectAlertSocketsAlive({ survivor });
    });

    it("ending the current session closes this session's sockets", async () => {
      const user = await freshUser('viewer');
      const mine = await signIn(t, user);
      const socket = await bearerSocket(ALERTS_WS, mine.token);
      expect((await endOwn(mine.token, mine.sid)).status).toBe(204);
      await expectClosedWith4401({ socket });
    });

    it("logout closes only that session's sockets", async () => {
      const user = await freshUser('viewer');
      const leaving = await signIn(t, user);
      const staying = await signIn(t, user);
      const doomed = await cookieSocket(ALERTS_WS, leaving.token);
      const survivor = await bearerSocket(ALERTS_WS, staying.token);
      expect((await logout(leaving.token)).status).toBe(204);
      await expectClosedWith4401({ doomed });
      await expectAlertSocketsAlive({ survivor });
    });

    it("DELETE /auth/sessions closes the other sessions' sockets, not the current one's", async () => {
      const user = await freshUser('viewer');
      const current = await signIn(t, user);
      const other = await signIn(t, user);
      const doomed = await querySocket(ALERTS_WS, other.token);
      const survivor = await bearerSocket(ALERTS_WS, current.token);
      expect((await endOthers(current.token)).status).toBe(204);
      await expectClosedWith4401({ doomed });
      await expectAlertSocketsAlive({ survivor });
    });

    it("an admin ending a user's sessions closes all of that user's sockets; another user's stays open", async () => {
      const user = await freshUser('operator');
      const bystander = await freshUser('viewer');
      const one = await signIn(t, user);
      const two = await signIn(t, user);
      const doomed = { one: await bearerSocket(ALERTS_WS, one.token), two: await cookieSocket(AUDIT_WS, two.token) };
      const survivor = await bearerSocket(ALERTS_WS, (await signIn(t, bystander)).token);
      expect((await endAllOf(user.id)).status).toBe(204);
      await expectClosedWith4401(doomed);
      await expectAlertSocketsAlive({ survivor });
    });

    it("a password change closes the other sessions' sockets, not the current session's", async () => {
      const user = await freshUser('viewer');
      const current = await signIn(t, user);
      const other = await signIn(t, user);
      const doomed = await bearerSocket(ALERTS_WS, other.token);
      const survivor = await bearerSocket(ALERTS_WS, current.token);
      await changeOwnPassword(current.token, user, `ws-changed-${tag()}-pw`);
      await expectClosedWith4401({ doomed });
      await expectAlertSocketsAlive({ survivor });
    });
  });

  describe('checking a session costs no database query', () => {
    it('answers warm Bearer and cookie requests to GET /auth/me without a query', async () => {
      const user = await freshUser();
      const session = await signIn(t, user);
      // Warm: the first requests may write the first last-seen or load what they need.
      for (let i = 0; i < 3; i++) {
        expect(await status(session.token)).toBe(200);
        expect(await cookieStatus(session.token)).toBe(200);
      }
      await settleAudit();
      const counter = await countQueries(t.app.get(DataSource));
      try {
        for (let i = 0; i < 10; i++) {
          expect(await status(session.token)).toBe(200);
          expect(await cookieStatus(session.token)).toBe(200);
        }
        // A batched last-seen write may fall into the window once; nothing else may.
        expect(counter.statements.filter((sql) => !/last_seen/i.test(sql))).toEqual([]);
        expect(counter.count(/last_seen/i)).toBeLessThanOrEqual(1);
      } finally {
        counter.stop();
      }
    });
  });

  describe(`a session ends at JWT_EXPIRY_HOURS`, () => {
    let shortDb: Awaited<ReturnType<typeof databaseForFile>>;
    let short: TestApp;
    // 0.002 h = 7.2 s, rounded to whole seconds by the server.
    const SHORT_EXPIRY_HOURS = 0.002;

    beforeAll(async () => {
      shortDb = await databaseForFile();
      short = await startTestApp({ LOGIN_MAX_PER_IP: '100000', JWT_EXPIRY_HOURS: String(SHORT_EXPIRY_HOURS) }, shortDb);
    });
    afterAll(async () => {
      await short?.close();
      await shortDb?.drop();
    });

    it('expires_at is sign-in + JWT_EXPIRY_HOURS; after it the token is refused and the session is no longer listed', async () => {
      const session = await signIn(short, ADMIN);
      const listed = await listOwn(session.token, short);
      expect(listed.status).toBe(200);
      const [view] = listed.body;
      expect(view.id).toBe(session.sid);
      // expires_at is the token's exp (whole seconds from iat), created_at the row's insert time: within 2 s.
      expect(Math.abs(Date.parse(view.expires_at) - Date.parse(view.created_at) - SHORT_EXPIRY_HOURS * 3_600_000)).toBeLessThanOrEqual(2000);
      await sleep(Math.max(0, Date.parse(view.expires_at) - Date.now()) + 1500);
      expect(await status(session.token, short)).toBe(401);
      const later = await signIn(short, ADMIN);
      expect(ids(await listOwn(later.token, short))).toEqual([later.sid]);
    }, 30_000);
  });

  describe(`a session ends after SESSION_IDLE_MINUTES (${IDLE_MINUTES}) without a request`, () => {
    let idleDb: Awaited<ReturnType<typeof databaseForFile>>;
    let idle: TestApp;

    beforeAll(async () => {
      idleDb = await databaseForFile();
      idle = await startTestApp({ LOGIN_MAX_PER_IP: '100000', SESSION_IDLE_MINUTES: String(IDLE_MINUTES) }, idleDb);
    });
    afterAll(async () => {
      await idle?.close();
      await idleDb?.drop();
    });

    it('still answers warm requests without a query', async () => {
      const session = await signIn(idle, ADMIN);
      for (let i = 0; i < 3; i++) expect(await status(session.token, idle)).toBe(200);
      const audit = idle.app.get(AuditRecorder);
      expect(await waitFor(async () => (await audit.flush(), audit.queueDepth === 0))).toBe(true);
      const counter = await countQueries(idle.app.get(DataSource));
      try {
        for (let i = 0; i < 10; i++) expect(await status(session.token, idle)).toBe(200);
        expect(counter.statements.filter((sql) => !/last_seen/i.test(sql))).toEqual([]);
        expect(counter.count(/last_seen/i)).toBeLessThanOrEqual(1);
      } finally {
        counter.stop();
      }
    });

    it(
      'refuses a session left idle (within the bound the README gives), keeps one used every 20 s alive, and audits the end as idle',
      async () => {
        const username = `dormant-${tag()}@sessions.test`;
        const user = await createUser(idle.baseUrl, (await signIn(idle, ADMIN)).token, username, 'viewer', keep(`idle-${tag()}-password`));
        const idleOne = await signIn(idle, user);
        const early = await signIn(idle, user);
        const active = await signIn(idle, user);
        const lastUse = Date.now();
        expect(await status(idleOne.token, idle)).toBe(200);
        expect(await status(early.token, idle)).toBe(200);
        const idleSince = Date.now();

        // The active session: a request every 20 s for the whole wait, each one accepted.
        const activeStatuses: number[] = [];
        let stop = false;
        const keepAlive = (async () => {
          while (!stop) {
            await sleep(20_000);
            if (!stop) activeStatuses.push(await status(active.token, idle));
          }
        })();

        // Not ended before SESSION_IDLE_MINUTES have passed (checked once, on a session of its own).
        await sleep(Math.max(0, idleSince + IDLE_MS - 10_000 - Date.now()));
        expect(await status(early.token, idle)).toBe(200);

        // Ended by SESSION_IDLE_MINUTES + the README's slack. One request only: a request to a live
        // session would count as use.
        await sleep(Math.max(0, idleSince + IDLE_MS + IDLE_SLACK_MS + 3000 - Date.now()));
        const idleStatus = await status(idleOne.token, idle);
        const idleCheckedAfterMs = Date.now() - idleSince;
        stop = true;
        await keepAlive;
        expect({ idleStatus, idleCheckedAfterMs: idleCheckedAfterMs <= IDLE_MS + IDLE_SLACK_MS + 5000 }).toEqual({ idleStatus: 401, idleCheckedAfterMs: true });
        expect(activeStatuses.length).toBeGreaterThanOrEqual(Math.floor((IDLE_MS + IDLE_SLACK_MS) / 20_000));
        expect(activeStatuses.every((s) => s === 200)).toBe(true);
        expect(await status(active.token, idle)).toBe(200);
        expect(ids(await listOwn(active.token, idle))).not.toContain(idleOne.sid);
        expect(ids(await listOwn(active.token, idle))).toContain(active.sid);

        // Audited as idle (a sweep may record it a little after the refusal). The admin's earlier
        // sessions have been idle too: a fresh one reads the trail.
        const auditor = await signIn(idle, ADMIN);
        const idleEvent = async () => {
          const reply = await call<AuditEventView[]>(idle.baseUrl, 'GET', '/api/v1/audit/events?type=session.ended&limit=1000', {
            headers: bearer(auditor.token),
          });
          expect(reply.status).toBe(200);
          return reply.body.filter((event) => /idle/i.test((event.reason ?? '').split(username).join(' ')));
        };
        expect(await waitFor(async () => (await idle.app.get(AuditRecorder).flush(), (await idleEvent()).length > 0), 65_000, 500)).toBe(true);
        const text = JSON.stringify(await idleEvent());
        expect([...secrets].filter((secret) => text.includes(secret))).toEqual([]);
        console.log(`idle test: idle session refused ${idleCheckedAfterMs} ms after its last request; whole test ${Date.now() - lastUse} ms`);
      },
      IDLE_MS + IDLE_SLACK_MS + 120_000,
    );
  });
});
