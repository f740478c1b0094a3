import type Redis from 'ioredis';

/**
 * Sliding windows of distinct members (an event's seq, an address, a username), keyed by subject.
 * add() puts a member in at a time (a member seen again moves to the later time), forgets members
 * older than the window before that time, and answers how many are left.
 */
export interface DetectionWindows {
  add(key: string, member: string, at: number, windowMs: number): Promise<number>;
  close?(): void;
}

/** Members kept per key: enough past every threshold, and a bound on what one attacker can make us hold. */
const MAX_MEMBERS = 1000;
/** Keys kept at once; past it the longest-idle keys go first. */
const MAX_KEYS = 50_000;

/**
 * In this process only. Every instance receives every instance's audit events over the bus, so
 * each holds the same windows; what a restart or a lost notification misses is missed.
 */
export class MemoryWindows implements DetectionWindows {
  /** key → member → time; a Map keeps insertion order, which add() keeps as time order. */
  private readonly keys = new Map<string, Map<string, number>>();

  add(key: string, member: string, at: number, windowMs: number): Promise<number> {
    let members = this.keys.get(key);
    if (members) this.keys.delete(key);
    else members = new Map();
    // Re-inserted: the most recently used key is last, so the first keys are the ones to evict.
    this.keys.set(key, members);
    const previous = members.get(member);
    if (previous === undefined || previous < at) {
      members.delete(member);
      members.set(member, at);
    }
    const oldest = at - windowMs;
    for (const [name, time] of members) {
      if (time > oldest && members.size <= MAX_MEMBERS) break;
      members.delete(name);
    }
    // Late (out-of-order) entries may sit behind newer ones; count only what is in the window.
    let count = 0;
    for (const time of members.values()) if (time > oldest) count++;
    while (this.keys.size > MAX_KEYS) this.keys.delete(this.keys.keys().next().value!);
    return Promise.resolve(count);
  }
}

/** Shared by every instance through Redis: a sorted set per key, scored by time. */
export class RedisWindows implements DetectionWindows {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'aurora:detect:w:',
  ) {}

  async add(key: string, member: string, at: number, windowMs: number): Promise<number> {
    const name = this.prefix + key;
    const results = await this.redis
      .multi()
      // GT: a member seen again keeps its latest time, whichever instance adds it first.
      .zadd(name, 'GT', at, member)
      .zremrangebyscore(name, '-inf', at - windowMs)
      .zremrangebyrank(name, 0, -MAX_MEMBERS - 1)
      .zcount(name, `(${at - windowMs}`, '+inf')
      .pexpire(name, windowMs)
      .exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
    return Number(results[3][1]);
  }
}
