import type { AuthResult, Principal } from '../access/principal';
import type { KeyControls } from '../api-keys/key-controls';
import type { KeyUsageRecorder } from '../api-keys/key-usage-recorder';
import type { AuditInput, AuditRecorder } from '../audit/audit-recorder';
import type { AppConfig } from '../config/app-config';
import type { MetricsService } from '../metrics/metrics.service';
import type { EnrolledUsers } from '../mfa/enrolled-users';
import { Authenticator, type AuthCarrier, type AuthDecision, type AuthRoute } from './authenticator';
import type { CredentialResolver } from './credential-resolver';
import { OriginPolicy } from './origin-policy';

const MAX_AGE_S = 300;
const operator: Principal = {
  kind: 'user',
  sub: 'olga',
  role: 'operator',
  permissions: ['alerts:read', 'audit:read'],
  source: 'bearer',
  userId: 'id-olga',
  sessionId: 's-1',
};
const admin: Principal = {
  kind: 'user',
  sub: 'ada',
  role: 'admin',
  permissions: ['users:manage', 'alerts:read', 'alerts:write', 'audit:read'],
  source: 'bearer',
  userId: 'id-ada',
};
const key: Principal = {
  kind: 'api_key',
  sub: 'siem',
  role: 'api_service',
  permissions: ['audit:read'],
  source: 'api_key',
  keyId: 'k-1',
  keyPrefix: 'ak_0123456789ab',
};

/** The second-factor rules inside the one decision: MFA_REQUIRED_ROLES and @RequireStepUp(). */
describe('Authenticator: second-factor policy and step-up', () => {
  let answer: AuthResult;
  let enrolled: Set<string>;
  let audits: AuditInput[];
  let counted: Array<[string, string, string | undefined]>;
  let authenticator: Authenticator;

  const carrier = (channel: AuthCarrier['channel'] = 'http'): AuthCarrier => ({
    channel,
    method: 'GET',
    headers: {},
    cookies: {},
    client: { ip: '203.0.113.9', userAgent: 'test', requestId: 'req-1' },
  });
  const as = (principal: Principal, route: AuthRoute, channel: AuthCarrier['channel'] = 'http'): Promise<AuthDecision> => {
    answer = { ok: true, principal };
    return authenticator.authenticate(carrier(channel), route);
  };
  const errorOf = (decision: AuthDecision) => (decision.ok ? 'admitted' : `${decision.refusal.statusCode} ${decision.refusal.error}`);

  beforeEach(() => {
    enrolled = new Set();
    audits = [];
    counted = [];
    authenticator = new Authenticator(
      { resolve: () => Promise.resolve(answer) } as unknown as CredentialResolver,
      new OriginPolicy({ allowedOrigins: [] } as unknown as AppConfig),
      { record: (input: AuditInput) => audits.push(input) } as unknown as AuditRecorder,
      { countAuthentication: (m: string, o: string, r?: string) => counted.push([m, o, r]) } as unknown as MetricsService,
      { ipAllowed: () => true } as unknown as KeyControls,
      { record: () => undefined } as unknown as KeyUsageRecorder,
      { has: (userId: string) => enrolled.has(userId) } as unknown as EnrolledUsers,
      { mfaRequiredRoles: ['operator'], stepUpMaxAgeSeconds: MAX_AGE_S } as unknown as AppConfig,
    );
  });

  describe('MFA_REQUIRED_ROLES', () => {
    it('refuses a person of a required role without a factor with 403 mfa_enrolment_required, audited and counted', async () => {
      const decision = await as(operator, { permissions: ['alerts:read'] });
      expect(errorOf(decision)).toBe('403 mfa_enrolment_required');
      expect(audits).toEqual([expect.objectContaining({ type: 'auth.forbidden', outcome: 'failure', actor: 'olga', reason: 'mfa_enrolment_required' })]);
      expect(counted).toEqual([['jwt', 'failure', 'mfa_enrolment_required']]);
    });

    it('lets such a person call the routes open during enrolment', async () => {
      expect(errorOf(await as(operator, { permissions: [], openDuringEnrolment: true }))).toBe('admitted');
    });

    it('refuses their WebSocket handshakes too (sockets are not open during enrolment)', async () => {
      expect(errorOf(await as(operator, { permissions: ['alerts:read'] }, 'ws'))).toBe('403 mfa_enrolment_required');
    });

    it('lets them through once they have a factor, and never asks other roles or keys', async () => {
      enrolled.add('id-olga');
      expect(errorOf(await as(operator, { permissions: ['alerts:read'] }))).toBe('admitted');
      expect(errorOf(await as(admin, { permissions: ['users:manage'] }))).toBe('admitted');
      expect(errorOf(await as(key, { permissions: ['audit:read'] }))).toBe('admitted');
    });
  });

  describe('@RequireStepUp()', () => {
    const sensitive: AuthRoute = { permissions: ['users:manage'], stepUp: true };

    it('does not ask a person without a factor', async () => {
      expect(errorOf(await as(admin, sensitive))).toBe('admitted');
    });

    it('refuses a person with a factor whose session never verified one: 403 step_up_required, audited and counted', async () => {
      enrolled.add('id-ada');
      expect(errorOf(await as(admin, sensitive))).toBe('403 step_up_required');
      expect(audits).toEqual([expect.objectContaining({ type: 'auth.forbidden', actor: 'ada', reason: 'step_up_required' })]);
      expect(counted).toEqual([['jwt', 'failure', 'step_up_required']]);
    });

    it('admits a step-up within STEP_UP_MAX_AGE_SECONDS and refuses an older one', async () => {
      enrolled.add('id-ada');
      expect(errorOf(await as({ ...admin, stepUpAt: Date.now() - (MAX_AGE_S - 5) * 1000 }, sensitive))).toBe('admitted');
      expect(errorOf(await as({ ...admin, stepUpAt: Date.now() - (MAX_AGE_S + 1) * 1000 }, sensitive))).toBe('403 step_up_required');
    });

    it('asks nothing of routes that are not sensitive, nor of API keys on sensitive ones', async () => {
      enrolled.add('id-ada');
      expect(errorOf(await as(admin, { permissions: ['users:manage'] }))).toBe('admitted');
      expect(errorOf(await as(key, { permissions: ['audit:read'], stepUp: true }))).toBe('admitted');
    });

    it('checks permissions first: a person lacking them is refused for that, not asked to step up', async () => {
      enrolled.add('id-olga');
      expect(errorOf(await as(operator, sensitive))).toBe('403 Forbidden');
    });
  });
});
