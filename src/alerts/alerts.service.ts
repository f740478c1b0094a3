import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { UUID_PATTERN } from '../common/uuid-param.pipe';
import { EventBus } from '../database/event-bus';
import { listStatement, summaryOf, summaryStatement } from './alert-search';
import {
  ALERT_COLUMNS,
  ALERT_FROM,
  type AlertRow,
  type AlertSummaryQuery,
  type AlertSummaryView,
  type AlertView,
  type CreateAlertDto,
  type ListAlertsQuery,
  toAlertView,
} from './alerts.dto';

/** Alerts larger than this travel on the bus by id and are read back by each instance. */
const MAX_INLINE_EVENT_BYTES = 6000;

@Injectable()
export class AlertsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly bus: EventBus,
  ) {}

  async create(dto: CreateAlertDto): Promise<AlertView> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `INSERT INTO "alerts" ("title", "severity", "source", "description", "status") VALUES ($1, $2, $3, $4, 'open') RETURNING "id"`,
      [dto.title, dto.severity, dto.source, dto.description ?? null],
    );
    const view = await this.viewOf(rows[0].id);
    await this.announce('alert.created', view);
    return view;
  }

  async list(query: ListAlertsQuery): Promise<AlertView[]> {
    let anchorId: string | undefined;
    if (query.before !== undefined && UUID_PATTERN.test(query.before)) {
      const found: unknown[] = await this.dataSource.query(`SELECT 1 FROM "alerts" WHERE "id" = $1`, [query.before.toLowerCase()]);
      if (found.length === 0) throw new BadRequestException('before must name an existing alert id or be an ISO 8601 time');
      anchorId = query.before.toLowerCase();
    }
    const plan = listStatement(query, anchorId);
    let rows: AlertRow[] = await this.dataSource.query(plan.sql, plan.params);
    if (plan.fallback && rows.length < plan.limit) rows = await this.dataSource.query(plan.fallback, plan.params);
    return rows.map(toAlertView);
  }

  /** True counts per severity and status over the whole table or the window, never over a page. */
  async summary(query: AlertSummaryQuery): Promise<AlertSummaryView> {
    const { sql, params } = summaryStatement(query.since, query.until);
    const rows: Array<{ severity: string; status: string; n: string }> = await this.dataSource.query(sql, params);
    return summaryOf(rows);
  }

  async viewOf(id: string): Promise<AlertView> {
    const [view] = await this.viewsOf([id]);
    if (!view) throw new NotFoundException('no alert with this id');
    return view;
  }

  /** The views of these alerts (those that exist), in no particular order. */
  async viewsOf(ids: readonly string[]): Promise<AlertView[]> {
    const rows: AlertRow[] = await this.dataSource.query(`SELECT ${ALERT_COLUMNS} FROM ${ALERT_FROM} WHERE a."id" = ANY($1::uuid[])`, [ids]);
    return rows.map(toAlertView);
  }

  /** Tells every instance (and so every socket on /ws/alerts) about a new or changed alert. */
  async announce(type: 'alert.created' | 'alert.updated', view: AlertView): Promise<void> {
    const inline = Buffer.byteLength(JSON.stringify(view)) <= MAX_INLINE_EVENT_BYTES;
    await this.bus.publish({ type, alertId: view.id, alert: inline ? view : undefined });
  }
}
