import type { ApiKeysService } from '../api-keys/api-keys.service';
import { CredentialResolver, type CredentialCarrier } from './credential-resolver';
import type { AuthResult } from '../access/principal';
import type { SessionCheck } from '../sessions/live-sessions';
import type { SessionsService } from '../sessions/sessions.service';
import type { UserRegistry, UserState } from './user-registry';
import type { TokenClaims, TokenFailure, TokenService, TokenVerification } from './token.service';

const NOW = 1_700_000_000;
/** Whose each token's session is: the account its token was issued to. */
const SESSION_OWNERS = new Map<string, string>();

/** Tokens are plain names here: the fake knows which claims, or which failure, each stands for. */
class FakeTokens {
  readonly verified: string[] = [];
  private readonly table = new Map<string, TokenVerification>();

  good(token: string, claims: Partial<TokenClaims> = {}): string {
    const full: TokenClaims = { sub: 'alice', role: 'analyst', iat: NOW, exp: NOW + 600, jti: `jti-${token}`, sid: `sid-${token}`, ...claims };
    this.table.set(token, { ok: true, claims: full });
    SESSION_OWNERS.set(full.sid, `id-${full.sub}`);
    return token;
  }

  bad(token: string, reason: TokenFailure): string {
    this.table.set(token, { ok: false, reason });
    return token;
  }

  verify(token: string): TokenVerification {
    this.verified.push(token);
    return this.table.get(token) ?? { ok: false, reason: 'malformed_token' };
  }
}

/** Sessions: live and owned by the account their token names, unless ended or given another owner. */
class FakeLiveSessions {
  readonly ended = new Set<string>();
  readonly owners = new Map<string, string>();
  readonly touched: string[] = [];
  failing = false;

  check(sid: string): Promise<SessionCheck> {
    if (this.failing) return Promise.reject(new Error('connection refused'));
    if (this.ended.has(sid)) return Promise.resolve({ live: false, why: 'ended' });
    return Promise.resolve({ live: true, userId: this.owners.get(sid) ?? SESSION_OWNERS.get(sid) ?? 'nobody' });
  }

  touch(sid: string): void {
    this.touched.push(sid);
  }
}

class FakeSessions {
  readonly users = new Map<string, UserState>();
  failing = false;

  addUser(username: string, overrides: Partial<UserState> = {}): void {
    this.users.set(username, {
      userId: `id-${username}`,
      username,
      role: 'analyst',
      disabled: false,
      tokensValidAfter: 0,
      version: 1,
      deleted: false,
      ...overrides,
    });
  }

  userState(username: string): Promise<UserState | null> {
    if (this.failing) return Promise.reject(new Error('connection refused'));
    return Promise.resolve(this.users.get(username) ?? null);
  }
}

class FakeApiKeys {
  readonly presented: string[] = [];
  failing = false;

  authenticate(rawKey: string): Promise<AuthResult> {
    this.presented.push(rawKey);
    if (this.failing) return Promise.reject(new Error('connection refused'));
    if (rawKey === 'aurora_good') {
      return Promise.resolve({
        ok: true,
        principal: { kind: 'api_key', sub: 'siem', role: 'api_service', permissions: ['alerts:read'], source: 'api_key', keyPrefix: 'ak_0123456789ab' },
      });
    }
    return Promise.resolve({ ok: false, reason: 'unknown_api_key', method: 'api_key' });
  }
}

