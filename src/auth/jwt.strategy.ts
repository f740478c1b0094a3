import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { ExtractJwt, JwtFromRequestFunction, Strategy } from 'passport-jwt';
import { AUTH_COOKIE, bearerTokenOf, CredentialResolver } from './credential-resolver';
import type { AuthResult, CredentialSource } from './principal';

export const JWT_STRATEGY = 'jwt';

const fromBearerHeader: JwtFromRequestFunction<Request> = (req) => {
  const authorization = req.headers.authorization;
  return authorization === undefined ? null : bearerTokenOf(authorization);
};
/** The cookie counts only without an Authorization header: a bad header must not fall through to it. */
const fromCookie: JwtFromRequestFunction<Request> = (req) => (req.headers.authorization === undefined ? req.cookies?.[AUTH_COOKIE] || null : null);
/** The contract's order for tokens: the Authorization header first, then the access_token cookie. */
const extractToken = ExtractJwt.fromExtractors([fromBearerHeader, fromCookie]);

/**
 * Passport strategy `jwt`: finds the token (Bearer header or cookie) and hands it to the
 * CredentialResolver. passport-jwt's own verification is replaced, not run beside the resolver's:
 * there is one token check, with its typed failure reason, which becomes the passport challenge.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  constructor(private readonly resolver: CredentialResolver) {
    super({
      jwtFromRequest: extractToken,
      // Required by passport-jwt's constructor and never consulted: authenticate() below replaces its verification.
      secretOrKeyProvider: (_req, _token, done) => done(new Error('tokens are verified by the CredentialResolver')),
    });
  }

  override authenticate(req: Request): void {
    this.resolveRequest(req).then(
      (result) => (result.ok ? this.success(result.principal) : this.fail(result, 401)),
      (error: Error) => this.error(error),
    );
  }

  /** The token of this request, checked by the resolver. */
  resolveRequest(req: Request): Promise<AuthResult> {
    const authorization = req.headers.authorization;
    const token = extractToken(req);
    if (!token) {
      if (authorization !== undefined) return Promise.resolve({ ok: false, reason: 'malformed_authorization_header', method: 'jwt' });
      return Promise.resolve({ ok: false, reason: 'missing_credentials' });
    }
    return this.validate(token, authorization !== undefined ? 'bearer' : 'cookie');
  }

  validate(token: string, source: CredentialSource): Promise<AuthResult> {
    return this.resolver.resolveToken(token, source);
  }
}
