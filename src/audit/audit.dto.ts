import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsTimestamp } from '../common/is-timestamp';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsIP, IsString, Length, Matches, Max, MaxLength, Min, ValidateBy } from 'class-validator';
import { OptionalField } from '../common/validation';

/** Event types are dotted words (auth.login); anything else, NUL included, cannot match one. */
const EVENT_TYPE = /^[A-Za-z0-9_.:-]+$/;

const BIGINT_MAX = 9223372036854775807n;

/** An event id as the list shows it: a positive whole number that fits PostgreSQL's bigint. */
function IsEventId(): PropertyDecorator {
  return ValidateBy({
    name: 'isEventId',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && /^[1-9][0-9]{0,18}$/.test(value) && BigInt(value) <= BIGINT_MAX,
      defaultMessage: (args) => `${args?.property} must be the id of an audit event (a positive whole number)`,
    },
  });
}

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

  @ApiPropertyOptional({ description: 'ISO 8601 time: only events before it (extension)' })
  @OptionalField()
  @IsTimestamp()
  until?: string;

  @ApiPropertyOptional({ description: 'only events of this actor (a username or key prefix), exactly as recorded (extension)' })
  @OptionalField()
  @IsString()
  @Length(1, 200)
  actor?: string;

  @ApiPropertyOptional({ description: 'only events from this client IP address; 1.2.3.4 also matches ::ffff:1.2.3.4 (extension)' })
  @OptionalField()
  @IsString()
  @IsIP(undefined, { message: 'ip must be an IPv4 or IPv6 address' })
  ip?: string;

  @ApiPropertyOptional({ description: 'paging, newest first: only events older than the event with this id (the last id of the previous page; extension)' })
  @OptionalField()
  @IsEventId()
  before?: string;

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
