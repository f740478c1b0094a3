import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { OpenDuringMfaEnrolment, Public, RequirePermissions, RequireStepUp } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { AuthRefusal } from './auth-refusal';
import { AuthGuard } from './auth.guard';
import type { AuthCarrier, AuthDecision, AuthRoute, Authenticator } from './authenticator';

const alice: Principal = { kind: 'user', sub: 'alice', role: 'analyst', permissions: ['alerts:read', 'alerts:write'], source: 'bearer' };

class FakeAuthenticator {
  readonly seen: Array<{ carrier: AuthCarrier; route: AuthRoute }> = [];
  answer: AuthDecision = { ok: true, principal: alice };

  authenticate(carrier: AuthCarrier, route: AuthRoute): Promise<AuthDecision> {
    this.seen.push({ carrier, route });
    return Promise.resolve(this.answer);
  }
}

@RequirePermissions('alerts:read')
class AlertsController {
  list(): void {}
  @RequirePermissions('alerts:write')
  create(): void {}
  @Public()
  health(): void {}
}

class UndecoratedController {
  handler(): void {}
}

@Public()
class PublicController {
  handler(): void {}
}

@OpenDuringMfaEnrolment()
class EnrolmentController {
  @RequirePermissions()
  status(): void {}
  @RequirePermissions()
  @RequireStepUp()
  remove(): void {}
}

interface FakeRequest {
  method: string;
  headers: Record<string, string>;
  cookies: Record<string, string>;
  ip: string;
  socket: object;
  principal?: Principal;
}

function httpContext(controller: new () => object, handler: string, request: FakeRequest, headers: Map<string, string>, type = 'http'): ExecutionContext {
  const target = controller.prototype as Record<string, () => void>;
  return {
    getType: () => type,
    getClass: () => controller,
    getHandler: () => target[handler],
    switchToHttp: () => ({
      getRequest: () => request,
      getResponse: () => ({ setHeader: (name: string, value: string) => headers.set(name, value) }),
    }),
  } as unknown as ExecutionContext;
}

describe('AuthGuard: the global guard, default deny', () => {
  let authenticator: FakeAuthenticator;
  let guard: AuthGuard;
  let headers: Map<string, string>;
  const request = (): FakeRequest => ({
    method: 'POST',
    headers: { authorization: 'Bearer t' },
    cookies: { access_token: 'c' },
    ip: '203.0.113.9',
    socket: {},
  });

  beforeEach(() => {
    authenticator = new FakeAuthenticator();
    guard = new AuthGuard(new Reflector(), authenticator as unknown as Authenticator);
    headers = new Map();
  });

  it("hands the request and the route's permissions to the Authenticator, and puts the principal on the request", async () => {
    const req = request();
    expect(await guard.canActivate(httpContext(AlertsController, 'list', req, headers))).toBe(true);
    expect(authenticator.seen).toHaveLength(1);
    expect(authenticator.seen[0].route).toMatchObject({ permissions: ['alerts:read'] });
    expect(authenticator.seen[0].carrier).toMatchObject({
      channel: 'http',
      method: 'POST',
      headers: { authorization: 'Bearer t' },
      cookies: { access_token: 'c' },
      client: { ip: '203.0.113.9' },
    });
    expect(req.principal).toBe(alice);
  });

  it("takes a handler's own permissions over its controller's", async () => {
    await guard.canActivate(httpContext(AlertsController, 'create', request(), headers));
    expect(authenticator.seen[0].route).toMatchObject({ permissions: ['alerts:write'] });
  });

  it('asks the Authenticator with no permissions at all for a route that declares none, so that it stays closed', async () => {
    await guard.canActivate(httpContext(UndecoratedController, 'handler', request(), headers));
    expect(authenticator.seen[0].route.permissions).toBeUndefined();
  });

  it('lets @Public() routes through without authenticating, on the handler or on the controller', async () => {
    const req = request();
    expect(await guard.canActivate(httpContext(AlertsController, 'health', req, headers))).toBe(true);
    expect(await guard.canActivate(httpContext(PublicController, 'handler', req, headers))).toBe(true);
    expect(authenticator.seen).toEqual([]);
    expect(req.principal).toBeUndefined();
    expect(headers.size).toBe(0);
  });

  it('leaves contexts other than HTTP to their own adapters', async () => {
    expect(await guard.canActivate(httpContext(AlertsController, 'list', request(), headers, 'ws'))).toBe(true);
    expect(authenticator.seen).toEqual([]);
  });

  it("throws the Authenticator's refusal as it is (its status and body), and sets no principal", async () => {
    const refusal = new AuthRefusal(403, 'missing permission: alerts:write');
    authenticator.answer = { ok: false, refusal };
    const req = request();
    await expect(guard.canActivate(httpContext(AlertsController, 'create', req, headers))).rejects.toBe(refusal);
    expect(req.principal).toBeUndefined();
    expect(headers.has('Cache-Control')).toBe(false);
  });

  it('marks what an authenticated caller is answered as no-store, and adds the headers the decision carries', async () => {
    authenticator.answer = { ok: true, principal: alice, headers: { 'RateLimit-Limit': '10', 'RateLimit-Remaining': '9' } };
    await guard.canActivate(httpContext(AlertsController, 'list', request(), headers));
    expect(Object.fromEntries(headers)).toEqual({ 'Cache-Control': 'no-store', 'RateLimit-Limit': '10', 'RateLimit-Remaining': '9' });
  });

  it('reads each route rule once and answers the same on later requests', async () => {
    const reflector = new Reflector();
    const read = jest.spyOn(reflector, 'getAllAndOverride');
    guard = new AuthGuard(reflector, authenticator as unknown as Authenticator);
    for (let i = 0; i < 3; i++) await guard.canActivate(httpContext(AlertsController, 'create', request(), headers));
    await guard.canActivate(httpContext(AlertsController, 'list', request(), headers));
    expect(authenticator.seen.map((seen) => seen.route.permissions)).toEqual([['alerts:write'], ['alerts:write'], ['alerts:write'], ['alerts:read']]);
    // Four keys (public, permissions, step-up, open during enrolment) for each of the two routes.
    expect(read).toHaveBeenCalledTimes(2 * 4);
  });

  it('passes @RequireStepUp() and @OpenDuringMfaEnrolment() (on the handler or its controller) to the decision', async () => {
    await guard.canActivate(httpContext(EnrolmentController, 'status', request(), headers));
    await guard.canActivate(httpContext(EnrolmentController, 'remove', request(), headers));
    await guard.canActivate(httpContext(AlertsController, 'create', request(), headers));
    expect(authenticator.seen.map((seen) => seen.route)).toEqual([
      { isPublic: false, permissions: [], stepUp: false, openDuringEnrolment: true },
      { isPublic: false, permissions: [], stepUp: true, openDuringEnrolment: true },
      { isPublic: false, permissions: ['alerts:write'], stepUp: false, openDuringEnrolment: false },
    ]);
  });
});
