import passport from 'passport';
import { ApiKeyStrategy } from './api-key.strategy';
import { CredentialResolver } from './credential-resolver';
import { JwtStrategy } from './jwt.strategy';
import type { AuthResult, CredentialSource, Principal } from './principal';

const alice: Principal = { kind: 'user', sub: 'alice', role: 'analyst', permissions: ['alerts:read'], source: 'bearer' };
const siem: Principal = { kind: 'api_key', sub: 'siem', role: 'api_service', permissions: ['alerts:read'], source: 'api_key' };

/** The resolver's two entry points, recording what the strategies hand it. */
class FakeResolver {
  readonly tokens: Array<[string, CredentialSource]> = [];
  readonly keys: Array<string | string[]> = [];

  async resolveToken(token: string, source: CredentialSource): Promise<AuthResult> {
    this.tokens.push([token, source]);
    if (token === 'good-token') return { ok: true, principal: { ...alice, source } };
    return { ok: false, reason: 'token_revoked', method: 'jwt', actor: 'alice', source };
  }

  async resolveApiKey(key: string | string[]): Promise<AuthResult> {
    this.keys.push(key);
    return key === 'aurora_good' ? { ok: true, principal: siem } : { ok: false, reason: 'unknown_api_key', method: 'api_key' };
  }
}

type Outcome = { user: Principal | false; challenge: unknown };

/** Runs a strategy through passport's own middleware, as @nestjs/passport's AuthGuard would. */
function authenticate(name: string, req: { headers: Record<string, string>; cookies?: Record<string, string> }): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    passport.authenticate(name, { session: false }, (error: unknown, user: Principal | false, challenge: unknown) =>
      error ? reject(error) : resolve({ user, challenge }),
    )({ cookies: {}, ...req }, {}, reject);
  });
}

describe('passport strategies: thin adapters over the CredentialResolver', () => {
  let resolver: FakeResolver;

  beforeEach(() => {
    resolver = new FakeResolver();
    // Each construction registers the strategy with passport under its name, replacing the previous one.
    new JwtStrategy(resolver as unknown as CredentialResolver);
    new ApiKeyStrategy(resolver as unknown as CredentialResolver);
  });

  describe('jwt', () => {
    it('hands a Bearer token to the resolver, which alone verifies it', async () => {
      const outcome = await authenticate('jwt', { headers: { authorization: 'Bearer good-token' } });
      expect(outcome.user).toEqual({ ...alice, source: 'bearer' });
      expect(resolver.tokens).toEqual([['good-token', 'bearer']]);
    });

    it('hands the access_token cookie over when there is no Authorization header', async () => {
      const outcome = await authenticate('jwt', { headers: {}, cookies: { access_token: 'good-token' } });
      expect(outcome.user).toEqual({ ...alice, source: 'cookie' });
      expect(resolver.tokens).toEqual([['good-token', 'cookie']]);
    });

    it('prefers the Bearer header to the cookie', async () => {
      await authenticate('jwt', { headers: { authorization: 'Bearer other-token' }, cookies: { access_token: 'good-token' } });
      expect(resolver.tokens).toEqual([['other-token', 'bearer']]);
    });

    it('refuses a malformed Authorization header without falling through to a good cookie', async () => {
      for (const authorization of ['Basic Zm9vOmJhcg==', 'Bearer', 'Bearer a b']) {
        const outcome = await authenticate('jwt', { headers: { authorization }, cookies: { access_token: 'good-token' } });
        expect(outcome).toEqual({ user: false, challenge: { ok: false, reason: 'malformed_authorization_header', method: 'jwt' } });
      }
      expect(resolver.tokens).toEqual([]);
    });

    it("keeps the resolver's typed failure reason as the passport challenge", async () => {
      const outcome = await authenticate('jwt', { headers: { authorization: 'Bearer revoked-token' } });
      expect(outcome).toEqual({ user: false, challenge: { ok: false, reason: 'token_revoked', method: 'jwt', actor: 'alice', source: 'bearer' } });
    });

    it('reports missing credentials when there is no token', async () => {
      expect(await authenticate('jwt', { headers: {} })).toEqual({ user: false, challenge: { ok: false, reason: 'missing_credentials' } });
    });
  });

  describe('api-key', () => {
    it("hands the X-API-Key header to the resolver's key path", async () => {
      const outcome = await authenticate('api-key', { headers: { 'x-api-key': 'aurora_good' } });
      expect(outcome.user).toEqual(siem);
      expect(resolver.keys).toEqual(['aurora_good']);
    });

    it("keeps the resolver's typed failure reason as the passport challenge", async () => {
      const outcome = await authenticate('api-key', { headers: { 'x-api-key': 'aurora_unknown' } });
      expect(outcome).toEqual({ user: false, challenge: { ok: false, reason: 'unknown_api_key', method: 'api_key' } });
    });
  });

  describe('which strategy a request needs (contract order: Bearer > X-API-Key > cookie)', () => {
    it.each([
      [{ authorization: 'Bearer t', 'x-api-key': 'k', cookie: 'access_token=t' }, 'jwt'],
      [{ authorization: 'Basic x', 'x-api-key': 'k' }, 'jwt'],
      [{ 'x-api-key': 'k', cookie: 'access_token=t' }, 'api_key'],
      [{ 'x-api-key': '' }, 'api_key'],
      [{ cookie: 'access_token=t' }, 'jwt'],
      [{}, 'jwt'],
    ])('%j → %s', (headers, kind) => {
      expect(CredentialResolver.kindOf(headers)).toBe(kind);
    });
  });
});
