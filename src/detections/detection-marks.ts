import type Redis from 'ioredis';
import type { DataSource } from 'typeorm';

/** One alert per rule and subject per window, whichever instance asks first. */
export interface DetectionMarks {
  /** true for the first claim of (rule, subject) in windowMs: that caller raises the alert. */
  claim(rule: string, subject: string, at: number, windowMs: number): Promise<boolean>;
}

export class RedisMarks implements DetectionMarks {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'aurora:detect:mark:',
  ) {}

  async claim(rule: string, subject: string, _at: number, windowMs: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}${rule}:${subject}`, '1', 'PX', windowMs, 'NX')) === 'OK';
  }
}

/** Without Redis: a row per (rule, subject) whose time moves on only once the window has passed. */
export class PostgresMarks implements DetectionMarks {
  constructor(private readonly dataSource: DataSource) {}

  async claim(rule: string, subject: string, at: number, windowMs: number): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(
      `INSERT INTO "detection_marks" ("rule", "subject", "raised_at") VALUES ($1, $2, $3)
       ON CONFLICT ("rule", "subject") DO UPDATE SET "raised_at" = EXCLUDED."raised_at"
        WHERE "detection_marks"."raised_at" <= EXCLUDED."raised_at" - make_interval(secs => $4::double precision / 1000)
       RETURNING "rule"`,
      [rule, subject, new Date(at), windowMs],
    );
    return rows.length > 0;
  }
}
