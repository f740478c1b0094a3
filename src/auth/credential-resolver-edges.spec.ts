import type { ApiKeysService } from '../api-keys/api-keys.service';
import type { SessionsService } from '../sessions/sessions.service';
import { bearerTokenOf, CredentialResolver } from './credential-resolver';
import type { TokenService } from './token.service';
import type { UserRegistry } from './user-registry';

describe('bearerTokenOf: the token of an Authorization header', () => {
  it('takes the token after the Bearer scheme, in any case, with one or more spaces (RFC 6750)', () => {
    expect(bearerTokenOf('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerTokenOf('bEaReR abc')).toBe('abc');
    expect(bearerTokenOf('Bearer   abc  ')).toBe('abc');
  });

  it.each(['XBearer abc', 'Basic Bearer abc', 'Token Bearer abc', ' Bearer abc', 'Bearerabc', 'Bearer a b'])('finds no token in %j', (header) => {
    expect(bearerTokenOf(header)).toBeNull();
  });
});

describe('CredentialResolver when a store is down', () => {
  const claims = { sub: 'alice', role: 'analyst', iat: 1, exp: 2, jti: 'j', sid: 's' };

  it('names the token kind and the subject, so that the refusal is audited as a JWT refusal of that user', async () => {
    const resolver = new CredentialResolver(
      { verify: () => ({ ok: true, claims }) } as unknown as TokenService,
      {} as UserRegistry,
      { check: () => Promise.reject(new Error('connection refused')) } as unknown as SessionsService,
      {} as ApiKeysService,
    );
    expect(await resolver.resolve({ headers: { authorization: 'Bearer t' } })).toEqual({
      ok: false,
      reason: 'credential_store_unavailable',
      method: 'jwt',
      actor: 'alice',
      source: 'bearer',
    });
  });
});
