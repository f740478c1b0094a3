import { Client } from 'pg';
import { apiKey, bearer, call, cookie, createUser, login, Reply } from './support/http';
import { delayed, holdsWithin, jitter, Problems, repeat, sleep, together } from './support/race';
import { ADMIN, ALLOWED_ORIGIN, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase, TestDatabase } from './support/test-database';

/**
 * "A change to a user or a key that the API has confirmed (2xx) is final" (docs/api.md),
 * tested the way it breaks: two instances on one PostgreSQL database, the racing requests fired at the
 * same moment (one on each instance), each interleaving repeated many times within the test, and the
 * confirmed outcome read back afterwards on both instances. Every iteration runs even when an earlier
 * one failed, so that a failure reports how many interleavings went wrong and how.
 */

const ENV = { LOGIN_MAX_PER_IP: '100000', LOGIN_MAX_FAILURES_PER_USER: '100000' };
/** The contract's bound for another instance to learn of a change. */
const CROSS_INSTANCE_MS = 1000;
/** How long after a confirmed state holds it is checked again (a state written back later is caught). */
const RECHECK_MS = 300;
const OLD_PASSWORD = 'old-password-0123';
const NEW_PASSWORD = 'new-password-4567';

interface UserRow {
  id: string;
  username: string;
  role: string;
  disabled: boolean;
}

const ok = (status: number) => status >= 200 && status < 300;
const cookieTokenOf = (reply: Reply) => /(?:^|[\s,])access_token=([^;,\s]+)/.exec(reply.headers.get('set-cookie') ?? '')?.[1] ?? null;
let serial = 0;
const uniqueName = (tag: string) => `race-${tag}-${++serial}-${Math.random().toString(36).slice(2, 8)}@test.local`;

