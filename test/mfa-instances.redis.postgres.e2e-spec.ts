import { bearer, call, createUser, login, waitFor } from './support/http';
import { awayFromStepEdge, codeAt, enrolTotp, passwordStep, secondStep } from './support/mfa';
import { ADMIN, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase, emptyRedis, TestDatabase } from './support/test-database';

/** Redis runs on this machine and in CI; the CI sets TEST_REDIS_URL. */
const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const CROSS_INSTANCE_MS = 1000;
const PARALLEL_GUESSES = 24;
const tag = () => Math.random().toString(36).slice(2, 10);

/**
 * Second factors on two instances sharing one PostgreSQL database: a TOTP code is accepted once
 * across both (the time step is taken by one conditional UPDATE), parallel wrong guesses sent to
 * both cannot get more than 5 verdicts (the per-user count is shared: in the database without
 * Redis, in Redis with REDIS_URL), a step-up made on one instance holds on the other within a
 * second, and an enrolment on one makes the other ask for a step-up.
 * Named *.redis.postgres.e2e-spec.ts: it needs a PostgreSQL server and a Redis.
 */
describe.each([
  ['in the database (no REDIS_URL)', {}],
  ['in Redis (REDIS_URL)', { REDIS_URL }],
])('second factors on two instances, failures counted %s', (_where, extra: Record<string, string>) => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let adminToken: string;

  beforeAll(async () => {
    if (extra.REDIS_URL) await emptyRedis(extra.REDIS_URL);
    db = await createTestDatabase();
    const env = { LOGIN_MAX_PER_IP: '100000', LOGIN_MAX_FAILURES_PER_USER: '100000', ...extra };
    // One after the other: the first runs the migrations and creates the admin.
    a = await startTestApp(env, { url: db.url });
    b = await startTestApp(env, { url: db.url });
    adminToken = await login(a.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  async function enrolled(role = 'analyst') {
    const username = `${role}-${tag()}@mfa-multi.test`;
    const created = await createUser(a.baseUrl, adminToken, username, role, `pw-${tag()}-${tag()}`);
    const token = await login(a.baseUrl, username, created.password);
    const { secret, recoveryCodes } = await enrolTotp(a.baseUrl, token);
    return { id: created.id, username, password: created.password, token, secret, recoveryCodes };
  }

  it('accepts one TOTP code once, whichever instance it is sent to, even at the same moment', async () => {
    const user = await enrolled();
    const onA = (await passwordStep(a.baseUrl, user.username, user.password)).body.mfa_token as string;
    const onB = (await passwordStep(b.baseUrl, user.username, user.password)).body.mfa_token as string;
    await awayFromStepEdge();
    const code = codeAt(user.secret);
    const answers = await Promise.all([secondStep(a.baseUrl, onA, { code }), secondStep(b.baseUrl, onB, { code })]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    // And later, on either: still refused.
    const again = (await passwordStep(a.baseUrl, user.username, user.password)).body.mfa_token as string;
    expect((await secondStep(b.baseUrl, again, { code })).status).toBe(401);
  });

  it('gives parallel wrong guesses on both instances at most 5 verdicts; the rest are 429', async () => {
    const user = await enrolled();
    // Several mfa_tokens, so that no token's own death (5 failures) is what stops the guesses.
    // One after the other: password checks of one account are bounded per instance (2 at once).
    const tokens: string[] = [];
    for (let i = 0; i < 6; i++) tokens.push((await passwordStep(i % 2 ? b.baseUrl : a.baseUrl, user.username, user.password)).body.mfa_token as string);
    expect(tokens.every((token) => typeof token === 'string')).toBe(true);
    const right = new Set([codeAt(user.secret, -1), codeAt(user.secret), codeAt(user.secret, 1)]);
    const wrong = ['000000', '111111', '222222', '333333'].find((c) => !right.has(c))!;
    const answers = await Promise.all(
      Array.from({ length: PARALLEL_GUESSES }, (_, i) => secondStep(i % 2 ? b.baseUrl : a.baseUrl, tokens[i % tokens.length], { code: wrong })),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(PARALLEL_GUESSES - 5);
    // Locked on both instances, even for the right code.
    const fresh = (await passwordStep(b.baseUrl, user.username, user.password)).body.mfa_token as string;
    expect((await secondStep(b.baseUrl, fresh, { recovery_code: user.recoveryCodes[0] })).status).toBe(429);
  });

  it('asks for a step-up on one instance after an enrolment on the other, and holds a step-up made on one on the other within a second', async () => {
    const { old, secret } = await enrolledWithOldSession();
    await awayFromStepEdge();
    expect((await call(a.baseUrl, 'POST', '/api/v1/auth/step-up', { headers: bearer(old), body: { code: codeAt(secret) } })).status).toBe(204);
    const started = Date.now();
    const allowed = await waitFor(async () => (await tryCreate(b, old)) === 201, CROSS_INSTANCE_MS, 20);
    expect({ allowed, withinOneSecond: Date.now() - started <= CROSS_INSTANCE_MS }).toEqual({ allowed: true, withinOneSecond: true });
  });

  const newUser = () => ({ username: `m-${tag()}@mfa-multi.test`, password: 'made-password-123', role: 'viewer' });
  const tryCreate = async (app: TestApp, token: string) =>
    (await call(app.baseUrl, 'POST', '/api/v1/users', { headers: bearer(token), body: newUser() })).status;

  /** An admin with a password-only session (on B) that began before TOTP was enrolled (on A). */
  async function enrolledWithOldSession() {
    const username = `admin-${tag()}@mfa-multi.test`;
    const created = await createUser(a.baseUrl, adminToken, username, 'admin', `pw-${tag()}-${tag()}`);
    const old = await login(b.baseUrl, username, created.password);
    const enrolling = await login(a.baseUrl, username, created.password);
    // B learns of the factor over the bus: the old session is asked for a step-up there.
    expect(await tryCreate(b, old)).toBe(201);
    const { secret } = await enrolTotp(a.baseUrl, enrolling);
    const started = Date.now();
    expect(await waitFor(async () => (await tryCreate(b, old)) === 403, CROSS_INSTANCE_MS, 20)).toBe(true);
    expect(Date.now() - started).toBeLessThanOrEqual(CROSS_INSTANCE_MS);
    return { old, secret };
  }
});
