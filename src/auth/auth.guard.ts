import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AuditRecorder } from '../audit/audit-recorder';
import { MetricsService } from '../metrics/metrics.service';
import { clientInfo } from '../common/client-info';
import { IS_PUBLIC, REQUIRED_PERMISSIONS } from './auth.decorators';
import { auditAuthFailure, authFailureException, crossSiteException } from './auth-failure';
import { CredentialResolver } from './credential-resolver';
import { OriginPolicy } from './origin-policy';
import { hasAll, type Permission } from './permissions';
import type { Principal } from './principal';

export type AuthenticatedRequest = Request & { principal: Principal };

/**
 * The global guard, default deny: every HTTP route needs a valid credential and the permissions
 * it names, unless it is marked @Public().
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly resolver: CredentialResolver,
    private readonly originPolicy: OriginPolicy,
    private readonly audit: AuditRecorder,
    private readonly metrics: MetricsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const result = await this.resolver.resolve({ headers: request.headers, cookies: request.cookies });
    if (!result.ok) {
      this.metrics.countAuthentication(result.source === 'cookie' ? 'cookie' : (result.method ?? 'jwt'), 'failure', result.reason);
      auditAuthFailure(this.audit, result, 'http', clientInfo(request));
      throw authFailureException(result);
    }
    const principal = result.principal;
    this.metrics.countAuthentication(principal.source === 'api_key' ? 'api_key' : principal.source === 'cookie' ? 'cookie' : 'jwt', 'success');
    if (principal.source === 'cookie' && this.originPolicy.changesState(request.method) && this.originPolicy.isForeign(request.headers)) {
      this.audit.record({ type: 'auth.cross_site', outcome: 'failure', actor: principal.sub, reason: 'foreign_origin', client: clientInfo(request) });
      throw crossSiteException();
    }
    const required = this.reflector.getAllAndOverride<Permission[] | undefined>(REQUIRED_PERMISSIONS, targets);
    if (required === undefined) {
      throw new ForbiddenException('this route declares no permissions and is closed by default');
    }
    if (!hasAll(principal.permissions, required)) {
      const missing = required.filter((p) => !principal.permissions.includes(p)).join(', ');
      // Refused access is recorded as the WebSocket handshake records it: a SOC wants to see probing.
      this.audit.record({ type: 'auth.forbidden', outcome: 'failure', actor: principal.sub, reason: `missing permission ${missing}`, client: clientInfo(request) });
      throw new ForbiddenException(`missing permission: ${missing}`);
    }
    request.principal = principal;
    return true;
  }
}
