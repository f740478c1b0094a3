import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RedisConnection } from '../common/redis.provider';

const WINDOW_MS = 15 * 60_000;
const MAX_TRACKED_USERNAMES = 100_000;

export interface LockStatus {
  locked: boolean;
  retryAfterSeconds: number;
}

/**
 * Failed logins per username in a 15-minute window (LOGIN_MAX_FAILURES_PER_USER); a success resets
 * it. In Redis when REDIS_URL is set, so every instance counts together; in memory otherwise.
 * The throttler's storage has no reset, which this rule needs, hence this small counter.
 */
@Injectable()
export class LoginFailureCounter {
  private readonly memory = new Map<string, { count: number; resetAt: number }>();
  private readonly limit: number;

  constructor(
    config: AppConfig,
    private readonly redis: RedisConnection,
  ) {
    this.limit = config.loginMaxFailuresPerUser;
  }

  private key(username: string): string {
    return `aurora:login-failures:${createHash('sha256').update(username.toLowerCase()).digest('hex')}`;
  }

  async status(username: string): Promise<LockStatus> {
    const key = this.key(username);
    const now = Date.now();
    if (this.redis.client) {
      const [count, ttl] = await Promise.all([this.redis.client.get(key), this.redis.client.pttl(key)]);
      return this.lockStatus(Number(count ?? 0), ttl > 0 ? ttl : 0);
    }
    const entry = this.memory.get(key);
    if (!entry || entry.resetAt <= now) return { locked: false, retryAfterSeconds: 0 };
    return this.lockStatus(entry.count, entry.resetAt - now);
  }

  private lockStatus(count: number, remainingMs: number): LockStatus {
    return count >= this.limit
      ? { locked: true, retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) }
      : { locked: false, retryAfterSeconds: 0 };
  }

  async recordFailure(username: string): Promise<void> {
    const key = this.key(username);
    if (this.redis.client) {
      await this.redis.client.multi().incr(key).pexpire(key, WINDOW_MS, 'NX').exec();
      return;
    }
    const now = Date.now();
    const entry = this.memory.get(key);
    if (!entry || entry.resetAt <= now) {
      if (this.memory.size >= MAX_TRACKED_USERNAMES) this.pruneExpired(now);
      this.memory.set(key, { count: 1, resetAt: now + WINDOW_MS });
    } else {
      entry.count++;
    }
  }

  async reset(username: string): Promise<void> {
    const key = this.key(username);
    if (this.redis.client) await this.redis.client.del(key);
    else this.memory.delete(key);
  }

  private pruneExpired(now: number): void {
    for (const [key, entry] of this.memory) if (entry.resetAt <= now) this.memory.delete(key);
    if (this.memory.size >= MAX_TRACKED_USERNAMES) this.memory.clear();
  }
}
