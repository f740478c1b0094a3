import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { inTransaction } from '../database/transaction';
import { ApiKey } from './api-key.entity';
import { ApiKeyGraceSecret } from './api-key-grace-secret.entity';

/** How long a rotated-out secret is still recognised (and refused as revoked) after its grace. */
const ROTATED_OUT_MEMORY_DAYS = 30;

/** A key record found by one of its secrets; graceUntil is set when that secret was rotated out. */
export interface KeyBySecret {
  key: ApiKey;
  graceUntil: Date | null;
}

interface KeyRow {
  id: string;
  service_name: string;
  key_prefix: string;
  key_hash: string;
  permissions: ApiKey['permissions'] | string;
  created_by: string;
  created_at: Date | string;
  expires_at: Date | string;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
  allowed_ips: string[] | string;
  rate_limit_limit: number | null;
  rate_limit_window_seconds: number | null;
  last_ip: string | null;
}

const dateOrNull = (value: Date | string | null): Date | null => (value === null ? null : new Date(value));

/** A text[] arrives parsed from node-postgres, as its literal text from some adapters. */
function textArray(value: string[] | string): string[] {
  if (Array.isArray(value)) return value;
  const inner = value.replace(/^\{|\}$/g, '');
  return inner === '' ? [] : inner.split(',').map((item) => item.replace(/^"|"$/g, ''));
}

function keyOf(row: KeyRow): ApiKey {
  return Object.assign(new ApiKey(), {
    id: row.id,
    serviceName: row.service_name,
    keyPrefix: row.key_prefix,
    keyHash: row.key_hash,
    permissions: textArray(row.permissions) as ApiKey['permissions'],
    createdBy: row.created_by,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    lastUsedAt: dateOrNull(row.last_used_at),
    revokedAt: dateOrNull(row.revoked_at),
    allowedIps: textArray(row.allowed_ips),
    rateLimitLimit: row.rate_limit_limit,
    rateLimitWindowSeconds: row.rate_limit_window_seconds,
    lastIp: row.last_ip,
  });
}

/** The statements of one transaction on one key, whose row it holds locked. */
export class KeyWrites {
  constructor(
    private readonly manager: EntityManager,
    readonly key: ApiKey,
  ) {}

  /** The hashes of the secrets this key still accepts or accepted in a grace period. */
  async graceHashes(): Promise<string[]> {
    const rows = await this.manager.find(ApiKeyGraceSecret, { where: { keyId: this.key.id } });
    return rows.map((row) => row.keyHash);
  }

  async revoke(at: Date): Promise<void> {
    await this.manager.update(ApiKey, { id: this.key.id }, { revokedAt: at });
    await this.manager.delete(ApiKeyGraceSecret, { keyId: this.key.id });
  }

  /** Changes the key's settings (only the fields given). */
  async update(fields: Partial<Pick<ApiKey, 'serviceName' | 'permissions' | 'allowedIps' | 'rateLimitLimit' | 'rateLimitWindowSeconds'>>): Promise<void> {
    await this.manager.update(ApiKey, { id: this.key.id }, fields);
    Object.assign(this.key, fields);
  }

  /** Puts a new secret in place; the replaced one is kept until graceUntil (null: not at all). */
  /**
   * The replaced secret is kept, hashed, until its grace ends (null: no grace, it ends now) and for
   * ROTATED_OUT_MEMORY_DAYS after: presented later, it is refused as api_key_revoked — which the
   * detections raise as an alert — rather than as a key nobody ever issued.
   */
  async replaceSecret(newHash: string, graceUntil: Date | null): Promise<void> {
    await this.manager.query(
      `DELETE FROM "api_key_grace_secrets" WHERE "key_id" = $1 AND "valid_until" <= now() - make_interval(days => ${ROTATED_OUT_MEMORY_DAYS})`,
      [this.key.id],
    );
    await this.manager.insert(ApiKeyGraceSecret, { keyHash: this.key.keyHash, keyId: this.key.id, validUntil: graceUntil ?? new Date() });
    await this.manager.update(ApiKey, { id: this.key.id }, { keyHash: newHash });
  }
}

/** The api_keys table and its rotated-out secrets. */
@Injectable()
export class ApiKeysRepository {
  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** The key whose current secret, or one of whose rotated-out secrets, has this hash: one query. */
  async findBySecretHash(hash: string): Promise<KeyBySecret | null> {
    const rows: Array<KeyRow & { grace_until: Date | string | null }> = await this.dataSource.query(
      `SELECT k.*, NULL::timestamptz AS grace_until FROM "api_keys" k WHERE k."key_hash" = $1
       UNION ALL
       SELECT k.*, g."valid_until" FROM "api_key_grace_secrets" g JOIN "api_keys" k ON k."id" = g."key_id" WHERE g."key_hash" = $1
       LIMIT 1`,
      [hash],
    );
    if (rows.length === 0) return null;
    const row = rows[0];
    return { key: keyOf(row), graceUntil: row.grace_until === null ? null : new Date(row.grace_until) };
  }

  findById(id: string): Promise<ApiKey | null> {
    return this.keys.findOne({ where: { id } });
  }

  /** A key's hourly usage since `since`, oldest first. */
  async usageSince(keyId: string, since: Date): Promise<Array<{ hour: Date; success: number; denied: number; rate_limited: number }>> {
    const rows: Array<{ hour: Date | string; success: number; denied: number; rate_limited: number }> = await this.dataSource.query(
      `SELECT "hour", "success", "denied", "rate_limited" FROM "api_key_usage" WHERE "key_id" = $1 AND "hour" >= $2 ORDER BY "hour"`,
      [keyId, since.toISOString()],
    );
    return rows.map((row) => ({ hour: new Date(row.hour), success: Number(row.success), denied: Number(row.denied), rate_limited: Number(row.rate_limited) }));
  }

  insert(fields: Partial<ApiKey>): Promise<ApiKey> {
    return this.keys.save(this.keys.create(fields));
  }

  list(): Promise<ApiKey[]> {
    return this.keys.find({ order: { createdAt: 'DESC' } });
  }

  /**
   * Runs the work with the key's row locked (SELECT … FOR UPDATE), so rotations and revocations
   * of one key happen one after another on every instance. null when there is no such key.
   */
  withKeyLocked<T>(id: string, work: (writes: KeyWrites) => Promise<T>): Promise<T | null> {
    return inTransaction(this.dataSource, async (manager) => {
      const key = await manager.findOne(ApiKey, { where: { id }, lock: { mode: 'pessimistic_write' } });
      return key ? work(new KeyWrites(manager, key)) : null;
    });
  }
}
