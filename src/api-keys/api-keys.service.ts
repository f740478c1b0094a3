import { ConflictException, Injectable, NotFoundException, OnModuleInit } from '@nestjs/common';
import { AuditRecorder } from '../audit/audit-recorder';
import { API_KEY_ROLE } from '../access/permissions';
import type { AuthResult, Principal } from '../access/principal';
import type { ClientInfo } from '../common/client-info';
import { isUniqueViolation } from '../common/database-errors';
import { EventBus } from '../database/event-bus';
import { ApiKey } from './api-key.entity';
import { ApiKeyCache, cachedKeyOf, CachedApiKey } from './api-key-cache';
import { grantablePermissions } from './key-permissions';
import { ApiKeysRepository } from './api-keys.repository';
import { generateApiKey, generateKeyPrefix, hashApiKey, hasValidApiKeyFormat } from './api-key-format';
import { ApiKeyView, CreateApiKeyDto, IssuedApiKeyView, toApiKeyView, toIssuedApiKeyView } from './api-keys.dto';
import { KeyUsageRecorder } from './key-usage-recorder';

const DAY_MS = 86_400_000;
const DEFAULT_EXPIRY_DAYS = 90;
const PREFIX_ATTEMPTS = 5;

type LookupResult = { ok: true; key: CachedApiKey } | { ok: false; reason: 'unknown_api_key' | 'api_key_revoked' | 'api_key_expired'; keyPrefix?: string };

