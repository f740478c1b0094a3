import type { AuthResult, Principal } from '../access/principal';
import type { KeyControls } from '../api-keys/key-controls';
import type { KeyUsageRecorder } from '../api-keys/key-usage-recorder';
import type { AuditInput, AuditRecorder } from '../audit/audit-recorder';
import type { AppConfig } from '../config/app-config';
import type { MetricsService } from '../metrics/metrics.service';
import type { EnrolledUsers } from '../mfa/enrolled-users';
import { AuthRefusal } from './auth-refusal';
import { AuthCarrier, Authenticator } from './authenticator';
import type { CredentialCarrier, CredentialResolver } from './credential-resolver';
import { OriginPolicy } from './origin-policy';

const ALLOWED = 'https://console.example';
const analyst: Principal = { kind: 'user', sub: 'ana', role: 'analyst', permissions: ['alerts:read', 'alerts:write'], source: 'bearer', userId: 'id-ana' };

class FakeResolver {
  answer: AuthResult = { ok: true, principal: analyst };
  readonly seen: CredentialCarrier[] = [];
  resolve(carrier: CredentialCarrier): Promise<AuthResult> {
    this.seen.push(carrier);
    return Promise.resolve(this.answer);
  }
}

describe('Authenticator: the one decision for HTTP and WebSocket', () => {
  let resolver: FakeResolver;
  let audits: AuditInput[];
  let metrics: Array<[string, string, string | undefined]>;
  let authenticator: Authenticator;

  const carrier = (overrides: Partial<AuthCarrier> = {}): AuthCarrier => ({
    channel: 'http',
    method: 'GET',
    headers: {},
    cookies: {},
    client: { ip: '203.0.113.9', userAgent: 'test', requestId: 'req-1' },
    ...overrides,
  });
  const refusalOf = async (c: AuthCarrier, route: { permissions: Principal['permissions'] | undefined } = { permissions: [] }) => {
    const decision = await authenticator.authenticate(c, route);
    if (decision.ok) throw new Error('expected a refusal');
    return decision.refusal;
  };

  beforeEach(() => {
    resolver = new FakeResolver();
    audits = [];
    metrics = [];
    const audit = { record: (input: AuditInput) => audits.push(input) } as unknown as AuditRecorder;
    const metricsService = { countAuthentication: (m: string, o: string, r?: string) => metrics.push([m, o, r]) } as unknown as MetricsService;
    const origins = new OriginPolicy({ allowedOrigins: [ALLOWED] } as AppConfig);
    const keyControls = {
      ipAllowed: () => true,
      count: () => Promise.resolve({ allowed: true, limit: 1, remaining: 0, resetSeconds: 1 }),
    } as unknown as KeyControls;
    const keyUsage = { record: () => undefined } as unknown as KeyUsageRecorder;
    const noFactors = { has: () => false } as unknown as EnrolledUsers;
    const mfaConfig = { mfaRequiredRoles: [], stepUpMaxAgeSeconds: 300 } as unknown as AppConfig;
    authenticator = new Authenticator(resolver as unknown as CredentialResolver, origins, audit, metricsService, keyControls, keyUsage, noFactors, mfaConfig);
  });

  it('lets a caller with every required permission through, counted as a success', async () => {
    const decision = await authenticator.authenticate(carrier(), { permissions: ['alerts:read'] });
    expect(decision).toEqual({ ok: true, principal: analyst });
    expect(metrics).toEqual([['jwt', 'success', undefined]]);
    expect(audits).toEqual([]);
  });

  it('reads ?token= only on a WebSocket handshake', async () => {
    await authenticator.authenticate(carrier({ queryToken: 't' }), { permissions: [] });
    await authenticator.authenticate(carrier({ channel: 'ws', queryToken: 't' }), { permissions: [] });
    expect(resolver.seen.map((seen) => seen.queryToken)).toEqual([null, 't']);
  });

  it('refuses a bad credential with 401 and records it by credential kind, without the credential', async () => {
    resolver.answer = { ok: false, reason: 'bad_signature', method: 'jwt', actor: 'ana', source: 'bearer' };
    const refusal = await refusalOf(carrier());
    expect(refusal).toBeInstanceOf(AuthRefusal);
    expect(refusal.statusCode).toBe(401);
    expect(audits).toEqual([expect.objectContaining({ type: 'auth.jwt', outcome: 'failure', actor: 'ana', reason: 'bad_signature' })]);
    expect(metrics).toEqual([['jwt', 'failure', 'bad_signature']]);
    resolver.answer = { ok: false, reason: 'unknown_api_key', method: 'api_key' };
    await refusalOf(carrier());
    expect(audits[1]).toMatchObject({ type: 'auth.api_key', reason: 'unknown_api_key' });
  });

  it('records a handshake refusal as auth.ws_handshake, a missing credential included; over HTTP a missing one is not recorded', async () => {
    resolver.answer = { ok: false, reason: 'missing_credentials' };
    expect((await refusalOf(carrier())).statusCode).toBe(401);
    expect(audits).toEqual([]);
    expect((await refusalOf(carrier({ channel: 'ws' }))).statusCode).toBe(401);
    expect(audits).toEqual([expect.objectContaining({ type: 'auth.ws_handshake', reason: 'missing_credentials' })]);
    expect(metrics.map(([method]) => method)).toEqual(['jwt', 'ws']);
  });

  it('answers 503 when the credential store is down', async () => {
    resolver.answer = { ok: false, reason: 'credential_store_unavailable', method: 'api_key' };
    expect((await refusalOf(carrier())).statusCode).toBe(503);
  });

  describe('the cookie-origin rule', () => {
    const fromCookie = { ...analyst, source: 'cookie' as const };

    it('refuses a cookie write from a foreign origin with 403, recorded as auth.cross_site', async () => {
      resolver.answer = { ok: true, principal: fromCookie };
      const refusal = await refusalOf(carrier({ method: 'POST', headers: { origin: 'https://evil.example' } }));
      expect(refusal.statusCode).toBe(403);
      expect(audits).toEqual([expect.objectContaining({ type: 'auth.cross_site', actor: 'ana', reason: 'foreign_origin' })]);
    });

    it('allows a cookie read from anywhere, and a cookie write from an allowed origin', async () => {
      resolver.answer = { ok: true, principal: fromCookie };
      expect((await authenticator.authenticate(carrier({ headers: { origin: 'https://evil.example' } }), { permissions: [] })).ok).toBe(true);
      expect((await authenticator.authenticate(carrier({ method: 'DELETE', headers: { origin: ALLOWED } }), { permissions: [] })).ok).toBe(true);
    });

    it('applies to every cookie handshake, whatever its method', async () => {
      resolver.answer = { ok: true, principal: fromCookie };
      expect((await refusalOf(carrier({ channel: 'ws', method: 'GET', headers: { origin: 'https://evil.example' } }))).statusCode).toBe(403);
    });

    it('does not apply to header credentials', async () => {
      expect((await authenticator.authenticate(carrier({ method: 'POST', headers: { origin: 'https://evil.example' } }), { permissions: [] })).ok).toBe(true);
    });
  });

  it('refuses a missing permission with 403 naming it, recorded as auth.forbidden', async () => {
    const refusal = await refusalOf(carrier(), { permissions: ['alerts:read', 'users:manage'] });
    expect(refusal.statusCode).toBe(403);
    expect(refusal.message).toBe('missing permission: users:manage');
    expect(audits).toEqual([expect.objectContaining({ type: 'auth.forbidden', actor: 'ana', reason: 'missing permission users:manage' })]);
  });

  it('closes a route that declares no permissions, whoever calls', async () => {
    const refusal = await refusalOf(carrier(), { permissions: undefined });
    expect(refusal.statusCode).toBe(403);
    expect(audits[0]).toMatchObject({ type: 'auth.forbidden' });
  });

  it('gives the same JSON body and headers for a refusal on either transport', () => {
    const { body, headers } = new AuthRefusal(401, 'invalid or expired credentials').answer('req-9');
    expect(body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'invalid or expired credentials', request_id: 'req-9' });
    expect(headers).toMatchObject({ 'WWW-Authenticate': 'Bearer', 'X-Request-Id': 'req-9' });
    expect(new AuthRefusal(403, 'x').answer('r').headers['WWW-Authenticate']).toBeUndefined();
  });
});
