import { RequestMethod } from '@nestjs/common';
import { HEADERS_METADATA, HTTP_CODE_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import type { Request, Response } from 'express';
import { IS_PUBLIC, REQUIRED_PERMISSIONS } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import type { AuthCookie } from './auth-cookie';
import { AuthController } from './auth.controller';
import type { AuthService, IssuedToken } from './auth.service';
import { PasswordChangeController } from './password-change.controller';
import type { PasswordChangeService } from './password-change.service';

const request = { headers: { 'user-agent': 'jest' }, ip: '203.0.113.5', id: 'req-1', socket: {} } as unknown as Request;
const response = {} as Response;
const CLIENT = { ip: '203.0.113.5', userAgent: 'jest', requestId: 'req-1' };

/** What the contract says of each route: method, path (under /api/v1), status, who may call. */
function routeOf(controller: new (...args: never[]) => object, handler: string) {
  const method = (controller.prototype as Record<string, () => unknown>)[handler];
  return {
    method: RequestMethod[Reflect.getMetadata(METHOD_METADATA, method) as number],
    path: `${Reflect.getMetadata(PATH_METADATA, controller) as string}/${Reflect.getMetadata(PATH_METADATA, method) as string}`,
    status: Reflect.getMetadata(HTTP_CODE_METADATA, method) as number | undefined,
    public: Reflect.getMetadata(IS_PUBLIC, method) === true,
    permissions: Reflect.getMetadata(REQUIRED_PERMISSIONS, method) as string[] | undefined,
  };
}

describe('the auth routes of the contract', () => {
  it('POST /auth/token: public, 200, never cached', () => {
    expect(routeOf(AuthController, 'login')).toEqual({ method: 'POST', path: 'auth/token', status: 200, public: true, permissions: undefined });
    expect(Reflect.getMetadata(HEADERS_METADATA, Object.getOwnPropertyDescriptor(AuthController.prototype, 'login')?.value as object)).toEqual([
      { name: 'Cache-Control', value: 'no-store' },
    ]);
  });

  it('POST /auth/logout and GET /auth/me: any authenticated caller', () => {
    expect(routeOf(AuthController, 'logout')).toEqual({ method: 'POST', path: 'auth/logout', status: 204, public: false, permissions: [] });
    expect(routeOf(AuthController, 'me')).toEqual({ method: 'GET', path: 'auth/me', status: undefined, public: false, permissions: [] });
  });

  it('POST /users/me/password: any authenticated caller, 204', () => {
    expect(routeOf(PasswordChangeController, 'changeOwnPassword')).toEqual({
      method: 'POST',
      path: 'users/me/password',
      status: 204,
      public: false,
      permissions: [],
    });
  });
});

describe('AuthController', () => {
  const issued: IssuedToken = { access_token: 'the-token', token_type: 'bearer', expires_in: 3600 };
  let calls: unknown[][];
  let controller: AuthController;

  beforeEach(() => {
    calls = [];
    const auth = {
      login: (...args: unknown[]) => (calls.push(['login', ...args]), Promise.resolve(issued)),
      logout: (...args: unknown[]) => (calls.push(['logout', ...args]), Promise.resolve()),
    } as unknown as AuthService;
    const cookie = {
      set: (...args: unknown[]) => calls.push(['set', ...args]),
      clear: (...args: unknown[]) => calls.push(['clear', ...args]),
    } as unknown as AuthCookie;
    controller = new AuthController(auth, cookie);
  });

  it('answers a login with the token and sets the cookie for as long as the token lives', async () => {
    expect(await controller.login({ username: 'alice', password: 'pw' }, request, response)).toBe(issued);
    expect(calls).toEqual([
      ['login', 'alice', 'pw', CLIENT],
      ['set', response, 'the-token', 3600],
    ]);
  });

  it('ends the session on logout, then clears the cookie', async () => {
    const principal = { sub: 'alice' } as Principal;
    await controller.logout(principal, request, response);
    expect(calls).toEqual([
      ['logout', principal, CLIENT],
      ['clear', response],
    ]);
  });

  it('tells a person who they are, with their session', () => {
    const person: Principal = {
      kind: 'user',
      sub: 'alice',
      role: 'analyst',
      permissions: ['alerts:read', 'alerts:write'],
      source: 'cookie',
      sessionId: 'sid-1',
    };
    expect(controller.me(person)).toEqual({
      sub: 'alice',
      role: 'analyst',
      permissions: ['alerts:read', 'alerts:write'],
      auth_method: 'jwt',
      session_id: 'sid-1',
    });
  });

  it('tells a key what it is, with its prefix and no session', () => {
    const key: Principal = { kind: 'api_key', sub: 'siem', role: 'api_service', permissions: ['alerts:read'], source: 'api_key', keyPrefix: 'ak_0123456789ab' };
    expect(controller.me(key)).toEqual({
      sub: 'siem',
      role: 'api_service',
      permissions: ['alerts:read'],
      auth_method: 'api_key',
      key_prefix: 'ak_0123456789ab',
    });
  });
});

describe('PasswordChangeController', () => {
  it('hands the caller, both passwords and the client to the service', async () => {
    const seen: unknown[][] = [];
    const service = { changeOwnPassword: (...args: unknown[]) => (seen.push(args), Promise.resolve()) } as unknown as PasswordChangeService;
    const principal = { sub: 'alice' } as Principal;
    await new PasswordChangeController(service).changeOwnPassword({ current_password: 'old one', new_password: 'new one' }, principal, request);
    expect(seen).toEqual([[principal, 'old one', 'new one', CLIENT]]);
  });
});
