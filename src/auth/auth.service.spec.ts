import { randomUUID } from 'node:crypto';
import { HttpStatus, UnauthorizedException } from '@nestjs/common';
import type { Principal } from '../access/principal';
import type { AuditInput, AuditRecorder } from '../audit/audit-recorder';
import type { ClientInfo } from '../common/client-info';
import { RetryLaterException } from '../common/retry-later.exception';
import type { AppConfig } from '../config/app-config';
import type { MetricsService } from '../metrics/metrics.service';
import type { SessionsService } from '../sessions/sessions.service';
import type { PasswordHasher } from '../users/password-hasher';
import { User } from '../users/user.entity';
import type { UsersService } from '../users/users.service';
import { AuthService, type IssuedToken } from './auth.service';
import type { MfaChallengeView } from '../mfa/mfa.dto';
import type { LoginFailureCounter } from './login-failure-counter';
import { PasswordGuessLimiter } from './password-guess-limiter';
import type { PendingSignIns } from '../mfa/pending-sign-ins';
import type { WebAuthnCeremonies } from '../mfa/webauthn-ceremonies';
import { TokenService, type TokenClaims } from './token.service';
import type { UserRegistry, UserState } from './user-registry';

/** The clock of this file: Date.now() reads it, and waiting (timers/promises) moves it on at once. */
const mockClock = { now: 0, waits: [] as number[], early: 0 };

jest.mock('node:timers/promises', () => ({
  ...jest.requireActual<typeof import('node:timers/promises')>('node:timers/promises'),
  setTimeout: jest.fn((ms: number) => {
    mockClock.waits.push(ms);
    mockClock.now += ms - mockClock.early;
    return Promise.resolve();
  }),
}));

const NOW_S = 1_900_000_000;
const LIFETIME_S = 3600;
const CLIENT: ClientInfo = { ip: '203.0.113.7', userAgent: 'jest', requestId: 'req-1' };
const PASSWORD = 'correct horse battery staple';
const INVALID_LOGIN = new UnauthorizedException('invalid username or password');

function aUser(fields: Partial<User> = {}): User {
  return Object.assign(new User(), {
    id: 'id-alice',
    username: 'alice',
    usernameKey: 'alice',
    passwordHash: `hash:${PASSWORD}`,
    role: 'analyst',
    disabled: false,
    tokensValidAfter: NOW_S - 600,
    version: 1,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...fields,
  });
}

function stateOf(user: User): UserState {
  return {
    userId: user.id,
    username: user.username,
    role: user.role,
    disabled: user.disabled,
    tokensValidAfter: user.tokensValidAfter,
    version: user.version,
    deleted: false,
  };
}

/** Counts every attempt as a failure until reset, like the real counter; locked past `limit`. */
class FakeFailureCounter {
  readonly counts = new Map<string, number>();
  limit = 5;

  reserve = jest.fn((username: string) => {
    const count = (this.counts.get(username) ?? 0) + 1;
    this.counts.set(username, count);
    return Promise.resolve(count > this.limit ? { locked: true, retryAfterSeconds: 900 } : { locked: false, retryAfterSeconds: 0 });
  });

  release = jest.fn((username: string) => {
    this.counts.set(username, Math.max(0, (this.counts.get(username) ?? 0) - 1));
    return Promise.resolve();
  });

  reset = jest.fn((username: string) => {
    this.counts.delete(username);
    return Promise.resolve();
  });
}

