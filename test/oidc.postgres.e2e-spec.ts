import { DataSource } from 'typeorm';
import { bearer, call, cookie, createUser, login, waitFor } from './support/http';
import { decodePart } from './support/jwt';
import { freePort } from './support/server-process';
import { ADMIN, startTestApp, TEST_SECRET, type TestApp } from './support/test-app';
import { OidcFlowCookie, type OidcFlow } from '../src/oidc/oidc-flow-cookie';
import { MetricsService } from '../src/metrics/metrics.service';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { startTestProvider, type TestProvider } from './oidc-test-provider';

/**
 * The contract's "Single sign-on (OpenID Connect)" against a real OpenID Provider (oidc-provider 9)
 * started in this process, over real HTTP: every redirect followed by hand with fetch (redirect:
 * 'manual'), cookies carried by hand. Two app instances share one PostgreSQL database.
 */

const CALLBACK = '/api/v1/auth/oidc/callback';
const LOGIN = '/api/v1/auth/oidc/login';
const BACKCHANNEL = '/api/v1/auth/oidc/backchannel-logout';
const CROSS_INSTANCE_MS = 1000;
const ROLE_MAP = 'soc-viewers:viewer,soc-analysts:analyst,soc-operators:operator,soc-admins:admin';

type Jar = Map<string, string>;

/** GET with the jar's cookies; the answer's Set-Cookie headers go into the jar (a cleared cookie leaves it). */
async function get(url: string, jar: Jar): Promise<Response> {
  const header = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  const response = await fetch(url, { redirect: 'manual', headers: header ? { cookie: header } : {} });
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0\b/i.test(line)) jar.delete(name);
    else jar.set(name, value);
  }
  await response.arrayBuffer();
  return response;
}

interface SsoResult {
  /** The callback's answer. */
  status: number;
  location: string;
  token: string | undefined;
  callbackUrl: string;
  /** The app's cookies as they were when the provider sent the browser back (the flow cookie). */
  flowJar: Jar;
  /** The browser's cookies at the provider (its session). */
  idpJar: Jar;
}

const tag = () => Math.random().toString(36).slice(2, 10);

