import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { OptionalField } from '../common/validation';
import { Alert, ALERT_STATUSES, type AlertStatus, SEVERITIES, type Severity } from './alert.entity';

export class CreateAlertDto {
  @ApiProperty({ minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  @Matches(/\S/, { message: 'title must not be blank' })
  title: string;

  @ApiProperty({ enum: SEVERITIES })
  @IsIn(SEVERITIES, { message: `severity must be one of ${SEVERITIES.join(', ')}` })
  severity: Severity;

  @ApiProperty({ minLength: 1, maxLength: 100 })
  @IsString()
  @Length(1, 100)
  @Matches(/\S/, { message: 'source must not be blank' })
  source: string;

  @ApiPropertyOptional({ maxLength: 10_000 })
  @OptionalField()
  @IsString()
  @MaxLength(10_000)
  description?: string;
}

export class UpdateAlertDto {
  @ApiProperty({ enum: ALERT_STATUSES })
  @IsIn(ALERT_STATUSES, { message: `status must be one of ${ALERT_STATUSES.join(', ')}` })
  status: AlertStatus;
}

export class ListAlertsQuery {
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

  @ApiPropertyOptional({ description: 'cursor: the id of the last alert of the previous page, or an ISO 8601 time' })
  @OptionalField()
  @IsString()
  // An empty cursor is a client's mistake, as an empty limit is: refused, not read as "no cursor".
  @IsNotEmpty({ message: 'before must name an alert id or be an ISO 8601 time' })
  @MaxLength(64)
  before?: string;
}

export interface AlertView {
  id: string;
  title: string;
  severity: Severity;
  source: string;
  description: string | null;
  status: AlertStatus;
  created_at: string;
  updated_at: string;
}

export function toAlertView(alert: Alert): AlertView {
  return {
    id: alert.id,
    title: alert.title,
    severity: alert.severity,
    source: alert.source,
    description: alert.description,
    status: alert.status,
    created_at: alert.createdAt.toISOString(),
    updated_at: alert.updatedAt.toISOString(),
  };
}
