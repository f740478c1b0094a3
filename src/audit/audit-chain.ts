import { createHash } from 'node:crypto';

/** The hash before the first event. */
export const ZERO_HASH = '0'.repeat(64);

/** The hashed fields of an event, as the API shows them. */
export interface ChainedFields {
  seq: number;
  type: string;
  outcome: string;
  actor: string | null;
  ip: string | null;
  user_agent: string | null;
  reason: string | null;
  request_id: string | null;
  /** ISO-8601 with milliseconds in UTC, as Date.prototype.toISOString writes it. */
  created_at: string;
}

/**
 * The contract's canonical JSON of an event: those fields only, keys sorted, no spaces. The same
 * text is built in SQL by the database's insert trigger (migration AuditChain); a collector can
 * build it from an event of the list, the export or the socket.
 */
export function canonicalAuditJson(event: ChainedFields): string {
  // Keys in sorted order: JSON.stringify keeps the order of insertion.
  return JSON.stringify({
    actor: event.actor,
    created_at: event.created_at,
    ip: event.ip,
    outcome: event.outcome,
    reason: event.reason,
    request_id: event.request_id,
    seq: event.seq,
    type: event.type,
    user_agent: event.user_agent,
  });
}

/** sha256 hex of the previous event's hash followed by this event's canonical JSON (UTF-8). */
export function chainHash(previousHash: string, event: ChainedFields): string {
  return createHash('sha256')
    .update(previousHash + canonicalAuditJson(event), 'utf8')
    .digest('hex');
}

export interface ChainPosition {
  seq: number;
  hash: string;
}

/**
 * Checks events handed over in seq order, from a trusted position (the previous event, or the
 * chain's base): each must be the next seq and carry the hash recomputed from its fields. The first
 * break is kept; memory does not grow with the number of events.
 */
export class ChainChecker {
  checked = 0;
  firstBadSeq: number | null = null;
  private expected: ChainPosition;

  constructor(start: ChainPosition) {
    this.expected = { ...start };
  }

  get ok(): boolean {
    return this.firstBadSeq === null;
  }

  /** false once the chain is broken (nothing further is checked). */
  check(event: ChainedFields & { hash: string }): boolean {
    if (this.firstBadSeq !== null) return false;
    const seq = this.expected.seq + 1;
    // A missing event is named by its seq; an inserted or changed one by its own.
    if (event.seq !== seq) {
      this.firstBadSeq = Math.min(seq, event.seq);
      return false;
    }
    this.checked++;
    if (chainHash(this.expected.hash, event) !== event.hash) {
      this.firstBadSeq = seq;
      return false;
    }
    this.expected = { seq, hash: event.hash };
    return true;
  }

  /** After the last event: the chain must reach the head the database records. */
  finish(head: ChainPosition): void {
    if (this.firstBadSeq !== null) return;
    if (this.expected.seq < head.seq) this.firstBadSeq = this.expected.seq + 1;
    else if (this.expected.seq === head.seq && this.expected.hash !== head.hash) this.firstBadSeq = head.seq;
  }

  get position(): ChainPosition {
    return { ...this.expected };
  }
}
