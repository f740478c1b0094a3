import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type AuditOutcome = 'success' | 'failure';

// Indexes are created by the migrations (some are partial or descending); synchronize: false keeps
// migration:generate from proposing to drop them.
@Index('audit_events_created_at_idx', { synchronize: false })
@Index('audit_events_type_idx', { synchronize: false })
@Entity('audit_events')
export class AuditEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'varchar', length: 64 })
  type: string;

  @Column({ type: 'varchar', length: 10 })
  outcome: AuditOutcome;

  @Column({ type: 'varchar', length: 200, nullable: true })
  actor: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent: string | null;

  @Column({ type: 'varchar', length: 2000, nullable: true })
  reason: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true })
  requestId: string | null;

  /** Assigned by the database on insert (migration AuditChain): the event's place in the chain. */
  @Column({ type: 'bigint', insert: false, update: false })
  seq: string;

  /** Assigned by the database on insert: sha256 hex of the previous hash and this event's canonical JSON. */
  @Column({ type: 'char', length: 64, insert: false, update: false })
  hash: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
