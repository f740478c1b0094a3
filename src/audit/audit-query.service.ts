import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditEvent } from './audit-event.entity';
import { AuditEventView, toAuditEventView } from './audit-event.view';
import type { ExportAuditEventsQuery, ListAuditEventsQuery } from './audit.dto';

const EXPORT_BATCH = 1000;

@Injectable()
export class AuditQueryService {
  constructor(@InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>) {}

  /** Newest first by id, which the type and time indexes serve; seq follows the same order but for appends racing between instances. */
  async list(query: ListAuditEventsQuery): Promise<AuditEventView[]> {
    const builder = this.events
      .createQueryBuilder('e')
      .orderBy('e.id', 'DESC')
      .limit(query.limit ?? 100);
    if (query.type) builder.andWhere('e.type = :type', { type: query.type });
    if (query.outcome) builder.andWhere('e.outcome = :outcome', { outcome: query.outcome });
    if (query.since) builder.andWhere('e.created_at >= :since', { since: new Date(query.since) });
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
