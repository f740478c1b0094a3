import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The credential or factor an authentication attempt presented: the metric's `method` label. */
export type AuthMetricMethod = 'jwt' | 'cookie' | 'api_key' | 'ws' | 'login' | 'totp' | 'recovery' | 'webauthn' | 'passkey' | 'sso';

/**
 * The Prometheus registry of this process. Counters are incremented where things happen; gauges
 * read their value from the owning component when scraped.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly authAttempts = new Counter({
    name: 'aurora_auth_attempts_total',
    help: 'Authentication attempts by method (jwt, cookie, api_key, ws, login, totp, recovery, webauthn, passkey), outcome and reason',
    labelNames: ['method', 'outcome', 'reason'] as const,
    registers: [this.registry],
  });

  readonly loginDuration = new Histogram({
    name: 'aurora_login_duration_seconds',
    help: 'Time to answer POST /api/v1/auth/token',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'aurora_rate_limit_rejections_total',
    help: 'Requests answered 429',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** One authentication attempt; reasons are the resolver's fixed set, so label cardinality is bounded. */
  countAuthentication(method: AuthMetricMethod, outcome: 'success' | 'failure', reason = 'ok'): void {
    this.authAttempts.inc({ method, outcome, reason });
  }

  /**
   * A counter whose running total is kept by its owner (a plain number there) and read at scrape
   * time; it only ever moves up by the difference.
   */
  counterFrom(name: string, help: string, read: () => number | Record<string, number>, labelName?: string): void {
    const seen = new Map<string, number>();
    new Counter({
      name,
      help,
      labelNames: labelName ? [labelName] : [],
      registers: [this.registry],
      collect() {
        const value = read();
        const totals = typeof value === 'number' ? { '': value } : value;
        for (const [label, total] of Object.entries(totals)) {
          const delta = total - (seen.get(label) ?? 0);
          if (delta <= 0) continue;
          seen.set(label, total);
          if (labelName) this.inc({ [labelName]: label }, delta);
          else this.inc(delta);
        }
      },
    });
  }

  /** A gauge whose value is read from its owner at scrape time. */
  gauge(name: string, help: string, read: () => number | Record<string, number>, labelName = 'name'): void {
    new Gauge({
      name,
      help,
      labelNames: [labelName],
      registers: [this.registry],
      collect() {
        const value = read();
        if (typeof value === 'number') this.set(value);
        else for (const [label, v] of Object.entries(value)) this.set({ [labelName]: label }, v);
      },
    });
  }
}
