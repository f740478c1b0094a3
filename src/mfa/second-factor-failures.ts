import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RedisConnection } from '../common/redis.provider';
import { rowsOf } from './mfa.repository';

/** The contract's limit: 5 failed second factors per user per 15 minutes, then 429. */
export const MAX_SECOND_FACTOR_FAILURES = 5;
const WINDOW_MS = 15 * 60_000;
const RELEASE_SCRIPT = `local n = tonumber(redis.call('GET', KEYS[1]) or '0') if n > 0 then return redis.call('DECR', KEYS[1]) end return 0`;

export interface FailureLock {
  locked: boolean;
  retryAfterSeconds: number;
}

/**
 * Failed second factors per user, counted apart from password failures (so that whoever knows a
 * username cannot lock its owner out of the second step, and guessing the second factor does not
 * spend the password's allowance). Shared by every instance: in Redis when REDIS_URL is set, else
 * in the database; never in one process's memory, which would multiply the limit by the number of
 * instances. Like the login counter, each attempt is counted before its check in one atomic step
 * (increment, then compare), and taken back when it succeeds: parallel guesses cannot all pass a
 * check that ran before any of them was counted.
 */
@Injectable()
export class SecondFactorFailures {
  constructor(
    private readonly redis: RedisConnection,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  private key(userId: string): string {
    return `aurora:mfa-failures:${userId}`;
  }

  async reserve(userId: string): Promise<FailureLock> {
    if (this.redis.client) {
      const key = this.key(userId);
      const results = (await this.redis.client.multi().incr(key).pexpire(key, WINDOW_MS, 'NX').pttl(key).exec()) ?? [];
      const failure = results.find(([error]) => error)?.[0];
      if (failure) throw failure;
      const ttl = Number(results[2]?.[1] ?? 0);
      return lockOf(Number(results[0]?.[1] ?? 0), ttl > 0 ? ttl : WINDOW_MS);
    }
    const [row] = rowsOf<{ count: number; remaining_ms: string | number }>(
      await this.dataSource.query(
        `INSERT INTO "mfa_failures" AS f ("user_id", "count", "window_ends_at") VALUES ($1, 1, now() + make_interval(secs => $2))
         ON CONFLICT ("user_id") DO UPDATE SET
           "count" = CASE WHEN f."window_ends_at" <= now() THEN 1 ELSE f."count" + 1 END,
           "window_ends_at" = CASE WHEN f."window_ends_at" <= now() THEN EXCLUDED."window_ends_at" ELSE f."window_ends_at" END
         RETURNING "count", GREATEST(0, EXTRACT(EPOCH FROM ("window_ends_at" - now())) * 1000) AS "remaining_ms"`,
        [userId, WINDOW_MS / 1000],
      ),
    );
    return lockOf(Number(row.count), Number(row.remaining_ms));
  }

  /** Takes back an attempt that was never judged (the check itself failed). */
  async release(userId: string): Promise<void> {
    if (this.redis.client) {
      await this.redis.client.eval(RELEASE_SCRIPT, 1, this.key(userId));
      return;
    }
    await this.dataSource.query(`UPDATE "mfa_failures" SET "count" = "count" - 1 WHERE "user_id" = $1 AND "count" > 0`, [userId]);
  }

  /** A second factor succeeded: the count starts again. */
  async reset(userId: string): Promise<void> {
    if (this.redis.client) await this.redis.client.del(this.key(userId));
    else await this.dataSource.query(`DELETE FROM "mfa_failures" WHERE "user_id" = $1`, [userId]);
  }
}

/** The count includes the attempt being made, so the limit-th failure is still answered. */
function lockOf(count: number, remainingMs: number): FailureLock {
  return count > MAX_SECOND_FACTOR_FAILURES
    ? { locked: true, retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) }
    : { locked: false, retryAfterSeconds: 0 };
}
