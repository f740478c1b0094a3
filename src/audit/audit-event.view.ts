import type { AuditEvent } from './audit-event.entity';

/** The contract's shape of an audit event. */
export interface AuditEventView {
  id: string;
  /** Place in the hash chain (gapless across instances); absent only before the database wrote the event. */
  seq?: number;
  hash?: string;
  type: string;
  outcome: 'success' | 'failure';
  actor: string | null;
  ip: string | null;
  user_agent: string | null;
  reason: string | null;
  request_id: string | null;
  created_at: string;
}

export function toAuditEventView(event: AuditEvent): AuditEventView {
  return {
    id: event.id === undefined ? event.id : String(event.id),
    seq: event.seq === undefined || event.seq === null ? undefined : Number(event.seq),
    hash: event.hash ?? undefined,
    type: event.type,
    outcome: event.outcome,
    actor: event.actor,
    ip: event.ip,
    user_agent: event.userAgent,
    reason: event.reason,
    request_id: event.requestId ?? null,
    created_at: new Date(event.createdAt).toISOString(),
  };
}
