import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { LiveSessions } from './live-sessions';

/** How many live sessions this instance holds in memory, read at scrape time. */
@Injectable()
export class SessionMetrics {
  constructor(metrics: MetricsService, live: LiveSessions) {
    metrics.gauge('aurora_live_sessions', 'Live sessions held in memory by this instance', () => live.size);
  }
}
