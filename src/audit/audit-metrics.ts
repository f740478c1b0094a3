import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { AuditRecorder } from './audit-recorder';

/** The audit queue's numbers, read at scrape time. */
@Injectable()
export class AuditMetrics {
  constructor(metrics: MetricsService, audit: AuditRecorder) {
    metrics.gauge('aurora_audit_queue_depth', 'Audit events waiting for the database', () => audit.queueDepth);
    metrics.counterFrom('aurora_audit_dropped_total', 'Audit events dropped because the queue was full', () => audit.dropped);
  }
}
