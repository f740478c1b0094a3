import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { isTimestamp } from '../common/is-timestamp';
import { UUID_PATTERN } from '../common/uuid-param.pipe';
import { EventBus } from '../database/event-bus';
import { Alert } from './alert.entity';
import { AlertView, CreateAlertDto, ListAlertsQuery, toAlertView, UpdateAlertDto } from './alerts.dto';

/** Alerts larger than this travel on the bus by id and are read back by each instance. */
const MAX_INLINE_EVENT_BYTES = 6000;

@Injectable()
export class AlertsService {
  constructor(
    @InjectRepository(Alert) private readonly alerts: Repository<Alert>,
    private readonly bus: EventBus,
  ) {}

  async create(dto: CreateAlertDto): Promise<AlertView> {
    const inserted = await this.alerts
      .createQueryBuilder()
      .insert()
      .values({ title: dto.title, severity: dto.severity, source: dto.source, description: dto.description ?? null, status: 'open' })
      .returning('*')
      .execute();
    const view = await this.viewOf(inserted.identifiers[0].id as string);
    await this.announce('alert.created', view);
    return view;
  }

  async updateStatus(id: string, dto: UpdateAlertDto): Promise<AlertView> {
    const result = await this.alerts
      .createQueryBuilder()
      .update()
      .set({ status: dto.status, updatedAt: () => 'clock_timestamp()' })
      .where('id = :id', { id })
      .execute();
    if (!result.affected) throw new NotFoundException('no alert with this id');
    const view = await this.viewOf(id);
    await this.announce('alert.updated', view);
    return view;
  }

  async list(query: ListAlertsQuery): Promise<AlertView[]> {
    const builder = this.alerts
      .createQueryBuilder('a')
      .orderBy('a.created_at', 'DESC')
      .addOrderBy('a.id', 'DESC')
      .limit(query.limit ?? 50);
    if (query.status) builder.andWhere('a.status = :status', { status: query.status });
    if (query.severity) builder.andWhere('a.severity = :severity', { severity: query.severity });
    if (query.before) await this.applyCursor(builder, query.before);
    return (await builder.getMany()).map(toAlertView);
  }

  /** `before` is the id of the last alert seen (keyset on created_at, id) or an ISO 8601 time. */
  private async applyCursor(builder: ReturnType<Repository<Alert>['createQueryBuilder']>, before: string): Promise<void> {
    if (UUID_PATTERN.test(before)) {
      const anchor = await this.alerts.findOne({ where: { id: before.toLowerCase() } });
      if (!anchor) throw new BadRequestException('before must name an existing alert id or be an ISO 8601 time');
      // The anchor's time is read in SQL: a JS Date keeps milliseconds, created_at has microseconds.
      builder.andWhere('(a.created_at, a.id) < (SELECT anchor.created_at, anchor.id FROM alerts anchor WHERE anchor.id = :anchorId)', {
        anchorId: anchor.id,
      });
      return;
    }
    const time = new Date(before);
    if (!isTimestamp(before)) {
      throw new BadRequestException('before must name an existing alert id or be an ISO 8601 time');
    }
    builder.andWhere('a.created_at < :before', { before: time });
  }

  async viewOf(id: string): Promise<AlertView> {
    const alert = await this.alerts.findOne({ where: { id } });
    if (!alert) throw new NotFoundException('no alert with this id');
    return toAlertView(alert);
  }

  private async announce(type: 'alert.created' | 'alert.updated', view: AlertView): Promise<void> {
    const inline = Buffer.byteLength(JSON.stringify(view)) <= MAX_INLINE_EVENT_BYTES;
    await this.bus.publish({ type, alertId: view.id, alert: inline ? view : undefined });
  }
}
