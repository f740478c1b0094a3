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
 * checked against the chain before it goes (a tampered event is not erased: the job stops and says
 * so), and the last deleted event becomes the chain's base, from which verification starts. Only
 * a prefix of the chain is deleted (up to the first event that is still young enough), so what is
 * kept stays one unbroken chain. Runs on every instance; the chain lock serialises them.
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
    for (;;) {
      const step = await this.chain.deleteThrough(async (state, manager) => {
        const firstKept = (await this.chain.firstSeqSince(cutoff, manager)) ?? state.head.seq + 1;
        const last = Math.min(firstKept - 1, state.base.seq + CHUNK);
        if (last <= state.base.seq) return null;
        return this.checkedPosition(state.base, last, manager);
      });
      if (!step) break;
      total += step.deleted;
      if (step.deleted === 0) break;
    }
    if (total > 0) this.logger.log(`deleted ${total} audit events older than ${cutoff.toISOString()}; the chain now starts after them`);
    return total;
  }

  /** The position of event `last`, after checking the events from the base up to it. */
  private async checkedPosition(base: ChainPosition, last: number, manager: Parameters<AuditChainRepository['page']>[3]): Promise<ChainPosition> {
    const checker = new ChainChecker(base);
    for (const event of await this.chain.page(base.seq, last, last - base.seq, manager)) {
      const view = toAuditEventView(event);
      checker.check({ ...view, seq: view.seq!, hash: view.hash! });
    }
    checker.finish({ seq: last, hash: checker.position.hash });
    if (!checker.ok) {
      throw new Error(
        `the audit chain is broken at seq ${checker.firstBadSeq}; retention deletes nothing until it is looked into (npm run cli -- audit-verify)`,
      );
    }
    return checker.position;
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
    clearInterval(this.timer);
  }
}
