import { isIPv4 } from 'node:net';
import { BadRequestException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditEvent } from './audit-event.entity';
import { AuditEventView, toAuditEventView } from './audit-event.view';
import { sanitizeAuditText } from './audit-recorder';
import type { ExportAuditEventsQuery, ListAuditEventsQuery } from './audit.dto';

const EXPORT_BATCH = 1000;
const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** The forms an actor may be stored in: as given, and escaped as the recorder stores it (no NUL reaches PostgreSQL). */
function actorForms(actor: string): string[] {
  return [...new Set([actor, sanitizeAuditText(actor, 200)!])].filter((form) => !form.includes('\u0000'));
}

/** An IPv4 address is recorded plain or IPv4-mapped (::ffff:1.2.3.4), depending on the listening socket. */
function ipForms(ip: string): string[] {
  const mapped = IPV4_MAPPED.exec(ip);
  if (mapped) return [ip.toLowerCase(), mapped[1]];
  return isIPv4(ip) ? [ip, `::ffff:${ip}`] : [ip.toLowerCase()];
}

/** A time window whose end is not after its start is a mistake, not an empty answer. */
export function checkWindow(since: string | undefined, until: string | undefined): void {
  if (since && until && Date.parse(until) <= Date.parse(since)) throw new BadRequestException('until must be later than since');
}

@Injectable()
export class AuditQueryService {
  constructor(@InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>) {}

  /** Newest first by id, which the type and time indexes serve; seq follows the same order but for appends racing between instances. */
  async list(query: ListAuditEventsQuery): Promise<AuditEventView[]> {
    checkWindow(query.since, query.until);
    const builder = this.events
      .createQueryBuilder('e')
      .orderBy('e.id', 'DESC')
      .limit(query.limit ?? 100);
    if (query.type) builder.andWhere('e.type = :type', { type: query.type });
    if (query.outcome) builder.andWhere('e.outcome = :outcome', { outcome: query.outcome });
    if (query.since) builder.andWhere('e.created_at >= :since', { since: new Date(query.since) });
    if (query.until) builder.andWhere('e.created_at < :until', { until: new Date(query.until) });
    if (query.actor !== undefined) builder.andWhere('e.actor IN (:...actors)', { actors: actorForms(query.actor) });
    if (query.ip) builder.andWhere('e.ip IN (:...ips)', { ips: ipForms(query.ip) });
    if (query.before) builder.andWhere('e.id < :before', { before: query.before });
    return (await builder.getMany()).map(toAuditEventView);
  }

  /**
   * Every event in the window, oldest first, fetched by keyset in batches so memory stays flat
   * however many there are.
   */
  async *export(query: ExportAuditEventsQuery): AsyncGenerator<AuditEventView> {
    // In chain order (seq), so a collector can check each event's hash against the one before.
    let afterSeq = '0';
    for (;;) {
      const builder = this.events.createQueryBuilder('e').where('e.seq > :afterSeq', { afterSeq }).orderBy('e.seq', 'ASC').limit(EXPORT_BATCH);
      if (query.since) builder.andWhere('e.created_at >= :since', { since: new Date(query.since) });
      if (query.until) builder.andWhere('e.created_at < :until', { until: new Date(query.until) });
      const batch = await builder.getMany();
      for (const event of batch) yield toAuditEventView(event);
      if (batch.length < EXPORT_BATCH) return;
      afterSeq = String(batch[batch.length - 1].seq);
    }
  }
}
