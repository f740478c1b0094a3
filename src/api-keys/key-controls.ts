import { BlockList, isIP } from 'node:net';
import { Injectable } from '@nestjs/common';
import { RedisConnection } from '../common/redis.provider';

/** A key's request budget: at most `limit` requests per `windowSeconds`. */
export interface KeyRateLimit {
  limit: number;
  windowSeconds: number;
}

/** What the rate limit said about one request, and what its headers tell the client. */
export interface RateVerdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

/** Counts one request in Redis and reads the window's end, in one atomic round trip. */
const COUNT_SCRIPT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end
return {n, ttl}`;
const MAX_MEMORY_WINDOWS = 100_000;

/** An address as CIDR rules compare it: IPv4 clients of a dual-stack socket arrive as ::ffff:a.b.c.d. */
export function plainAddress(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? mapped[1] : ip;
}

/** A CIDR range (or a single address) parsed, or null when it is not one. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address, prefixText, extra] = text.trim().split('/');
  if (extra !== undefined || !address) return null;
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * A key's controls on each request: its IP allowlist (compiled once per cached entry) and its rate
 * limit (shared through Redis when REDIS_URL is set, so every instance counts together; else in
 * this process's memory, each instance counting alone).
 */
@Injectable()
export class KeyControls {
  private readonly compiled = new WeakMap<readonly string[], BlockList>();
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(private readonly redis: RedisConnection) {}

  /** True when the key may be used from this address (an empty allowlist allows any). */
  ipAllowed(allowedIps: readonly string[] | undefined, ip: string | null): boolean {
    if (!allowedIps || allowedIps.length === 0) return true;
    if (!ip) return false;
    const address = plainAddress(ip);
    const family = isIP(address);
    if (family === 0) return false;
    return this.blockListOf(allowedIps).check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** Counts one request of the key against its limit. */
  async count(keyId: string, rule: KeyRateLimit, now = Date.now()): Promise<RateVerdict> {
    const windowMs = rule.windowSeconds * 1000;
    let count: number;
    let remainingMs: number;
    if (this.redis.client) {
      const [n, ttl] = (await this.redis.client.eval(COUNT_SCRIPT, 1, `aurora:key-rate:${keyId}:${rule.limit}:${rule.windowSeconds}`, windowMs)) as [
        number,
        number,
      ];
      count = Number(n);
      remainingMs = Number(ttl);
    } else {
      const key = `${keyId}:${rule.limit}:${rule.windowSeconds}`;
      let window = this.windows.get(key);
      if (!window || window.resetAt <= now) {
        if (this.windows.size >= MAX_MEMORY_WINDOWS) this.prune(now);
        window = { count: 0, resetAt: now + windowMs };
        this.windows.set(key, window);
      }
      count = ++window.count;
      remainingMs = window.resetAt - now;
    }
    return {
      allowed: count <= rule.limit,
      limit: rule.limit,
      remaining: Math.max(0, rule.limit - count),
      resetSeconds: Math.max(1, Math.ceil(remainingMs / 1000)),
    };
  }

  private blockListOf(allowedIps: readonly string[]): BlockList {
    let list = this.compiled.get(allowedIps);
    if (!list) {
      list = new BlockList();
      for (const text of allowedIps) {
        const range = parseCidr(text);
        if (range) list.addSubnet(range.address, range.prefix, range.family);
      }
      this.compiled.set(allowedIps, list);
    }
    return list;
  }

  private prune(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
    if (this.windows.size >= MAX_MEMORY_WINDOWS) this.windows.clear();
  }
}
