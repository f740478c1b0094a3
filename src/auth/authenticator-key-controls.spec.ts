import type { AuthResult, Principal } from '../access/principal';
import type { KeyControls, KeyRateLimit, RateVerdict } from '../api-keys/key-controls';
import type { KeyUseOutcome, KeyUsageRecorder } from '../api-keys/key-usage-recorder';
import type { AuditInput, AuditRecorder } from '../audit/audit-recorder';
import type { AppConfig } from '../config/app-config';
import type { MetricsService } from '../metrics/metrics.service';
import { CREDENTIAL_STORE_DOWN_MESSAGE } from './auth-refusal';
import type { EnrolledUsers } from '../mfa/enrolled-users';
import { Authenticator, type AuthCarrier, type AuthDecision } from './authenticator';
import type { CredentialResolver } from './credential-resolver';
import { OriginPolicy } from './origin-policy';

const IP = '198.51.100.20';
const siem: Principal = {
  kind: 'api_key',
  sub: 'siem',
  role: 'api_service',
  permissions: ['alerts:read'],
  source: 'api_key',
  keyId: 'key-1',
  keyPrefix: 'ak_0123456789ab',
  keyAllowedIps: ['198.51.100.0/24'],
  keyRateLimit: null,
};
const alice: Principal = { kind: 'user', sub: 'alice', role: 'analyst', permissions: ['alerts:read'], source: 'bearer', userId: 'id-alice' };

/** Allows the addresses it is told to, and answers the rate-limit verdict it is given. */
class FakeKeyControls {
  allowed = true;
  verdict: RateVerdict | Error = { allowed: true, limit: 10, remaining: 9, resetSeconds: 30 };
  readonly asked: Array<[readonly string[] | undefined, string | null]> = [];
  readonly counted: Array<[string, KeyRateLimit]> = [];

  ipAllowed(allowedIps: readonly string[] | undefined, ip: string | null): boolean {
    this.asked.push([allowedIps, ip]);
    return this.allowed;
  }

  count(keyId: string, rule: KeyRateLimit): Promise<RateVerdict> {
    this.counted.push([keyId, rule]);
    return this.verdict instanceof Error ? Promise.reject(this.verdict) : Promise.resolve(this.verdict);
  }
}

