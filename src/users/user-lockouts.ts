import { Injectable } from '@nestjs/common';

/** Where the per-username failure state lives (LoginFailureCounter in src/auth, which attaches itself). */
export interface LockoutSource {
  /** For each username, the time its failures lock it until (its next attempt is refused), or null. */
  lockedUntil(usernames: readonly string[]): Promise<Array<Date | null>>;
  /** Forgets the username's failures, so its next sign-in is judged on the password alone. */
  reset(username: string): Promise<void>;
}

/**
 * The users' view of the login lockout (LOGIN_MAX_FAILURES_PER_USER): the user list shows who is
 * locked, and an admin can unlock someone. The counter lives in src/auth, which imports this
 * folder, so it attaches itself here when it is created instead of being imported.
 */
@Injectable()
export class UserLockouts {
  private source: LockoutSource | null = null;

  attach(source: LockoutSource): void {
    this.source = source;
  }

  lockedUntil(usernames: readonly string[]): Promise<Array<Date | null>> {
    return this.source ? this.source.lockedUntil(usernames) : Promise.resolve(usernames.map(() => null));
  }

  async unlock(username: string): Promise<void> {
    await this.source?.reset(username);
  }
}