@Injectable()
export class ApiKeysService implements OnModuleInit {
  private readonly lookups = new Map<string, { generation: number; result: Promise<LookupResult> }>();

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly cache: ApiKeyCache,
    private readonly usage: KeyUsageRecorder,
    private readonly bus: EventBus,
    private readonly audit: AuditRecorder,
  ) {}

  onModuleInit(): void {
    this.bus.on('api_key.revoked', (event) => this.cache.evict(event.keyId, event.keyHashes));
    this.bus.on('api_key.changed', (event) => this.cache.evict(event.keyId, []));
    this.bus.onResync(() => this.cache.clear());
  }

  /**
   * Checks a presented key: format and checksum first (no I/O), then the cache, then the database.
   * Concurrent misses of one key share one lookup, and a hot entry is refreshed in the background
   * before it expires, so an expiring entry under load costs one query, not one per request.
   */
  async authenticate(rawKey: string): Promise<AuthResult> {
    if (!hasValidApiKeyFormat(rawKey)) return { ok: false, reason: 'malformed_api_key', method: 'api_key' };
    const hash = hashApiKey(rawKey);
    const now = Date.now();
    let key = this.cache.get(hash, now);
    if (key === undefined) {
      const found = await this.load(hash);
      if (found.ok === false) return { ok: false, reason: found.reason, method: 'api_key', actor: found.keyPrefix ?? null };
      key = found.key;
    } else if (key !== null && this.cache.refreshDue(hash, now)) {
      this.load(hash).catch(() => undefined);
    }
    if (key === null) return { ok: false, reason: 'unknown_api_key', method: 'api_key' };
    return { ok: true, principal: this.principalOf(key, hash) };
  }

  /**
   * One database lookup per hash at a time, its answer put in the cache. A lookup is shared only
   * within one cache generation: a request that arrives after a revocation never waits on a lookup
   * that began before it.
   */
  private load(hash: string): Promise<LookupResult> {
    const generation = this.cache.generation;
    const pending = this.lookups.get(hash);
    if (pending && pending.generation === generation) return pending.result;
    const now = Date.now();
    const result = this.lookup(hash, now)
      .then((found) => {
        if (found.ok) this.cache.set(hash, found.key, generation, now);
        else if (found.reason === 'unknown_api_key') this.cache.set(hash, null, generation, now);
        else this.cache.forget(hash);
        return found;
      })
      .finally(() => {
        if (this.lookups.get(hash)?.result === result) this.lookups.delete(hash);
      });
    this.lookups.set(hash, { generation, result });
    return result;
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
      keyAllowedIps: key.allowedIps,
      keyRateLimit: key.rateLimit,
    };
  }

  private async lookup(hash: string, now: number): Promise<LookupResult> {
    const found = await this.keys.findBySecretHash(hash);
    if (!found) return { ok: false, reason: 'unknown_api_key' };
    const row = found.key;
    if (row.revokedAt) return { ok: false, reason: 'api_key_revoked', keyPrefix: row.keyPrefix };
    let validUntil = row.expiresAt.getTime();
    if (found.graceUntil) validUntil = Math.min(validUntil, found.graceUntil.getTime());
    if (validUntil <= now) {
      // A rotated-out secret past its grace is as good as revoked; the key itself past its expiry is expired.
      const reason = row.expiresAt.getTime() <= now ? 'api_key_expired' : 'api_key_revoked';
      return { ok: false, reason, keyPrefix: row.keyPrefix };
    }
    return {
      ok: true,
      key: cachedKeyOf(row, validUntil),
    };
  }

  async create(dto: CreateApiKeyDto, creator: Principal, client: ClientInfo): Promise<IssuedApiKeyView> {
    const permissions = grantablePermissions(dto.permissions, creator.permissions);
    const rawKey = generateApiKey();
    const expiresAt = new Date(Date.now() + (dto.expires_in_days ?? DEFAULT_EXPIRY_DAYS) * DAY_MS);
    const generationBefore = this.cache.generation;
    const saved = await this.insertWithUniquePrefix({
      serviceName: dto.service_name,
      keyHash: hashApiKey(rawKey),
      permissions,
      createdBy: creator.sub,
      expiresAt,
      allowedIps: dto.allowed_ips ?? [],
      rateLimitLimit: dto.rate_limit?.limit ?? null,
      rateLimitWindowSeconds: dto.rate_limit?.window_seconds ?? null,
    });
    this.cacheIssuedKey(saved, rawKey, generationBefore);
    this.audit.record({ type: 'api_key.created', outcome: 'success', actor: creator.sub, reason: `key ${saved.keyPrefix} for ${saved.serviceName}`, client });
    return toIssuedApiKeyView(saved, rawKey);
  }

  private async insertWithUniquePrefix(fields: Partial<ApiKey>): Promise<ApiKey> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.keys.insert({ ...fields, keyPrefix: generateKeyPrefix() });
      } catch (error) {
        if (!isUniqueViolation(error, 'api_keys_key_prefix_key') || attempt >= PREFIX_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * Caches a secret just issued, unless the cache was fenced (by any eviction) since `generationBefore`,
   * taken before the write began: news of a revocation from another instance can arrive before this
   * instance sees its own commit, and caching after it would undo it here. Not caching costs one lookup.
   */
  private cacheIssuedKey(key: ApiKey, rawKey: string, generationBefore: number): void {
    this.cache.set(hashApiKey(rawKey), cachedKeyOf(key, key.expiresAt.getTime()), generationBefore);
  }

  async list(): Promise<ApiKeyView[]> {
    await this.usage.flush();
    const keys = await this.keys.list();
    return keys.map(toApiKeyView);
  }

  /** Revokes the key and every rotated-out secret of it; serialised with rotations of the same key. */
  async revoke(id: string, actor: Principal, client: ClientInfo): Promise<void> {
    const revoked = await this.keys.withKeyLocked(id, async (writes) => {
      const hashes = [writes.key.keyHash, ...(await writes.graceHashes())];
      if (!writes.key.revokedAt) await writes.revoke(new Date());
      return { key: writes.key, hashes };
    });
    if (!revoked) throw new NotFoundException('no API key with this id');
    await this.announceRevoked(revoked.key, revoked.hashes);
    this.audit.record({ type: 'api_key.revoked', outcome: 'success', actor: actor.sub, reason: `key ${revoked.key.keyPrefix}`, client });
  }

  /**
   * A new secret for the same record. The replaced secret works for the grace period, then never
   * again; secrets replaced by earlier rotations keep their own grace. The key's row is locked, so
   * a revocation and a rotation of one key never interleave: a revoked key is never given a secret.
   */
  async rotate(id: string, graceSeconds: number, actor: Principal, client: ClientInfo): Promise<IssuedApiKeyView> {
    const rawKey = generateApiKey();
    const generationBefore = this.cache.generation;
    const rotated = await this.keys.withKeyLocked(id, async (writes) => {
      const key = writes.key;
      if (key.revokedAt) throw new ConflictException('this API key is revoked; create a new one');
      if (key.expiresAt.getTime() <= Date.now()) throw new ConflictException('this API key has expired; create a new one');
      const replacedHash = key.keyHash;
      await writes.replaceSecret(hashApiKey(rawKey), graceSeconds > 0 ? new Date(Date.now() + graceSeconds * 1000) : null);
      return { key: Object.assign(key, { keyHash: hashApiKey(rawKey) }), replacedHash };
    });
    if (!rotated) throw new NotFoundException('no API key with this id');
    // Caching the new secret (unless fenced meanwhile), then evicting the replaced one here at once,
    // synchronously, in the same tick: no eviction for this key can fall between the two. Our own
    // eviction drops every entry of the key id, so the new secret is cached again right after it.
    const fenced = this.cache.generation !== generationBefore;
    const announced = this.announceRevoked(rotated.key, [rotated.replacedHash]);
    if (!fenced) this.cacheIssuedKey(rotated.key, rawKey, this.cache.generation);
    await announced;
    this.audit.record({
      type: 'api_key.rotated',
      outcome: 'success',
      actor: actor.sub,
      reason: `key ${rotated.key.keyPrefix}, grace ${graceSeconds}s`,
      client,
    });
    return toIssuedApiKeyView(rotated.key, rawKey);
  }

  private async announceRevoked(key: ApiKey, hashes: Array<string | null>): Promise<void> {
    const keyHashes = hashes.filter((hash): hash is string => Boolean(hash));
    await this.bus.publish({ type: 'api_key.revoked', keyId: key.id, keyHashes });
  }
}
