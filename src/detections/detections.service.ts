import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AlertsService } from '../alerts/alerts.service';
import { EventBus } from '../database/event-bus';
import type { DetectionMarks } from './detection-marks';
import { detect, DETECTION_WINDOW_MS, type WatchedEvent } from './detection-rules';
import type { DetectionWindows } from './detection-windows';

/** Events waiting to be looked at; past it they are skipped (and counted), never held without bound. */
const MAX_PENDING = 10_000;

/**
 * Watches the audit stream of every instance (the bus's audit.recorded, after each event is
 * stored) and raises AuroraSOC alerts through AlertsService, so they reach /ws/alerts like any
 * other. Each instance looks at every event; the windows (Redis, or memory fed by the same
 * stream) reach a threshold at the same event everywhere, and the marks let one instance raise it.
 */
@Injectable()
export class DetectionsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Detections');
  private unsubscribe?: () => void;
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  skipped = 0;
  raised = 0;

  constructor(
    private readonly bus: EventBus,
    private readonly alerts: AlertsService,
    private readonly windows: DetectionWindows,
    private readonly marks: DetectionMarks,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.bus.on('audit.recorded', (event) => this.observe(event.event as WatchedEvent));
  }

  /** Queues the event; events are looked at one at a time, in the order they arrive. */
  observe(event: WatchedEvent): void {
    if (event?.outcome !== 'failure') return;
    if (this.pending >= MAX_PENDING) {
      this.skipped++;
      return;
    }
    this.pending++;
    this.tail = this.tail
      .then(() => this.inspect(event))
      .catch((error: Error) => this.logger.warn(`detection failed for audit event ${event.seq ?? '?'}: ${error.message}`))
      .finally(() => this.pending--);
  }

  /** Resolves when every queued event has been looked at. */
  idle(): Promise<void> {
    return this.tail;
  }

  private async inspect(event: WatchedEvent): Promise<void> {
    for (const found of await detect(event, this.windows)) {
      if (!(await this.marks.claim(found.rule, found.subject, Date.parse(event.created_at), DETECTION_WINDOW_MS))) continue;
      await this.alerts.create(found.alert);
      this.raised++;
      this.logger.log({ detection: { rule: found.rule, subject: found.subject, seq: event.seq } }, `raised a ${found.rule} alert`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    await this.tail;
    this.windows.close?.();
  }
}
