import { randomUUID } from 'node:crypto';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { bearer, call, createUser, login } from './support/http';

const MAX_FAILURES = 3;
const MAX_PER_IP = 12;

/**
 * The current password of a password change is guessed like a login: it shares the per-username
 * failure count and the per-IP limit with logins, and one account's checks cannot hold every
 * hashing slot. Each test comes from its own address (TRUST_PROXY=loopback, X-Forwarded-For).
 */
describe('limits shared by every password check', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let adminToken: string;
  let addressCounter = 0;

  const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}@test.local`;
  const newAddress = () => `198.51.100.${++addressCounter}`;
  const from = (ip: string, headers: Record<string, string> = {}) => ({ ...headers, 'x-forwarded-for': ip });
  const loginFrom = (ip: string, username: string, password: string) =>
    call(t.baseUrl, 'POST', '/api/v1/auth/token', { headers: from(ip), body: { username, password } });
  const changeFrom = (ip: string, token: string, current: string, next = 'a-brand-new-password-1') =>
    call(t.baseUrl, 'POST', '/api/v1/users/me/password', { headers: from(ip, bearer(token)), body: { current_password: current, new_password: next } });

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({ TRUST_PROXY: 'loopback', LOGIN_MAX_PER_IP: String(MAX_PER_IP), LOGIN_MAX_FAILURES_PER_USER: String(MAX_FAILURES) }, db);
    adminToken = (await loginFrom(newAddress(), ADMIN.username, ADMIN.password)).body.access_token;
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it(`locks the password change after ${MAX_FAILURES} wrong current passwords: 429 with Retry-After, even for the right one`, async () => {
    const user = await createUser(t.baseUrl, adminToken, unique('guesser'), 'viewer');
    const ip = newAddress();
    const token = (await loginFrom(ip, user.username, user.password)).body.access_token;
    for (let i = 0; i < MAX_FAILURES; i++) expect((await changeFrom(ip, token, `wrong-guess-${i}-xyz`)).status).toBe(403);
    const locked = await changeFrom(ip, token, user.password);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    // The same count as logins: signing in is locked too, and the password did not change.
    expect((await loginFrom(newAddress(), user.username, user.password)).status).toBe(429);
  });

  it('counts failed logins against the password change of the same username', async () => {
    const user = await createUser(t.baseUrl, adminToken, unique('shared-count'), 'viewer');
    const ip = newAddress();
    const token = (await loginFrom(ip, user.username, user.password)).body.access_token;
    for (let i = 0; i < MAX_FAILURES; i++) expect((await loginFrom(newAddress(), user.username, `wrong-login-${i}-xyz`)).status).toBe(401);
    expect((await changeFrom(ip, token, user.password)).status).toBe(429);
  });

  it('forgives earlier failures after a right current password', async () => {
    const user = await createUser(t.baseUrl, adminToken, unique('forgiven'), 'viewer');
    const ip = newAddress();
    let token = (await loginFrom(ip, user.username, user.password)).body.access_token;
    for (let i = 0; i < MAX_FAILURES - 1; i++) expect((await changeFrom(ip, token, `wrong-guess-${i}-xyz`)).status).toBe(403);
    expect((await changeFrom(ip, token, user.password, 'second-password-456')).status).toBe(204);
    token = (await loginFrom(ip, user.username, 'second-password-456')).body.access_token;
    for (let i = 0; i < MAX_FAILURES - 1; i++) expect((await changeFrom(ip, token, `wrong-again-${i}-xyz`)).status).toBe(403);
    expect((await changeFrom(ip, token, 'second-password-456', 'third-password-789')).status).toBe(204);
  });

  it('shares one per-address count between logins and password changes', async () => {
    const ip = newAddress();
    const user = await createUser(t.baseUrl, adminToken, unique('per-ip'), 'viewer');
    const token = await login(t.baseUrl, user.username, user.password);
    // Logins from this address use up the limit (their own username limit stays far away: they succeed).
    for (let i = 0; i < MAX_PER_IP; i++) expect((await loginFrom(ip, ADMIN.username, ADMIN.password)).status).toBe(200);
    const refused = await changeFrom(ip, token, user.password);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another address is not affected.
    expect((await changeFrom(newAddress(), token, user.password)).status).toBe(204);
  });

  it('audits a wrong current password and the refusals, never the passwords', async () => {
    const user = await createUser(t.baseUrl, adminToken, unique('audited'), 'viewer');
    const ip = newAddress();
    const token = (await loginFrom(ip, user.username, user.password)).body.access_token;
    for (let i = 0; i <= MAX_FAILURES; i++) await changeFrom(ip, token, `secret-guess-${i}-xyz`);
    let reasons: string[] = [];
    for (let tries = 0; tries < 40 && !reasons.includes('too_many_failures'); tries++) {
      const events = await call(t.baseUrl, 'GET', '/api/v1/audit/events?type=user.password_changed&limit=100', {
        headers: from(newAddress(), bearer(adminToken)),
      });
      const mine = (events.body as Array<{ actor: string; reason: string }>).filter((event) => event.actor === user.username);
      reasons = mine.map((event) => event.reason);
      expect(JSON.stringify(mine)).not.toContain('secret-guess');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(reasons.filter((reason) => reason === 'wrong_current_password')).toHaveLength(MAX_FAILURES);
    expect(reasons).toContain('too_many_failures');
  });

  it("keeps other users' logins working while one account floods password checks", async () => {
    const flooder = await createUser(t.baseUrl, adminToken, unique('flooder'), 'viewer');
    const token = await login(t.baseUrl, flooder.username, flooder.password);
    const others = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => createUser(t.baseUrl, adminToken, unique(`bystander-${n}`), 'analyst')));
    const flood = Array.from({ length: 48 }, (_, i) => changeFrom(newAddress(), token, `flood-guess-${i}-xyz`));
    // Two at once per account: what the per-account bound allows (a double click).
    const logins = others.flatMap((other) => [0, 1].map(() => loginFrom(newAddress(), other.username, other.password)));
    const [floodReplies, loginReplies] = await Promise.all([Promise.all(flood), Promise.all(logins)]);
    expect(loginReplies.map((reply) => reply.status)).toEqual(loginReplies.map(() => 200));
    // Most of the flood was refused before any hashing: at most two checks of one account run at once.
    expect(floodReplies.filter((reply) => reply.status === 429).length).toBeGreaterThan(24);
    expect(floodReplies.filter((reply) => reply.status >= 500)).toEqual([]);
  });
});
