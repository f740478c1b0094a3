import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsString, Length, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { CharLength } from '../common/char-length';
import { IsTimestamp } from '../common/is-timestamp';
import { OptionalField } from '../common/validation';
import { ALERT_STATUSES, type AlertStatus, SEVERITIES, type Severity } from './alert.entity';

export const ALERT_SORTS = ['newest', 'oldest', 'severity'] as const;
export type AlertSort = (typeof ALERT_SORTS)[number];

export class CreateAlertDto {
  @ApiProperty({ minLength: 1, maxLength: 200 })
  @IsString()
  @CharLength(1, 200)
  @Matches(/\S/, { message: 'title must not be blank' })
  title: string;

  @ApiProperty({ enum: SEVERITIES })
  @IsIn(SEVERITIES, { message: `severity must be one of ${SEVERITIES.join(', ')}` })
  severity: Severity;

  @ApiProperty({ minLength: 1, maxLength: 100 })
  @IsString()
  @CharLength(1, 100)
  @Matches(/\S/, { message: 'source must not be blank' })
  source: string;

  @ApiPropertyOptional({ maxLength: 10_000 })
  @OptionalField()
  @IsString()
  @MaxLength(10_000)
  description?: string;
}

export class UpdateAlertDto {
  @ApiPropertyOptional({ enum: ALERT_STATUSES })
  @OptionalField()
  @IsIn(ALERT_STATUSES, { message: `status must be one of ${ALERT_STATUSES.join(', ')}` })
  status?: AlertStatus;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'the username of an enabled user who holds alerts:write; null unassigns' })
  // null is a value here: it unassigns.
  @ValidateIf((_dto, value) => value !== undefined && value !== null)
  @IsString()
  @Length(1, 100)
  assignee?: string | null;
}

/** The time window on created_at, shared by the list and the summary. */
export class AlertSummaryQuery {
  @ApiPropertyOptional({ description: 'ISO 8601 time: alerts created at or after it' })
  @OptionalField()
  @IsTimestamp()
  since?: string;

  @ApiPropertyOptional({ description: 'ISO 8601 time: alerts created before it' })
  @OptionalField()
  @IsTimestamp()
  until?: string;
}

export class ListAlertsQuery extends AlertSummaryQuery {
  @ApiPropertyOptional({ enum: ALERT_STATUSES })
  @OptionalField()
  @IsIn(ALERT_STATUSES, { message: `status must be one of ${ALERT_STATUSES.join(', ')}` })
  status?: AlertStatus;

  @ApiPropertyOptional({ enum: SEVERITIES })
  @OptionalField()
  @IsIn(SEVERITIES, { message: `severity must be one of ${SEVERITIES.join(', ')}` })
  severity?: Severity;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @OptionalField()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({
    description: 'cursor: the id of the last alert of the previous page (the rows after it in the chosen sort), or an ISO 8601 time (sort=newest only)',
  })
  @OptionalField()
  @IsString()
  // An empty cursor is a client's mistake, as an empty limit is: refused, not read as "no cursor".
  @IsNotEmpty({ message: 'before must name an alert id or be an ISO 8601 time' })
  @MaxLength(64)
  before?: string;

  @ApiPropertyOptional({ enum: ALERT_SORTS, default: 'newest', description: 'severity: critical first, then newest' })
  @OptionalField()
  @IsIn(ALERT_SORTS, { message: `sort must be one of ${ALERT_SORTS.join(', ')}` })
  sort?: AlertSort;

  @ApiPropertyOptional({
    maxLength: 200,
    description: 'words (case-insensitive, whole words; word* also matches the start of a word) that must all occur in title, description or source',
  })
  @OptionalField()
  @IsString()
  @Length(1, 200)
  @Matches(/[\p{L}\p{N}]/u, { message: 'q must contain a letter or a digit' })
  q?: string;

  @ApiPropertyOptional({ description: 'a username, or `none` for unassigned alerts' })
  @OptionalField()
  @IsString()
  @Length(1, 100)
  // No username holds a control character, and PostgreSQL cannot take a NUL in a text parameter.
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  @Matches(/^[^\u0000-\u001f\u007f]+$/, { message: 'assignee must be a username or none' })
  assignee?: string;
}

export interface AlertView {
  id: string;
  title: string;
  severity: Severity;
  source: string;
  description: string | null;
  status: AlertStatus;
  assignee: string | null;
  created_at: string;
  updated_at: string;
}

export interface AlertSummaryView {
  total: number;
  by_severity: Record<Severity, Record<AlertStatus, number>>;
}

/** An alert as read by ALERT_COLUMNS. */
export interface AlertRow {
  id: string;
  title: string;
  severity: Severity;
  source: string;
  description: string | null;
  status: AlertStatus;
  assignee: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

/** The columns of an alert's view, from `alerts a LEFT JOIN users u ON u.id = a.assignee_id`. */
export const ALERT_COLUMNS = `a."id", a."title", a."severity", a."source", a."description", a."status", u."username" AS "assignee", a."created_at", a."updated_at"`;
export const ALERT_FROM = `"alerts" a LEFT JOIN "users" u ON u."id" = a."assignee_id"`;

export function toAlertView(row: AlertRow): AlertView {
  return {
    id: row.id,
    title: row.title,
    severity: row.severity,
    source: row.source,
    description: row.description,
    status: row.status,
    assignee: row.assignee ?? null,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}