describe('single sign-on with OpenID Connect (real provider, two instances)', () => {
  let db: TestDatabase;
  let provider: TestProvider;
  let a: TestApp;
  let b: TestApp;
  let withDefault: TestApp;
  let adminToken: string;

  const ssoEnv = (port: number, extra: Record<string, string> = {}) => ({
    PORT: String(port),
    OIDC_ISSUER: provider.issuer,
    OIDC_CLIENT_ID: provider.clientId,
    OIDC_CLIENT_SECRET: provider.clientSecret,
    OIDC_REDIRECT_URI: `http://127.0.0.1:${port}${CALLBACK}`,
    OIDC_ROLE_MAP: ROLE_MAP,
    ...extra,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    const ports = [await freePort(), await freePort(), await freePort()];
    provider = await startTestProvider(ports.map((port) => `http://127.0.0.1:${port}${CALLBACK}`));
    a = await startTestApp(ssoEnv(ports[0]), { url: db.url });
    b = await startTestApp(ssoEnv(ports[1]), { url: db.url });
    withDefault = await startTestApp(ssoEnv(ports[2], { OIDC_DEFAULT_ROLE: 'viewer' }), { url: db.url });
    adminToken = await login(a.baseUrl, ADMIN.username, ADMIN.password);
  });

  afterAll(async () => {
    await Promise.all([a, b, withDefault].filter(Boolean).map((app) => app.close()));
    await provider?.close();
    await db?.drop();
  });

  function account(groups: string[], amr?: string[]): { id: string; email: string } {
    const id = `sub-${tag()}`;
    const email = `${id}@corp.example`;
    provider.accounts.set(id, { email, groups, amr });
    return { id, email };
  }

  /** The whole browser round trip: app login → provider (authorize, interaction, resume) → app callback. */
  async function ssoSignIn(
    app: TestApp,
    accountId: string,
    returnTo?: string,
    rewriteCallback?: (url: URL) => void,
    stepUpWith?: string,
  ): Promise<SsoResult & { authorizeUrl: URL }> {
    provider.signInAs(accountId);
    const appJar: Jar = new Map(stepUpWith ? [['access_token', stepUpWith]] : []);
    const idpJar: Jar = new Map();
    const query = new URLSearchParams({ ...(returnTo === undefined ? {} : { return_to: returnTo }), ...(stepUpWith ? { step_up: '1' } : {}) });
    const start = await get(`${app.baseUrl}${LOGIN}?${query}`, appJar);
    expect(start.status).toBe(302);
    let location = start.headers.get('location')!;
    const authorizeUrl = new URL(location);
    expect(location.startsWith(`${provider.issuer}/`)).toBe(true);
    for (let hop = 0; location.startsWith(provider.issuer); hop++) {
      if (hop > 10) throw new Error('the provider redirected too often');
      const reply = await get(location, idpJar);
      if (reply.status < 300 || reply.status >= 400) throw new Error(`the provider answered ${reply.status} at ${location}`);
      location = new URL(reply.headers.get('location')!, location).href;
    }
    expect(location.startsWith(`${app.baseUrl}${CALLBACK}?`)).toBe(true);
    const callbackUrl = new URL(location);
    rewriteCallback?.(callbackUrl);
    const flowJar = new Map(appJar);
    const done = await get(callbackUrl.href, appJar);
    return {
      status: done.status,
      location: done.headers.get('location')!,
      token: appJar.get('access_token'),
      callbackUrl: callbackUrl.href,
      flowJar,
      idpJar,
      authorizeUrl,
    };
  }

  const me = (app: TestApp, token: string) => call(app.baseUrl, 'GET', '/api/v1/auth/me', { headers: cookie(token) });
  const userNamed = async (username: string) =>
    ((await call(a.baseUrl, 'GET', '/api/v1/users', { headers: bearer(adminToken) })).body as Array<{ id: string; username: string; role: string }>).find(
      (user) => user.username === username,
    );
  const auditFailures = async (reason: string) =>
    (
      (await call(a.baseUrl, 'GET', '/api/v1/audit/events?type=auth.login&outcome=failure&limit=200', { headers: bearer(adminToken) })).body as Array<{
        reason: string;
      }>
    ).filter((event) => event.reason === `single sign-on: ${reason}`).length;

  it('GET /auth/providers says single sign-on is on, and where it starts', async () => {
    const reply = await call(a.baseUrl, 'GET', '/api/v1/auth/providers');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ password: true, passkey: true, oidc: { login_url: LOGIN } });
  });

  it('login redirects to the provider with PKCE S256, state and nonce, and keeps them in a short-lived signed httpOnly cookie', async () => {
    const jar: Jar = new Map();
    const reply = await get(`${a.baseUrl}${LOGIN}`, jar);
    const url = new URL(reply.headers.get('location')!);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toBeTruthy();
    expect(url.searchParams.get('nonce')).toBeTruthy();
    expect(url.searchParams.get('redirect_uri')).toBe(`${a.baseUrl}${CALLBACK}`);
    const setCookie = reply.headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(/aurora_oidc_flow=[^;]+; Max-Age=600; Path=\/api\/v1\/auth\/oidc; Expires=[^;]+; HttpOnly; SameSite=Lax/);
    // The verifier and nonce never travel in the clear to the provider.
    expect(reply.headers.get('location')).not.toContain(jar.get('aurora_oidc_flow')!.split('.')[0].slice(0, 20));
  });

  it('the first sign-in creates the user with the mapped role, a session ["sso"] with the cookie, and goes back to return_to', async () => {
    const user = account(['soc-analysts', 'marketing']);
    const result = await ssoSignIn(a, user.id, '/alerts?status=open');
    expect(result.status).toBe(302);
    expect(result.location).toBe('/alerts?status=open');
    expect(result.token).toBeDefined();
    const whoami = await me(b, result.token!);
    expect(whoami.status).toBe(200);
    expect(whoami.body).toMatchObject({ sub: user.email, role: 'analyst', auth_method: 'jwt' });
    expect(await userNamed(user.email)).toMatchObject({ role: 'analyst' });
    const sessions = await call(a.baseUrl, 'GET', '/api/v1/auth/sessions', { headers: bearer(result.token!) });
    expect(sessions.body).toEqual([expect.objectContaining({ auth_methods: ['sso'], current: true })]);
  });

  it('the highest mapped group wins, and a later sign-in with other groups changes the role (ending the older sessions)', async () => {
    const user = account(['soc-viewers', 'soc-operators']);
    const first = await ssoSignIn(a, user.id);
    expect((await me(a, first.token!)).body.role).toBe('operator');
    provider.accounts.set(user.id, { email: user.email, groups: ['soc-viewers'] });
    const second = await ssoSignIn(b, user.id);
    expect((await me(b, second.token!)).body.role).toBe('viewer');
    expect(await userNamed(user.email)).toMatchObject({ role: 'viewer' });
    // A role change ends every earlier session, on every instance.
    expect(await waitFor(async () => (await me(a, first.token!)).status === 401, CROSS_INSTANCE_MS)).toBe(true);
    expect((await me(a, second.token!)).status).toBe(200);
  });

  it('a user with no mapped group is refused (sso_error, audited, no user, no cookie); with OIDC_DEFAULT_ROLE they get that role', async () => {
    const user = account(['marketing']);
    const refused = await ssoSignIn(a, user.id, '/alerts');
    expect(refused).toMatchObject({ status: 302, location: '/?sso_error=no_role', token: undefined });
    expect(await userNamed(user.email)).toBeUndefined();
    expect(await waitFor(async () => (await auditFailures('no_role')) >= 1)).toBe(true);
    const counted = await a.app.get(MetricsService).registry.getSingleMetricAsString('aurora_auth_attempts_total');
    expect(counted).toMatch(/aurora_auth_attempts_total\{method="sso",outcome="failure",reason="no_role"\} [1-9]/);
    expect(counted).toMatch(/aurora_auth_attempts_total\{method="sso",outcome="success",reason="ok"\} [1-9]/);

    const accepted = await ssoSignIn(withDefault, user.id, '/alerts');
    expect(accepted).toMatchObject({ status: 302, location: '/alerts' });
    expect((await me(withDefault, accepted.token!)).body.role).toBe('viewer');
  });

  it('a tampered state, a missing flow cookie and a replayed callback are refused', async () => {
    const user = account(['soc-analysts']);
    const tampered = await ssoSignIn(a, user.id, '/', (url) => url.searchParams.set('state', 'forged-state'));
    expect(tampered).toMatchObject({ status: 302, location: '/?sso_error=invalid_state', token: undefined });

    const good = await ssoSignIn(a, user.id);
    expect(good.location).toBe('/');
    // Without the flow cookie (another browser, or the cookie expired): refused.
    const noCookie = await get(good.callbackUrl, new Map());
    expect(noCookie.headers.get('location')).toBe('/?sso_error=invalid_state');
    // The same callback with the same flow cookie again: the code is spent.
    const replayJar = new Map(good.flowJar);
    const replay = await get(good.callbackUrl, replayJar);
    expect(replay.headers.get('location')).toBe('/?sso_error=invalid_response');
    expect(replayJar.has('access_token')).toBe(false);
  });

  it('a flow cookie not sealed by this server is refused; one sealed here with another nonce or PKCE verifier fails the ID-token / code checks', async () => {
    const cases = {
      'forged MAC': (flow: OidcFlow, mac: string) => `${Buffer.from(JSON.stringify({ ...flow, nonce: 'other' })).toString('base64url')}.${mac}`,
      'another nonce': (flow: OidcFlow) => new OidcFlowCookie(TEST_SECRET).seal({ ...flow, nonce: 'another-nonce' }),
      'another PKCE verifier': (flow: OidcFlow) => new OidcFlowCookie(TEST_SECRET).seal({ ...flow, codeVerifier: 'x'.repeat(43) }),
      'the genuine flow': (flow: OidcFlow) => new OidcFlowCookie(TEST_SECRET).seal(flow),
    };
    const outcomes: Record<string, string | null> = {};
    for (const [name, forge] of Object.entries(cases)) {
      // The first callback carries a made-up code (refused), so the provider's real code stays unspent.
      let code = '';
      const held = await ssoSignIn(a, account(['soc-analysts']).id, '/alerts', (url) => {
        code = url.searchParams.get('code')!;
        url.searchParams.set('code', 'made-up');
      });
      expect(held.location).toBe('/?sso_error=invalid_response');
      const [body, mac] = held.flowJar.get('aurora_oidc_flow')!.split('.');
      const flow = JSON.parse(Buffer.from(body, 'base64url').toString()) as OidcFlow;
      const callback = new URL(held.callbackUrl);
      callback.searchParams.set('code', code);
      const reply = await get(callback.href, new Map([['aurora_oidc_flow', forge(flow, mac)]]));
      outcomes[name] = reply.headers.get('location');
    }
    expect(outcomes).toEqual({
      'forged MAC': '/?sso_error=invalid_state',
      'another nonce': '/?sso_error=invalid_response',
      'another PKCE verifier': '/?sso_error=invalid_response',
      'the genuine flow': '/alerts',
    });
  });

  it.each(['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)', '/%0a/evil'])(
    'return_to %s is ignored: the sign-in lands on a path of this site',
    async (returnTo) => {
      const user = account(['soc-viewers']);
      const result = await ssoSignIn(a, user.id, returnTo);
      expect(result.status).toBe(302);
      expect(result.location.startsWith('/')).toBe(true);
      expect(result.location.startsWith('//')).toBe(false);
      expect(result.location).not.toContain('\\');
      expect(new URL(result.location, 'http://here.invalid').origin).toBe('http://here.invalid');
      if (returnTo !== '/%0a/evil') expect(result.location).toBe('/');
    },
  );

  it('a username claim that is not a usable username (control characters, surrounding spaces) is refused', async () => {
    const id = `sub-${tag()}`;
    provider.accounts.set(id, { email: ' padded@corp.example', groups: ['soc-analysts'] });
    expect((await ssoSignIn(a, id)).location).toBe('/?sso_error=missing_username');
    provider.accounts.set(id, { email: 'bell\u0007@corp.example', groups: ['soc-analysts'] });
    expect((await ssoSignIn(a, id)).location).toBe('/?sso_error=missing_username');
  });

  it('an email the provider says it has not verified is refused as the username (email_verified false); true or absent is accepted', async () => {
    const id = `sub-${tag()}`;
    provider.accounts.set(id, { email: `unverified-${tag()}@corp.example`, emailVerified: false, groups: ['soc-analysts'] });
    expect((await ssoSignIn(a, id)).location).toBe('/?sso_error=unverified_email');
    provider.accounts.set(id, { email: `verified-${tag()}@corp.example`, emailVerified: true, groups: ['soc-analysts'] });
    expect((await ssoSignIn(a, id)).location).toBe('/');
  });

  it("the provider's amr mfa counts as a second factor of the session", async () => {
    const user = account(['soc-analysts'], ['pwd', 'mfa']);
    const result = await ssoSignIn(a, user.id);
    const sessions = await call(a.baseUrl, 'GET', '/api/v1/auth/sessions', { headers: bearer(result.token!) });
    expect(sessions.body[0].auth_methods).toEqual(['sso', 'otp']);
  });

  it('password sign-in for a single-sign-on user is the ordinary 401', async () => {
    const user = account(['soc-analysts']);
    await ssoSignIn(a, user.id);
    const sso = await call(a.baseUrl, 'POST', '/api/v1/auth/token', { body: { username: user.email, password: 'any-password-at-all' } });
    const unknown = await call(a.baseUrl, 'POST', '/api/v1/auth/token', {
      body: { username: `nobody-${tag()}@corp.example`, password: 'any-password-at-all' },
    });
    expect(sso.status).toBe(401);
    expect(sso.body.message).toBe(unknown.body.message);
    expect(sso.body.error).toBe(unknown.body.error);
    // Nor can an admin give one a password: it would be a way in around the provider.
    const listed = await call(a.baseUrl, 'GET', '/api/v1/users', { headers: bearer(adminToken) });
    const id = (listed.body as Array<{ id: string; username: string }>).find((u) => u.username === user.email)!.id;
    const patched = await call(a.baseUrl, 'PATCH', `/api/v1/users/${id}`, { headers: bearer(adminToken), body: { password: 'A-New-Local-Password-1' } });
    expect(patched.status).toBe(409);
    expect((await call(a.baseUrl, 'POST', '/api/v1/auth/token', { body: { username: user.email, password: 'A-New-Local-Password-1' } })).status).toBe(401);
  });

  it('a local account of the same name is not taken over by single sign-on', async () => {
    const user = account(['soc-admins']);
    await createUser(a.baseUrl, adminToken, user.email, 'viewer');
    const result = await ssoSignIn(a, user.id);
    expect(result).toMatchObject({ location: '/?sso_error=account_conflict', token: undefined });
    expect(await userNamed(user.email)).toMatchObject({ role: 'viewer' });
  });

  describe('step-up at the provider', () => {
    const stepUpAtOf = async (token: string) => {
      const rows: Array<{ step_up_at: Date | null }> = await a.app
        .get(DataSource)
        .query(`SELECT "step_up_at" FROM "sessions" WHERE "id" = $1`, [decodePart(token, 1).sid as string]);
      return rows[0]?.step_up_at ?? null;
    };

    it('?step_up=1 re-authenticates at the provider (prompt=login, max_age=0), marks the session and goes back to return_to', async () => {
      const user = account(['soc-analysts']);
      const signedIn = await ssoSignIn(a, user.id);
      expect(await stepUpAtOf(signedIn.token!)).toBeNull();
      const stepped = await ssoSignIn(a, user.id, '/users', undefined, signedIn.token);
      expect(stepped.authorizeUrl.searchParams.get('prompt')).toBe('login');
      expect(stepped.authorizeUrl.searchParams.get('max_age')).toBe('0');
      expect(stepped).toMatchObject({ status: 302, location: '/users' });
      // The same session, marked: no new token.
      expect(stepped.token).toBe(signedIn.token);
      expect(await stepUpAtOf(signedIn.token!)).toBeInstanceOf(Date);
      expect((await me(b, signedIn.token!)).status).toBe(200);
    });

    it('a step-up signed in at the provider as someone else, or without a session here, is refused', async () => {
      const user = account(['soc-analysts']);
      const other = account(['soc-analysts']);
      const signedIn = await ssoSignIn(a, user.id);
      await ssoSignIn(a, other.id);
      const mismatch = await ssoSignIn(a, other.id, '/', undefined, signedIn.token);
      expect(mismatch.location).toBe('/?sso_error=step_up_mismatch');
      expect(await stepUpAtOf(signedIn.token!)).toBeNull();
      const anonymous = await call(a.baseUrl, 'GET', `${LOGIN}?step_up=1`);
      expect(anonymous.headers.get('location')).toBe('/?sso_error=not_signed_in');
    });
  });

  describe('back-channel logout', () => {
    const postLogout = (app: TestApp, body: string, type = 'application/x-www-form-urlencoded') =>
      call(app.baseUrl, 'POST', BACKCHANNEL, { raw: body, headers: { 'content-type': type } });
    const form = (token: string) => new URLSearchParams({ logout_token: token }).toString();
    const ssoSidOf = async (token: string) => {
      const rows: Array<{ sso_sid: string | null }> = await a.app
        .get(DataSource)
        .query(`SELECT "sso_sid" FROM "sessions" WHERE "id" = $1`, [decodePart(token, 1).sid as string]);
      return rows[0]?.sso_sid ?? null;
    };

    it("a logout token naming the provider's sid ends that session on both instances within 1 s, and only it", async () => {
      const user = account(['soc-analysts']);
      const ended = await ssoSignIn(a, user.id);
      const kept = await ssoSignIn(b, user.id);
      const sid = await ssoSidOf(ended.token!);
      expect(sid).toEqual(expect.any(String));
      expect(await ssoSidOf(kept.token!)).not.toBe(sid);
      expect((await me(b, ended.token!)).status).toBe(200);

      const reply = await postLogout(a, form(await provider.logoutToken({ sub: user.id, sid })));
      const started = Date.now();
      expect(reply.status).toBe(200);
      expect((await me(a, ended.token!)).status).toBe(401);
      const refused = await waitFor(async () => (await me(b, ended.token!)).status === 401, CROSS_INSTANCE_MS, 20);
      expect({ refused, withinOneSecond: Date.now() - started <= CROSS_INSTANCE_MS }).toEqual({ refused: true, withinOneSecond: true });
      expect((await me(a, kept.token!)).status).toBe(200);
      expect((await me(b, kept.token!)).status).toBe(200);
    });

    it('signing out at the provider (RP-initiated logout there) makes it send a logout token that ends the session on both instances', async () => {
      const user = account(['soc-analysts']);
      const session = await ssoSignIn(a, user.id);
      expect((await me(b, session.token!)).status).toBe(200);
      const cookieHeader = () => [...session.idpJar].map(([name, value]) => `${name}=${value}`).join('; ');
      const ask = await fetch(`${provider.issuer}/session/end?client_id=${provider.clientId}`, { headers: { cookie: cookieHeader() }, redirect: 'manual' });
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(await ask.text())?.[1];
      expect(xsrf).toBeDefined();
      // The provider posts the logout token to the registered back-channel URL before it answers.
      const confirm = await fetch(`${provider.issuer}/session/end/confirm`, {
        method: 'POST',
        headers: { cookie: cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ xsrf: xsrf!, logout: 'yes' }).toString(),
        redirect: 'manual',
      });
      expect(confirm.status).toBeLessThan(400);
      const started = Date.now();
      const refused = await waitFor(
        async () => (await me(a, session.token!)).status === 401 && (await me(b, session.token!)).status === 401,
        CROSS_INSTANCE_MS,
        20,
      );
      expect({ refused, withinOneSecond: Date.now() - started <= CROSS_INSTANCE_MS }).toEqual({ refused: true, withinOneSecond: true });
    });

    it('a logout token with sub alone ends every session of that user, on both instances', async () => {
      const user = account(['soc-viewers']);
      const one = await ssoSignIn(a, user.id);
      const two = await ssoSignIn(b, user.id);
      const other = await ssoSignIn(a, account(['soc-viewers']).id);
      const reply = await postLogout(b, form(await provider.logoutToken({ sub: user.id })));
      expect(reply.status).toBe(200);
      const started = Date.now();
      const refused = await waitFor(async () => {
        const statuses = await Promise.all([me(a, one.token!), me(b, one.token!), me(a, two.token!), me(b, two.token!)]);
        return statuses.every((s) => s.status === 401);
      }, CROSS_INSTANCE_MS);
      expect({ refused, withinOneSecond: Date.now() - started <= CROSS_INSTANCE_MS }).toEqual({ refused: true, withinOneSecond: true });
      expect((await me(a, other.token!)).status).toBe(200);
    });

    it('an invalid logout token is 400 and ends nothing', async () => {
      const user = account(['soc-analysts']);
      const session = await ssoSignIn(a, user.id);
      const sid = (await ssoSidOf(session.token!))!;
      const invalid = {
        'signed by another key': await provider.logoutToken({ sub: user.id, sid }, { key: await provider.foreignKey() }),
        'another audience': await provider.logoutToken({ sub: user.id, sid, aud: 'someone-else' }),
        'another issuer': await provider.logoutToken({ sub: user.id, sid, iss: 'http://127.0.0.1:1' }),
        'with a nonce': await provider.logoutToken({ sub: user.id, sid, nonce: 'n' }),
        'without the logout event': await provider.logoutToken({ sub: user.id, sid, events: { other: {} } }),
        'without sid or sub': await provider.logoutToken({}),
        'too old': await provider.logoutToken({ sub: user.id, sid, iat: Math.floor(Date.now() / 1000) - 3600 }),
        'without iat': await provider.logoutToken({ sub: user.id, sid, iat: undefined }),
        'not a JWT': 'not-a-jwt',
      };
      const statuses: Record<string, number> = {};
      for (const [name, token] of Object.entries(invalid)) statuses[name] = (await postLogout(a, form(token))).status;
      statuses['no logout_token'] = (await postLogout(a, 'other=1')).status;
      statuses['a JSON body'] = (await call(a.baseUrl, 'POST', BACKCHANNEL, { body: { logout_token: invalid['not a JWT'] } })).status;
      expect(statuses).toEqual(Object.fromEntries(Object.keys(statuses).map((name) => [name, 400])));
      expect((await me(a, session.token!)).status).toBe(200);
    });
  });
});

