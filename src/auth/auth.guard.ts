import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { IS_PUBLIC, OPEN_DURING_MFA_ENROLMENT, REQUIRE_STEP_UP, REQUIRED_PERMISSIONS } from '../access/access.decorators';
import type { Permission } from '../access/permissions';
import type { Principal } from '../access/principal';
import { Authenticator, AuthRoute, httpCarrier } from './authenticator';

export type AuthenticatedRequest = Request & { principal: Principal };

/** What a route's decorators say; read once per route, not on every request. */
interface RouteRule extends AuthRoute {
  isPublic: boolean;
}

/**
 * The global guard, default deny: an adapter that hands each HTTP request and its route's rule to
 * the Authenticator and turns its answer into Nest's. Routes marked @Public() skip it.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly rules = new WeakMap<object, WeakMap<object, RouteRule>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

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
        permissions: this.reflector.getAllAndOverride<Permission[] | undefined>(REQUIRED_PERMISSIONS, targets),
        stepUp: this.reflector.getAllAndOverride<boolean>(REQUIRE_STEP_UP, targets) === true,
        openDuringEnrolment: this.reflector.getAllAndOverride<boolean>(OPEN_DURING_MFA_ENROLMENT, targets) === true,
      };
      byHandler.set(handler, rule);
    }
    return rule;
  }

  /** Synchronous where nothing is to be checked, so that Nest need not await a promise for it. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const rule = this.ruleOf(context);
    if (rule.isPublic) return true;
    return this.admit(context, rule);
  }

  private async admit(context: ExecutionContext, rule: RouteRule): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const decision = await this.authenticator.authenticate(httpCarrier(request), rule);
    if (!decision.ok) throw decision.refusal;
    const response = http.getResponse<Response>();
    // What an authenticated caller is answered is theirs alone: no cache, shared or private, keeps it.
    response.setHeader('Cache-Control', 'no-store');
    if (decision.headers) for (const [name, value] of Object.entries(decision.headers)) response.setHeader(name, value);
    request.principal = decision.principal;
    return true;
  }
}
