import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { ClientInfo } from '../common/client-info';
import { EventBus } from '../database/event-bus';
import { AuditEvent, AuditOutcome } from './audit-event.entity';
import { AuditEventView, toAuditEventView } from './audit-event.view';

export interface AuditInput {
  type: string;
  outcome: AuditOutcome;
  actor?: string | null;
  reason?: string | null;
  client?: ClientInfo;
}

const MAX_QUEUE = 10_000;
const BATCH_SIZE = 500;
const MAX_RETRY_DELAY_MS = 5000;

/** Control characters (CR, LF, ESC …) become visible escapes so no value can forge a log line. */
export function sanitizeAuditText(value: string | null | undefined, maxLength: number): string | null {
  if (value === null || value === undefined) return null;
  const escaped = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (char) =>
    `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return escaped.length > maxLength ? `${escaped.slice(0, maxLength - 1)}…` : escaped;
}

/**
 * Records audit events. Each event is logged as a JSON line at once and queued for the database;
 * while the database is unreachable the queue holds up to MAX_QUEUE events and writes them when it
 * returns. Past the bound the oldest are dropped, and every drop is logged and counted.
 */
@Injectable()
export class AuditRecorder implements OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private queue: AuditEvent[] = [];
  private flushing = false;
  private retryDelayMs = 0;
  private retryTimer?: NodeJS.Timeout;
  dropped = 0;

  constructor(
    @InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>,
    private readonly bus: EventBus,
  ) {}

  get queueDepth(): number {
    return this.queue.length;
  }

  record(input: AuditInput): void {
    const event = this.events.create({
      type: sanitizeAuditText(input.type, 64)!,
      outcome: input.outcome,
      actor: sanitizeAuditText(input.actor, 200),
      reason: sanitizeAuditText(input.reason, 200),
      ip: sanitizeAuditText(input.client?.ip, 64),
      userAgent: sanitizeAuditText(input.client?.userAgent, 512),
      requestId: sanitizeAuditText(input.client?.requestId, 64),
      createdAt: new Date(),
    });
    this.logger.log({ audit: { ...toAuditEventView(event), id: undefined } }, 'audit event');
    if (this.queue.length >= MAX_QUEUE) {
      this.queue.shift();
      this.dropped++;
      this.logger.error(`audit queue full (${MAX_QUEUE}): dropped the oldest unwritten event; ${this.dropped} dropped so far`);
    }
    this.queue.push(event);
    if (this.retryDelayMs === 0) void this.flush();
  }

  /** Writes what is queued; resolves when the queue is empty or the database refused. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, BATCH_SIZE);
        let saved: AuditEvent[];
        try {
          saved = await this.events.save(batch, { reload: true });
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
    clearTimeout(this.retryTimer);
    if (this.queue.length > 0 && this.retryDelayMs === 0) await this.flush();
    if (this.queue.length > 0) this.logger.error(`${this.queue.length} audit events could not be written before shutdown`);
  }
}

export type { AuditEventView };