describe('confirmed access removal is final under races (two instances, one PostgreSQL database)', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let adminToken: string;
  /** How long a password change takes here (argon2 verify + hash): the racing delays span it. */
  let changeMs: number;
  /** How long a login takes here (argon2 verify). */
  let loginMs: number;

  const label = (t: TestApp) => (t === a ? 'A' : 'B');
  const both = () => [a, b];

  const listUsers = async (t: TestApp, token = adminToken): Promise<UserRow[]> => {
    const reply = await call(t.baseUrl, 'GET', '/api/v1/users', { headers: bearer(token) });
    if (reply.status !== 200) throw new Error(`GET /api/v1/users on ${label(t)} answered ${reply.status}`);
    return reply.body;
  };
  const tryLogin = (t: TestApp, username: string, password: string) => call(t.baseUrl, 'POST', '/api/v1/auth/token', { body: { username, password } });
  const adminRoute = async (t: TestApp, token: string) => (await call(t.baseUrl, 'GET', '/api/v1/users', { headers: bearer(token) })).status;
  const me = (t: TestApp, token: string) => call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(token) });
  const patchUser = (t: TestApp, id: string, body: Record<string, unknown>, token = adminToken) =>
    call(t.baseUrl, 'PATCH', `/api/v1/users/${id}`, { headers: bearer(token), body });
  const deleteUser = (t: TestApp, id: string, token = adminToken) => call(t.baseUrl, 'DELETE', `/api/v1/users/${id}`, { headers: bearer(token) });
  const changeOwnPassword = (t: TestApp, token: string, viaCookie: boolean, current: string, next: string) =>
    call(t.baseUrl, 'POST', '/api/v1/users/me/password', {
      headers: viaCookie ? { ...cookie(token), origin: ALLOWED_ORIGIN } : bearer(token),
      body: { current_password: current, new_password: next },
    });

  /** What each instance's user list says about this user: null when it agrees with `expected`. */
  async function listedProblem(id: string, username: string, expected: (row: UserRow | undefined) => string | null): Promise<string | null> {
    for (const t of both()) {
      const rows = await listUsers(t);
      const problem = expected(rows.find((row) => row.id === id) ?? rows.find((row) => row.username === username));
      if (problem) return `GET /api/v1/users on ${label(t)}: ${problem}`;
    }
    return null;
  }

  /** Each token on each instance, on an admin route: null when every answer is among `allowed`. */
  async function tokensProblem(tokens: Array<[string, string]>, allowed: number[]): Promise<string | null> {
    for (const [name, token] of tokens) {
      for (const t of both()) {
        const status = await adminRoute(t, token);
        if (!allowed.includes(status)) return `the ${name} token on ${label(t)}: GET /api/v1/users → ${status} (expected ${allowed.join(' or ')})`;
      }
    }
    return null;
  }

  /** Logins with these passwords on both instances must all be refused (401). */
  async function loginsRefusedProblem(username: string, passwords: string[]): Promise<string | null> {
    for (const password of passwords) {
      for (const t of both()) {
        const status = (await tryLogin(t, username, password)).status;
        if (status !== 401) return `login with the ${password === NEW_PASSWORD ? 'new' : 'old'} password on ${label(t)} → ${status} (expected 401)`;
      }
    }
    return null;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    // One after the other: the first runs the migrations and creates the admin.
    a = await startTestApp(ENV, { url: db.url });
    b = await startTestApp(ENV, { url: db.url });
    adminToken = await login(a.baseUrl, ADMIN.username, ADMIN.password);

    // Calibration: the racing delays span the time the slow side takes on this machine.
    const probe = await createUser(a.baseUrl, adminToken, uniqueName('calibrate'), 'viewer', OLD_PASSWORD);
    let started = performance.now();
    const probeToken = await login(b.baseUrl, probe.username, OLD_PASSWORD);
    loginMs = performance.now() - started;
    started = performance.now();
    const changed = await changeOwnPassword(b, probeToken, false, OLD_PASSWORD, NEW_PASSWORD);
    changeMs = performance.now() - started;
    if (changed.status !== 204) throw new Error(`calibration password change answered ${changed.status}`);
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  describe('an admin removes access while the user changes their own password (finding 1)', () => {
    type Removal = 'demote' | 'disable' | 'delete';
    const ITERATIONS = 30;

    /**
     * One interleaving: the victim (an admin) has POST /users/me/password in flight on one instance
     * (Bearer or cookie) while the bootstrap admin demotes, disables or deletes them on the other,
     * after a random delay spanning the password change. If the removal was confirmed, it must hold.
     */
    async function removalVersusPasswordChange(kind: Removal, i: number, problems: Problems): Promise<void> {
      const [adminSide, victimSide] = i % 2 === 1 ? [a, b] : [b, a];
      const viaCookie = Math.floor(i / 2) % 2 === 1;
      const victim = await createUser(a.baseUrl, adminToken, uniqueName(kind), 'admin', OLD_PASSWORD);
      const victimToken = await login(victimSide.baseUrl, victim.username, OLD_PASSWORD);
      const delay = jitter(Math.ceil(changeMs * 1.2));
      const removal = () =>
        kind === 'delete' ? deleteUser(adminSide, victim.id) : patchUser(adminSide, victim.id, kind === 'demote' ? { role: 'viewer' } : { disabled: true });

      const [changed, removed] = await together(
        () => changeOwnPassword(victimSide, victimToken, viaCookie, OLD_PASSWORD, NEW_PASSWORD),
        delayed(delay, removal),
      );

      const context =
        `${kind} on ${label(adminSide)} ${delay} ms after the victim's password change (${viaCookie ? 'cookie' : 'Bearer'}) on ${label(victimSide)}` +
        ` → ${removed.value.status} / ${changed.value.status}`;
      const expectedRemoval = kind === 'delete' ? 204 : 200;
      if (removed.value.status !== expectedRemoval) {
        problems.add(i, `${context}: the admin's ${kind} answered ${removed.value.status}, expected ${expectedRemoval}`);
        return;
      }
      if (changed.value.status >= 500 && changed.value.status !== 503) problems.add(i, `${context}: the password change answered ${changed.value.status}`);

      const tokens: Array<[string, string]> = [['original', victimToken]];
      const reissued = ok(changed.value.status) ? cookieTokenOf(changed.value) : null;
      if (reissued) tokens.push(['reissued (password change cookie)', reissued]);
      const passwordChanged = changed.value.status === 204;
      const currentPassword = passwordChanged ? NEW_PASSWORD : OLD_PASSWORD;
      const stalePassword = passwordChanged ? OLD_PASSWORD : NEW_PASSWORD;

      const check = async (): Promise<string | null> => {
        if (kind === 'demote') {
          return (
            (await listedProblem(victim.id, victim.username, (row) =>
              !row
                ? 'the user is gone'
                : row.role !== 'viewer' || row.disabled
                  ? `role ${row.role}, disabled ${row.disabled} (expected viewer, enabled)`
                  : null,
            )) ??
            // A token of the demoted user may be dead (401) or a viewer's (403): never an admin's.
            (await tokensProblem(tokens, [401, 403])) ??
            (await (async () => {
              // The confirmed password change holds too: the current password signs in, as a viewer.
              for (const t of both()) {
                const fresh = await tryLogin(t, victim.username, currentPassword);
                if (fresh.status !== 200) return `login with the ${passwordChanged ? 'new' : 'old'} (current) password on ${label(t)} → ${fresh.status}`;
                const [route, who] = await Promise.all([adminRoute(t, fresh.body.access_token), me(t, fresh.body.access_token)]);
                if (route !== 403 || who.body?.role !== 'viewer')
                  return `a fresh login on ${label(t)}: GET /api/v1/users → ${route}, role ${who.body?.role} (expected 403, viewer)`;
              }
              return loginsRefusedProblem(victim.username, [stalePassword]);
            })())
          );
        }
        if (kind === 'disable') {
          return (
            (await listedProblem(victim.id, victim.username, (row) =>
              !row ? 'the user is gone' : !row.disabled ? `disabled ${row.disabled} (expected true)` : null,
            )) ??
            (await tokensProblem(tokens, [401])) ??
            (await loginsRefusedProblem(victim.username, [OLD_PASSWORD, NEW_PASSWORD]))
          );
        }
        return (
          (await listedProblem(victim.id, victim.username, (row) => (row ? `the deleted user is back (id ${row.id}, role ${row.role})` : null))) ??
          (await tokensProblem(tokens, [401])) ??
          (await loginsRefusedProblem(victim.username, [OLD_PASSWORD, NEW_PASSWORD]))
        );
      };
      const problem = await holdsWithin(check, CROSS_INSTANCE_MS, RECHECK_MS);
      if (problem) problems.add(i, `${context}: ${problem}`);
    }

    it.each<Removal>(['demote', 'disable', 'delete'])(
      'a confirmed %s holds, whatever the victim’s own password change in flight did',
      async (kind) => {
        const problems = new Problems();
        await repeat(ITERATIONS, problems, (i) => removalVersusPasswordChange(kind, i, problems));
        expect(problems.summary(ITERATIONS)).toEqual([]);
      },
      180_000,
    );
  });

  describe('two admins change the same user at once (finding 1, admin against admin)', () => {
    const ITERATIONS = 40;

    it('PATCH {password} and then DELETE a few ms later on the other instance: the user stays deleted', async () => {
      const problems = new Problems();
      await repeat(ITERATIONS, problems, async (i) => {
        const [patchSide, deleteSide] = i % 2 === 1 ? [a, b] : [b, a];
        const victim = await createUser(a.baseUrl, adminToken, uniqueName('pw-delete'), 'analyst', OLD_PASSWORD);
        const victimToken = await login(deleteSide.baseUrl, victim.username, OLD_PASSWORD);
        const delay = jitter(Math.max(10, Math.ceil(changeMs * 0.8)));
        const [patched, deleted] = await together(
          () => patchUser(patchSide, victim.id, { password: NEW_PASSWORD }),
          delayed(delay, () => deleteUser(deleteSide, victim.id)),
        );
        const context = `PATCH {password} on ${label(patchSide)}, DELETE ${delay} ms later on ${label(deleteSide)} → ${patched.value.status} / ${deleted.value.status}`;
        if (deleted.value.status !== 204) return problems.add(i, `${context}: DELETE answered ${deleted.value.status}, expected 204`);
        if (![200, 404, 409].includes(patched.value.status)) problems.add(i, `${context}: the PATCH answered ${patched.value.status}`);
        const problem = await holdsWithin(
          async () =>
            (await listedProblem(victim.id, victim.username, (row) => (row ? `the deleted user is back (id ${row.id})` : null))) ??
            (await tokensProblem([['victim', victimToken]], [401])) ??
            (await loginsRefusedProblem(victim.username, [OLD_PASSWORD, NEW_PASSWORD])),
          CROSS_INSTANCE_MS,
          RECHECK_MS,
        );
        if (problem) problems.add(i, `${context}: ${problem}`);
      });
      expect(problems.summary(ITERATIONS)).toEqual([]);
    }, 180_000);

    it('PATCH {password} racing PATCH {role} on the other instance: each change that answered 200 holds', async () => {
      const ITERATIONS = 30;
      const problems = new Problems();
      let bothConfirmed = 0;
      await repeat(ITERATIONS, problems, async (i) => {
        const [passwordSide, roleSide] = i % 2 === 1 ? [a, b] : [b, a];
        const victim = await createUser(a.baseUrl, adminToken, uniqueName('pw-role'), 'viewer', OLD_PASSWORD);
        const delay = jitter(Math.max(10, Math.ceil(changeMs * 0.8)));
        const [passwordPatch, rolePatch] = await together(
          () => patchUser(passwordSide, victim.id, { password: NEW_PASSWORD }),
          delayed(delay, () => patchUser(roleSide, victim.id, { role: 'operator' })),
        );
        const context = `PATCH {password} on ${label(passwordSide)}, PATCH {role} ${delay} ms later on ${label(roleSide)} → ${passwordPatch.value.status} / ${rolePatch.value.status}`;
        for (const reply of [passwordPatch.value, rolePatch.value]) {
          if (reply.status !== 200 && reply.status !== 409) problems.add(i, `${context}: a PATCH answered ${reply.status}`);
        }
        const roleConfirmed = rolePatch.value.status === 200;
        const passwordConfirmed = passwordPatch.value.status === 200;
        if (roleConfirmed && passwordConfirmed) bothConfirmed++;
        const role = roleConfirmed ? 'operator' : 'viewer';
        const [current, stale] = passwordConfirmed ? [NEW_PASSWORD, OLD_PASSWORD] : [OLD_PASSWORD, NEW_PASSWORD];
        const problem = await holdsWithin(
          async () =>
            (await listedProblem(victim.id, victim.username, (row) =>
              !row ? 'the user is gone' : row.role !== role ? `role ${row.role} (expected ${role})` : null,
            )) ??
            (await (async () => {
              for (const t of both()) {
                const fresh = await tryLogin(t, victim.username, current);
                if (fresh.status !== 200) return `login with the ${passwordConfirmed ? 'new' : 'old'} (current) password on ${label(t)} → ${fresh.status}`;
                const who = await me(t, fresh.body.access_token);
                if (who.body?.role !== role) return `a fresh login on ${label(t)} has role ${who.body?.role} (expected ${role})`;
              }
              return loginsRefusedProblem(victim.username, [stale]);
            })()),
          CROSS_INSTANCE_MS,
          RECHECK_MS,
        );
        if (problem) problems.add(i, `${context}: ${problem}`);
      });
      expect(problems.summary(ITERATIONS)).toEqual([]);
      // Not vacuous: two compatible changes to one user are normally both accepted.
      expect(bothConfirmed).toBeGreaterThan(0);
    }, 180_000);
  });

  describe('API-key rotation and revocation on two instances (finding 7)', () => {
    const ITERATIONS = 40;
    const keyStatus = async (t: TestApp, secret: string) => (await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: apiKey(secret) })).status;
    const rotate = (t: TestApp, id: string, grace: number) =>
      call(t.baseUrl, 'POST', `/api/v1/auth/api-keys/${id}/rotate`, { headers: bearer(adminToken), body: { grace_period_seconds: grace } });
    const revoke = (t: TestApp, id: string) => call(t.baseUrl, 'DELETE', `/api/v1/auth/api-keys/${id}`, { headers: bearer(adminToken) });

    /** A new key, used once on each instance so that both have it cached (as a busy integration would). */
    async function warmKey(): Promise<{ id: string; api_key: string }> {
      const reply = await call(a.baseUrl, 'POST', '/api/v1/auth/api-keys', {
        headers: bearer(adminToken),
        body: { service_name: `race-${++serial}-${Math.random().toString(36).slice(2, 8)}` },
      });
      if (reply.status !== 201) throw new Error(`creating a key answered ${reply.status}`);
      for (const t of both()) if ((await keyStatus(t, reply.body.api_key)) !== 200) throw new Error(`a new key is refused on ${label(t)}`);
      return reply.body;
    }

    interface Expectation {
      name: string;
      secret: string;
      works: boolean;
    }
    /** null when every secret works (200) or is refused (401) on each given instance as expected. */
    async function secretsProblem(expected: Expectation[], apps = both()): Promise<string | null> {
      const wrong: string[] = [];
      for (const { name, secret, works } of expected) {
        for (const t of apps) {
          const status = await keyStatus(t, secret);
          if (status !== (works ? 200 : 401)) wrong.push(`${name} secret on ${label(t)} → ${status} (expected ${works ? 200 : 401})`);
        }
      }
      return wrong.length ? wrong.join('; ') : null;
    }

    /** Checked again once the loop is over, at least 1.2 s after each iteration's race. */
    const later: Array<{ iteration: number; context: string; expected: Expectation[] }> = [];
    async function recheckLater(problems: Problems): Promise<void> {
      await sleep(1200);
      for (const { iteration, context, expected } of later.splice(0)) {
        const problem = await secretsProblem(expected);
        if (problem) problems.add(iteration, `${context}: ≥ 1.2 s later: ${problem}`);
      }
    }

    it('rotate on one instance racing DELETE on the other: after a 204 no secret of the key works anywhere, and a later rotation is 409', async () => {
      const problems = new Problems();
      await repeat(ITERATIONS, problems, async (i) => {
        const [rotateSide, revokeSide] = i % 2 === 1 ? [a, b] : [b, a];
        const grace = Math.floor(i / 2) % 2 === 1 ? 60 : 0;
        const key = await warmKey();
        const skew = jitter(10) - 5; // > 0: the DELETE starts later; < 0: the rotation does
        const [rotated, revoked] = await together(
          delayed(Math.max(0, -skew), () => rotate(rotateSide, key.id, grace)),
          delayed(Math.max(0, skew), () => revoke(revokeSide, key.id)),
        );
        const context = `rotate (grace ${grace}) on ${label(rotateSide)} vs DELETE on ${label(revokeSide)} (skew ${skew} ms) → ${rotated.value.status} / ${revoked.value.status}`;
        if (revoked.value.status !== 204) return problems.add(i, `${context}: DELETE answered ${revoked.value.status}, expected 204`);
        if (rotated.value.status !== 201 && rotated.value.status !== 409) problems.add(i, `${context}: the rotation answered ${rotated.value.status}`);
        const expected: Expectation[] = [{ name: 'original', secret: key.api_key, works: false }];
        if (rotated.value.status === 201) expected.push({ name: 'rotated', secret: rotated.value.body.api_key, works: false });
        // At once where the revocation was served; within the contract's second on the other instance.
        const here = await secretsProblem(expected, [revokeSide]);
        if (here) problems.add(i, `${context}: at once on the revoking instance: ${here}`);
        const there = await holdsWithin(() => secretsProblem(expected, [rotateSide]), CROSS_INSTANCE_MS, 0);
        if (there) problems.add(i, `${context}: ${there}`);
        const again = await rotate(i % 4 < 2 ? a : b, key.id, 0);
        if (again.status !== 409) problems.add(i, `${context}: a rotation after the revocation answered ${again.status}, expected 409`);
        if (!here && !there && again.status === 409) later.push({ iteration: i, context, expected });
      });
      await recheckLater(problems);
      expect(problems.summary(ITERATIONS)).toEqual([]);
    }, 120_000);

    /**
     * Two rotations of one key at once, one on each instance. Whatever order the database put them
     * in, each returned secret is the key's current one or was rotated out by the other rotation
     * (then it lives exactly as long as that rotation's grace), and the original lives as long as
     * the grace of the rotation that replaced it.
     */
    async function concurrentRotations(graces: [number, number], i: number, problems: Problems): Promise<void> {
      const [first, second] = i % 2 === 1 ? [a, b] : [b, a];
      const key = await warmKey();
      const skew = jitter(6) - 3;
      const [r1, r2] = await together(
        delayed(Math.max(0, -skew), () => rotate(first, key.id, graces[0])),
        delayed(Math.max(0, skew), () => rotate(second, key.id, graces[1])),
      );
      const context = `rotate (grace ${graces[0]}) on ${label(first)} vs rotate (grace ${graces[1]}) on ${label(second)} (skew ${skew} ms) → ${r1.value.status} / ${r2.value.status}`;
      if (r1.value.status !== 201 || r2.value.status !== 201) return problems.add(i, `${context}: both rotations of a live key must answer 201`);
      const original = { name: 'original', secret: key.api_key };
      const s1 = { name: `secret from ${label(first)}`, secret: r1.value.body.api_key };
      const s2 = { name: `secret from ${label(second)}`, secret: r2.value.body.api_key };
      // The two orders the database may have chosen, and what each leaves working.
      const outcome = (earlier: [typeof s1, number], last: [typeof s1, number]): Expectation[] => [
        { ...original, works: earlier[1] > 0 },
        { ...earlier[0], works: last[1] > 0 },
        { ...last[0], works: true },
      ];
      const orders = [outcome([s1, graces[0]], [s2, graces[1]]), outcome([s2, graces[1]], [s1, graces[0]])];
      const settled: { expected?: Expectation[] } = {};
      const problem = await holdsWithin(
        async () => {
          const results = await Promise.all(orders.map((expected) => secretsProblem(expected)));
          const index = results.findIndex((result) => result === null);
          if (index >= 0) {
            settled.expected = orders[index];
            return null;
          }
          return `neither order explains what works: ${results[0]}`;
        },
        CROSS_INSTANCE_MS,
        0,
      );
      if (problem || !settled.expected) return problems.add(i, `${context}: ${problem}`);
      later.push({ iteration: i, context, expected: settled.expected });
    }

    it.each<[number, number]>([
      [0, 0],
      [60, 60],
      [0, 60],
    ])(
      'two rotations at once on two instances (grace %i and %i): each returned secret is current or rotated out with its own grace',
      async (g1, g2) => {
        const problems = new Problems();
        await repeat(ITERATIONS, problems, (i) => concurrentRotations(i % 2 === 1 ? [g1, g2] : [g2, g1], i, problems));
        await recheckLater(problems);
        expect(problems.summary(ITERATIONS)).toEqual([]);
      },
      90_000,
    );

    it('a second rotation during a grace does not end the first grace ("each earlier secret keeps its own grace")', async () => {
      const problems = new Problems();
      const n = 12;
      await repeat(n, problems, async (i) => {
        const [first, second] = i % 2 === 1 ? [a, b] : [b, a];
        const secondGrace = Math.floor(i / 2) % 2 === 1 ? 60 : 0;
        const key = await warmKey();
        const r1 = await rotate(first, key.id, 60);
        const r2 = await rotate(second, key.id, secondGrace);
        const context = `rotate (grace 60) on ${label(first)}, then rotate (grace ${secondGrace}) on ${label(second)} → ${r1.status} / ${r2.status}`;
        if (r1.status !== 201 || r2.status !== 201) return problems.add(i, `${context}: both rotations must answer 201`);
        const expected: Expectation[] = [
          { name: 'original (60 s grace of the first rotation)', secret: key.api_key, works: true },
          { name: 'first rotated', secret: r1.body.api_key, works: secondGrace > 0 },
          { name: 'second rotated', secret: r2.body.api_key, works: true },
        ];
        const problem = await holdsWithin(() => secretsProblem(expected), CROSS_INSTANCE_MS, 0);
        if (problem) return problems.add(i, `${context}: ${problem}`);
        later.push({ iteration: i, context, expected });
      });
      await recheckLater(problems);
      expect(problems.summary(n)).toEqual([]);
    }, 60_000);
  });

  describe('a login at the same moment as a role change (finding 11)', () => {
    const ITERATIONS = 30;

    it('a 200 login’s token works, with the new role once the PATCH has answered; it is never already dead', async () => {
      const problems = new Problems();
      const user = await createUser(a.baseUrl, adminToken, uniqueName('login-role'), 'analyst', OLD_PASSWORD);
      let role = 'analyst';
      let lastChangeAnsweredAt = 0;
      let revokedByTheChange = 0;
      let answeredAfterTheChange = 0;
      await repeat(ITERATIONS, problems, async (i) => {
        const [loginSide, patchSide] = i % 2 === 1 ? [b, a] : [a, b];
        const newRole = role === 'analyst' ? 'operator' : 'analyst';
        // A login waits out the second of the previous change (iat has one-second resolution): start
        // after it, so that this login and this change really overlap.
        const secondOfLastChange = (Math.floor(lastChangeAnsweredAt / 1000) + 1) * 1000 - Date.now();
        if (secondOfLastChange > 0) await sleep(secondOfLastChange + 5);
        const delay = jitter(Math.ceil(loginMs * 0.6));
        const [signedIn, patched] = await together(
          () => tryLogin(loginSide, user.username, OLD_PASSWORD),
          delayed(delay, () => patchUser(patchSide, user.id, { role: newRole })),
        );
        const context = `login on ${label(loginSide)}, PATCH {role: ${newRole}} ${delay} ms later on ${label(patchSide)} → ${signedIn.value.status} / ${patched.value.status}`;
        lastChangeAnsweredAt = Date.now();
        if (patched.value.status !== 200) return problems.add(i, `${context}: the PATCH answered ${patched.value.status}, expected 200`);
        role = newRole;
        if (signedIn.value.status !== 200) return problems.add(i, `${context}: the login answered ${signedIn.value.status}, expected 200`);
        const token: string = signedIn.value.body.access_token;
        const loginAnsweredFirst = signedIn.at < patched.at;
        if (!loginAnsweredFirst) answeredAfterTheChange++;

        // Once settled, a token either works on both instances with the new role, or is dead on both.
        // state() says 'works', 'dead', or else what each instance answered.
        const state = async (): Promise<string> => {
          const replies = await Promise.all(both().map((t) => me(t, token)));
          if (replies.every((reply) => reply.status === 200 && reply.body.role === newRole)) return 'works';
          if (replies.every((reply) => reply.status === 401)) return 'dead';
          return replies.map((reply, k) => `${label(both()[k])}: ${reply.status} ${reply.body?.role ?? ''}`).join(', ');
        };
        let settled = await state();
        const deadline = Date.now() + CROSS_INSTANCE_MS;
        while (settled !== 'works' && settled !== 'dead' && Date.now() < deadline) {
          await sleep(20);
          settled = await state();
        }
        if (settled !== 'works' && settled !== 'dead')
          return problems.add(i, `${context}: GET /api/v1/auth/me with the login's token, after ${CROSS_INSTANCE_MS} ms: ${settled}`);
        await sleep(RECHECK_MS);
        const later = await state();
        if (later !== settled) return problems.add(i, `${context}: the login's token was ${settled}, ${RECHECK_MS} ms later: ${later}`);
        if (settled === 'dead') {
          // Dead is right only for a login that was answered before the role change was (the PATCH
          // then revoked it, as it revokes every existing token). Answered after it: already dead.
          if (loginAnsweredFirst) revokedByTheChange++;
          else
            problems.add(
              i,
              `${context}: the login answered 200 ${Math.round(signedIn.at - patched.at)} ms after the PATCH's 200, with a token that is already dead on both instances`,
            );
        }
      });
      expect(problems.summary(ITERATIONS)).toEqual([]);
      // Not vacuous: a good share of the logins were answered after the change, where nothing excuses a dead token.
      expect({ answeredAfterTheChange, revokedByTheChange }).toEqual({ answeredAfterTheChange: expect.any(Number), revokedByTheChange: expect.any(Number) });
      expect(answeredAfterTheChange).toBeGreaterThanOrEqual(ITERATIONS / 8);
    }, 180_000);
  });
});

