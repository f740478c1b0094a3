import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';

/** Set when SIGTERM arrives, so /readyz turns load balancers away before the process exits. */
@Injectable()
export class ShutdownState {
  private shuttingDown = false;

  constructor(private readonly indicator: HealthIndicatorService) {}

  begin(): void {
    this.shuttingDown = true;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  check(): HealthIndicatorResult {
    const session = this.indicator.check('lifecycle');
    return this.shuttingDown ? session.down({ state: 'shutting_down' }) : session.up({ state: 'serving' });
  }
}
