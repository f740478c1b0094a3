import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, UnauthorizedException } from '@nestjs/common';
import { AuditRecorder } from '../audit/audit-recorder';
import { MetricsService } from '../metrics/metrics.service';
import type { ClientInfo } from '../common/client-info';
import { PasswordHasher } from '../users/password-hasher';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import type { AuthMethodUsed } from '../sessions/session.entity';
import { SessionsService } from '../sessions/sessions.service';
import { PasswordGuessLimiter } from './password-guess-limiter';
import type { MfaChallengeView } from '../mfa/mfa.dto';
import { PendingSignIns } from '../mfa/pending-sign-ins';
import { WebAuthnCeremonies } from '../mfa/webauthn-ceremonies';
import type { SecondFactorProof } from '../mfa/second-factor-check';
import type { Principal } from '../access/principal';
import { UserRegistry } from './user-registry';
import { TokenService } from './token.service';

export interface IssuedToken {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

const INVALID_LOGIN = 'invalid username or password';
/** Issuing again when a change lands between the check and the answer; more would mean a storm of changes. */
const ISSUE_ATTEMPTS = 3;

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly tokens: TokenService,
    private readonly registry: UserRegistry,
    private readonly sessions: SessionsService,
    private readonly guesses: PasswordGuessLimiter,
    private readonly audit: AuditRecorder,
    private readonly metrics: MetricsService,
    private readonly pending: PendingSignIns,
    private readonly webauthn: WebAuthnCeremonies,
  ) {}

  /**
   * Unknown users are verified against a dummy hash and disabled users are verified too, so the
   * answer and the time it takes are the same whichever was wrong.
   */
  async login(username: string, password: string, client: ClientInfo): Promise<IssuedToken | MfaChallengeView> {
    const stopTimer = this.metrics.loginDuration.startTimer();
    try {
      const issued = await this.attemptLogin(username, password, client);
      this.metrics.countAuthentication('login', 'success');
      return issued;
    } finally {
      stopTimer();
    }
  }

  private async attemptLogin(username: string, password: string, client: ClientInfo): Promise<IssuedToken | MfaChallengeView> {
    const fail = (reason: string) => {
      this.audit.record({ type: 'auth.login', outcome: 'failure', actor: username, reason, client });
      this.metrics.countAuthentication('login', 'failure', reason);
    };
    let user: User | null = null;
    const right = await this.guesses.attempt(
      username,
      async () => {
        user = await this.users.findByUsername(username);
        return user ? this.hasher.verify(user.passwordHash, password) : this.hasher.verifyAgainstDummy(password);
      },
      (why) => {
        fail(why);
        if (why !== 'server_busy') this.metrics.rateLimited.inc({ rule: why === 'too_many_failures' ? 'username_failures' : 'username_concurrency' });
      },
    );
    const found = user as User | null;
    if (!found || !right || found.disabled) {
      fail(!found ? 'unknown_user' : !right ? 'wrong_password' : 'user_disabled');
      throw new UnauthorizedException(INVALID_LOGIN);
    }
    // A user with a second factor gets no session yet: an mfa_token for the second step.
    const methods = await this.pending.methodsOf(found.id);
    if (methods.length > 0) {
      this.audit.record({ type: 'auth.login', outcome: 'success', actor: found.username, reason: 'password verified; second factor required', client });
      return this.pending.start(found, methods);
    }
    const issued = await this.signIn(found, client, ['pwd']);
    if (!issued) {
      fail('user_disabled');
      throw new UnauthorizedException(INVALID_LOGIN);
    }
    this.audit.record({ type: 'auth.login', outcome: 'success', actor: found.username, client });
    return issued;
  }

  /**
   * A new session, and its token, for the account as it is now, not as it was when its password
   * check began: a role change, disabling or deletion that committed meanwhile is read back (the
   * database, then this instance's registry, which the bus keeps current), so the token is not
   * already dead. null when the account is gone or disabled.
   */
  async signIn(user: Pick<User, 'id' | 'username'>, client: ClientInfo, methods: AuthMethodUsed[], ssoSid: string | null = null): Promise<IssuedToken | null> {
    let current = await this.users.findById(user.id);
    for (let round = 1; current && !current.disabled; round++) {
      const issued = await this.issueFor(current, client, methods, ssoSid);
      if (!issued) return null;
      // A role change or disabling that committed while the session was written ends that
      // session: read the account once more, and sign in again rather than answer a dead token.
      const after = await this.users.findById(current.id);
      if (!after || after.disabled) return null;
      const unchanged = after.version === current.version && (await this.sessions.isStillLive(issued.sessionId));
      if (unchanged || round >= ISSUE_ATTEMPTS) return issued.token;
      current = after;
    }
    return null;
  }

  /** A session and its token for the account's state as read, or newer news of it here. */
  private async issueFor(
    current: User,
    client: ClientInfo,
    methods: AuthMethodUsed[],
    ssoSid: string | null,
  ): Promise<{ token: IssuedToken; sessionId: string } | null> {
    let state = { role: current.role, tokensValidAfter: current.tokensValidAfter, version: current.version };
    let issuedAt: number;
    for (let attempt = 1; ; attempt++) {
      issuedAt = await this.firstValidSecond(state.tokensValidAfter);
      const known = await this.registry.userState(current.username);
      if (!known || known.userId !== current.id || known.disabled) return null;
      // The newer of the two: the registry may not have heard yet of what the database just said.
      if (known.version >= state.version) state = known;
      if (issuedAt >= state.tokensValidAfter || attempt >= ISSUE_ATTEMPTS) break;
    }
    const expiresAt = new Date((issuedAt + this.tokens.lifetimeSeconds) * 1000);
    const session = await this.sessions.create(current.id, expiresAt, client, methods, ssoSid);
    const { token } = this.tokens.issue(current.username, state.role, issuedAt, current.id, session.id);
    return { token: { access_token: token, token_type: 'bearer', expires_in: this.tokens.lifetimeSeconds }, sessionId: session.id };
  }

  /**
   * A credential change denies every token issued up to its second; a login in that same second
   * waits for the next one (at most a second) so that its token is not denied too.
   */
  private async firstValidSecond(tokensValidAfter: number): Promise<number> {
    const waitMs = tokensValidAfter * 1000 - Date.now();
    if (waitMs > 0) await sleep(waitMs);
    return Math.max(Math.floor(Date.now() / 1000), tokensValidAfter);
  }

  /**
   * The second step of a sign-in: the second factor for an mfa_token, then a session whose
   * auth_methods say both (["pwd", "otp"], ["pwd", "recovery"], ["pwd", "webauthn"]).
   */
  async finishMfaSignIn(mfaToken: string, proof: SecondFactorProof, client: ClientInfo): Promise<IssuedToken> {
    const { user, method } = await this.pending.finish(mfaToken, proof, client);
    const issued = await this.signIn(user, client, ['pwd', method]);
    if (!issued) {
      this.audit.record({ type: 'auth.login', outcome: 'failure', actor: user.username, reason: 'user_disabled', client });
      throw new UnauthorizedException(INVALID_LOGIN);
    }
    this.audit.record({ type: 'auth.login', outcome: 'success', actor: user.username, reason: `second factor: ${method}`, client });
    return issued;
  }

  /** A single-use WebAuthn challenge for the second step of a pending sign-in. */
  mfaWebAuthnOptions(mfaToken: string): Promise<unknown> {
    return this.pending.webauthnOptions(mfaToken);
  }

  /** A single-use challenge for signing in with a passkey alone (any discoverable credential). */
  passkeyOptions(): Promise<unknown> {
    return this.webauthn.passkeyOptions();
  }

  /**
   * Sign-in with a passkey alone: the assertion names its credential and so its user; a passkey is
   * possession and (user verification) a PIN or biometric at once, so the session counts as
   * stepped up. Any failure is the same 401.
   */
  async passkeySignIn(response: Record<string, unknown>, client: ClientInfo): Promise<IssuedToken> {
    const fail = (reason: string, actor: string | null = null): never => {
      this.audit.record({ type: 'auth.login', outcome: 'failure', actor, reason: `passkey: ${reason}`, client });
      this.metrics.countAuthentication('passkey', 'failure', reason);
      throw new UnauthorizedException('the passkey was not accepted; try again or sign in with your password');
    };
    const verdict = await this.webauthn.verifyPasskey(response);
    if (!verdict.ok) return fail(verdict.reason);
    const user = await this.users.findById(verdict.userId);
    if (!user || user.disabled) return fail('user_disabled', user?.username ?? null);
    const issued = await this.signIn(user, client, ['webauthn']);
    if (!issued) return fail('user_disabled', user.username);
    this.metrics.countAuthentication('passkey', 'success');
    this.audit.record({ type: 'auth.login', outcome: 'success', actor: user.username, reason: 'passkey', client });
    return issued;
  }

  /** Ends the current session: its tokens are refused here at once and on every instance within a second. */
  async logout(principal: Principal, client: ClientInfo): Promise<void> {
    await this.sessions.logout(principal, client);
    this.audit.record({ type: 'auth.logout', outcome: 'success', actor: principal.sub, client });
  }
}
