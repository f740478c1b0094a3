import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsObject, IsString, Length, Max, Matches, Min, ValidateBy, ValidateIf, ValidateNested } from 'class-validator';
import { OptionalField } from '../common/validation';
import { PERMISSIONS, type Permission } from '../access/permissions';
import { USERNAME_PATTERN } from '../users/users.dto';
import type { ApiKey } from './api-key.entity';
import { parseCidr } from './key-controls';

const MAX_ALLOWED_IPS = 50;

/** An IPv4 or IPv6 address or CIDR range. */
const IsCidr = () =>
  ValidateBy(
    { name: 'isCidr', validator: { validate: (value: unknown) => typeof value === 'string' && value.length <= 64 && parseCidr(value) !== null } },
    { each: true, message: 'each allowed_ips entry must be an IPv4 or IPv6 address or CIDR range, e.g. 203.0.113.0/24 or 2001:db8::/32' },
  );

export class RateLimitDto {
  @ApiProperty({ minimum: 1, maximum: 1_000_000 })
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  limit: number;

  @ApiProperty({ minimum: 1, maximum: 86400 })
  @IsInt()
  @Min(1)
  @Max(86400)
  window_seconds: number;
}

/** The settings a key may be given on creation and changed later. */
class KeySettingsDto {
  @ApiPropertyOptional({ enum: PERMISSIONS, isArray: true })
  @OptionalField()
  @IsArray()
  @ArrayMaxSize(PERMISSIONS.length)
  @IsIn(PERMISSIONS, { each: true, message: `each permission must be one of ${PERMISSIONS.join(', ')}` })
  permissions?: Permission[];

  @ApiPropertyOptional({ type: [String], maxItems: MAX_ALLOWED_IPS, description: 'CIDR ranges the key may be used from; empty or absent: any address' })
  @OptionalField()
  @IsArray()
  @ArrayMaxSize(MAX_ALLOWED_IPS)
  @IsCidr()
  allowed_ips?: string[];

  @ApiPropertyOptional({ type: RateLimitDto, nullable: true, description: 'null: no limit' })
  // null is a value here: it removes the limit.
  @ValidateIf((_dto, value) => value !== undefined && value !== null)
  @IsObject()
  @ValidateNested()
  @Type(() => RateLimitDto)
  rate_limit?: RateLimitDto | null;
}

export class CreateApiKeyDto extends KeySettingsDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'siem-forwarder' })
  @IsString()
  @Length(1, 100)
  @Matches(USERNAME_PATTERN, { message: 'service_name must be printable characters without leading or trailing spaces' })
  service_name: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 3650, default: 90 })
  @OptionalField()
  @IsInt()
  @Min(1)
  @Max(3650)
  expires_in_days?: number;
}

export class UpdateApiKeyDto extends KeySettingsDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 100 })
  @OptionalField()
  @IsString()
  @Length(1, 100)
  @Matches(USERNAME_PATTERN, { message: 'service_name must be printable characters without leading or trailing spaces' })
  service_name?: string;
}

export class KeyUsageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 30, default: 1 })
  @OptionalField()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(30)
  days?: number;
}

export class RotateApiKeyDto {
  @ApiPropertyOptional({ minimum: 0, maximum: 86400, default: 0 })
  @OptionalField()
  @IsInt()
  @Min(0)
  @Max(86400)
  grace_period_seconds?: number;
}

export interface ApiKeyView {
  id: string;
  service_name: string;
  key_prefix: string;
  permissions: Permission[];
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  created_by: string;
  allowed_ips: string[];
  rate_limit: { limit: number; window_seconds: number } | null;
}

export interface KeyUsageView {
  key_prefix: string;
  last_used_at: string | null;
  last_ip: string | null;
  hours: Array<{ start: string; success: number; denied: number; rate_limited: number }>;
}

export interface IssuedApiKeyView {
  id: string;
  api_key: string;
  service_name: string;
  key_prefix: string;
  permissions: Permission[];
  created_at: string;
  expires_at: string;
}

export function toApiKeyView(key: ApiKey): ApiKeyView {
  return {
    id: key.id,
    service_name: key.serviceName,
    key_prefix: key.keyPrefix,
    permissions: key.permissions,
    created_at: key.createdAt.toISOString(),
    expires_at: key.expiresAt.toISOString(),
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    revoked_at: key.revokedAt?.toISOString() ?? null,
    created_by: key.createdBy,
    allowed_ips: key.allowedIps,
    rate_limit:
      key.rateLimitLimit !== null && key.rateLimitWindowSeconds !== null ? { limit: key.rateLimitLimit, window_seconds: key.rateLimitWindowSeconds } : null,
  };
}

export function toIssuedApiKeyView(key: ApiKey, rawKey: string): IssuedApiKeyView {
  return {
    id: key.id,
    api_key: rawKey,
    service_name: key.serviceName,
    key_prefix: key.keyPrefix,
    permissions: key.permissions,
    created_at: key.createdAt.toISOString(),
    expires_at: key.expiresAt.toISOString(),
  };
}
