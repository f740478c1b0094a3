import type { AppConfig } from '../config/app-config';
import { ApiKeyCache, CachedApiKey, cachedKeyOf } from './api-key-cache';

const T0 = 1_700_000_000_000;
const YEAR_MS = 365 * 86_400_000;

function cacheWith(ttlSeconds: number, maxEntries = 100): ApiKeyCache {
  return new ApiKeyCache({ apiKeyCacheTtlSeconds: ttlSeconds, apiKeyCacheMaxEntries: maxEntries } as AppConfig);
}

function keyFor(keyId: string, validUntil = T0 + YEAR_MS): CachedApiKey {
  return {
    keyId,
    keyPrefix: `ak_${keyId.padStart(12, '0')}`,
    serviceName: `svc-${keyId}`,
    permissions: ['alerts:read'],
    validUntil,
    allowedIps: [],
    rateLimit: null,
  };
}

describe('ApiKeyCache', () => {
  it('returns a cached key until the TTL ends, then forgets it', () => {
    const cache = cacheWith(30);
    cache.set('h1', keyFor('1'), cache.generation, T0);
    expect(cache.get('h1', T0)).toEqual(keyFor('1'));
    expect(cache.get('h1', T0 + 29_999)).toEqual(keyFor('1'));
    expect(cache.get('h1', T0 + 30_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("asks for a refresh only in the last fifth of a live entry's life, and never for an unknown key", () => {
    const cache = cacheWith(30);
    cache.set('h1', keyFor('1'), cache.generation, T0);
    cache.set('unknown', null, cache.generation, T0);
    expect(cache.refreshDue('h1', T0 + 23_999)).toBe(false);
    expect(cache.refreshDue('h1', T0 + 24_001)).toBe(true);
    expect(cache.refreshDue('unknown', T0 + 4_999)).toBe(false);
    expect(cache.refreshDue('absent', T0)).toBe(false);
  });

  it('forgets one entry on request', () => {
    const cache = cacheWith(30);
    cache.set('h1', keyFor('1'), cache.generation, T0);
    cache.set('h2', keyFor('2'), cache.generation, T0);
    cache.forget('h1');
    expect(cache.get('h1', T0)).toBeUndefined();
    expect(cache.get('h2', T0)).toEqual(keyFor('2'));
  });

  it('counts hits and misses', () => {
    const cache = cacheWith(30);
    expect(cache.get('absent', T0)).toBeUndefined();
    cache.set('h1', keyFor('1'), cache.generation, T0);
    cache.get('h1', T0);
    cache.get('h1', T0 + 1);
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 2, misses: 1 });
  });

  it('refuses a key whose validUntil has passed, although the TTL has not', () => {
    const cache = cacheWith(30);
    cache.set('h1', keyFor('1', T0 + 1000), cache.generation, T0);
    expect(cache.get('h1', T0 + 999)).not.toBeUndefined();
    expect(cache.get('h1', T0 + 1000)).toBeUndefined();
    expect(cache.get('h1', T0 + 1001)).toBeUndefined();
  });

  it('keeps at most API_KEY_CACHE_MAX_ENTRIES, evicting the least recently used first, and counts evictions', () => {
    const cache = cacheWith(30, 3);
    for (const id of ['a', 'b', 'c']) cache.set(id, keyFor(id), cache.generation, T0);
    expect(cache.get('a', T0)).toBeDefined();
    cache.set('d', keyFor('d'), cache.generation, T0);
    expect(cache.size).toBe(3);
    expect(cache.evictions).toBe(1);
    expect(cache.get('b', T0)).toBeUndefined();
    for (const id of ['a', 'c', 'd']) expect(cache.get(id, T0)?.keyId).toBe(id);
    cache.set('e', keyFor('e'), cache.generation, T0);
    cache.set('f', keyFor('f'), cache.generation, T0);
    expect(cache.evictions).toBe(3);
    expect(cache.size).toBe(3);
    expect(['a', 'c', 'd', 'e', 'f'].filter((id) => cache.get(id, T0) !== undefined)).toEqual(['d', 'e', 'f']);
  });

  it('counts setting an entry again as a use, not as a new entry', () => {
    const cache = cacheWith(30, 2);
    cache.set('a', keyFor('a'), cache.generation, T0);
    cache.set('b', keyFor('b'), cache.generation, T0);
    cache.set('a', keyFor('a'), cache.generation, T0);
    cache.set('c', keyFor('c'), cache.generation, T0);
    expect(cache.evictions).toBe(1);
    expect(cache.get('a', T0)).toBeDefined();
    expect(cache.get('b', T0)).toBeUndefined();
  });

  it('ignores a set() whose generation was taken before evict(): a lookup in flight cannot bring back a revoked key', () => {
    const cache = cacheWith(30);
    const generation = cache.generation;
    cache.evict('1', ['h1']);
    cache.set('h1', keyFor('1'), generation, T0);
    expect(cache.get('h1', T0)).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.set('h1', keyFor('1'), cache.generation, T0);
    expect(cache.get('h1', T0)).toBeDefined();
  });

  it('ignores a set() whose generation was taken before clear()', () => {
    const cache = cacheWith(30);
    cache.set('h1', keyFor('1'), cache.generation, T0);
    const generation = cache.generation;
    cache.clear();
    expect(cache.size).toBe(0);
    cache.set('h2', keyFor('2'), generation, T0);
    expect(cache.get('h2', T0)).toBeUndefined();
  });

  it('evict() forgets the given hashes and every other entry of the same key id', () => {
    const cache = cacheWith(30);
    cache.set('current', keyFor('1'), cache.generation, T0);
    cache.set('previous', keyFor('1'), cache.generation, T0);
    cache.set('other', keyFor('2'), cache.generation, T0);
    cache.evict('1', ['current']);
    expect(cache.get('current', T0)).toBeUndefined();
    expect(cache.get('previous', T0)).toBeUndefined();
    expect(cache.get('other', T0)?.keyId).toBe('2');
  });

  it('remembers an unknown key as null for at most 5 s, and never longer than the TTL', () => {
    const cache = cacheWith(30);
    cache.set('unknown', null, cache.generation, T0);
    expect(cache.get('unknown', T0)).toBeNull();
    expect(cache.get('unknown', T0 + 4_999)).toBeNull();
    expect(cache.get('unknown', T0 + 5_000)).toBeUndefined();
    const short = cacheWith(2);
    short.set('unknown', null, short.generation, T0);
    expect(short.get('unknown', T0 + 1_999)).toBeNull();
    expect(short.get('unknown', T0 + 2_000)).toBeUndefined();
  });

  it('lets evict() of a key id leave negative entries of other hashes alone, and clear() drop them', () => {
    const cache = cacheWith(30);
    cache.set('unknown', null, cache.generation, T0);
    cache.evict('1', ['h1']);
    expect(cache.get('unknown', T0)).toBeNull();
    cache.clear();
    expect(cache.get('unknown', T0)).toBeUndefined();
  });

  it('caches nothing when API_KEY_CACHE_TTL_SECONDS is 0', () => {
    const cache = cacheWith(0);
    expect(cache.enabled).toBe(false);
    cache.set('h1', keyFor('1'), cache.generation, T0);
    cache.set('unknown', null, cache.generation, T0);
    expect(cache.size).toBe(0);
    expect(cache.get('h1', T0)).toBeUndefined();
    expect(cache.get('unknown', T0)).toBeUndefined();
  });

  it('counts a lookup of an expired entry as a miss, not a hit', () => {
    const cache = cacheWith(30);
    cache.set('h1', keyFor('1'), cache.generation, T0);
    cache.set('short', keyFor('2', T0 + 1000), cache.generation, T0);
    cache.get('h1', T0 + 30_000);
    cache.get('short', T0 + 1000);
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 0, misses: 2 });
  });

  it('fences off a lookup that began before an evict() and a clear(), in either order', () => {
    for (const order of [
      ['evict', 'clear'],
      ['clear', 'evict'],
    ] as const) {
      const cache = cacheWith(30);
      const generation = cache.generation;
      for (const step of order) {
        if (step === 'evict') cache.evict('1', ['h1']);
        else cache.clear();
      }
      cache.set('h1', keyFor('1'), generation, T0);
      expect(cache.get('h1', T0)).toBeUndefined();
    }
  });

  it('fences off a lookup that began before two revocations', () => {
    const cache = cacheWith(30);
    const first = cache.generation;
    cache.evict('1', ['h1']);
    const second = cache.generation;
    cache.evict('2', ['h2']);
    cache.set('h1', keyFor('1'), first, T0);
    cache.set('h2', keyFor('2'), second, T0);
    expect(cache.size).toBe(0);
  });
});

