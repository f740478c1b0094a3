import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ClientInfo } from '../common/client-info';
import { EventBus } from '../database/event-bus';
import { AuditChainRepository } from './audit-chain.repository';
import { AuditEvent, AuditOutcome } from './audit-event.entity';
import { AuditEventView, toAuditEventView } from './audit-event.view';
import { describeSuppressed, FAILURES_SUPPRESSED, FailureFloodLimiter, SuppressedFailures } from './failure-flood-limiter';

export interface AuditInput {
  type: string;
  outcome: AuditOutcome;
  actor?: string | null;
  reason?: string | null;
  client?: ClientInfo;
  /**
   * What an admin action changed: recorded as the reason, compact JSON
   * `{"target":…,"before":{…},"after":{…}}` of the changed fields only (never a secret or a hash).
   */
  changes?: AuditChanges;
}

export interface AuditChanges {
  target: string;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

/** Change records are longer than other reasons (the column holds 2000 characters). */
const CHANGES_MAX = 2000;

/** The changed fields only, as compact JSON; lists too long for the column are given by their length. */
export function describeChanges(changes: AuditChanges): string {
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(changes.before), ...Object.keys(changes.after)])) {
    if (JSON.stringify(changes.before[key]) === JSON.stringify(changes.after[key])) continue;
    before[key] = changes.before[key] ?? null;
    after[key] = changes.after[key] ?? null;
  }
  const text = JSON.stringify({ target: changes.target, before, after });
  if (text.length <= CHANGES_MAX) return text;
  const shorten = (fields: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, Array.isArray(value) ? { count: value.length } : value]));
  return JSON.stringify({ target: changes.target, before: shorten(before), after: shorten(after) });
}

const MAX_QUEUE = 10_000;
const BATCH_SIZE = 500;
const MAX_RETRY_DELAY_MS = 5000;
/** How often ended flood windows are looked for, so a summary comes at most this late. */
const FLOOD_SWEEP_MS = 1000;
const REASON_MAX = 200;

/**
 * Control characters (CR, LF, ESC …), line separators and the bidirectional marks, embeddings,
 * overrides and isolates become visible escapes, so no value can forge a log line or make a name
 * display as another.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** Half an escape or half a surrogate pair, which a cut at maxLength can leave at the end. */
const TORN_TAIL = /(?:\\(?:u[0-9a-f]{0,3})?|[\ud800-\udbff])$/;

export function sanitizeAuditText(value: string | null | undefined, maxLength: number): string | null {
  if (value === null || value === undefined) return null;
  const escaped = value.replace(UNSAFE_CHARACTERS, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > maxLength ? `${escaped.slice(0, maxLength - 1).replace(TORN_TAIL, '')}…` : escaped;
}

/**
 * Records audit events. Each event is logged as a JSON line at once and queued for the database;
 * while the database is unreachable the queue holds up to MAX_QUEUE events and writes them when it
 * returns. Past the bound the oldest are dropped, and every drop is logged and counted.
 * A failure from an address past its flood limit is only counted (FailureFloodLimiter): it is not
 * logged, queued or broadcast, and becomes part of one summary event when the window ends.
 */
@Injectable()
export class AuditRecorder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private queue: AuditEvent[] = [];
  private flushing = false;
  private inFlight: Promise<void> = Promise.resolve();
  private retryDelayMs = 0;
  private retryTimer?: NodeJS.Timeout;
  private floodSweep?: NodeJS.Timeout;
  dropped = 0;

  constructor(
    private readonly chain: AuditChainRepository,
    private readonly bus: EventBus,
    private readonly flood: FailureFloodLimiter,
  ) {}

  onModuleInit(): void {
    // Without it, the summary of an address that went quiet would wait for its next failure.
    this.floodSweep = setInterval(() => this.recordSummaries(this.flood.expire()), FLOOD_SWEEP_MS);
    this.floodSweep.unref();
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  record(input: AuditInput): void {
    const type = sanitizeAuditText(input.type, 64)!;
    const reason = input.changes ? sanitizeAuditText(describeChanges(input.changes), CHANGES_MAX) : sanitizeAuditText(input.reason, REASON_MAX);
    const ip = sanitizeAuditText(input.client?.ip, 64);
    if (input.outcome === 'failure' && ip) {
      this.recordSummaries(this.flood.expire());
      if (!this.flood.admit(ip, reason === null ? type : `${type}/${reason}`)) return;
    }
    this.enqueue(
      Object.assign(new AuditEvent(), {
        type,
        outcome: input.outcome,
        actor: sanitizeAuditText(input.actor, 200),
        reason,
        ip,
        userAgent: sanitizeAuditText(input.client?.userAgent, 512),
        requestId: sanitizeAuditText(input.client?.requestId, 64),
        createdAt: new Date(),
      }),
    );
  }

  /** One event per address whose window suppressed failures; never itself subject to the limit. */
  private recordSummaries(summaries: SuppressedFailures[]): void {
    for (const summary of summaries) {
      this.enqueue(
        Object.assign(new AuditEvent(), {
          type: FAILURES_SUPPRESSED,
          outcome: 'failure',
          actor: null,
          reason: sanitizeAuditText(describeSuppressed(summary, REASON_MAX), REASON_MAX),
          ip: summary.ip,
          userAgent: null,
          requestId: null,
          createdAt: new Date(),
        }),
      );
    }
  }

  private enqueue(event: AuditEvent): void {
    this.logger.log({ audit: { ...toAuditEventView(event), id: undefined } }, 'audit event');
    if (this.queue.length >= MAX_QUEUE) {
      this.queue.shift();
      this.dropped++;
      this.logger.error(`audit queue full (${MAX_QUEUE}): dropped the oldest unwritten event; ${this.dropped} dropped so far`);
    }
    this.queue.push(event);
    if (this.retryDelayMs === 0) void this.flush();
  }

  /**
   * Writes what is queued; resolves when the queue is empty or the database refused. A call during
   * a flush joins it (that flush also writes what was queued meanwhile), so shutdown really waits.
   */
  flush(): Promise<void> {
    if (this.flushing) return this.inFlight;
    this.flushing = true;
    this.inFlight = this.writeQueue();
    return this.inFlight;
  }

  private async writeQueue(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, BATCH_SIZE);
        let saved: AuditEvent[];
        try {
          // The database gives each its seq and hash (migration AuditChain), in this order.
          saved = await this.chain.append(batch);
        } catch (error) {
          this.scheduleRetry(error as Error);
          return;
        }
        this.queue.splice(0, batch.length);
        this.retryDelayMs = 0;
        for (const event of saved) void this.bus.publish({ type: 'audit.recorded', event: toAuditEventView(event) });
      }
    } finally {
      this.flushing = false;
    }
  }

  private scheduleRetry(error: Error): void {
    this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, 250), MAX_RETRY_DELAY_MS);
    this.logger.warn(`audit events wait for the database (${this.queue.length} queued): ${error.message}`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.flush(), this.retryDelayMs);
    this.retryTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.floodSweep);
    // Counted failures become their summaries now, in time for the last flush.
    this.recordSummaries(this.flood.drain());
    clearTimeout(this.retryTimer);
    if (this.queue.length > 0 && this.retryDelayMs === 0) await this.flush();
    if (this.queue.length > 0) this.logger.error(`${this.queue.length} audit events could not be written before shutdown`);
  }
}

export type { AuditEventView };
