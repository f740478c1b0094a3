import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import type { Principal } from '../access/principal';
import { AuditRecorder } from '../audit/audit-recorder';
import type { ClientInfo } from '../common/client-info';
import { EventBus } from '../database/event-bus';
import type { ApiKey } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeyView, KeyUsageView, toApiKeyView, UpdateApiKeyDto } from './api-keys.dto';
import { grantablePermissions } from './key-permissions';
import { KeyUsageRecorder } from './key-usage-recorder';

const HOUR_MS = 3_600_000;

/** A key's settings as one line for the audit trail (never its secret). */
/** A key's settings as the audit trail records them before and after a change: never its secret or hash. */
function describe(key: Pick<ApiKey, 'serviceName' | 'permissions' | 'allowedIps' | 'rateLimitLimit' | 'rateLimitWindowSeconds'>): Record<string, unknown> {
  return {
    service_name: key.serviceName,
    permissions: [...key.permissions],
    allowed_ips: [...key.allowedIps],
    rate_limit: key.rateLimitLimit === null ? null : { limit: key.rateLimitLimit, window_seconds: key.rateLimitWindowSeconds },
  };
}

/** Changing a key's settings, and reading its usage. */
@Injectable()
export class ApiKeySettingsService {
  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly usage: KeyUsageRecorder,
    private readonly bus: EventBus,
    private readonly audit: AuditRecorder,
  ) {}

  /**
   * Changes what is given; permissions within the caller's own, as on creation. Every instance
   * forgets its cached copy of the key (here at once, elsewhere within a second over the bus).
   */
  async update(id: string, dto: UpdateApiKeyDto, actor: Principal, client: ClientInfo): Promise<ApiKeyView> {
    const fields: Partial<ApiKey> = {};
    if (dto.service_name !== undefined) fields.serviceName = dto.service_name;
    if (dto.permissions !== undefined) fields.permissions = grantablePermissions(dto.permissions, actor.permissions);
    if (dto.allowed_ips !== undefined) fields.allowedIps = dto.allowed_ips;
    if (dto.rate_limit !== undefined) {
      fields.rateLimitLimit = dto.rate_limit?.limit ?? null;
      fields.rateLimitWindowSeconds = dto.rate_limit?.window_seconds ?? null;
    }
    const changed = await this.keys.withKeyLocked(id, async (writes) => {
      if (writes.key.revokedAt) throw new ConflictException('this API key is revoked; create a new one');
      const before = describe(writes.key);
      await writes.update(fields);
      return { key: writes.key, before };
    });
    if (!changed) throw new NotFoundException('no API key with this id');
    await this.bus.publish({ type: 'api_key.changed', keyId: id });
    this.audit.record({
      type: 'api_key.updated',
      outcome: 'success',
      actor: actor.sub,
      changes: { target: `key ${changed.key.keyPrefix}`, before: changed.before, after: describe(changed.key) },
      client,
    });
    return toApiKeyView(changed.key);
  }

  /** Hourly counts of the last `days` days, oldest first, every hour listed. */
  async usageOf(id: string, days: number, now = Date.now()): Promise<KeyUsageView> {
    await this.usage.flush();
    const key = await this.keys.findById(id);
    if (!key) throw new NotFoundException('no API key with this id');
    const currentHour = now - (now % HOUR_MS);
    const first = currentHour - (days * 24 - 1) * HOUR_MS;
    const rows = new Map((await this.keys.usageSince(id, new Date(first))).map((row) => [row.hour.getTime(), row]));
    const hours: KeyUsageView['hours'] = [];
    for (let hour = first; hour <= currentHour; hour += HOUR_MS) {
      const row = rows.get(hour);
      hours.push({ start: new Date(hour).toISOString(), success: row?.success ?? 0, denied: row?.denied ?? 0, rate_limited: row?.rate_limited ?? 0 });
    }
    return { key_prefix: key.keyPrefix, last_used_at: key.lastUsedAt?.toISOString() ?? null, last_ip: key.lastIp, hours };
  }
}
