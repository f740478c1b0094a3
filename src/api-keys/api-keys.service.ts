import { BadRequestException, ConflictException, ForbiddenException, Injectable, NotFoundException, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditRecorder } from '../audit/audit-recorder';
import { API_KEY_ROLE, hasAll, permissionsOf, type Permission } from '../auth/permissions';
import type { AuthResult, Principal } from '../auth/principal';
import type { ClientInfo } from '../common/client-info';
import { isUniqueViolation } from '../common/database-errors';
import { EventBus } from '../database/event-bus';
import { ApiKey } from './api-key.entity';
import { ApiKeyCache, CachedApiKey } from './api-key-cache';
import { generateApiKey, generateKeyPrefix, hashApiKey, hasValidApiKeyFormat } from './api-key-format';
import { ApiKeyView, CreateApiKeyDto, IssuedApiKeyView, toApiKeyView, toIssuedApiKeyView } from './api-keys.dto';
import { LastUsedRecorder } from './last-used-recorder';

const DAY_MS = 86_400_000;
const DEFAULT_EXPIRY_DAYS = 90;
const PREFIX_ATTEMPTS = 5;


@Injectable()
export class ApiKeysService implements OnModuleInit {
  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    private readonly cache: ApiKeyCache,
    private readonly lastUsed: LastUsedRecorder,
    private readonly bus: EventBus,
    private readonly audit: AuditRecorder,
  ) {}

  onModuleInit(): void {
    this.bus.on('api_key.revoked', (event) => this.cache.evict(event.keyId, event.keyHashes));
    this.bus.onResync(() => this.cache.clear());
  }

  /** Checks a presented key: format and checksum first (no I/O), then the cache, then the database. */
  async authenticate(rawKey: string): Promise<AuthResult> {
    if (!hasValidApiKeyFormat(rawKey)) return { ok: false, reason: 'malformed_api_key', method: 'api_key' };
    const hash = hashApiKey(rawKey);
    const now = Date.now();
    let key = this.cache.get(hash, now);
    if (key === undefined) {
      const generation = this.cache.generation;
      const found = await this.lookup(hash, now);
      if (found.ok === false) {
        if (found.reason === 'unknown_api_key') this.cache.set(hash, null, generation, now);
        return { ok: false, reason: found.reason, method: 'api_key', actor: found.keyPrefix ?? null };
      }
      key = found.key;
      this.cache.set(hash, key, generation, now);
    }
    if (key === null) return { ok: false, reason: 'unknown_api_key', method: 'api_key' };
    this.lastUsed.touch(key.keyId);
    return { ok: true, principal: this.principalOf(key, hash) };
  }

  /** When the secret with this hash stops working (epoch ms), or null if it no longer does. Uncached. */
  async validUntil(hash: string): Promise<number | null> {
    const found = await this.lookup(hash, Date.now());
    return found.ok ? found.key.validUntil : null;
  }

  private principalOf(key: CachedApiKey, hash: string): Principal {
    return {
      kind: 'api_key',
      sub: key.serviceName,
      role: API_KEY_ROLE,
      permissions: key.permissions,
      source: 'api_key',
      keyId: key.keyId,
      keyPrefix: key.keyPrefix,
      keyHash: hash,
      keyValidUntil: key.validUntil,
    };
  }

  private async lookup(
    hash: string,
    now: number,
  ): Promise<{ ok: true; key: CachedApiKey } | { ok: false; reason: 'unknown_api_key' | 'api_key_revoked' | 'api_key_expired'; keyPrefix?: string }> {
    const row = await this.keys.findOne({ where: [{ keyHash: hash }, { previousKeyHash: hash }] });
    if (!row) return { ok: false, reason: 'unknown_api_key' };
    if (row.revokedAt) return { ok: false, reason: 'api_key_revoked', keyPrefix: row.keyPrefix };
    let validUntil = row.expiresAt.getTime();
    if (row.keyHash !== hash) validUntil = Math.min(validUntil, row.previousKeyValidUntil?.getTime() ?? 0);
    if (validUntil <= now) {
      const reason = row.keyHash === hash ? 'api_key_expired' : 'api_key_revoked';
      return { ok: false, reason, keyPrefix: row.keyPrefix };
    }
    return {
      ok: true,
      key: { keyId: row.id, keyPrefix: row.keyPrefix, serviceName: row.serviceName, permissions: row.permissions, validUntil },
    };
  }

  async create(dto: CreateApiKeyDto, creator: Principal, client: ClientInfo): Promise<IssuedApiKeyView> {
    const permissions = this.grantablePermissions(dto.permissions, creator);
    const rawKey = generateApiKey();
    const expiresAt = new Date(Date.now() + (dto.expires_in_days ?? DEFAULT_EXPIRY_DAYS) * DAY_MS);
    const saved = await this.insertWithUniquePrefix({
      serviceName: dto.service_name,
      keyHash: hashApiKey(rawKey),
      permissions,
      createdBy: creator.sub,
      expiresAt,
    });
    this.cacheIssuedKey(saved, rawKey);
    this.audit.record({ type: 'api_key.created', outcome: 'success', actor: creator.sub, reason: `key ${saved.keyPrefix} for ${saved.serviceName}`, client });
    return toIssuedApiKeyView(saved, rawKey);
  }

  /**
   * A key acts as api_service: its permissions are that role's or a narrower list (400 beyond it),
   * and never one its creator lacks (403).
   */
  private grantablePermissions(requested: Permission[] | undefined, creator: Principal): Permission[] {
    const keyRole = permissionsOf(API_KEY_ROLE);
    if (requested === undefined) return keyRole.filter((p) => creator.permissions.includes(p));
    const unique = [...new Set(requested)];
    const beyondRole = unique.filter((p) => !keyRole.includes(p));
    if (beyondRole.length > 0) {
      throw new BadRequestException(`API keys act as ${API_KEY_ROLE}: permissions must be among ${keyRole.join(', ')} (not ${beyondRole.join(', ')})`);
    }
    if (!hasAll(creator.permissions, unique)) {
      throw new ForbiddenException('a key cannot be given a permission its creator does not hold');
    }
    return unique;
  }

  private async insertWithUniquePrefix(fields: Partial<ApiKey>): Promise<ApiKey> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.keys.save(this.keys.create({ ...fields, keyPrefix: generateKeyPrefix() }));
      } catch (error) {
        if (!isUniqueViolation(error, 'api_keys_key_prefix_key') || attempt >= PREFIX_ATTEMPTS) throw error;
      }
    }
  }

  private cacheIssuedKey(key: ApiKey, rawKey: string): void {
    const cached: CachedApiKey = {
      keyId: key.id,
      keyPrefix: key.keyPrefix,
      serviceName: key.serviceName,
      permissions: key.permissions,
      validUntil: key.expiresAt.getTime(),
    };
    this.cache.set(hashApiKey(rawKey), cached, this.cache.generation);
  }

  async list(): Promise<ApiKeyView[]> {
    await this.lastUsed.flush();
    const keys = await this.keys.find({ order: { createdAt: 'DESC' } });
    return keys.map(toApiKeyView);
  }

  async revoke(id: string, actor: Principal, client: ClientInfo): Promise<void> {
    const key = await this.keys.findOne({ where: { id } });
    if (!key) throw new NotFoundException('no API key with this id');
    if (!key.revokedAt) {
      key.revokedAt = new Date();
      await this.keys.update({ id }, { revokedAt: key.revokedAt });
    }
    await this.announceRevoked(key, [key.keyHash, key.previousKeyHash]);
    this.audit.record({ type: 'api_key.revoked', outcome: 'success', actor: actor.sub, reason: `key ${key.keyPrefix}`, client });
  }

  /** A new secret for the same record; the old one works for the grace period, then never again. */
  async rotate(id: string, graceSeconds: number, actor: Principal, client: ClientInfo): Promise<IssuedApiKeyView> {
    const key = await this.keys.findOne({ where: { id } });
    if (!key) throw new NotFoundException('no API key with this id');
    if (key.revokedAt) throw new ConflictException('this API key is revoked; create a new one');
    if (key.expiresAt.getTime() <= Date.now()) throw new ConflictException('this API key has expired; create a new one');
    const replacedHashes = [key.keyHash, key.previousKeyHash];
    const rawKey = generateApiKey();
    const update = {
      keyHash: hashApiKey(rawKey),
      previousKeyHash: graceSeconds > 0 ? key.keyHash : null,
      previousKeyValidUntil: graceSeconds > 0 ? new Date(Date.now() + graceSeconds * 1000) : null,
    };
    await this.keys.update({ id }, update);
    Object.assign(key, update);
    await this.announceRevoked(key, replacedHashes);
    this.cacheIssuedKey(key, rawKey);
    this.audit.record({
      type: 'api_key.rotated',
      outcome: 'success',
      actor: actor.sub,
      reason: `key ${key.keyPrefix}, grace ${graceSeconds}s`,
      client,
    });
    return toIssuedApiKeyView(key, rawKey);
  }

  private async announceRevoked(key: ApiKey, hashes: Array<string | null>): Promise<void> {
    const keyHashes = hashes.filter((hash): hash is string => Boolean(hash));
    await this.bus.publish({ type: 'api_key.revoked', keyId: key.id, keyHashes });
  }
}