/**
 * The last-admin rule under races, on its own database: exactly two enabled admins X and Y remove
 * each other at the same moment on two instances. Exactly one request may succeed; at least one
 * enabled admin must remain.
 */
describe('the last-admin rule is atomic across instances (finding 2)', () => {
  type Op = 'demote' | 'disable' | 'delete';
  const ITERATIONS = 30;
  const PASSWORD = 'admin-pair-password-1';

  let db: TestDatabase;
  let c: TestApp;
  let d: TestApp;
  /** A viewer with a known password: its row is the template of a rescue admin (see rescue()). */
  let template: { id: string; username: string; password: string };
  /** An enabled admin we hold a token for: the one who prepares the next pair. */
  let keeper: { id: string; username: string; password: string; token: string };

  const label = (t: TestApp) => (t === c ? 'A' : 'B');
  const listUsers = async (t: TestApp, token: string): Promise<UserRow[]> => {
    const reply = await call(t.baseUrl, 'GET', '/api/v1/users', { headers: bearer(token) });
    if (reply.status !== 200) throw new Error(`GET /api/v1/users on ${label(t)} answered ${reply.status}`);
    return reply.body;
  };
  const enabledAdmins = (rows: UserRow[]) => rows.filter((row) => row.role === 'admin' && !row.disabled);
  const act = (t: TestApp, op: Op, token: string, targetId: string) =>
    op === 'delete'
      ? call(t.baseUrl, 'DELETE', `/api/v1/users/${targetId}`, { headers: bearer(token) })
      : call(t.baseUrl, 'PATCH', `/api/v1/users/${targetId}`, { headers: bearer(token), body: op === 'demote' ? { role: 'viewer' } : { disabled: true } });

  beforeAll(async () => {
    db = await createTestDatabase();
    c = await startTestApp(ENV, { url: db.url });
    d = await startTestApp(ENV, { url: db.url });
    const token = await login(c.baseUrl, ADMIN.username, ADMIN.password);
    const bootstrap = (await listUsers(c, token)).find((row) => row.username === ADMIN.username)!;
    keeper = { id: bootstrap.id, username: ADMIN.username, password: ADMIN.password, token };
    template = await createUser(c.baseUrl, token, uniqueName('template'), 'viewer', PASSWORD);
  }, 60_000);
  afterAll(async () => {
    await c?.close();
    await d?.close();
    await db?.drop();
  });

  /**
   * Only for an iteration that already failed by leaving no enabled admin: an admin put straight into
   * the database (a copy of the template's row), as an operator would with SQL. If the instances do
   * not take the new row, they are restarted (they then load every user afresh).
   */
  async function rescue(): Promise<void> {
    const username = uniqueName('rescue');
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const columns = (await client.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'users'`)).rows.map((row) => row.column_name);
      await client.query(`CREATE TEMP TABLE rescue AS SELECT * FROM users WHERE id = $1`, [template.id]);
      await client.query(`UPDATE rescue SET id = gen_random_uuid(), username = $1, role = 'admin', disabled = false, tokens_valid_after = 0`, [username]);
      if (columns.includes('username_key')) await client.query(`UPDATE rescue SET username_key = $1`, [username]);
      await client.query(`INSERT INTO users SELECT * FROM rescue`);
    } finally {
      await client.end();
    }
    const works = async () => {
      const token = await login(c.baseUrl, username, PASSWORD);
      for (const t of [c, d]) if ((await call(t.baseUrl, 'GET', '/api/v1/users', { headers: bearer(token) })).status !== 200) return null;
      return token;
    };
    let token = await works().catch(() => null);
    if (!token) {
      await c.close();
      await d.close();
      c = await startTestApp(ENV, { url: db.url });
      d = await startTestApp(ENV, { url: db.url });
      token = await login(c.baseUrl, username, PASSWORD);
    }
    const row = (await listUsers(c, token)).find((user) => user.username === username)!;
    keeper = { id: row.id, username, password: PASSWORD, token };
  }

  /** Two new admins X and Y, and every other enabled admin removed: the admin set is exactly {X, Y}. */
  async function preparePair(): Promise<Array<{ id: string; username: string; token: string }>> {
    const [x, y] = await Promise.all([uniqueName('x'), uniqueName('y')].map((name) => createUser(c.baseUrl, keeper.token, name, 'admin', PASSWORD)));
    const [xToken, yToken] = await Promise.all([login(c.baseUrl, x.username, PASSWORD), login(d.baseUrl, y.username, PASSWORD)]);
    for (const extra of enabledAdmins(await listUsers(c, xToken)).filter((row) => row.id !== x.id && row.id !== y.id)) {
      const reply = await call(c.baseUrl, 'DELETE', `/api/v1/users/${extra.id}`, { headers: bearer(xToken) });
      if (reply.status !== 204) throw new Error(`setting up: deleting the extra admin ${extra.username} answered ${reply.status}`);
    }
    const admins = enabledAdmins(await listUsers(d, yToken));
    if (admins.length !== 2) throw new Error(`setting up: ${admins.length} enabled admins instead of 2`);
    return [
      { id: x.id, username: x.username, token: xToken },
      { id: y.id, username: y.username, token: yToken },
    ];
  }

  async function mutualRemoval(ops: [Op, Op], i: number, problems: Problems, tally: { conflicts: number }): Promise<void> {
    const [x, y] = await preparePair();
    const [xSide, ySide] = i % 2 === 1 ? [c, d] : [d, c];
    const skew = jitter(4) - 2;
    const [byX, byY] = await together(
      delayed(Math.max(0, -skew), () => act(xSide, ops[0], x.token, y.id)),
      delayed(Math.max(0, skew), () => act(ySide, ops[1], y.token, x.id)),
    );
    const context = `X ${ops[0]}s Y on ${label(xSide)} while Y ${ops[1]}s X on ${label(ySide)} (skew ${skew} ms) → ${byX.value.status} / ${byY.value.status}`;
    const succeeded = [ok(byX.value.status), ok(byY.value.status)];

    if (succeeded[0] && succeeded[1]) {
      problems.add(i, `${context}: both succeeded, leaving no enabled admin`);
      await rescue();
      const left = enabledAdmins(await listUsers(c, keeper.token)).filter((row) => row.id !== keeper.id);
      if (left.length > 0) problems.add(i, `${context}: (yet ${left.map((row) => row.username).join(', ')} still listed as enabled admin)`);
      return;
    }
    if (!succeeded[0] && !succeeded[1]) {
      problems.add(i, `${context}: neither succeeded; one of them must`);
      keeper = { ...x, password: PASSWORD };
      return;
    }
    const [winner, winnerOp, loserReply, loser] = succeeded[0] ? [x, ops[0], byY.value, y] : [y, ops[1], byX.value, x];
    // The refused one is 409; 401/403 only if it was authenticated after its own removal had taken effect.
    if (loserReply.status === 409) tally.conflicts++;
    else if (loserReply.status !== 401 && loserReply.status !== 403)
      problems.add(i, `${context}: the refused request answered ${loserReply.status}, expected 409`);
    keeper = { ...winner, password: PASSWORD };

    const problem = await holdsWithin(
      async () => {
        for (const t of [c, d]) {
          const rows = await listUsers(t, winner.token).catch((error: Error) => error);
          if (rows instanceof Error) return `the remaining admin's token: ${rows.message}`;
          const admins = enabledAdmins(rows);
          if (admins.length !== 1 || admins[0].id !== winner.id)
            return `${label(t)} lists as enabled admins: [${admins.map((row) => row.username).join(', ')}] (expected only ${winner.username})`;
          const removed = rows.find((row) => row.id === loser.id);
          const expected = winnerOp === 'delete' ? !removed : winnerOp === 'demote' ? removed?.role === 'viewer' : removed?.disabled === true;
          if (!expected) return `${label(t)}: the confirmed ${winnerOp} of ${loser.username} did not hold (${JSON.stringify(removed ?? null)})`;
        }
        return null;
      },
      CROSS_INSTANCE_MS,
      RECHECK_MS,
    );
    if (problem) problems.add(i, `${context}: ${problem}`);
  }

  it.each<[Op, Op]>([
    ['demote', 'demote'],
    ['disable', 'disable'],
    ['delete', 'delete'],
    ['demote', 'delete'],
    ['disable', 'demote'],
  ])(
    'X %ss Y while Y %ss X on the other instance: exactly one succeeds, the other is 409, an enabled admin remains',
    async (opX, opY) => {
      const problems = new Problems();
      const tally = { conflicts: 0 };
      await repeat(ITERATIONS, problems, (i) => mutualRemoval(i % 2 === 1 ? [opX, opY] : [opY, opX], i, problems, tally));
      expect(problems.summary(ITERATIONS)).toEqual([]);
      // The normal loser's answer is 409 (the rule), not an authentication failure.
      expect(tally.conflicts).toBeGreaterThan(0);
    },
    120_000,
  );
});