describe('cachedKeyOf: what the cache keeps of a key record', () => {
  const row = {
    id: 'key-1',
    keyPrefix: 'ak_0123456789ab',
    serviceName: 'siem',
    permissions: ['alerts:read' as const, 'audit:read' as const],
    allowedIps: ['10.0.0.0/8'],
    rateLimitLimit: 100,
    rateLimitWindowSeconds: 60,
  };

  it('keeps the id, label, service, permissions, allowed addresses and the rate limit, valid until the given time', () => {
    expect(cachedKeyOf(row, T0)).toEqual({
      keyId: 'key-1',
      keyPrefix: 'ak_0123456789ab',
      serviceName: 'siem',
      permissions: ['alerts:read', 'audit:read'],
      validUntil: T0,
      allowedIps: ['10.0.0.0/8'],
      rateLimit: { limit: 100, windowSeconds: 60 },
    });
  });

  it('has no rate limit unless both its limit and its window are set', () => {
    expect(cachedKeyOf({ ...row, rateLimitLimit: null, rateLimitWindowSeconds: null }, T0).rateLimit).toBeNull();
    expect(cachedKeyOf({ ...row, rateLimitLimit: 100, rateLimitWindowSeconds: null }, T0).rateLimit).toBeNull();
    expect(cachedKeyOf({ ...row, rateLimitLimit: null, rateLimitWindowSeconds: 60 }, T0).rateLimit).toBeNull();
  });
});
