import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsString, Length, Max, Matches, Min } from 'class-validator';
import { OptionalField } from '../common/validation';
import { PERMISSIONS, type Permission } from '../access/permissions';
import { USERNAME_PATTERN } from '../users/users.dto';
import type { ApiKey } from './api-key.entity';

export class CreateApiKeyDto {
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

  @ApiPropertyOptional({ enum: PERMISSIONS, isArray: true })
  @OptionalField()
  @IsArray()
  @ArrayMaxSize(PERMISSIONS.length)
  @IsIn(PERMISSIONS, { each: true, message: `each permission must be one of ${PERMISSIONS.join(', ')}` })
  permissions?: Permission[];
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
