import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { Strategy } from 'passport-strategy';
import { AuditRecorder } from '../audit/audit-recorder';
import { MetricsService } from '../metrics/metrics.service';
import { clientInfo } from '../common/client-info';
import { IS_PUBLIC, REQUIRED_PERMISSIONS } from './auth.decorators';
import { auditAuthFailure, authFailureException, crossSiteException } from './auth-failure';
import { ApiKeyStrategy } from './api-key.strategy';
import { CredentialResolver } from './credential-resolver';
import { JwtStrategy } from './jwt.strategy';
import { OriginPolicy } from './origin-policy';
import { hasAll, type Permission } from './permissions';
import type { AuthMethod, AuthResult, Principal } from './principal';

export type AuthenticatedRequest = Request & { principal: Principal };

/** What a route's decorators say; read once per route, not on every request. */
interface RouteRule {
  isPublic: boolean;
  required: Permission[] | undefined;
}

/**
 * The global guard, default deny: every HTTP route needs a valid credential and the permissions
 * it names, unless it is marked @Public().
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly jwtStrategy: JwtStrategy,
    private readonly apiKeyStrategy: ApiKeyStrategy,
    private readonly originPolicy: OriginPolicy,
    private readonly audit: AuditRecorder,
    private readonly metrics: MetricsService,
  ) {}

  private readonly rules = new WeakMap<object, WeakMap<object, RouteRule>>();

  private ruleOf(context: ExecutionContext): RouteRule {
    const controller = context.getClass();
    const handler = context.getHandler();
    let byHandler = this.rules.get(controller);
    if (!byHandler) this.rules.set(controller, (byHandler = new WeakMap()));
    let rule = byHandler.get(handler);
    if (!rule) {
      const targets = [handler, controller];
      rule = {
        isPublic: this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) === true,
        required: this.reflector.getAllAndOverride<Permission[] | undefined>(REQUIRED_PERMISSIONS, targets),
      };
      byHandler.set(handler, rule);
    }
    return rule;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const rule = this.ruleOf(context);
    if (rule.isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const result = await this.authenticate(request);
    if (!result.ok) {
      this.metrics.countAuthentication(result.source === 'cookie' ? 'cookie' : (result.method ?? 'jwt'), 'failure', result.reason);
      auditAuthFailure(this.audit, result, 'http', clientInfo(request));
      throw authFailureException(result);
    }
    const principal = result.principal;
    // What an authenticated caller is answered is theirs alone: no cache, shared or private, keeps it.
    context.switchToHttp().getResponse<Response>().setHeader('Cache-Control', 'no-store');
    this.metrics.countAuthentication(principal.source === 'api_key' ? 'api_key' : principal.source === 'cookie' ? 'cookie' : 'jwt', 'success');
    if (principal.source === 'cookie' && this.originPolicy.changesState(request.method) && this.originPolicy.isForeign(request.headers)) {
      this.audit.record({ type: 'auth.cross_site', outcome: 'failure', actor: principal.sub, reason: 'foreign_origin', client: clientInfo(request) });
      throw crossSiteException();
    }
    const required = rule.required;
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

  /**
   * Runs the strategy that the request's credential calls for (contract order: Bearer, X-API-Key,
   * cookie). It runs the way passport runs it, but without passport's per-request middleware,
   * which adds work and request state and nothing this guard needs: the strategy's challenge
   * already carries the resolver's typed failure reason (bench/RESULTS.md: what each way costs).
   */
  private authenticate(request: Request): Promise<AuthResult> {
    return CredentialResolver.kindOf(request.headers) === 'api_key'
      ? attempt(this.apiKeyStrategy, 'api_key', request)
      : attempt(this.jwtStrategy, 'jwt', request);
  }
}

type Failure = Extract<AuthResult, { ok: false }>;

/** The strategies fail with the resolver's typed failure; anything else (passport-headerapikey's own "missing key") is a malformed key. */
function asFailure(challenge: unknown, method: AuthMethod): Failure {
  const failure = challenge as Partial<Failure> | undefined;
  if (failure?.ok === false && typeof failure.reason === 'string') return failure as Failure;
  return { ok: false, reason: method === 'api_key' ? 'malformed_api_key' : 'missing_credentials', method };
}

/** Runs a passport strategy as passport does (success/fail/error on a per-attempt object), without its middleware. */
function attempt(strategy: Strategy, method: AuthMethod, request: Request): Promise<AuthResult> {
  return new Promise((resolve) => {
    const run = Object.create(strategy) as Strategy;
    run.success = (principal: Principal) => resolve({ ok: true, principal });
    run.fail = (challenge?: unknown) => resolve(asFailure(challenge, method));
    run.error = () => resolve({ ok: false, reason: 'credential_store_unavailable', method });
    run.authenticate(request, { session: false });
  });
}
