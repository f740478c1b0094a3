import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

// Indexes are created by the migrations (some are partial or descending); synchronize: false keeps
// migration:generate from proposing to drop them. The generated columns search_document and
// severity_rank (migration AlertTriage) are read by SQL only, never through this entity.
@Index('alerts_created_at_idx', { synchronize: false })
@Entity('alerts')
export class Alert {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 200 })
  title: string;

  @Column({ type: 'varchar', length: 10 })
  severity: Severity;

  @Column({ type: 'varchar', length: 100 })
  source: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ type: 'varchar', length: 20, default: 'open' })
  status: AlertStatus;

  /** The user the alert is assigned to (views show their username); null when unassigned. */
  @Column({ name: 'assignee_id', type: 'uuid', nullable: true })
  assigneeId: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', insert: false, update: false, default: () => 'clock_timestamp()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', insert: false, default: () => 'clock_timestamp()' })
  updatedAt: Date;
}
