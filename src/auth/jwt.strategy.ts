import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-jwt';
import { Authenticator } from './authenticator';
import { authenticateThrough } from './passport-adapter';

export const JWT_STRATEGY = 'jwt';

/**
 * Passport strategy `jwt` (a Bearer header or the access_token cookie), for routes that use
 * @nestjs/passport's AuthGuard('jwt'): an adapter over the Authenticator. passport-jwt's own
 * extraction and verification are never run: there is one token check, in one place.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  constructor(private readonly authenticator: Authenticator) {
    super({
      // Required by passport-jwt's constructor and never consulted: authenticate() below replaces them.
      jwtFromRequest: () => null,
      secretOrKeyProvider: (_req, _token, done) => done(new Error('tokens are verified by the Authenticator')),
    });
  }

  override authenticate(req: Request): void {
    authenticateThrough(this, this.authenticator, req, 'user');
  }

  /** Required by PassportStrategy; never reached, since authenticate() is replaced. */
  validate(): false {
    return false;
  }
}