describe(AuthService.name, () => {
  let sut: AuthService;
  let tokens: TokenService;
  /** What the password check reads (by name) and what issuing reads back (by id). */
  let checked: User | null;
  let current: User | null;
  let registryState: jest.Mock<Promise<UserState | null>, [string]>;
  let users: { findByUsername: jest.Mock; findById: jest.Mock };
  let hasher: { verify: jest.Mock; verifyAgainstDummy: jest.Mock };
  let sessions: { create: jest.Mock; logout: jest.Mock; isStillLive: jest.Mock };
  let pending: { methodsOf: jest.Mock; start: jest.Mock };
  let failures: FakeFailureCounter;
  let audited: AuditInput[];
  let metrics: { loginDuration: { startTimer: jest.Mock }; countAuthentication: jest.Mock; rateLimited: { inc: jest.Mock } };
  let stopTimer: jest.Mock;

  beforeEach(() => {
    mockClock.now = NOW_S * 1000 + 250;
    mockClock.waits = [];
    mockClock.early = 0;
    jest.spyOn(Date, 'now').mockImplementation(() => mockClock.now);

    checked = aUser();
    current = checked;
    users = {
      findByUsername: jest.fn(() => Promise.resolve(checked)),
      findById: jest.fn(() => Promise.resolve(current)),
    };
    registryState = jest.fn((_username: string) => Promise.resolve(current ? stateOf(current) : null));
    hasher = {
      verify: jest.fn((hash: string, password: string) => Promise.resolve(hash === `hash:${password}`)),
      verifyAgainstDummy: jest.fn(() => Promise.resolve(false)),
    };
    sessions = {
      create: jest.fn((userId: string, expiresAt: Date) => Promise.resolve({ id: randomUUID(), userId, expiresAt })),
      logout: jest.fn(() => Promise.resolve()),
      isStillLive: jest.fn(() => Promise.resolve(true)),
    };
    failures = new FakeFailureCounter();
    audited = [];
    stopTimer = jest.fn();
    metrics = { loginDuration: { startTimer: jest.fn(() => stopTimer) }, countAuthentication: jest.fn(), rateLimited: { inc: jest.fn() } };
    tokens = new TokenService({ jwtSecret: 'test-secret-'.repeat(3), jwtExpirySeconds: LIFETIME_S } as AppConfig);

    pending = {
      methodsOf: jest.fn(() => Promise.resolve([] as MfaChallengeView['methods'])),
      start: jest.fn((_userId: string, methods: MfaChallengeView['methods']) =>
        Promise.resolve({ mfa_required: true, mfa_token: 'pending-token', methods, expires_in: 300 } satisfies MfaChallengeView),
      ),
    };
    sut = new AuthService(
      users as unknown as UsersService,
      hasher as unknown as PasswordHasher,
      tokens,
      { userState: registryState } as unknown as UserRegistry,
      sessions as unknown as SessionsService,
      new PasswordGuessLimiter(failures as unknown as LoginFailureCounter),
      { record: jest.fn((input: AuditInput) => void audited.push(input)) } as unknown as AuditRecorder,
      metrics as unknown as MetricsService,
      pending as unknown as PendingSignIns,
      {} as unknown as WebAuthnCeremonies,
    );
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  function accessTokenOf(issued: IssuedToken | MfaChallengeView): string {
    if (!('access_token' in issued)) throw new Error('expected a token, got a second-factor challenge');
    return issued.access_token;
  }

  function claimsOf(accessToken: string): TokenClaims {
    const verified = tokens.verify(accessToken);
    if (!verified.ok) throw new Error(`the issued token does not verify: ${verified.reason}`);
    return verified.claims;
  }

  describe('login', () => {
    it('answers a user with a second factor with an mfa_token for the second step, and makes no session yet', async () => {
      pending.methodsOf.mockResolvedValue(['totp', 'recovery']);

      const answer = await sut.login('alice', PASSWORD, CLIENT);

      expect(answer).toEqual({ mfa_required: true, mfa_token: 'pending-token', methods: ['totp', 'recovery'], expires_in: 300 });
      // Bound to the account row whose password was checked (its version), not only to its id.
      expect(pending.start).toHaveBeenCalledWith(expect.objectContaining({ id: 'id-alice', version: 1 }), ['totp', 'recovery']);
      expect(sessions.create).not.toHaveBeenCalled();
    });

    it('never asks for a second factor after a wrong password', async () => {
      pending.methodsOf.mockResolvedValue(['totp']);

      await expect(sut.login('alice', 'wrong password', CLIENT)).rejects.toBeInstanceOf(UnauthorizedException);
      expect(pending.start).not.toHaveBeenCalled();
    });

    it('issues a bearer token for the user, tied to the account and to a new session', async () => {
      const issued = await sut.login('alice', PASSWORD, CLIENT);

      expect(issued).toEqual({ access_token: expect.any(String) as unknown, token_type: 'bearer', expires_in: LIFETIME_S });
      const claims = claimsOf(accessTokenOf(issued));
      expect(claims).toMatchObject({ sub: 'alice', role: 'analyst', uid: 'id-alice', iat: NOW_S, exp: NOW_S + LIFETIME_S });
      expect(sessions.create).toHaveBeenCalledWith('id-alice', new Date((NOW_S + LIFETIME_S) * 1000), CLIENT, ['pwd'], null);
      expect(claims.sid).toBe((await (sessions.create.mock.results[0].value as Promise<{ id: string }>)).id);
    });

    it('checks the password against the stored hash', async () => {
      await sut.login('alice', PASSWORD, CLIENT);

      expect(hasher.verify).toHaveBeenCalledWith(`hash:${PASSWORD}`, PASSWORD);
      expect(hasher.verifyAgainstDummy).not.toHaveBeenCalled();
    });

    it('audits and counts a success', async () => {
      await sut.login('alice', PASSWORD, CLIENT);

      expect(audited).toEqual([{ type: 'auth.login', outcome: 'success', actor: 'alice', client: CLIENT }]);
      expect(metrics.countAuthentication).toHaveBeenCalledWith('login', 'success');
      expect(stopTimer).toHaveBeenCalledTimes(1);
    });

    it('refuses a wrong password with 401, and counts it against the username', async () => {
      await expect(sut.login('alice', 'wrong password', CLIENT)).rejects.toThrow(INVALID_LOGIN);

      expect(sessions.create).not.toHaveBeenCalled();
      expect(audited).toEqual([{ type: 'auth.login', outcome: 'failure', actor: 'alice', reason: 'wrong_password', client: CLIENT }]);
      expect(metrics.countAuthentication).toHaveBeenCalledWith('login', 'failure', 'wrong_password');
      expect(failures.counts.get('alice')).toBe(1);
    });

    it('spends a dummy verification on an unknown user and answers exactly as for a wrong password', async () => {
      checked = null;

      const unknown = await sut.login('mallory', PASSWORD, CLIENT).catch((error: unknown) => error);
      checked = aUser();
      const wrong = await sut.login('alice', 'wrong password', CLIENT).catch((error: unknown) => error);

      expect(hasher.verifyAgainstDummy).toHaveBeenCalledWith(PASSWORD);
      expect(unknown).toBeInstanceOf(UnauthorizedException);
      expect((unknown as UnauthorizedException).getResponse()).toEqual((wrong as UnauthorizedException).getResponse());
      expect(audited[0]).toEqual({ type: 'auth.login', outcome: 'failure', actor: 'mallory', reason: 'unknown_user', client: CLIENT });
      expect(sessions.create).not.toHaveBeenCalled();
    });

    it('refuses a disabled user with 401 even with the right password, after checking it like any other', async () => {
      checked = aUser({ disabled: true });
      current = checked;

      await expect(sut.login('alice', PASSWORD, CLIENT)).rejects.toThrow(INVALID_LOGIN);

      expect(hasher.verify).toHaveBeenCalledWith(`hash:${PASSWORD}`, PASSWORD);
      expect(users.findById).not.toHaveBeenCalled();
      expect(sessions.create).not.toHaveBeenCalled();
      expect(audited).toEqual([expect.objectContaining({ outcome: 'failure', reason: 'user_disabled' })]);
    });

    it('refuses with 401 when the account was disabled or deleted after its password was checked', async () => {
      current = aUser({ disabled: true, version: 2 });
      await expect(sut.login('alice', PASSWORD, CLIENT)).rejects.toThrow(INVALID_LOGIN);

      current = null;
      await expect(sut.login('alice', PASSWORD, CLIENT)).rejects.toThrow(INVALID_LOGIN);

      expect(sessions.create).not.toHaveBeenCalled();
      expect(audited.map((event) => event.outcome)).toEqual(['failure', 'failure']);
    });

    it('issues for the newer state when the role changed between the password check and issuing', async () => {
      current = aUser({ role: 'viewer', version: 2, tokensValidAfter: NOW_S - 1 });

      const claims = claimsOf(accessTokenOf(await sut.login('alice', PASSWORD, CLIENT)));

      expect(claims.role).toBe('viewer');
      expect(claims.iat).toBeGreaterThanOrEqual(NOW_S - 1);
    });

    it('resets the failure count on success', async () => {
      await expect(sut.login('alice', 'wrong password', CLIENT)).rejects.toThrow(INVALID_LOGIN);

      await sut.login('alice', PASSWORD, CLIENT);

      expect(failures.reset).toHaveBeenCalledWith('alice');
      expect(failures.counts.has('alice')).toBe(false);
    });

    it('refuses with 429, without checking the password, once the username has too many failures', async () => {
      failures.counts.set('alice', failures.limit);

      const refused = sut.login('alice', PASSWORD, CLIENT);

      await expect(refused).rejects.toBeInstanceOf(RetryLaterException);
      await expect(refused).rejects.toMatchObject({ status: HttpStatus.TOO_MANY_REQUESTS, retryAfterSeconds: 900 });
      expect(users.findByUsername).not.toHaveBeenCalled();
      expect(hasher.verify).not.toHaveBeenCalled();
      expect(audited).toEqual([{ type: 'auth.login', outcome: 'failure', actor: 'alice', reason: 'too_many_failures', client: CLIENT }]);
      expect(metrics.rateLimited.inc).toHaveBeenCalledWith({ rule: 'username_failures' });
    });

    it('refuses with 429 a third check of one account while two are running', async () => {
      const running: Array<() => void> = [];
      hasher.verify.mockImplementation(async (hash: string, password: string) => {
        await new Promise<void>((resolve) => running.push(resolve));
        return hash === `hash:${password}`;
      });
      const first = sut.login('alice', PASSWORD, CLIENT);
      const second = sut.login('alice', PASSWORD, CLIENT);
      await new Promise((resolve) => setImmediate(resolve));

      await expect(sut.login('alice', PASSWORD, CLIENT)).rejects.toMatchObject({ status: HttpStatus.TOO_MANY_REQUESTS });
      expect(audited).toEqual([expect.objectContaining({ outcome: 'failure', reason: 'concurrent_attempts' })]);
      expect(metrics.rateLimited.inc).toHaveBeenCalledWith({ rule: 'username_concurrency' });

      for (const resolve of running) resolve();
      await Promise.all([first, second]);
    });

    it('answers 503 without counting a failure when the server is too busy to check, and does not call it rate limiting', async () => {
      hasher.verify.mockRejectedValueOnce(new RetryLaterException('busy', 1, HttpStatus.SERVICE_UNAVAILABLE));

      await expect(sut.login('alice', PASSWORD, CLIENT)).rejects.toMatchObject({ status: HttpStatus.SERVICE_UNAVAILABLE });

      expect(failures.counts.get('alice')).toBe(0);
      expect(audited).toEqual([expect.objectContaining({ outcome: 'failure', reason: 'server_busy' })]);
      expect(metrics.rateLimited.inc).not.toHaveBeenCalled();
    });

    it('times every attempt, refused ones too', async () => {
      await expect(sut.login('alice', 'wrong password', CLIENT)).rejects.toThrow(INVALID_LOGIN);

      expect(metrics.loginDuration.startTimer).toHaveBeenCalledTimes(1);
      expect(stopTimer).toHaveBeenCalledTimes(1);
      expect(metrics.countAuthentication).not.toHaveBeenCalledWith('login', 'success');
    });
  });

  describe('signIn', () => {
    it('issues nothing for an account that is gone', async () => {
      current = null;

      await expect(sut.signIn({ id: 'id-alice', username: 'alice' }, CLIENT, ['pwd'])).resolves.toBeNull();
      expect(sessions.create).not.toHaveBeenCalled();
    });

    it('issues nothing for an account the database says is disabled, even before the registry has heard', async () => {
      current = aUser({ disabled: true, version: 2 });
      registryState.mockResolvedValue(stateOf(aUser()));

      await expect(sut.signIn({ id: 'id-alice', username: 'alice' }, CLIENT, ['pwd'])).resolves.toBeNull();
      expect(sessions.create).not.toHaveBeenCalled();
    });

    it('issues nothing when the registry has heard the account was deleted, disabled, or its name taken by another account', async () => {
      for (const heard of [null, { ...stateOf(aUser()), disabled: true }, { ...stateOf(aUser()), userId: 'id-other-alice' }]) {
        registryState.mockResolvedValueOnce(heard);
        await expect(sut.signIn({ id: 'id-alice', username: 'alice' }, CLIENT, ['pwd'])).resolves.toBeNull();
      }
      expect(sessions.create).not.toHaveBeenCalled();
    });

    it('issues with the current second when the credentials last changed in the past, without waiting', async () => {
      const claims = claimsOf((await sut.signIn({ id: 'id-alice', username: 'alice' }, CLIENT, ['pwd']))!.access_token);

      expect(claims.iat).toBe(NOW_S);
      expect(mockClock.waits).toEqual([]);
    });

    it('waits for the second from which tokens are valid, and never dates a token in the future', async () => {
      current = aUser({ tokensValidAfter: NOW_S + 1, version: 2 });

      const issued = await sut.signIn({ id: 'id-alice', username: 'alice' }, CLIENT, ['pwd']);

      const claims = claimsOf(issued!.access_token);
      expect(claims.iat).toBe(NOW_S + 1);
      expect(mockClock.waits).toEqual([750]);
      expect(claims.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
      expect(registryState).toHaveBeenCalledTimes(1);
    });

    it('never issues before the valid-from second, even when the wait ends a little early', async () => {
      current = aUser({ tokensValidAfter: NOW_S + 1, version: 2 });
      mockClock.early = 1;

      const claims = claimsOf((await sut.signIn({ id: 'id-alice', username: 'alice' }, CLIENT, ['pwd']))!.access_token);

      expect(claims.iat).toBe(NOW_S + 1);
    });

    it("issues for the registry's newer state when a change lands after the database read", async () => {
      registryState.mockResolvedValue({ ...stateOf(aUser()), role: 'operator', tokensValidAfter: NOW_S + 1, version: 3 });

      const claims = claimsOf((await sut.signIn({ id: 'id-alice', username: 'alice' }, CLIENT, ['pwd']))!.access_token);

      expect(claims).toMatchObject({ role: 'operator', iat: NOW_S + 1 });
      expect(registryState).toHaveBeenCalledTimes(2);
    });

    it("keeps the database's newer state when this instance's registry has not heard of the change yet", async () => {
      current = aUser({ role: 'viewer', version: 5 });
      registryState.mockResolvedValue({ ...stateOf(aUser()), role: 'admin', version: 4 });

      const claims = claimsOf((await sut.signIn({ id: 'id-alice', username: 'alice' }, CLIENT, ['pwd']))!.access_token);

      expect(claims.role).toBe('viewer');
    });

    it('signs in again when a change ended the new session while it was written, and answers the live one', async () => {
      sessions.isStillLive.mockResolvedValueOnce(false);

      const issued = await sut.signIn({ id: 'id-alice', username: 'alice' }, CLIENT, ['pwd']);

      expect(sessions.create).toHaveBeenCalledTimes(2);
      const second = (await sessions.create.mock.results[1].value) as { id: string };
      expect(claimsOf(issued!.access_token).sid).toBe(second.id);
    });

    it('signs in again for the newer account when its row changed meanwhile', async () => {
      current = aUser({ role: 'viewer', version: 2 });
      users.findById.mockResolvedValueOnce(aUser());

      const issued = await sut.signIn({ id: 'id-alice', username: 'alice' }, CLIENT, ['pwd']);

      expect(sessions.create).toHaveBeenCalledTimes(2);
      expect(claimsOf(issued!.access_token).role).toBe('viewer');
    });

    it('answers nothing when the account was disabled while the session was written', async () => {
      users.findById.mockResolvedValueOnce(aUser()).mockResolvedValueOnce(aUser({ disabled: true, version: 2 }));

      expect(await sut.signIn({ id: 'id-alice', username: 'alice' }, CLIENT, ['pwd'])).toBeNull();
    });

    it('reads the state back at most three times while changes keep landing', async () => {
      let marker = NOW_S;
      registryState.mockImplementation(() => Promise.resolve({ ...stateOf(aUser()), tokensValidAfter: ++marker }));

      const issued = await sut.signIn({ id: 'id-alice', username: 'alice' }, CLIENT, ['pwd']);

      expect(issued).not.toBeNull();
      expect(registryState).toHaveBeenCalledTimes(3);
      expect(sessions.create).toHaveBeenCalledTimes(1);
    });

    it('records how the user signed in on the session', async () => {
      await sut.signIn({ id: 'id-alice', username: 'alice' }, CLIENT, ['pwd', 'otp']);

      expect(sessions.create).toHaveBeenCalledWith('id-alice', expect.any(Date), CLIENT, ['pwd', 'otp'], null);
    });
  });

  describe('logout', () => {
    it("ends the caller's session and audits it", async () => {
      const principal: Principal = {
        kind: 'user',
        sub: 'alice',
        role: 'analyst',
        permissions: ['alerts:read'],
        source: 'bearer',
        jti: 'jti-1',
        sessionId: randomUUID(),
      };

      await sut.logout(principal, CLIENT);

      expect(sessions.logout).toHaveBeenCalledWith(principal, CLIENT);
      expect(audited).toEqual([{ type: 'auth.logout', outcome: 'success', actor: 'alice', client: CLIENT }]);
    });
  });
});
