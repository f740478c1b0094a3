import { Injectable } from '@nestjs/common';
import { RetryLaterException } from '../common/retry-later.exception';
import { usernameKey } from '../common/username-key';
import { LoginFailureCounter } from './login-failure-counter';

/** Why an attempt was refused without a verdict on the secret. */
export type GuessRefusal = 'too_many_failures' | 'concurrent_attempts' | 'server_busy';

/**
 * Checks of one account's password that may run at once on this instance: enough for a double
 * click, too few for one account to hold the hashing pool and starve everybody else's sign-in.
 */
export const MAX_CHECKS_IN_FLIGHT_PER_ACCOUNT = 2;

/**
 * The one limiter for every check of a password (logins, the current password of a password
 * change; second factors later): LOGIN_MAX_FAILURES_PER_USER failures per username per 15 minutes
 * shared by all of them, and a bound on checks in flight per account. A check the server was too
 * busy to make (503) is not counted against the user.
 */
@Injectable()
export class PasswordGuessLimiter {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly failures: LoginFailureCounter) {}

  /**
   * Runs `check` (true: the secret was right) under the limits. Refusals before a verdict are
   * reported to `refused` (for the audit) and thrown as 429, or 503 when hashing is saturated.
   */
  async attempt(username: string, check: () => Promise<boolean>, refused: (why: GuessRefusal) => void): Promise<boolean> {
    const account = usernameKey(username);
    const running = this.inFlight.get(account) ?? 0;
    if (running >= MAX_CHECKS_IN_FLIGHT_PER_ACCOUNT) {
      refused('concurrent_attempts');
      throw new RetryLaterException('another password check for this account is running; retry in a moment', 1);
    }
    this.inFlight.set(account, running + 1);
    try {
      return await this.checkCounted(username, check, refused);
    } finally {
      const left = (this.inFlight.get(account) ?? 1) - 1;
      if (left > 0) this.inFlight.set(account, left);
      else this.inFlight.delete(account);
    }
  }

  private async checkCounted(username: string, check: () => Promise<boolean>, refused: (why: GuessRefusal) => void): Promise<boolean> {
    const lock = await this.failures.reserve(username);
    if (lock.locked) {
      refused('too_many_failures');
      throw new RetryLaterException('too many failed attempts for this username; retry later', lock.retryAfterSeconds);
    }
    let right: boolean;
    try {
      right = await check();
    } catch (error) {
      await this.failures.release(username);
      if (error instanceof RetryLaterException && error.getStatus() === 503) refused('server_busy');
      throw error;
    }
    if (right) await this.failures.reset(username);
    return right;
  }
}
