import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { CredentialResolver } from './credential-resolver';
import type { AuthResult, Principal } from './principal';

export const API_KEY_STRATEGY = 'api-key';

type Failure = Extract<AuthResult, { ok: false }>;

/**
 * Passport strategy `api-key`: passport-headerapikey reads X-API-Key, the CredentialResolver's key
 * path checks it. A refusal travels as the passport challenge, so its reason reaches the audit log.
 * (passReqToCallback stays false: with true, 1.2.2 puts `done` where @nestjs/passport does not
 * look and the process crashes.)
 */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(HeaderAPIKeyStrategy, API_KEY_STRATEGY) {
  constructor(private readonly resolver: CredentialResolver) {
    super({ header: 'X-API-Key', prefix: '' }, false);
  }

  async validate(apiKey: string): Promise<[Principal] | [false, Failure]> {
    const result = await this.resolver.resolveApiKey(apiKey);
    return result.ok ? [result.principal] : [false, result];
  }
}
