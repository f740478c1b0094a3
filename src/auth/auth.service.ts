import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, UnauthorizedException } from '@nestjs/common';
import { AuditRecorder } from '../audit/audit-recorder';
import { MetricsService } from '../metrics/metrics.service';
import type { ClientInfo } from '../common/client-info';
import { RetryLaterException } from '../common/retry-later.exception';
import { PasswordHasher } from '../users/password-hasher';
import { UsersService } from '../users/users.service';
import { LoginFailureCounter } from './login-failure-counter';
import type { Principal } from './principal';
import { SessionRegistry } from './session-registry';
import { TokenService } from './token.service';

export interface IssuedToken {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

const INVALID_LOGIN = 'invalid username or password';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly tokens: TokenService,
    private readonly sessions: SessionRegistry,
    private readonly failures: LoginFailureCounter,
    private readonly audit: AuditRecorder,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Unknown users are verified against a dummy hash and disabled users are verified too, so the
   * answer and the time it takes are the same whichever was wrong.
   */
  async login(username: string, password: string, client: ClientInfo): Promise<IssuedToken> {
    const stopTimer = this.metrics.loginDuration.startTimer();
    try {
      const issued = await this.attemptLogin(username, password, client);
      this.metrics.countAuthentication('login', 'success');
      return issued;
    } finally {
      stopTimer();
    }
  }

  private async attemptLogin(username: string, password: string, client: ClientInfo): Promise<IssuedToken> {
    const lock = await this.failures.reserve(username);
    if (lock.locked) {
      this.audit.record({ type: 'auth.login', outcome: 'failure', actor: username, reason: 'too_many_failures', client });
      this.metrics.countAuthentication('login', 'failure', 'too_many_failures');
      this.metrics.rateLimited.inc({ rule: 'username_failures' });
      throw new RetryLaterException('too many failed logins for this username; retry later', lock.retryAfterSeconds);
    }
    const user = await this.users.findByUsername(username);
    const passwordMatches = user ? await this.hasher.verify(user.passwordHash, password) : await this.hasher.verifyAgainstDummy(password);
    if (!user || !passwordMatches || user.disabled) {
      const reason = !user ? 'unknown_user' : !passwordMatches ? 'wrong_password' : 'user_disabled';
      this.audit.record({ type: 'auth.login', outcome: 'failure', actor: username, reason, client });
      this.metrics.countAuthentication('login', 'failure', reason);
      throw new UnauthorizedException(INVALID_LOGIN);
    }
    await this.failures.reset(username);
    const issuedAt = await this.firstValidSecond(user.tokensValidAfter);
    const { token } = this.tokens.issue(user.username, user.role, issuedAt, user.id);
    this.audit.record({ type: 'auth.login', outcome: 'success', actor: user.username, client });
    return { access_token: token, token_type: 'bearer', expires_in: this.tokens.lifetimeSeconds };
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

  async logout(principal: Principal, client: ClientInfo): Promise<void> {
    if (principal.jti && principal.tokenExpiresAt) await this.sessions.denyToken(principal.jti, principal.tokenExpiresAt);
    this.audit.record({ type: 'auth.logout', outcome: 'success', actor: principal.sub, client });
  }

  /** After changing one's own password, a browser keeps working with a fresh cookie. */
  async reissue(user: { id: string; username: string; role: Principal['role']; tokensValidAfter: number }): Promise<IssuedToken> {
    const issuedAt = await this.firstValidSecond(user.tokensValidAfter);
    const { token } = this.tokens.issue(user.username, user.role, issuedAt, user.id);
    return { access_token: token, token_type: 'bearer', expires_in: this.tokens.lifetimeSeconds };
  }
}
