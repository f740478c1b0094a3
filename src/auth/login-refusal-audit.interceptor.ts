import { BadRequestException, CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { catchError, Observable, throwError } from 'rxjs';
import { AuditRecorder } from '../audit/audit-recorder';
import { clientInfo } from '../common/client-info';
import { MetricsService } from '../metrics/metrics.service';
import { usernameIn } from './login-body';

/**
 * A login refused for its body (400 from validation, which runs before the controller) is a failed
 * login too: recorded like the others, with the username when the body named one as a string.
 */
@Injectable()
export class LoginRefusalAudit implements NestInterceptor {
  constructor(
    private readonly audit: AuditRecorder,
    private readonly metrics: MetricsService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (error instanceof BadRequestException) {
          const request = context.switchToHttp().getRequest<Request>();
          this.audit.record({
            type: 'auth.login',
            outcome: 'failure',
            actor: usernameIn(request.body),
            reason: 'invalid_request',
            client: clientInfo(request),
          });
          this.metrics.countAuthentication('login', 'failure', 'invalid_request');
        }
        return throwError(() => error);
      }),
    );
  }
}
