import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, UnauthorizedException } from '@nestjs/common';
import { AuditRecorder } from '../audit/audit-recorder';
import { MetricsService } from '../metrics/metrics.service';
import type { ClientInfo } from '../common/client-info';
import { PasswordHasher } from '../users/password-hasher';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { PasswordGuessLimiter } from './password-guess-limiter';
import type { Principal } from '../access/principal';
import { SessionRegistry } from './session-registry';
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
    private readonly sessions: SessionRegistry,
    private readonly guesses: PasswordGuessLimiter,
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
    const issued = await this.issueCurrent(found);
    if (!issued) {
      fail('user_disabled');
      throw new UnauthorizedException(INVALID_LOGIN);
    }
    this.audit.record({ type: 'auth.login', outcome: 'success', actor: found.username, client });
    return issued;
  }

  /**
   * A token for the account as it is now, not as it was when its password check began: a role
   * change, disabling or deletion that committed meanwhile is read back (the database, then this
   * instance's registry, which the bus keeps current), so the token is not already dead. null
   * when the account is gone or disabled.
   */
  async issueCurrent(user: Pick<User, 'id' | 'username'>): Promise<IssuedToken | null> {
    const current = await this.users.findById(user.id);
    if (!current || current.disabled) return null;
    let state = { role: current.role, tokensValidAfter: current.tokensValidAfter };
    for (let attempt = 1; ; attempt++) {
      const issuedAt = await this.firstValidSecond(state.tokensValidAfter);
      const { token } = this.tokens.issue(current.username, state.role, issuedAt, current.id);
      const known = await this.sessions.userState(current.username);
      if (!known || known.userId !== current.id || known.disabled) return null;
      if (issuedAt >= known.tokensValidAfter || attempt >= ISSUE_ATTEMPTS) {
        return { access_token: token, token_type: 'bearer', expires_in: this.tokens.lifetimeSeconds };
      }
      state = known;
    }
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
}
