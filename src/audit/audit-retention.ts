import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ChainChecker, ChainPosition } from './audit-chain';
import { AuditChainRepository } from './audit-chain.repository';
import { toAuditEventView } from './audit-event.view';

const DAY_MS = 86_400_000;
/** Events deleted per transaction: appends wait for the chain lock only that long. */
const CHUNK = 5000;
const RUN_EVERY_MS = 3600_000;
/** The first run waits a little, so start-up is not slowed by it. */
const FIRST_RUN_MS = 30_000;

/**
 * AUDIT_RETENTION_DAYS: deletes the events older than that, oldest first, in chunks. Each chunk is
 * checked against the chain before it goes (a tampered or missing event is not erased: the job
 * stops and says so), and the last deleted event becomes the chain's base, from which verification
 * starts. Only a prefix of the chain is deleted (up to the first event that is still young enough),
 * so what is kept stays one unbroken chain. Runs on every instance; the chain lock serialises them.
 */
@Injectable()
export class AuditRetention implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('AuditRetention');
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly config: AppConfig,
    private readonly chain: AuditChainRepository,
  ) {}

  onModuleInit(): void {
    if (!(this.config.auditRetentionDays > 0)) return;
    const tick = () => void this.run().catch((error: Error) => this.logger.warn(`audit retention failed: ${error.message}`));
    this.timer = setTimeout(() => {
      tick();
      this.timer = setInterval(tick, RUN_EVERY_MS);
      this.timer.unref();
    }, FIRST_RUN_MS);
    this.timer.unref();
  }

  /** Deletes what is past retention; resolves with how many events went. */
  run(now = Date.now(), days = this.config.auditRetentionDays): Promise<number> {
    this.running ??= this.deleteExpired(new Date(now - days * DAY_MS)).finally(() => (this.running = undefined));
    return this.running;
  }

  private async deleteExpired(cutoff: Date): Promise<number> {
    let total = 0;
    let base: ChainPosition | undefined;
    for (;;) {
      const step = await this.chain.deleteThrough((state, manager) => this.expiredPrefix(state.base, state.head.seq, cutoff, manager));
      if (!step) break;
      total += step.deleted;
      base = step.base;
      if (step.deleted === 0) break;
    }
    if (total > 0 && base) {
      this.logger.log(
        { audit_chain_base: base },
        `deleted ${total} audit events older than ${cutoff.toISOString()}; the chain now starts after seq ${base.seq} (hash ${base.hash})`,
      );
    }
    return total;
  }

  /**
   * The next chunk to delete: the events after the base, in seq order, up to the first one still
   * young enough (one read of at most CHUNK rows, no scan of what is kept), each checked against
   * the chain first. Returns the position of the last one to delete, or null when none is due.
   */
  private async expiredPrefix(
    base: ChainPosition,
    headSeq: number,
    cutoff: Date,
    manager: Parameters<AuditChainRepository['page']>[3],
  ): Promise<ChainPosition | null> {
    const checker = new ChainChecker(base);
    for (const event of await this.chain.page(base.seq, headSeq, CHUNK, manager)) {
      if (event.createdAt.getTime() >= cutoff.getTime()) break;
      const view = toAuditEventView(event);
      if (!checker.check({ ...view, seq: view.seq!, hash: view.hash! })) {
        throw new Error(
          `the audit chain is broken at seq ${checker.firstBadSeq}; retention deletes nothing until it is looked into (npm run cli -- audit-verify)`,
        );
      }
    }
    return checker.checked > 0 ? checker.position : null;
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
    clearInterval(this.timer);
  }
}
