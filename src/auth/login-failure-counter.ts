import { createHash } from 'node:crypto';
import { Injectable, Logger, Optional } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RedisConnection } from '../common/redis.provider';
import { usernameKey } from '../common/username-key';
import { UserLockouts, type LockoutSource } from '../users/user-lockouts';

const WINDOW_MS = 15 * 60_000;
const MAX_TRACKED_USERNAMES = 100_000;
/** Decrements a count that still exists and is positive; never creates one. */
const RELEASE_SCRIPT = `local n = tonumber(redis.call('GET', KEYS[1]) or '0') if n > 0 then return redis.call('DECR', KEYS[1]) end return 0`;

export interface LockStatus {
  locked: boolean;
  retryAfterSeconds: number;
}

/**
 * Failed logins per username in a 15-minute window (LOGIN_MAX_FAILURES_PER_USER); a success resets
 * it. In Redis when REDIS_URL is set, so every instance counts together; in memory otherwise.
 * The throttler's storage has no reset, which this rule needs, hence this small counter.
 *
 * Each attempt is counted as a failure before the password is checked, in one atomic step, and
 * the count is cleared if it succeeds: checking first and counting after would let a burst of
 * concurrent guesses all pass the check while the first ones are still being verified.
 */
@Injectable()
export class LoginFailureCounter implements LockoutSource {
  private readonly logger = new Logger(LoginFailureCounter.name);
  private readonly memory = new Map<string, { count: number; resetAt: number }>();
  private readonly limit: number;

  constructor(
    config: AppConfig,
    private readonly redis: RedisConnection,
    @Optional() lockouts?: UserLockouts,
  ) {
    this.limit = config.loginMaxFailuresPerUser;
    // The user list shows who is locked out and an admin can unlock them (src/users/user-lockouts.ts).
    lockouts?.attach(this);
  }

  private key(username: string): string {
    return `aurora:login-failures:${createHash('sha256').update(usernameKey(username)).digest('hex')}`;
  }

  /** Counts an attempt as a failure until reset() says it succeeded; locked once past the limit. */
  async reserve(username: string): Promise<LockStatus> {
    const key = this.key(username);
    if (this.redis.client) {
      const results = (await this.redis.client.multi().incr(key).pexpire(key, WINDOW_MS, 'NX').pttl(key).exec()) ?? [];
      const failure = results.find(([error]) => error)?.[0];
      if (failure) throw failure;
      const ttl = Number(results[2]?.[1] ?? 0);
      return this.lockStatus(Number(results[0]?.[1] ?? 0), ttl > 0 ? ttl : WINDOW_MS);
    }
    const now = Date.now();
    let entry = this.memory.get(key);
    if (!entry || entry.resetAt <= now) {
      if (this.memory.size >= MAX_TRACKED_USERNAMES) this.pruneExpired(now);
      entry = { count: 0, resetAt: now + WINDOW_MS };
      this.memory.set(key, entry);
    }
    entry.count++;
    return this.lockStatus(entry.count, entry.resetAt - now);
  }

  /** The count includes the attempt being made, so the limit-th failure is still answered. */
  private lockStatus(count: number, remainingMs: number): LockStatus {
    return count > this.limit ? { locked: true, retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) } : { locked: false, retryAfterSeconds: 0 };
  }

  /** Takes back one reserved attempt that was never judged (the server was too busy to check it). */
  async release(username: string): Promise<void> {
    const key = this.key(username);
    if (this.redis.client) {
      await this.redis.client.eval(RELEASE_SCRIPT, 1, key);
      return;
    }
    const entry = this.memory.get(key);
    if (entry && entry.count > 0) entry.count--;
  }

  async reset(username: string): Promise<void> {
    const key = this.key(username);
    if (this.redis.client) await this.redis.client.del(key);
    else this.memory.delete(key);
  }

  /**
   * For each username, when its lock ends, or null when it is not locked: locked once it has
   * LOGIN_MAX_FAILURES_PER_USER failures in the window, since its next attempt is then refused. One
   * Redis round trip (a pipeline of GET and PTTL per name) for the whole list.
   */
  async lockedUntil(usernames: readonly string[]): Promise<Array<Date | null>> {
    if (usernames.length === 0) return [];
    const keys = usernames.map((username) => this.key(username));
    const now = Date.now();
    if (this.redis.client) {
      const pipeline = this.redis.client.pipeline();
      for (const key of keys) pipeline.get(key).pttl(key);
      // The lock state is one column of the users list: while Redis does not answer the list is
      // still served, without it (the sign-in path reports the outage on its own).
      const results = await pipeline.exec().catch((error: unknown) => {
        this.logger.warn(`lock state unreadable, users listed without it: ${(error as Error)?.message ?? 'unknown error'}`);
        return null;
      });
      if (results === null) return keys.map(() => null);
      const failure = results.find(([error]) => error)?.[0];
      if (failure) {
        this.logger.warn(`lock state unreadable, users listed without it: ${failure.message}`);
        return keys.map(() => null);
      }
      return keys.map((_key, i) => {
        const count = Number(results[2 * i]?.[1] ?? 0);
        const ttl = Number(results[2 * i + 1]?.[1] ?? -2);
        return count >= this.limit && ttl > 0 ? new Date(now + ttl) : null;
      });
    }
    return keys.map((key) => {
      const entry = this.memory.get(key);
      return entry && entry.resetAt > now && entry.count >= this.limit ? new Date(entry.resetAt) : null;
    });
  }

  private pruneExpired(now: number): void {
    for (const [key, entry] of this.memory) if (entry.resetAt <= now) this.memory.delete(key);
    if (this.memory.size >= MAX_TRACKED_USERNAMES) this.memory.clear();
  }
}
