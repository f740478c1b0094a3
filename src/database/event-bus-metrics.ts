import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { EventBus } from './event-bus';

/** The event bus's numbers, read at scrape time. */
@Injectable()
export class EventBusMetrics {
  constructor(metrics: MetricsService, bus: EventBus) {
    metrics.gauge('aurora_event_bus_connected', '1 when the event bus is connected', () => (bus.connected ? 1 : 0));
    metrics.counterFrom('aurora_event_bus_reconnects_total', 'Event bus reconnections', () => bus.reconnects);
  }
}
