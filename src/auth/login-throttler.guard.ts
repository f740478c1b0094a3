import { Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail, ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import type { ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerOptions, InjectThrottlerStorage } from '@nestjs/throttler';
import { AuditRecorder } from '../audit/audit-recorder';
import { clientInfo } from '../common/client-info';
import { MetricsService } from '../metrics/metrics.service';
import { guessLimitOf } from '../access/guess-limit';
import { usernameIn } from './login-body';

/** The per-IP throttler of guess-limited routes; its refusals are failed attempts too, so they are audited and counted. */
@Injectable()
export class LoginThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly metrics: MetricsService,
    private readonly audit: AuditRecorder,
  ) {
    super(options, storage, reflector);
  }

  /**
   * Only guess-limited routes are counted; every other route passes without the throttler's own
   * lookups, and synchronously, so that Nest need not await a promise for it.
   */
  // @ts-expect-error ThrottlerGuard declares Promise<boolean>; Nest's CanActivate allows a boolean, and Nest checks for one first.
  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (guessLimitOf(context) === undefined) return true;
    return super.canActivate(context);
  }

  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    this.metrics.rateLimited.inc({ rule: 'login_per_ip' });
    this.metrics.countAuthentication('login', 'failure', 'too_many_attempts_from_ip');
    const request = context.switchToHttp().getRequest<Request & { principal?: { sub: string } }>();
    this.audit.record({
      type: guessLimitOf(context) ?? 'auth.login',
      outcome: 'failure',
      actor: request.principal?.sub ?? usernameIn(request.body),
      reason: 'too_many_attempts_from_ip',
      client: clientInfo(request),
    });
    return super.throwThrottlingException(context, detail);
  }
}
