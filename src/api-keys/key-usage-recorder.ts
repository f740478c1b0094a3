import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

const FLUSH_INTERVAL_MS = 60_000;
const HOUR_MS = 3_600_000;
/** Usage is kept this long. */
export const USAGE_RETENTION_DAYS = 30;

/** What became of one request made with a key. */
export type KeyUseOutcome = 'success' | 'denied' | 'rate_limited';

interface HourCounts {
  keyId: string;
  hour: number;
  success: number;
  denied: number;
  rate_limited: number;
}

/**
 * Keeps key usage off the hot path: the last use (time and address) and hourly counts per key
 * are gathered in memory and written in one batch a minute (never once per request).
 */
@Injectable()
export class KeyUsageRecorder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(KeyUsageRecorder.name);
  private lastUse = new Map<string, { at: number; ip: string | null }>();
  /** Per key, the counts of the current hour; earlier hours wait in `closed` for the next flush. */
  private current = new Map<string, HourCounts>();
  private closed: HourCounts[] = [];
  private timer?: NodeJS.Timeout;
  private lastPrune = 0;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  record(keyId: string, outcome: KeyUseOutcome, ip: string | null, at = Date.now()): void {
    if (outcome === 'success') this.lastUse.set(keyId, { at, ip });
    const hour = at - (at % HOUR_MS);
    let counts = this.current.get(keyId);
    if (!counts || counts.hour !== hour) {
      if (counts) this.closed.push(counts);
      counts = { keyId, hour, success: 0, denied: 0, rate_limited: 0 };
      this.current.set(keyId, counts);
    }
    counts[outcome]++;
  }

  /** Writes what was gathered; what could not be written is kept for the next try. */
  async flush(): Promise<void> {
    const uses = this.lastUse;
    const hours = [...this.closed, ...this.current.values()];
    this.lastUse = new Map();
    this.closed = [];
    this.current = new Map();
    if (uses.size === 0 && hours.length === 0) return;
    try {
      await this.write(uses, hours);
    } catch (error) {
      for (const [id, use] of uses) if (!this.lastUse.has(id)) this.lastUse.set(id, use);
      this.closed.push(...hours);
      this.logger.warn(`could not record API key usage: ${(error as Error).message}`);
    }
  }

  private async write(uses: Map<string, { at: number; ip: string | null }>, hours: HourCounts[]): Promise<void> {
    if (uses.size > 0) {
      const entries = [...uses];
      await this.dataSource.query(
        `UPDATE "api_keys" AS k SET "last_used_at" = v.at, "last_ip" = v.ip
           FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS v(id, at, ip)
          WHERE k."id" = v.id AND (k."last_used_at" IS NULL OR k."last_used_at" <= v.at)`,
        [entries.map(([id]) => id), entries.map(([, use]) => new Date(use.at).toISOString()), entries.map(([, use]) => use.ip)],
      );
    }
    if (hours.length > 0) {
      // Rows of keys deleted meanwhile are skipped by the join rather than failing the batch.
      await this.dataSource.query(
        `INSERT INTO "api_key_usage" ("key_id", "hour", "success", "denied", "rate_limited")
         SELECT v.key_id, v.hour, v.success, v.denied, v.rate_limited
           FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::int[], $5::int[]) AS v(key_id, hour, success, denied, rate_limited)
           JOIN "api_keys" k ON k."id" = v.key_id
         ON CONFLICT ("key_id", "hour") DO UPDATE SET
           "success" = "api_key_usage"."success" + EXCLUDED."success",
           "denied" = "api_key_usage"."denied" + EXCLUDED."denied",
           "rate_limited" = "api_key_usage"."rate_limited" + EXCLUDED."rate_limited"`,
        [
          hours.map((h) => h.keyId),
          hours.map((h) => new Date(h.hour).toISOString()),
          hours.map((h) => h.success),
          hours.map((h) => h.denied),
          hours.map((h) => h.rate_limited),
        ],
      );
    }
    if (Date.now() - this.lastPrune > HOUR_MS) {
      this.lastPrune = Date.now();
      await this.dataSource.query(`DELETE FROM "api_key_usage" WHERE "hour" < now() - make_interval(days => $1)`, [USAGE_RETENTION_DAYS]);
    }
  }
}
