import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ChainChecker, ChainPosition } from './audit-chain';
import { AuditChainRepository } from './audit-chain.repository';
import { toAuditEventView } from './audit-event.view';

/** Events read per query: memory stays flat however long the chain. */
const PAGE = 2000;

export interface VerifyResult {
  ok: boolean;
  checked: number;
  head: ChainPosition;
  first_bad_seq: number | null;
}

/**
 * Recomputes the chain from the stored events, as a collector would from the export: from the
 * chain's base (the last event retention deleted, or the start), or from the event before
 * `fromSeq`, up to the head recorded when the check began (later appends are for the next check).
 */
@Injectable()
export class AuditVerifier {
  /** Checks on one instance run one after another: each reads the whole chain. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly chain: AuditChainRepository) {}

  /** One snapshot for the whole check (retention meanwhile cannot look like a break); one check at a time. */
  verify(fromSeq?: number): Promise<VerifyResult> {
    const run = this.queue.then(() => this.chain.readConsistently((manager) => this.check(fromSeq, manager)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async check(fromSeq: number | undefined, manager: EntityManager): Promise<VerifyResult> {
    const { head, base } = await this.chain.state(manager);
    let start: ChainPosition = base;
    if (fromSeq !== undefined && fromSeq - 1 > base.seq) {
      const startSeq = Math.min(fromSeq - 1, head.seq);
      const hash = await this.chain.hashAt(startSeq, manager);
      // The event the check starts from is gone: that is where the chain is broken.
      if (hash === null) return { ok: false, checked: 0, head, first_bad_seq: startSeq };
      start = { seq: startSeq, hash };
    }
    const checker = new ChainChecker(start);
    let after = start.seq;
    for (;;) {
      const page = await this.chain.page(after, head.seq, PAGE, manager);
      for (const event of page) {
        const view = toAuditEventView(event);
        if (!checker.check({ ...view, seq: view.seq!, hash: view.hash! })) break;
      }
      if (!checker.ok || page.length < PAGE) break;
      after = Number(page[page.length - 1].seq);
    }
    checker.finish(head);
    let firstBad = checker.firstBadSeq;
    if (firstBad === null) firstBad = await this.chain.strays(manager);
    return { ok: firstBad === null, checked: checker.checked, head, first_bad_seq: firstBad };
  }
}
