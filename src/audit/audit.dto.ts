import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsTimestamp } from '../common/is-timestamp';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { OptionalField } from '../common/validation';

/** Event types are dotted words (auth.login); anything else, NUL included, cannot match one. */
const EVENT_TYPE = /^[A-Za-z0-9_.:-]+$/;

export class ListAuditEventsQuery {
  @ApiPropertyOptional({ example: 'auth.login' })
  @OptionalField()
  @IsString()
  @MaxLength(64)
  @Matches(EVENT_TYPE, { message: 'type must be an event type such as auth.login' })
  type?: string;

  @ApiPropertyOptional({ enum: ['success', 'failure'] })
  @OptionalField()
  @IsIn(['success', 'failure'])
  outcome?: 'success' | 'failure';

  @ApiPropertyOptional({ description: 'ISO 8601 time: only events at or after it' })
  @OptionalField()
  @IsTimestamp()
  since?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @OptionalField()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

export class ExportAuditEventsQuery {
  @ApiPropertyOptional({ description: 'ISO 8601 time: events at or after it' })
  @OptionalField()
  @IsTimestamp()
  since?: string;

  @ApiPropertyOptional({ description: 'ISO 8601 time: events before it' })
  @OptionalField()
  @IsTimestamp()
  until?: string;
}

export class VerifyAuditQuery {
  @ApiPropertyOptional({ minimum: 1, description: 'check from this seq on (trusting the hash of the event before it); default: the oldest kept event' })
  @OptionalField()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  from_seq?: number;
}
