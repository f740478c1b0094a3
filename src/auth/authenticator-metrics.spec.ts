import type { AuthResult, Principal } from '../access/principal';
import type { KeyControls } from '../api-keys/key-controls';
import type { KeyUsageRecorder } from '../api-keys/key-usage-recorder';
import type { AuditInput, AuditRecorder } from '../audit/audit-recorder';
import type { AppConfig } from '../config/app-config';
import type { MetricsService } from '../metrics/metrics.service';
import { INVALID_CREDENTIALS_MESSAGE, MISSING_CREDENTIALS_MESSAGE } from './auth-refusal';
import type { EnrolledUsers } from '../mfa/enrolled-users';
import { Authenticator, type AuthCarrier, type AuthDecision } from './authenticator';
import type { CredentialResolver } from './credential-resolver';
import { OriginPolicy } from './origin-policy';

const person = (source: Principal['source']): Principal => ({ kind: 'user', sub: 'ana', role: 'viewer', permissions: ['alerts:read'], source });
const key: Principal = { kind: 'api_key', sub: 'siem', role: 'api_service', permissions: ['alerts:read'], source: 'api_key', keyId: 'k1' };

/**
 * The label values of aurora's authentication counter (method, outcome, reason) are what the
 * dashboards and alerts are written against; the audit reasons are what a SOC analyst reads.
 */
describe('Authenticator: what it counts and records', () => {
  let answer: AuthResult;
  let counted: Array<[string, string, string | undefined]>;
  let audits: AuditInput[];
  let authenticator: Authenticator;

  const carrier = (overrides: Partial<AuthCarrier> = {}): AuthCarrier => ({
    channel: 'http',
    method: 'POST',
    headers: {},
    client: { ip: '203.0.113.9', userAgent: 'test', requestId: 'req-1' },
    ...overrides,
  });
  const refusalOf = (decision: AuthDecision) => {
    if (decision.ok) throw new Error('expected a refusal');
    return decision.refusal;
  };

  beforeEach(() => {
    counted = [];
    audits = [];
    authenticator = new Authenticator(
      { resolve: () => Promise.resolve(answer) } as unknown as CredentialResolver,
      new OriginPolicy({ allowedOrigins: ['https://console.example'] } as AppConfig),
      { record: (input: AuditInput) => audits.push(input) } as unknown as AuditRecorder,
      { countAuthentication: (m: string, o: string, r?: string) => counted.push([m, o, r]) } as unknown as MetricsService,
      { ipAllowed: () => true } as unknown as KeyControls,
      { record: () => undefined } as unknown as KeyUsageRecorder,
      { has: () => false } as unknown as EnrolledUsers,
      { mfaRequiredRoles: [], stepUpMaxAgeSeconds: 300 } as unknown as AppConfig,
    );
  });

  it.each([
    ['bearer', 'jwt'],
    ['query', 'jwt'],
    ['cookie', 'cookie'],
  ] as const)('counts a success by a %s token under method %s', async (source, method) => {
    answer = { ok: true, principal: person(source) };
    await authenticator.authenticate(carrier({ method: 'GET' }), { permissions: [] });
    expect(counted).toEqual([[method, 'success', undefined]]);
  });

  it('counts a key success under method api_key, and any handshake under ws', async () => {
    answer = { ok: true, principal: key };
    await authenticator.authenticate(carrier(), { permissions: [] });
    await authenticator.authenticate(carrier({ channel: 'ws' }), { permissions: [] });
    expect(counted).toEqual([
      ['api_key', 'success', undefined],
      ['ws', 'success', undefined],
    ]);
  });

  it('counts a refused credential under the kind it was: the cookie, the key, or by default a token', async () => {
    answer = { ok: false, reason: 'token_expired', method: 'jwt', source: 'cookie' };
    await authenticator.authenticate(carrier(), { permissions: [] });
    answer = { ok: false, reason: 'unknown_api_key', method: 'api_key' };
    await authenticator.authenticate(carrier(), { permissions: [] });
    answer = { ok: false, reason: 'malformed_authorization_header', method: 'jwt' };
    await authenticator.authenticate(carrier(), { permissions: [] });
    answer = { ok: false, reason: 'missing_credentials' };
    await authenticator.authenticate(carrier(), { permissions: [] });
    expect(counted).toEqual([
      ['cookie', 'failure', 'token_expired'],
      ['api_key', 'failure', 'unknown_api_key'],
      ['jwt', 'failure', 'malformed_authorization_header'],
      ['jwt', 'failure', 'missing_credentials'],
    ]);
  });

  it('tells a caller without credentials how to send one, and a caller with a bad one only that it is invalid', async () => {
    answer = { ok: false, reason: 'missing_credentials' };
    expect(refusalOf(await authenticator.authenticate(carrier(), { permissions: [] })).message).toBe(MISSING_CREDENTIALS_MESSAGE);
    answer = { ok: false, reason: 'bad_signature', method: 'jwt', source: 'bearer' };
    expect(refusalOf(await authenticator.authenticate(carrier(), { permissions: [] })).message).toBe(INVALID_CREDENTIALS_MESSAGE);
  });

  it('counts a cross-site cookie write as foreign_origin, under method cookie', async () => {
    answer = { ok: true, principal: person('cookie') };
    await authenticator.authenticate(carrier({ headers: { origin: 'https://evil.example' } }), { permissions: [] });
    expect(counted).toEqual([['cookie', 'failure', 'foreign_origin']]);
  });

  it('counts a missing permission, and a closed route, as forbidden, and says which in the audit', async () => {
    answer = { ok: true, principal: key };
    const refusal = refusalOf(await authenticator.authenticate(carrier(), { permissions: ['users:manage', 'alerts:read', 'audit:read'] }));
    expect(refusal.message).toBe('missing permission: users:manage, audit:read');
    await authenticator.authenticate(carrier(), { permissions: undefined });
    expect(counted).toEqual([
      ['api_key', 'failure', 'forbidden'],
      ['api_key', 'failure', 'forbidden'],
    ]);
    expect(audits.map(({ type, outcome, actor, reason }) => ({ type, outcome, actor, reason }))).toEqual([
      { type: 'auth.forbidden', outcome: 'failure', actor: 'siem', reason: 'missing permission users:manage, audit:read' },
      { type: 'auth.forbidden', outcome: 'failure', actor: 'siem', reason: 'route closed by default' },
    ]);
  });

  it('applies the key controls to keys only', async () => {
    let asked = 0;
    authenticator = new Authenticator(
      { resolve: () => Promise.resolve(answer) } as unknown as CredentialResolver,
      new OriginPolicy({ allowedOrigins: [] } as unknown as AppConfig),
      { record: () => undefined } as unknown as AuditRecorder,
      { countAuthentication: () => undefined } as unknown as MetricsService,
      { ipAllowed: () => (asked++, false) } as unknown as KeyControls,
      { record: () => undefined } as unknown as KeyUsageRecorder,
      { has: () => false } as unknown as EnrolledUsers,
      { mfaRequiredRoles: [], stepUpMaxAgeSeconds: 300 } as unknown as AppConfig,
    );
    answer = { ok: true, principal: person('bearer') };
    expect((await authenticator.authenticate(carrier(), { permissions: [] })).ok).toBe(true);
    expect(asked).toBe(0);
    answer = { ok: true, principal: key };
    expect((await authenticator.authenticate(carrier(), { permissions: [] })).ok).toBe(false);
    expect(asked).toBe(1);
  });
});
