import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ApiKey } from './api-key.entity';

const FLUSH_INTERVAL_MS = 60_000;

/** Keeps last_used_at off the hot path: remembered in memory, written at most once a minute per key. */
@Injectable()
export class LastUsedRecorder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(LastUsedRecorder.name);
  /** Key id → epoch ms of its latest use; a number, so the hot path allocates nothing. */
  private pending = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(@InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  touch(keyId: string, at = Date.now()): void {
    this.pending.set(keyId, at);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.keys.query(
        `UPDATE "api_keys" AS k SET "last_used_at" = GREATEST(COALESCE(k."last_used_at", v.at), v.at)
           FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at) WHERE k."id" = v.id`,
        [[...batch.keys()], [...batch.values()].map((at) => new Date(at).toISOString())],
      );
    } catch (error) {
      for (const [id, at] of batch) if (!this.pending.has(id)) this.pending.set(id, at);
      this.logger.warn(`could not record API key use: ${(error as Error).message}`);
    }
  }
}