describe('single sign-on with the provider down', () => {
  it('the server starts, and login answers /?sso_error=provider_unavailable instead of failing', async () => {
    const port = await freePort();
    const app = await startTestApp({
      OIDC_ISSUER: `http://127.0.0.1:${await freePort()}`,
      OIDC_CLIENT_ID: 'aurora',
      OIDC_CLIENT_SECRET: 'secret',
      OIDC_REDIRECT_URI: `http://127.0.0.1:${port}${CALLBACK}`,
      OIDC_ROLE_MAP: 'soc-admins:admin',
    });
    try {
      const reply = await call(app.baseUrl, 'GET', LOGIN);
      expect(reply.status).toBe(302);
      expect(reply.headers.get('location')).toBe('/?sso_error=provider_unavailable');
      // A logout token that cannot be checked against the provider's keys is refused, not a 5xx.
      const logout = await call(app.baseUrl, 'POST', BACKCHANNEL, {
        raw: 'logout_token=a.b.c',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(logout.status).toBe(400);
      expect((await call(app.baseUrl, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('without OIDC_ISSUER, /auth/providers says oidc: null and the routes are 404', async () => {
    const app = await startTestApp();
    try {
      expect((await call(app.baseUrl, 'GET', '/api/v1/auth/providers')).body).toEqual({ password: true, passkey: true, oidc: null });
      expect((await call(app.baseUrl, 'GET', LOGIN)).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
