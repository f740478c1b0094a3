import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { Authenticator } from './authenticator';
import { authenticateThrough } from './passport-adapter';

export const API_KEY_STRATEGY = 'api-key';

/**
 * Passport strategy `api-key` (X-API-Key), for routes that use AuthGuard('api-key'): an adapter
 * over the Authenticator, like `jwt`. passport-headerapikey's own header reading is not run.
 */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(HeaderAPIKeyStrategy, API_KEY_STRATEGY) {
  constructor(private readonly authenticator: Authenticator) {
    super({ header: 'X-API-Key', prefix: '' }, false);
  }

  override authenticate(req: Request): void {
    authenticateThrough(this, this.authenticator, req, 'api_key');
  }

  /** Required by PassportStrategy; never reached, since authenticate() is replaced. */
  validate(): false {
    return false;
  }
}
