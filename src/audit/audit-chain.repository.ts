import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditEvent } from './audit-event.entity';
import type { ChainPosition } from './audit-chain';

/** A stored event row as PostgreSQL returns it (bigint as text). */
interface EventRow {
  id: string;
  seq: string;
  hash: string;
  type: string;
  outcome: 'success' | 'failure';
  actor: string | null;
  ip: string | null;
  user_agent: string | null;
  reason: string | null;
  request_id: string | null;
  created_at: Date | string;
}

interface ChainRow {
  head_seq: string;
  head_hash: string;
  base_seq: string;
  base_hash: string;
}

export interface ChainState {
  head: ChainPosition;
  /** Where the kept events start: the last event retention deleted (seq 0 and 64 zeros before any). */
  base: ChainPosition;
}

export function eventOfRow(row: EventRow): AuditEvent {
  return Object.assign(new AuditEvent(), {
    id: String(row.id),
    seq: String(row.seq),
    hash: row.hash,
    type: row.type,
    outcome: row.outcome,
    actor: row.actor,
    ip: row.ip,
    userAgent: row.user_agent,
    reason: row.reason,
    requestId: row.request_id,
    createdAt: new Date(row.created_at),
  });
}

function stateOf(row: ChainRow): ChainState {
  return {
    head: { seq: Number(row.head_seq), hash: row.head_hash },
    base: { seq: Number(row.base_seq), hash: row.base_hash },
  };
}

/**
 * The audit_events table as a chain. The database numbers and hashes each inserted event itself
 * (migration AuditChain), so appending is one INSERT of the whole batch, and the rows come back
 * with their seq and hash.
 */
@Injectable()
export class AuditChainRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts the batch in its order (seq follows it) and returns the stored rows. */
  async append(batch: AuditEvent[]): Promise<AuditEvent[]> {
    if (batch.length === 0) return [];
    const params: unknown[] = [];
    const tuples = batch.map((event) => {
      const base = params.length;
      params.push(event.type, event.outcome, event.actor, event.ip, event.userAgent, event.reason, event.requestId, event.createdAt);
      return `(${Array.from({ length: 8 }, (_, i) => `$${base + i + 1}`).join(', ')})`;
    });
    const rows = await this.dataSource.query<EventRow[]>(
      `INSERT INTO "audit_events" ("type", "outcome", "actor", "ip", "user_agent", "reason", "request_id", "created_at")
       VALUES ${tuples.join(', ')} RETURNING *`,
      params,
    );
    // RETURNING follows the VALUES order in practice; sorting by seq makes it certain.
    return rows.map(eventOfRow).sort((a, b) => Number(a.seq) - Number(b.seq));
  }

  async state(manager: EntityManager = this.dataSource.manager): Promise<ChainState> {
    const [row] = await manager.query<ChainRow[]>(`SELECT head_seq, head_hash, base_seq, base_hash FROM "audit_chain" WHERE id = 1`);
    return stateOf(row);
  }

  /** Events with seq in (afterSeq, upToSeq], oldest first, at most limit. */
  async page(afterSeq: number, upToSeq: number, limit: number, manager: EntityManager = this.dataSource.manager): Promise<AuditEvent[]> {
    // No upper bound in SQL: with one, stale statistics (after a bulk load) can make the planner
    // sort the whole remaining range for every page; "seq > $1 ORDER BY seq LIMIT" walks the index.
    const rows = await manager.query<EventRow[]>(`SELECT * FROM "audit_events" WHERE seq > $1 ORDER BY seq LIMIT $2`, [afterSeq, limit]);
    return rows.filter((row) => Number(row.seq) <= upToSeq).map(eventOfRow);
  }

  /**
   * Events outside the chain's range (at or below its base, or past its head): inserted behind the
   * chain's back. One statement, one snapshot, so an append committing meanwhile is not one.
   */
  async strays(manager: EntityManager = this.dataSource.manager): Promise<number | null> {
    const [row] = await manager.query<Array<{ seq: string | null }>>(
      `SELECT least((SELECT min(e.seq) FROM "audit_events" e, "audit_chain" c WHERE e.seq <= c.base_seq),
                    (SELECT min(e.seq) FROM "audit_events" e, "audit_chain" c WHERE e.seq > c.head_seq)) AS seq`,
    );
    return row?.seq === null || row?.seq === undefined ? null : Number(row.seq);
  }

  async hashAt(seq: number, manager: EntityManager = this.dataSource.manager): Promise<string | null> {
    const [row] = await manager.query<Array<{ hash: string }>>(`SELECT hash FROM "audit_events" WHERE seq = $1`, [seq]);
    return row?.hash ?? null;
  }

  /**
   * Runs reads in one read-only REPEATABLE READ transaction: every page of a check sees the same
   * snapshot, so retention moving the base meanwhile cannot look like a break.
   */
  readConsistently<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction('REPEATABLE READ', async (manager) => {
      await manager.query('SET TRANSACTION READ ONLY');
      return work(manager);
    });
  }

  /**
   * The retention job's step, in one transaction: locks the chain (appends wait), lets body decide
   * what to delete, deletes the events up to that seq and makes the last deleted one the base.
   * The transaction-local flag is what the append-only trigger lets through.
   */
  async deleteThrough(
    decide: (state: ChainState, manager: EntityManager) => Promise<ChainPosition | null>,
  ): Promise<{ deleted: number; base: ChainPosition } | null> {
    return this.dataSource.transaction(async (manager) => {
      const [row] = await manager.query<ChainRow[]>(`SELECT head_seq, head_hash, base_seq, base_hash FROM "audit_chain" WHERE id = 1 FOR UPDATE`);
      const newBase = await decide(stateOf(row), manager);
      if (!newBase) return null;
      await manager.query(`SET LOCAL aurora.audit_retention = 'on'`);
      // The base first: the append-only trigger lets the flag delete only events at or below it.
      await manager.query(`UPDATE "audit_chain" SET base_seq = $1, base_hash = $2 WHERE id = 1`, [newBase.seq, newBase.hash]);
      const deleted = await manager.query<[unknown, number]>(`DELETE FROM "audit_events" WHERE seq <= $1`, [newBase.seq]);
      return { deleted: Number(deleted[1] ?? 0), base: newBase };
    });
  }
}
