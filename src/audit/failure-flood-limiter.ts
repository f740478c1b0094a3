import { performance } from 'node:perf_hooks';

/** Milliseconds on a clock that only moves forward; tests pass their own. */
export type Clock = () => number;

export interface FailureFloodOptions {
  /** Length of an address's window, which opens with its first failure. */
  windowMs: number;
  /** Failures per window and address that are recorded one by one. */
  maxPerWindow: number;
  /** Addresses tracked at once; failures from any further address share one bucket. */
  maxAddresses: number;
  /** Distinct kinds counted per address; the rest are counted as OTHER_KINDS. */
  maxKinds: number;
  clock: Clock;
}

/** The failures of one window that were counted instead of recorded. */
export interface SuppressedFailures {
  /** null: the failures of addresses beyond maxAddresses, counted together. */
  ip: string | null;
  count: number;
  /** [kind, count], most frequent first. */
  kinds: Array<[string, number]>;
  windowMs: number;
}

export const FAILURES_SUPPRESSED = 'audit.failures_suppressed';
export const OTHER_KINDS = 'other kinds';

export const DEFAULT_FAILURE_FLOOD_OPTIONS: FailureFloodOptions = {
  windowMs: 60_000,
  maxPerWindow: 60,
  maxAddresses: 10_000,
  maxKinds: 20,
  clock: () => performance.now(),
};

interface Bucket {
  ip: string | null;
  windowStart: number;
  seen: number;
  suppressed: number;
  /** Allocated at the first suppressed failure: most addresses never get there. */
  kinds?: Map<string, number>;
}

/**
 * Decides which failure events an address may still write (docs/api.md, audit): the first
 * maxPerWindow in its window, then only a count per kind, which becomes one summary when the
 * window ends. Memory stays bounded whatever the traffic: at most maxAddresses buckets of at most
 * maxKinds kinds. State is per process: N instances let through up to N times maxPerWindow.
 */
export class FailureFloodLimiter {
  readonly options: FailureFloodOptions;
  /** Insertion order is window-start order (the clock only moves forward), so expiry stops at the first live bucket. */
  private readonly buckets = new Map<string, Bucket>();
  private overflow?: Bucket;
  /** Windows ended by admit() itself, handed out by the next expire(). */
  private closed: SuppressedFailures[] = [];

  constructor(options: Partial<FailureFloodOptions> = {}) {
    this.options = { ...DEFAULT_FAILURE_FLOOD_OPTIONS, ...options };
  }

  get trackedAddresses(): number {
    return this.buckets.size;
  }

  /**
   * Counts one failure from `ip`; true when it is to be recorded on its own. Call expire() first,
   * so that a window that has ended is summarised before this failure opens the next one.
   */
  admit(ip: string, kind: string): boolean {
    const now = this.options.clock();
    const bucket = this.bucketFor(ip, now);
    bucket.seen++;
    if (bucket.seen <= this.options.maxPerWindow) return true;
    bucket.suppressed++;
    bucket.kinds ??= new Map();
    const key = bucket.kinds.has(kind) || bucket.kinds.size < this.options.maxKinds ? kind : OTHER_KINDS;
    bucket.kinds.set(key, (bucket.kinds.get(key) ?? 0) + 1);
    return false;
  }

  /** Ends every window that is over; returns the summaries of those that suppressed something. */
  expire(): SuppressedFailures[] {
    const now = this.options.clock();
    const summaries = this.closed.splice(0);
    for (const [ip, bucket] of this.buckets) {
      if (!this.isOver(bucket, now)) break;
      this.buckets.delete(ip);
      this.summarise(bucket, summaries);
    }
    if (this.overflow && this.isOver(this.overflow, now)) {
      this.summarise(this.overflow, summaries);
      this.overflow = undefined;
    }
    return summaries;
  }

  /** Ends every window now (shutdown): nothing counted is lost. */
  drain(): SuppressedFailures[] {
    const summaries = this.closed.splice(0);
    for (const bucket of this.buckets.values()) this.summarise(bucket, summaries);
    if (this.overflow) this.summarise(this.overflow, summaries);
    this.buckets.clear();
    this.overflow = undefined;
    return summaries;
  }

  private bucketFor(ip: string, now: number): Bucket {
    const known = this.buckets.get(ip);
    if (known && !this.isOver(known, now)) return known;
    // An ended window found here (the caller skipped expire(), or the bucket sits behind one that a
    // clock going backwards made younger) is summarised before the next one opens.
    if (known) {
      this.buckets.delete(ip);
      this.summarise(known, this.closed);
    }
    if (this.buckets.size < this.options.maxAddresses) {
      const bucket: Bucket = { ip, windowStart: now, seen: 0, suppressed: 0 };
      this.buckets.set(ip, bucket);
      return bucket;
    }
    this.overflow ??= { ip: null, windowStart: now, seen: 0, suppressed: 0 };
    return this.overflow;
  }

  private isOver(bucket: Bucket, now: number): boolean {
    return now - bucket.windowStart >= this.options.windowMs;
  }

  private summarise(bucket: Bucket, into: SuppressedFailures[]): void {
    if (bucket.suppressed === 0) return;
    // A stable sort: equal counts keep the order in which they were first seen.
    const kinds = [...bucket.kinds!.entries()].sort((a, b) => b[1] - a[1]);
    into.push({ ip: bucket.ip, count: bucket.suppressed, kinds, windowMs: this.options.windowMs });
  }
}

function describeWindow(windowMs: number): string {
  if (windowMs === 60_000) return 'one minute';
  if (windowMs % 60_000 === 0) return `${windowMs / 60_000} minutes`;
  return `${windowMs / 1000} seconds`;
}

/**
 * The summary's reason, e.g. "1940 more failures from this address in one minute:
 * auth.jwt/bad_signature ×1900, auth.api_key/unknown_api_key ×40". Kinds that do not fit in
 * maxLength are left out from the least frequent up, and an ellipsis says so.
 */
export function describeSuppressed(summary: SuppressedFailures, maxLength: number): string {
  const from = summary.ip === null ? 'from addresses beyond the tracked limit' : 'from this address';
  let text = `${summary.count} more failures ${from} in ${describeWindow(summary.windowMs)}:`;
  const ellipsis = ' …';
  for (let index = 0; index < summary.kinds.length; index++) {
    const [kind, count] = summary.kinds[index];
    const part = `${index === 0 ? ' ' : ', '}${kind} ×${count}`;
    // Room for the ellipsis stays free until the last kind.
    const room = maxLength - (index < summary.kinds.length - 1 ? ellipsis.length : 0);
    if (text.length + part.length > room) return text + ellipsis;
    text += part;
  }
  return text;
}