describe("Authenticator: a key's own controls (allowed_ips, rate_limit)", () => {
  let answer: AuthResult;
  let controls: FakeKeyControls;
  let usage: Array<[string, KeyUseOutcome, string | null]>;
  let audits: AuditInput[];
  let counted: Array<[string, string, string | undefined]>;
  let limited: Array<Record<string, string>>;
  let authenticator: Authenticator;

  const carrier = (overrides: Partial<AuthCarrier> = {}): AuthCarrier => ({
    channel: 'http',
    method: 'GET',
    headers: { 'x-api-key': 'aurora_…' },
    client: { ip: IP, userAgent: 'siem/1', requestId: 'req-1' },
    ...overrides,
  });
  const refusalOf = (decision: AuthDecision) => {
    if (decision.ok) throw new Error('expected a refusal');
    return decision.refusal;
  };

  beforeEach(() => {
    answer = { ok: true, principal: siem };
    controls = new FakeKeyControls();
    usage = [];
    audits = [];
    counted = [];
    limited = [];
    const resolver = { resolve: () => Promise.resolve(answer) } as unknown as CredentialResolver;
    const metrics = {
      countAuthentication: (m: string, o: string, r?: string) => counted.push([m, o, r]),
      rateLimited: { inc: (labels: Record<string, string>) => limited.push(labels) },
    } as unknown as MetricsService;
    authenticator = new Authenticator(
      resolver,
      new OriginPolicy({ allowedOrigins: ['https://console.example'] } as AppConfig),
      { record: (input: AuditInput) => audits.push(input) } as unknown as AuditRecorder,
      metrics,
      controls as unknown as KeyControls,
      { record: (keyId: string, outcome: KeyUseOutcome, ip: string | null) => usage.push([keyId, outcome, ip]) } as unknown as KeyUsageRecorder,
      { has: () => false } as unknown as EnrolledUsers,
      { mfaRequiredRoles: [], stepUpMaxAgeSeconds: 300 } as unknown as AppConfig,
    );
  });

  it("checks the caller's address against the key's allowed_ips and lets an allowed key through, counting its use", async () => {
    const decision = await authenticator.authenticate(carrier(), { permissions: ['alerts:read'] });
    expect(decision).toEqual({ ok: true, principal: siem });
    expect(controls.asked).toEqual([[['198.51.100.0/24'], IP]]);
    expect(controls.counted).toEqual([]);
    expect(usage).toEqual([['key-1', 'success', IP]]);
    expect(counted).toEqual([['api_key', 'success', undefined]]);
  });

  it('refuses a key used from outside its allowed_ips with 403 ip_not_allowed, audited under the key prefix and counted', async () => {
    controls.allowed = false;
    const refusal = refusalOf(await authenticator.authenticate(carrier(), { permissions: ['alerts:read'] }));
    expect(refusal.statusCode).toBe(403);
    expect(refusal.answer('req-1').body).toMatchObject({ statusCode: 403, error: 'ip_not_allowed' });
    expect(audits).toEqual([{ type: 'auth.api_key', outcome: 'failure', actor: 'ak_0123456789ab', reason: 'ip_not_allowed', client: carrier().client }]);
    expect(counted).toEqual([['api_key', 'failure', 'ip_not_allowed']]);
    expect(usage).toEqual([['key-1', 'denied', IP]]);
    expect(controls.counted).toEqual([]);
  });

  it('records an address refusal on a WebSocket handshake as a handshake refusal', async () => {
    controls.allowed = false;
    refusalOf(await authenticator.authenticate(carrier({ channel: 'ws' }), { permissions: ['alerts:read'] }));
    expect(audits[0]).toMatchObject({ type: 'auth.ws_handshake', reason: 'ip_not_allowed' });
    expect(counted).toEqual([['ws', 'failure', 'ip_not_allowed']]);
  });

  it('names no actor for a key without a prefix', async () => {
    controls.allowed = false;
    answer = { ok: true, principal: { ...siem, keyPrefix: undefined } };
    await authenticator.authenticate(carrier(), { permissions: ['alerts:read'] });
    expect(audits[0].actor).toBeNull();
  });

  it('counts a rate-limited key and answers RateLimit-* headers with every admitted request', async () => {
    answer = { ok: true, principal: { ...siem, keyRateLimit: { limit: 10, windowSeconds: 60 } } };
    const decision = await authenticator.authenticate(carrier(), { permissions: ['alerts:read'] });
    expect(decision).toMatchObject({ ok: true, headers: { 'RateLimit-Limit': '10', 'RateLimit-Remaining': '9', 'RateLimit-Reset': '30' } });
    expect(controls.counted).toEqual([['key-1', { limit: 10, windowSeconds: 60 }]]);
    expect(usage).toEqual([['key-1', 'success', IP]]);
  });

  it('refuses a key past its rate limit with 429, Retry-After and the RateLimit-* headers, counted as rate limited', async () => {
    answer = { ok: true, principal: { ...siem, keyRateLimit: { limit: 10, windowSeconds: 60 } } };
    controls.verdict = { allowed: false, limit: 10, remaining: 0, resetSeconds: 12 };
    const refusal = refusalOf(await authenticator.authenticate(carrier(), { permissions: ['alerts:read'] }));
    expect(refusal.statusCode).toBe(429);
    expect(refusal.message).toBe("this API key's rate limit (10 per 60 s) is used up; retry later");
    expect(refusal.responseHeaders).toEqual({ 'RateLimit-Limit': '10', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '12', 'Retry-After': '12' });
    expect(limited).toEqual([{ rule: 'api_key' }]);
    expect(usage).toEqual([['key-1', 'rate_limited', IP]]);
  });

  it('answers 503 when the rate-limit counter cannot be reached, rather than letting the key through uncounted', async () => {
    answer = { ok: true, principal: { ...siem, keyRateLimit: { limit: 10, windowSeconds: 60 } } };
    controls.verdict = new Error('redis down');
    const refusal = refusalOf(await authenticator.authenticate(carrier(), { permissions: ['alerts:read'] }));
    expect(refusal.statusCode).toBe(503);
    expect(refusal.message).toBe(CREDENTIAL_STORE_DOWN_MESSAGE);
  });

  it('still carries the RateLimit-* headers when a rate-limited key lacks the permission, and counts the use as denied', async () => {
    answer = { ok: true, principal: { ...siem, keyRateLimit: { limit: 10, windowSeconds: 60 } } };
    const refusal = refusalOf(await authenticator.authenticate(carrier(), { permissions: ['audit:read'] }));
    expect(refusal.statusCode).toBe(403);
    expect(refusal.responseHeaders).toEqual({ 'RateLimit-Limit': '10', 'RateLimit-Remaining': '9', 'RateLimit-Reset': '30' });
    expect(usage).toEqual([['key-1', 'denied', IP]]);
  });

  it('applies no key controls to a person, and counts no key use', async () => {
    answer = { ok: true, principal: alice };
    expect(await authenticator.authenticate(carrier(), { permissions: ['alerts:read'] })).toEqual({ ok: true, principal: alice });
    expect(controls.asked).toEqual([]);
    expect(usage).toEqual([]);
  });
});
