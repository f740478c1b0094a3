import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { apiKey, bearer, call, cookie, createUser, login, Reply, waitFor } from './support/http';
import { claimsFor, claimsLike, forgeToken, nowSeconds } from './support/jwt';

interface AuditEventView {
  id: string;
  seq: number;
  hash: string;
  type: string;
  outcome: 'success' | 'failure';
  actor: string | null;
  ip: string | null;
  user_agent: string | null;
  reason: string | null;
  created_at: string;
}

const EVENT_KEYS = ['actor', 'created_at', 'hash', 'id', 'ip', 'outcome', 'reason', 'request_id', 'seq', 'type', 'user_agent'];
const OTHER_SECRET = 'attacker-secret-0123456789-abcdefghijkl';
const FORGED_LOG_MESSAGE = 'forged-by-the-username';

/**
 * Every failure leaves an audit event with who, from where, with what and why; and neither the
 * events nor the log ever hold a password, a token or an API key.
 */
describe('audit', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let adminToken: string;
  const logChunks: string[] = [];
  let stdoutSpy: jest.SpyInstance;
  /** Every password, token and key this file sends or receives. */
  const secrets = new Set<string>();
  /** Each scenario's events, found by the unique User-Agent it was sent with. */
  const expectations: Array<{ userAgent: string; type: string; outcome: 'success' | 'failure'; actor: unknown; reason: unknown }> = [];
  const startedAt = new Date();

  const keep = <T extends string>(secret: T): T => {
    secrets.add(secret);
    return secret;
  };
  const ua = (name: string) => ({ 'user-agent': `audit-spec/${name}/${randomUUID().slice(0, 8)}` });
  /** actor and reason: a value, a RegExp for the reason, or an asymmetric matcher. */
  const expectEvent = (headers: Record<string, string>, type: string, outcome: 'success' | 'failure', actor: unknown, reason: unknown) =>
    expectations.push({ userAgent: headers['user-agent'], type, outcome, actor, reason });
  const events = async (query = 'limit=1000', token = adminToken): Promise<Reply<AuditEventView[]>> =>
    call(t.baseUrl, 'GET', `/api/v1/audit/events?${query}`, { headers: bearer(token) });
  const loginAs = async (username: string, password: string, headers: Record<string, string>) => {
    const reply = await call(t.baseUrl, 'POST', '/api/v1/auth/token', { body: { username, password: keep(password) }, headers });
    if (reply.body?.access_token) keep(reply.body.access_token);
    return reply;
  };
  const me = (headers: Record<string, string>) => call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers });
  const tokenFor = async (username: string, password: string) => keep(await login(t.baseUrl, username, keep(password)));

  beforeAll(async () => {
    // Installed before the app exists, so that its logger writes through process.stdout.write.
    stdoutSpy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logChunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
    db = await databaseForFile();
    t = await startTestApp({ LOG_LEVEL: 'info', LOGIN_MAX_PER_IP: '100000', LOGIN_MAX_FAILURES_PER_USER: '3' }, db);
    adminToken = await tokenFor(ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
    stdoutSpy?.mockRestore();
  });

  describe('produces an event for', () => {
    it('logins that succeed and logins that fail, with the reason', async () => {
      const user = await createUser(t.baseUrl, adminToken, 'audited@test.local', 'analyst', keep('audited-password-1'));
      let h: Record<string, string> = ua('login-ok');
      expect((await loginAs(user.username, user.password, h)).status).toBe(200);
      expectEvent(h, 'auth.login', 'success', user.username, null);
      h = ua('wrong-password');
      expect((await loginAs(user.username, 'Wrong-Password-Zebra-991', h)).status).toBe(401);
      expectEvent(h, 'auth.login', 'failure', user.username, 'wrong_password');
      h = ua('unknown-user');
      expect((await loginAs('nobody@test.local', 'Nobody-Password-Okapi-17', h)).status).toBe(401);
      expectEvent(h, 'auth.login', 'failure', 'nobody@test.local', 'unknown_user');
      const disabled = await createUser(t.baseUrl, adminToken, 'audited-disabled@test.local', 'viewer', keep('disabled-password-1'));
      await call(t.baseUrl, 'PATCH', `/api/v1/users/${disabled.id}`, { headers: bearer(adminToken), body: { disabled: true } });
      h = ua('disabled');
      expect((await loginAs(disabled.username, disabled.password, h)).status).toBe(401);
      expectEvent(h, 'auth.login', 'failure', disabled.username, 'user_disabled');
    });

    it('a login refused because the username is locked', async () => {
      for (let i = 0; i < 3; i++) await loginAs('locked@test.local', `Locked-Guess-${i}-Narwhal`, ua('lock-up'));
      const h = ua('locked');
      expect((await loginAs('locked@test.local', 'Locked-Guess-9-Narwhal', h)).status).toBe(429);
      expectEvent(h, 'auth.login', 'failure', 'locked@test.local', 'too_many_failures');
    });

    it('every kind of refused JWT, naming the subject only when the signature held', async () => {
      const viewer = await createUser(t.baseUrl, adminToken, 'audit-viewer@test.local', 'viewer', keep('viewer-password-12'));
      const viewerToken = keep(await tokenFor(viewer.username, viewer.password));
      const cases: Array<[string, string, string | null, string]> = [
        ['alg-none', forgeToken(claimsFor(ADMIN.username, 'admin'), { alg: 'none', signature: '' }), null, 'algorithm_not_allowed'],
        ['hs512', forgeToken(claimsFor(ADMIN.username, 'admin'), { alg: 'HS512' }), null, 'algorithm_not_allowed'],
        ['other-secret', forgeToken(claimsFor(ADMIN.username, 'admin'), { secret: OTHER_SECRET }), null, 'bad_signature'],
        ['expired', forgeToken(claimsFor(viewer.username, 'viewer', { iat: nowSeconds() - 100, exp: nowSeconds() - 1 })), null, 'token_expired'],
        ['future-nbf', forgeToken(claimsFor(viewer.username, 'viewer', { nbf: nowSeconds() + 3600 })), null, 'token_not_yet_valid'],
        ['no-exp', forgeToken({ ...claimsFor(viewer.username, 'viewer'), exp: undefined }), null, 'missing_claims'],
        ['garbage', 'garbage.token.value', null, 'malformed_token'],
        ['unknown-subject', forgeToken(claimsLike(viewerToken, { sub: 'ghost@test.local' })), 'ghost@test.local', 'unknown_subject'],
      ];
      for (const [name, token, actor, reason] of cases) {
        const h = { ...ua(name), ...bearer(keep(token)) };
        expect((await me(h)).status).toBe(401);
        expectEvent(h, 'auth.jwt', 'failure', actor, reason);
      }
      const h = { ...ua('basic-scheme'), authorization: `Basic ${keep(Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64'))}` };
      expect((await me(h)).status).toBe(401);
      expectEvent(h, 'auth.jwt', 'failure', null, 'malformed_authorization_header');

      const cookieToken = keep(forgeToken(claimsFor(viewer.username, 'viewer'), { secret: OTHER_SECRET }));
      const c = { ...ua('bad-cookie'), ...cookie(cookieToken) };
      expect((await me(c)).status).toBe(401);
      expectEvent(c, 'auth.jwt', 'failure', null, 'bad_signature');
    });

    it("a revoked token, a token from before a role change and a disabled user's token; and the logout itself", async () => {
      const user = await createUser(t.baseUrl, adminToken, 'audit-sessions@test.local', 'viewer', keep('sessions-password-1'));
      const loggedOut = await tokenFor(user.username, user.password);
      let h: Record<string, string> = { ...ua('logout'), ...bearer(loggedOut) };
      expect((await call(t.baseUrl, 'POST', '/api/v1/auth/logout', { headers: h })).status).toBe(204);
      expectEvent(h, 'auth.logout', 'success', user.username, null);
      h = { ...ua('revoked'), ...bearer(loggedOut) };
      expect((await me(h)).status).toBe(401);
      expectEvent(h, 'auth.jwt', 'failure', user.username, 'session_ended');

      const beforeChange = await tokenFor(user.username, user.password);
      h = { ...ua('role-change'), ...bearer(adminToken) };
      expect((await call(t.baseUrl, 'PATCH', `/api/v1/users/${user.id}`, { headers: h, body: { role: 'operator' } })).status).toBe(200);
      expectEvent(h, 'user.updated', 'success', ADMIN.username, /audit-sessions@test\.local.*role/);
      h = { ...ua('stale-role'), ...bearer(beforeChange) };
      expect((await me(h)).status).toBe(401);
      expectEvent(h, 'auth.jwt', 'failure', user.username, 'session_ended');

      const beforeDisable = await tokenFor(user.username, user.password);
      await call(t.baseUrl, 'PATCH', `/api/v1/users/${user.id}`, { headers: bearer(adminToken), body: { disabled: true } });
      h = { ...ua('disabled-token'), ...bearer(beforeDisable) };
      expect((await me(h)).status).toBe(401);
      expectEvent(h, 'auth.jwt', 'failure', user.username, expect.stringMatching(/session_ended|user_disabled|token_issued_before_credential_change/));
    });

    it('refused API keys, and key creation and revocation', async () => {
      let h: Record<string, string> = { ...ua('key-create'), ...bearer(adminToken) };
      const created = await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: h, body: { service_name: 'audit-siem' } });
      expect(created.status).toBe(201);
      const key = keep(created.body.api_key as string);
      expectEvent(h, 'api_key.created', 'success', ADMIN.username, expect.stringContaining(created.body.key_prefix));
      expect((await me(apiKey(key))).status).toBe(200);

      h = { ...ua('key-malformed'), ...apiKey(keep('aurora_not-a-real-key')) };
      expect((await me(h)).status).toBe(401);
      expectEvent(h, 'auth.api_key', 'failure', null, 'malformed_api_key');
      const mistyped = keep(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`);
      h = { ...ua('key-mistyped'), ...apiKey(mistyped) };
      expect((await me(h)).status).toBe(401);
      expectEvent(h, 'auth.api_key', 'failure', null, expect.stringMatching(/malformed_api_key|unknown_api_key/));

      h = { ...ua('key-revoke'), ...bearer(adminToken) };
      expect((await call(t.baseUrl, 'DELETE', `/api/v1/auth/api-keys/${created.body.id}`, { headers: h })).status).toBe(204);
      expectEvent(h, 'api_key.revoked', 'success', ADMIN.username, expect.stringContaining(created.body.key_prefix));
      h = { ...ua('key-revoked'), ...apiKey(key) };
      expect((await me(h)).status).toBe(401);
      expectEvent(h, 'auth.api_key', 'failure', expect.anything(), 'api_key_revoked');
    });

    it('a cross-site cookie request and a missing permission', async () => {
      let h: Record<string, string> = { ...ua('cross-site'), ...cookie(adminToken), origin: 'http://evil.test' };
      expect(
        (
          await call(t.baseUrl, 'POST', '/api/v1/users', {
            headers: h,
            body: { username: 'csrf@test.local', password: keep('csrf-password-123'), role: 'admin' },
          })
        ).status,
      ).toBe(403);
      expectEvent(h, 'auth.cross_site', 'failure', ADMIN.username, 'foreign_origin');
      const viewer = await createUser(t.baseUrl, adminToken, 'audit-forbidden@test.local', 'viewer', keep('forbidden-password-1'));
      h = { ...ua('forbidden'), ...bearer(await tokenFor(viewer.username, viewer.password)) };
      expect(
        (await call(t.baseUrl, 'POST', '/api/v1/users', { headers: h, body: { username: 'x@test.local', password: keep('viewer-made-123'), role: 'admin' } }))
          .status,
      ).toBe(403);
      expectEvent(h, 'auth.forbidden', 'failure', viewer.username, /users:manage/);
    });

    it('a refused WebSocket handshake', async () => {
      const h = { ...ua('ws'), ...bearer(keep(forgeToken(claimsFor(ADMIN.username, 'admin'), { secret: OTHER_SECRET }))) };
      const status = await new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(`${t.wsUrl}/api/v1/ws/alerts`, { headers: h });
        socket.on('unexpected-response', (_request, response) => {
          resolve(response.statusCode ?? 0);
          socket.terminate();
        });
        socket.on('open', () => reject(new Error('the handshake was accepted')));
        socket.on('error', () => undefined);
      });
      expect(status).toBe(401);
      expectEvent(h, 'auth.ws_handshake', 'failure', null, 'bad_signature');
    });

    it("user creation, change of one's own password (failed and successful) and deletion", async () => {
      let h: Record<string, string> = { ...ua('user-create'), ...bearer(adminToken) };
      const created = await call(t.baseUrl, 'POST', '/api/v1/users', {
        headers: h,
        body: { username: 'audit-lifecycle@test.local', password: keep('lifecycle-password-1'), role: 'analyst' },
      });
      expect(created.status).toBe(201);
      expectEvent(h, 'user.created', 'success', ADMIN.username, /audit-lifecycle@test\.local/);
      const token = await tokenFor('audit-lifecycle@test.local', 'lifecycle-password-1');
      h = { ...ua('own-password-wrong'), ...bearer(token) };
      const wrong = await call(t.baseUrl, 'POST', '/api/v1/users/me/password', {
        headers: h,
        body: { current_password: keep('Not-My-Password-Quokka'), new_password: keep('never-set-password-1') },
      });
      expect(wrong.status).toBe(403);
      expectEvent(h, 'user.password_changed', 'failure', 'audit-lifecycle@test.local', expect.anything());
      h = { ...ua('own-password-ok'), ...bearer(token) };
      const ok = await call(t.baseUrl, 'POST', '/api/v1/users/me/password', {
        headers: h,
        body: { current_password: 'lifecycle-password-1', new_password: keep('lifecycle-password-2') },
      });
      expect(ok.status).toBe(204);
      expectEvent(h, 'user.password_changed', 'success', 'audit-lifecycle@test.local', null);
      h = { ...ua('user-delete'), ...bearer(adminToken) };
      expect((await call(t.baseUrl, 'DELETE', `/api/v1/users/${created.body.id}`, { headers: h })).status).toBe(204);
      expectEvent(h, 'user.deleted', 'success', ADMIN.username, /audit-lifecycle@test\.local/);
    });
  });

  it('records each of those events with type, outcome, actor, ip, user_agent, reason and created_at', async () => {
    expect(expectations.length).toBeGreaterThan(30);
    let all: AuditEventView[] = [];
    const everyEventArrived = async () => {
      all = (await events()).body;
      return expectations.every((expected) => all.some((event) => event.user_agent === expected.userAgent && event.type === expected.type));
    };
    expect(await waitFor(everyEventArrived, 10_000, 100)).toBe(true);
    for (const expected of expectations) {
      const event = all.find((candidate) => candidate.user_agent === expected.userAgent && candidate.type === expected.type)!;
      expect(Object.keys(event).sort()).toEqual(EVENT_KEYS);
      expect(event).toEqual({
        id: expect.any(String),
        seq: expect.any(Number),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        type: expected.type,
        outcome: expected.outcome,
        actor: expected.actor,
        ip: '127.0.0.1',
        user_agent: expected.userAgent,
        reason: expected.reason instanceof RegExp ? expect.stringMatching(expected.reason) : expected.reason,
        request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        created_at: expect.any(String),
      });
      expect(new Date(event.created_at).toISOString()).toBe(event.created_at);
      expect(Date.parse(event.created_at)).toBeGreaterThanOrEqual(startedAt.getTime() - 1000);
    }
  });

  describe('GET /api/v1/audit/events', () => {
    it('lists newest first', async () => {
      const list = (await events()).body;
      expect(list.length).toBeGreaterThan(30);
      for (let i = 1; i < list.length; i++) {
        expect(BigInt(list[i - 1].id) > BigInt(list[i].id)).toBe(true);
        expect(Date.parse(list[i - 1].created_at)).toBeGreaterThanOrEqual(Date.parse(list[i].created_at));
      }
    });

    it('filters by type, outcome, since and limit', async () => {
      const jwtFailures = (await events('type=auth.jwt&outcome=failure&limit=1000')).body;
      expect(jwtFailures.length).toBeGreaterThanOrEqual(10);
      expect(jwtFailures.every((event) => event.type === 'auth.jwt' && event.outcome === 'failure')).toBe(true);
      const successes = (await events('outcome=success&limit=1000')).body;
      expect(successes.length).toBeGreaterThan(0);
      expect(successes.every((event) => event.outcome === 'success')).toBe(true);
      expect((await events('limit=3')).body).toHaveLength(3);
      expect((await events('limit=3')).body).toEqual((await events('limit=1000')).body.slice(0, 3));

      const all = (await events()).body;
      const middle = all[Math.floor(all.length / 2)].created_at;
      const since = (await events(`since=${encodeURIComponent(middle)}&limit=1000`)).body;
      expect(since.length).toBeGreaterThan(0);
      expect(since.length).toBeLessThan(all.length);
      expect(since.every((event) => Date.parse(event.created_at) >= Date.parse(middle))).toBe(true);
      expect(since).toEqual(all.filter((event) => Date.parse(event.created_at) >= Date.parse(middle)));
      expect((await events(`since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`)).body).toEqual([]);
      expect((await events('type=no.such.type')).body).toEqual([]);
    });

    it.each(['limit=0', 'limit=1001', 'limit=ten', 'outcome=maybe', 'since=yesterday', 'colour=red', `type=${'t'.repeat(65)}`, 'type=%00', 'type=a%0Ab'])(
      'answers 400 to ?%s',
      async (query) => {
        const reply = await events(query);
        expect(reply.status).toBe(400);
        expect(reply.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      },
    );

    it('needs audit:read: operator 200, viewer and API key 403, nobody 401', async () => {
      const operator = await createUser(t.baseUrl, adminToken, 'audit-operator@test.local', 'operator', keep('operator-password-1'));
      expect((await events('limit=1', await tokenFor(operator.username, operator.password))).status).toBe(200);
      const viewer = await createUser(t.baseUrl, adminToken, 'audit-reader-viewer@test.local', 'viewer', keep('viewer-password-99'));
      const viewerToken = await tokenFor(viewer.username, viewer.password);
      expect((await events('limit=1', viewerToken)).status).toBe(403);
      expect((await call(t.baseUrl, 'GET', '/api/v1/audit/events/export', { headers: bearer(viewerToken) })).status).toBe(403);
      const key = keep(
        (await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(adminToken), body: { service_name: 'no-audit' } })).body.api_key as string,
      );
      expect((await call(t.baseUrl, 'GET', '/api/v1/audit/events', { headers: apiKey(key) })).status).toBe(403);
      expect((await call(t.baseUrl, 'GET', '/api/v1/audit/events')).status).toBe(401);
      expect((await call(t.baseUrl, 'GET', '/api/v1/audit/events/export')).status).toBe(401);
    });
  });

  describe('GET /api/v1/audit/events/export', () => {
    const exportText = async (query = '') => {
      const response = await fetch(`${t.baseUrl}/api/v1/audit/events/export${query}`, { headers: bearer(adminToken) });
      return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
    };

    it('streams application/x-ndjson, one JSON event per line, oldest first', async () => {
      const reply = await exportText();
      expect(reply.status).toBe(200);
      expect(reply.type).toMatch(/^application\/x-ndjson\b/);
      expect(reply.text.endsWith('\n')).toBe(true);
      const lines = reply.text.slice(0, -1).split('\n');
      const exported = lines.map((line) => JSON.parse(line) as AuditEventView);
      for (const event of exported) expect(Object.keys(event).sort()).toEqual(EVENT_KEYS);
      // Oldest first: in chain order, each seq the one after the last.
      for (let i = 1; i < exported.length; i++) expect(exported[i].seq).toBe(exported[i - 1].seq + 1);
      const listed = (await events()).body;
      expect(listed.length).toBeLessThan(1000);
      // Everything listed (newest first) up to the last exported event is exported (oldest first);
      // events of earlier tests may still have been written between the export and the list.
      const lastExported = BigInt(exported[exported.length - 1].id);
      expect(exported).toEqual(listed.filter((event: AuditEventView) => BigInt(event.id) <= lastExported).reverse());
    });

    it('honours since and until', async () => {
      const all = (await exportText()).text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as AuditEventView);
      const since = all[Math.floor(all.length / 3)].created_at;
      const until = all[Math.floor((2 * all.length) / 3)].created_at;
      const window = (await exportText(`?since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`)).text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as AuditEventView);
      expect(window).toEqual(all.filter((event) => Date.parse(event.created_at) >= Date.parse(since) && Date.parse(event.created_at) < Date.parse(until)));
      expect(window.length).toBeGreaterThan(0);
      const empty = await exportText(`?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
      expect(empty.status).toBe(200);
      expect(empty.text).toBe('');
      expect((await exportText('?until=tomorrow')).status).toBe(400);
    });
  });

  describe('log lines', () => {
    it('cannot be forged by a username holding CR/LF or Unicode line separators', async () => {
      const forged = `evil\r\n{"level":30,"time":1,"msg":"${FORGED_LOG_MESSAGE}"}\n\u2028{"msg":"${FORGED_LOG_MESSAGE}"}`;
      const h = ua('crlf');
      expect((await loginAs(forged, 'Crlf-Password-Axolotl-5', h)).status).toBe(401);
      let event: AuditEventView | undefined;
      expect(
        await waitFor(async () => {
          event = (await events('type=auth.login&limit=1000')).body.find((candidate) => candidate.user_agent === h['user-agent']);
          return event !== undefined;
        }),
      ).toBe(true);
      expect(event!.actor).toMatch(/^evil/);
      expect(event!.actor).not.toMatch(/[\r\n\u2028\u2029]/);
      expect(await waitFor(() => logChunks.join('').includes('evil'))).toBe(true);
      const lines = logChunks
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== '');
      for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
      expect(lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === FORGED_LOG_MESSAGE)).toEqual([]);
    });

    it('are JSON and include the audit events and the requests', () => {
      const lines = logChunks
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line));
      expect(lines.some((entry) => entry.audit?.type === 'auth.jwt')).toBe(true);
      expect(lines.some((entry) => entry.req?.url?.startsWith('/api/v1/auth/me'))).toBe(true);
    });
  });

  describe('secrets', () => {
    it('refuses a token in the URL and keeps it out of the log', async () => {
      const token = await tokenFor(ADMIN.username, ADMIN.password);
      expect((await call(t.baseUrl, 'GET', `/api/v1/auth/me?token=${token}`)).status).toBe(401);
      expect((await call(t.baseUrl, 'GET', `/api/v1/auth/me?x=1&access_token=${token}`)).status).toBe(401);
      expect(await waitFor(() => logChunks.join('').includes('[REDACTED]'))).toBe(true);
    });

    it('appear in no audit event and in no log line: passwords, tokens, API keys', async () => {
      expect(secrets.size).toBeGreaterThan(40);
      const exported = await fetch(`${t.baseUrl}/api/v1/audit/events/export`, { headers: bearer(adminToken) }).then((response) => response.text());
      const listed = JSON.stringify((await events()).body);
      const log = logChunks.join('');
      expect(exported.length).toBeGreaterThan(1000);
      expect(log.length).toBeGreaterThan(1000);
      for (const secret of secrets) {
        // A token's signature alone would be as bad as the whole token.
        const needles = secret.split('.').length === 3 && secret.split('.')[2].length > 20 ? [secret, secret.split('.')[2]] : [secret];
        for (const needle of needles) {
          expect({ where: 'audit export', found: exported.includes(needle) ? needle : null }).toEqual({ where: 'audit export', found: null });
          expect({ where: 'audit list', found: listed.includes(needle) ? needle : null }).toEqual({ where: 'audit list', found: null });
          expect({ where: 'log', found: log.includes(needle) ? needle : null }).toEqual({ where: 'log', found: null });
        }
      }
    });
  });
});
