import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { EventBus } from '../database/event-bus';
import { MetricsService } from '../metrics/metrics.service';
import { AuditChainRepository } from './audit-chain.repository';
import type { ChainPosition } from './audit-chain';

/** How often the head is logged, for an external log store to anchor it. */
export const HEAD_LOG_INTERVAL_MS = 5 * 60_000;

/**
 * Anchors the chain outside the database (README, "Audit"): a log line with the head seq and hash
 * every 5 minutes, and the gauge aurora_audit_chain_head_seq. The gauge is read from memory at
 * scrape time (the highest seq seen on the bus, from every instance, and the last read of the
 * head), never from the database.
 */
@Injectable()
export class AuditChainMonitor implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('AuditChain');
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  headSeq = 0;

  constructor(
    private readonly chain: AuditChainRepository,
    private readonly bus: EventBus,
    metrics: MetricsService,
  ) {
    metrics.gauge('aurora_audit_chain_head_seq', 'Seq of the newest audit event in the hash chain', () => this.headSeq);
  }

  onModuleInit(): void {
    this.unsubscribe = this.bus.on('audit.recorded', (event) => {
      const seq = (event.event as { seq?: unknown }).seq;
      if (typeof seq === 'number' && seq > this.headSeq) this.headSeq = seq;
    });
    void this.logHead();
    this.timer = setInterval(() => void this.logHead(), HEAD_LOG_INTERVAL_MS);
    this.timer.unref();
  }

  /** Reads the head and logs it; a database that does not answer is logged and tried next time. */
  async logHead(): Promise<ChainPosition | null> {
    try {
      const { head, base } = await this.chain.state();
      if (head.seq > this.headSeq) this.headSeq = head.seq;
      // The base too: it moves only when retention deletes, so a base that moved otherwise shows.
      this.logger.log({ audit_chain_head: head, audit_chain_base: base }, `audit chain head seq ${head.seq} hash ${head.hash}`);
      return head;
    } catch (error) {
      this.logger.warn(`could not read the audit chain head: ${(error as Error).message}`);
      return null;
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
  }
}
