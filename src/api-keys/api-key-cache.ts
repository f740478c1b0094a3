import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import type { Permission } from '../access/permissions';
import type { KeyRateLimit } from './key-controls';

export interface CachedApiKey {
  keyId: string;
  keyPrefix: string;
  serviceName: string;
  permissions: Permission[];
  /** Epoch ms after which this secret is refused, even within the cache TTL. */
  validUntil: number;
  /** CIDR ranges it may be used from (empty: any); its rate limit, or null. */
  allowedIps: readonly string[];
  rateLimit: KeyRateLimit | null;
}

/** What the cache keeps of a key record, for a secret valid until `validUntil`. */
export function cachedKeyOf(
  row: {
    id: string;
    keyPrefix: string;
    serviceName: string;
    permissions: Permission[];
    allowedIps: string[];
    rateLimitLimit: number | null;
    rateLimitWindowSeconds: number | null;
  },
  validUntil: number,
): CachedApiKey {
  return {
    keyId: row.id,
    keyPrefix: row.keyPrefix,
    serviceName: row.serviceName,
    permissions: row.permissions,
    validUntil,
    allowedIps: row.allowedIps,
    rateLimit:
      row.rateLimitLimit !== null && row.rateLimitWindowSeconds !== null ? { limit: row.rateLimitLimit, windowSeconds: row.rateLimitWindowSeconds } : null,
  };
}

interface Entry {
  key: CachedApiKey | null;
  cachedUntil: number;
}

/** Unknown keys are remembered briefly so a flood of made-up keys cannot hammer the database. */
const NEGATIVE_TTL_MS = 5_000;
/** A key used in the last fifth of its entry's life is looked up again in the background. */
const REFRESH_FRACTION = 0.2;

/**
 * In-process cache of API keys by SHA-256 hash: TTL, LRU bound, and a generation counter so that a
 * lookup which started before a revocation cannot put the revoked key back.
 */
@Injectable()
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private currentGeneration = 0;
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(config: AppConfig) {
    this.ttlMs = config.apiKeyCacheTtlSeconds * 1000;
    this.maxEntries = config.apiKeyCacheMaxEntries;
  }

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Taken before a database lookup and handed back to set(). */
  get generation(): number {
    return this.currentGeneration;
  }

  /** undefined: not cached; null: known not to exist; else the key. */
  get(hash: string, now = Date.now()): CachedApiKey | null | undefined {
    const entry = this.entries.get(hash);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    if (entry.cachedUntil <= now || (entry.key && entry.key.validUntil <= now)) {
      this.entries.delete(hash);
      this.misses++;
      return undefined;
    }
    this.entries.delete(hash);
    this.entries.set(hash, entry);
    this.hits++;
    return entry.key;
  }

  /** True when a live key's entry is near its end: refresh it before every request misses at once. */
  refreshDue(hash: string, now = Date.now()): boolean {
    const entry = this.entries.get(hash);
    return entry?.key != null && entry.cachedUntil - now < this.ttlMs * REFRESH_FRACTION;
  }

  /** Drops one entry (a refresh found the secret no longer works). */
  forget(hash: string): void {
    this.entries.delete(hash);
  }

  set(hash: string, key: CachedApiKey | null, generation: number, now = Date.now()): void {
    if (!this.enabled || generation !== this.currentGeneration) return;
    const ttl = key ? this.ttlMs : Math.min(this.ttlMs, NEGATIVE_TTL_MS);
    this.entries.delete(hash);
    this.entries.set(hash, { key, cachedUntil: now + ttl });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.evictions++;
    }
  }

  /** Forgets the given hashes and every entry of the key id, and fences off lookups in flight. */
  evict(keyId: string, hashes: readonly string[]): void {
    this.currentGeneration++;
    for (const hash of hashes) this.entries.delete(hash);
    for (const [hash, entry] of this.entries) if (entry.key?.keyId === keyId) this.entries.delete(hash);
  }

  clear(): void {
    this.currentGeneration++;
    this.entries.clear();
  }
}