describe('CredentialResolver', () => {
  let tokens: FakeTokens;
  let sessions: FakeSessions;
  let live: FakeLiveSessions;
  let apiKeys: FakeApiKeys;
  let resolver: CredentialResolver;

  beforeEach(() => {
    tokens = new FakeTokens();
    sessions = new FakeSessions();
    live = new FakeLiveSessions();
    apiKeys = new FakeApiKeys();
    sessions.addUser('alice');
    sessions.addUser('bob', { role: 'viewer' });
    resolver = new CredentialResolver(
      tokens as unknown as TokenService,
      sessions as unknown as UserRegistry,
      live as unknown as SessionsService,
      apiKeys as unknown as ApiKeysService,
    );
  });

  const resolve = (carrier: Partial<CredentialCarrier>) => resolver.resolve({ headers: {}, ...carrier });
  const principalOf = (result: AuthResult) => {
    if (!result.ok) throw new Error(`expected a principal, got ${result.reason}`);
    return result.principal;
  };

  describe('precedence: Bearer > X-API-Key > cookie > query token', () => {
    it('uses the Bearer token when every kind of credential is present', async () => {
      const result = await resolve({
        headers: { authorization: `Bearer ${tokens.good('bearer-token', { sub: 'bob' })}`, 'x-api-key': 'aurora_good' },
        cookies: { access_token: tokens.good('cookie-token') },
        queryToken: tokens.good('query-token'),
      });
      expect(principalOf(result)).toMatchObject({ kind: 'user', sub: 'bob', source: 'bearer' });
      expect(tokens.verified).toEqual(['bearer-token']);
      expect(apiKeys.presented).toEqual([]);
    });

    it('uses X-API-Key over the cookie and the query token', async () => {
      const result = await resolve({
        headers: { 'x-api-key': 'aurora_good' },
        cookies: { access_token: tokens.good('cookie-token') },
        queryToken: tokens.good('query-token'),
      });
      expect(principalOf(result)).toMatchObject({ kind: 'api_key', sub: 'siem', source: 'api_key' });
      expect(tokens.verified).toEqual([]);
    });

    it('uses the access_token cookie over the query token', async () => {
      const result = await resolve({ cookies: { access_token: tokens.good('cookie-token', { sub: 'bob' }) }, queryToken: tokens.good('query-token') });
      expect(principalOf(result)).toMatchObject({ sub: 'bob', source: 'cookie' });
      expect(tokens.verified).toEqual(['cookie-token']);
    });

    it('uses the query token only when the caller passes one (the WebSocket handshake)', async () => {
      const result = await resolve({ queryToken: tokens.good('query-token') });
      expect(principalOf(result)).toMatchObject({ sub: 'alice', source: 'query' });
    });

    it('reports missing credentials when nothing is presented', async () => {
      expect(await resolve({})).toEqual({ ok: false, reason: 'missing_credentials' });
      expect(await resolve({ cookies: {}, queryToken: null })).toEqual({ ok: false, reason: 'missing_credentials' });
      expect(await resolve({ cookies: { access_token: '' } })).toEqual({ ok: false, reason: 'missing_credentials' });
    });

    it('accepts the Bearer scheme name in any case', async () => {
      const result = await resolve({ headers: { authorization: `bearer ${tokens.good('t')}` } });
      expect(principalOf(result).source).toBe('bearer');
    });
  });

  describe('a bad credential never falls through to the next one', () => {
    it('refuses a bad Bearer token even with a good cookie', async () => {
      const result = await resolve({
        headers: { authorization: `Bearer ${tokens.bad('forged', 'bad_signature')}` },
        cookies: { access_token: tokens.good('cookie-token') },
      });
      expect(result).toEqual({ ok: false, reason: 'bad_signature', method: 'jwt', source: 'bearer' });
      expect(tokens.verified).toEqual(['forged']);
    });

    it.each(['Basic YWxpY2U6c2VjcmV0', 'Bearer', 'Bearer ', 'Bearer a b', 'Token abc', ''])(
      'refuses the Authorization header %j as malformed, even with a good cookie and API key',
      async (authorization) => {
        const result = await resolve({ headers: { authorization, 'x-api-key': 'aurora_good' }, cookies: { access_token: tokens.good('cookie-token') } });
        expect(result).toEqual({ ok: false, reason: 'malformed_authorization_header', method: 'jwt' });
        expect(tokens.verified).toEqual([]);
        expect(apiKeys.presented).toEqual([]);
      },
    );

    it('refuses a bad API key even with a good cookie', async () => {
      const result = await resolve({ headers: { 'x-api-key': 'aurora_wrong' }, cookies: { access_token: tokens.good('cookie-token') } });
      expect(result).toMatchObject({ ok: false, reason: 'unknown_api_key', method: 'api_key' });
      expect(tokens.verified).toEqual([]);
    });

    it('refuses a repeated X-API-Key header as malformed', async () => {
      const result = await resolve({ headers: { 'x-api-key': ['aurora_good', 'aurora_good'] as unknown as string } });
      expect(result).toEqual({ ok: false, reason: 'malformed_api_key', method: 'api_key' });
      expect(apiKeys.presented).toEqual([]);
    });

    it('refuses a bad cookie even with a good query token', async () => {
      const result = await resolve({ cookies: { access_token: tokens.bad('stale', 'token_expired') }, queryToken: tokens.good('query-token') });
      expect(result).toEqual({ ok: false, reason: 'token_expired', method: 'jwt', source: 'cookie' });
    });

    it('trims whitespace around an API key before checking it', async () => {
      expect(principalOf(await resolve({ headers: { 'x-api-key': '  aurora_good ' } })).sub).toBe('siem');
    });
  });

  describe('typed failure reasons', () => {
    it.each<TokenFailure>(['malformed_token', 'bad_signature', 'algorithm_not_allowed', 'token_expired', 'token_not_yet_valid', 'missing_claims'])(
      'passes on %s from the token check, naming no actor',
      async (reason) => {
        const result = await resolve({ headers: { authorization: `Bearer ${tokens.bad('t', reason)}` } });
        expect(result).toEqual({ ok: false, reason, method: 'jwt', source: 'bearer' });
      },
    );

    it('refuses a token whose session ended as session_ended, naming its subject', async () => {
      live.ended.add('sid-t');
      expect(await resolve({ headers: { authorization: `Bearer ${tokens.good('t')}` } })).toEqual({
        ok: false,
        reason: 'session_ended',
        method: 'jwt',
        source: 'bearer',
        actor: 'alice',
      });
    });

    it('refuses a token whose session belongs to another account', async () => {
      live.owners.set('sid-t', 'id-bob');
      expect((await resolve({ headers: { authorization: `Bearer ${tokens.good('t')}` } })).ok).toBe(false);
    });

    it('marks the session seen on success only, and names it on the principal', async () => {
      const result = await resolve({ headers: { authorization: `Bearer ${tokens.good('t')}` } });
      expect(result.ok && result.principal.sessionId).toBe('sid-t');
      live.ended.add('sid-u');
      await resolve({ headers: { authorization: `Bearer ${tokens.good('u')}` } });
      expect(live.touched).toEqual(['sid-t']);
    });

    it('answers credential_store_unavailable when the session store is down', async () => {
      live.failing = true;
      expect(await resolve({ headers: { authorization: `Bearer ${tokens.good('t')}` } })).toMatchObject({ ok: false, reason: 'credential_store_unavailable' });
    });

    it('refuses a subject that does not exist as unknown_subject', async () => {
      const result = await resolve({ headers: { authorization: `Bearer ${tokens.good('t', { sub: 'ghost' })}` } });
      expect(result).toEqual({ ok: false, reason: 'unknown_subject', method: 'jwt', source: 'bearer', actor: 'ghost' });
    });

    it('refuses a token whose account id is not the current account of that username (deleted and re-created)', async () => {
      const result = await resolve({ headers: { authorization: `Bearer ${tokens.good('t', { uid: 'id-of-the-deleted-alice' })}` } });
      expect(result).toEqual({ ok: false, reason: 'unknown_subject', method: 'jwt', source: 'bearer', actor: 'alice' });
      expect((await resolve({ headers: { authorization: `Bearer ${tokens.good('u', { uid: 'id-alice' })}` } })).ok).toBe(true);
    });

    it('refuses a disabled user as user_disabled', async () => {
      sessions.addUser('alice', { disabled: true });
      expect(await resolve({ cookies: { access_token: tokens.good('t') } })).toMatchObject({ ok: false, reason: 'user_disabled' });
    });

    it('refuses a token issued before the last credential change, and accepts one issued in that second', async () => {
      sessions.addUser('alice', { tokensValidAfter: NOW + 1 });
      expect(await resolve({ headers: { authorization: `Bearer ${tokens.good('old', { iat: NOW })}` } })).toMatchObject({
        ok: false,
        reason: 'token_issued_before_credential_change',
        actor: 'alice',
      });
      expect((await resolve({ headers: { authorization: `Bearer ${tokens.good('new', { iat: NOW + 1 })}` } })).ok).toBe(true);
    });

    it('answers credential_store_unavailable when the user state cannot be read', async () => {
      sessions.failing = true;
      expect(await resolve({ headers: { authorization: `Bearer ${tokens.good('t')}` } })).toMatchObject({ ok: false, reason: 'credential_store_unavailable' });
    });

    it('answers credential_store_unavailable when the key store throws', async () => {
      apiKeys.failing = true;
      expect(await resolve({ headers: { 'x-api-key': 'aurora_good' } })).toEqual({ ok: false, reason: 'credential_store_unavailable', method: 'api_key' });
    });
  });

  it('takes role and permissions from the stored user, not from the token', async () => {
    const result = await resolve({ headers: { authorization: `Bearer ${tokens.good('t', { sub: 'bob', role: 'admin', iat: NOW, exp: NOW + 60 })}` } });
    expect(principalOf(result)).toEqual({
      kind: 'user',
      sub: 'bob',
      role: 'viewer',
      permissions: ['alerts:read'],
      source: 'bearer',
      jti: 'jti-t',
      tokenIssuedAt: NOW,
      tokenExpiresAt: NOW + 60,
      userId: 'id-bob',
      sessionId: 'sid-t',
    });
  });
});
