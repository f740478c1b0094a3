import type { IncomingHttpHeaders } from 'node:http';
import { Injectable } from '@nestjs/common';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { permissionsOf } from '../access/permissions';
import type { AuthResult, CredentialSource } from '../access/principal';
import { UserRegistry } from './user-registry';
import { SessionsService } from '../sessions/sessions.service';
import { TokenService } from './token.service';
import { validityFailure } from './token-validity';

export const AUTH_COOKIE = 'access_token';
export const API_KEY_HEADER = 'x-api-key';

/** What a request carries that may identify its caller. */
export interface CredentialCarrier {
  headers: IncomingHttpHeaders;
  cookies?: Record<string, string | undefined>;
  /** Only the WebSocket handshake passes this: a token in a REST URL is never accepted. */
  queryToken?: string | null;
}

const BEARER = /^Bearer +([^\s]+) *$/i;

/** The token of an Authorization header, or null when the header is not `Bearer <token>`. */
export function bearerTokenOf(authorization: string): string | null {
  return BEARER.exec(authorization)?.[1] ?? null;
}

/**
 * Who is calling. The one place that reads credentials, in the contract's order: Bearer header,
 * X-API-Key, the access_token cookie, then (WebSocket handshake only) ?token=. The first credential
 * present decides; a bad one is a failure, never a fall-through to the next.
 */
@Injectable()
export class CredentialResolver {
  constructor(
    private readonly tokens: TokenService,
    private readonly users: UserRegistry,
    private readonly sessions: SessionsService,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async resolve(carrier: CredentialCarrier): Promise<AuthResult> {
    const authorization = carrier.headers.authorization;
    if (authorization !== undefined) {
      const token = bearerTokenOf(authorization);
      if (token === null) return { ok: false, reason: 'malformed_authorization_header', method: 'jwt' };
      return this.resolveToken(token, 'bearer');
    }
    const apiKey = carrier.headers[API_KEY_HEADER];
    if (apiKey !== undefined) return this.resolveApiKey(apiKey);
    const cookie = carrier.cookies?.[AUTH_COOKIE];
    if (cookie) return this.resolveToken(cookie, 'cookie');
    if (carrier.queryToken) return this.resolveToken(carrier.queryToken, 'query');
    return { ok: false, reason: 'missing_credentials' };
  }

  /** The key path: what the X-API-Key header carried (a repeated header arrives as an array). */
  async resolveApiKey(apiKey: string | string[]): Promise<AuthResult> {
    if (typeof apiKey !== 'string') return { ok: false, reason: 'malformed_api_key', method: 'api_key' };
    try {
      return await this.apiKeys.authenticate(apiKey.trim());
    } catch {
      return { ok: false, reason: 'credential_store_unavailable', method: 'api_key' };
    }
  }

  async resolveToken(token: string, source: CredentialSource): Promise<AuthResult> {
    const result = await this.checkToken(token, source);
    return result.ok ? result : { ...result, source };
  }

  private async checkToken(token: string, source: CredentialSource): Promise<AuthResult> {
    const verified = this.tokens.verify(token);
    if (!verified.ok) return { ok: false, reason: verified.reason, method: 'jwt' };
    const { claims } = verified;
    const actor = claims.sub;
    let state;
    let session;
    try {
      session = await this.sessions.check(claims.sid);
      state = session.live ? await this.users.userState(claims.sub) : null;
    } catch {
      return { ok: false, reason: 'credential_store_unavailable', method: 'jwt', actor };
    }
    const failure = validityFailure(claims, state, session);
    if (failure || !state) return { ok: false, reason: failure ?? 'unknown_subject', method: 'jwt', actor };
    this.sessions.touch(claims.sid);
    return {
      ok: true,
      principal: {
        kind: 'user',
        sub: state.username,
        role: state.role,
        permissions: permissionsOf(state.role),
        source,
        jti: claims.jti,
        tokenIssuedAt: claims.iat,
        tokenExpiresAt: claims.exp,
        userId: state.userId,
        sessionId: claims.sid,
        ...(session.live && session.stepUpAt ? { stepUpAt: session.stepUpAt } : {}),
      },
    };
  }
}
