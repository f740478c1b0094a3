import { ConflictException, Injectable } from '@nestjs/common';
import * as client from 'openid-client';
import { AuditRecorder } from '../audit/audit-recorder';
import { MetricsService } from '../metrics/metrics.service';
import { AuthService, type IssuedToken } from '../auth/auth.service';
import type { ClientInfo } from '../common/client-info';
import { AppConfig } from '../config/app-config';
import type { OidcConfig } from '../config/oidc-config';
import type { AuthMethodUsed } from '../sessions/session.entity';
import { SessionsService } from '../sessions/sessions.service';
import type { User } from '../users/user.entity';
import { USERNAME_PATTERN } from '../users/users.dto';
import { UsersService } from '../users/users.service';
import { OidcClient, ProviderUnavailableError, type IdTokenClaims } from './oidc-client';
import { OIDC_FLOW_TTL_MS, OidcFlowCookie, type OidcFlow } from './oidc-flow-cookie';
import { groupsOf, roleForGroups } from './role-mapping';
import { safeReturnTo } from './return-to';

/** Why a single sign-on failed: the `sso_error` the console shows in words, and the audit reason. */
export type SsoError =
  | 'provider_unavailable'
  | 'provider_error'
  | 'invalid_state'
  | 'invalid_response'
  | 'missing_username'
  | 'unverified_email'
  | 'no_role'
  | 'account_conflict'
  | 'role_conflict'
  | 'user_disabled'
  | 'not_signed_in'
  | 'step_up_mismatch'
  | 'session_ended';

export class SsoFailure extends Error {
  constructor(
    readonly reason: SsoError,
    readonly actor: string | null = null,
  ) {
    super(reason);
  }
}

/** The provider's `amr` values that are a second factor, as this API's auth methods. */
const AMR_SECOND_FACTORS: Readonly<Record<string, AuthMethodUsed>> = { mfa: 'otp', otp: 'otp', hwk: 'webauthn' };
const MAX_USERNAME = 100;

export interface StartedFlow {
  redirectTo: string;
  cookie: string;
}

/**
 * Single sign-on: starts a flow at the provider, and turns its callback into a session through the
 * same issuing as a password sign-in; the user is created at their first sign-in, and their role
 * follows the provider's groups at every sign-in (a change goes through UsersService, so their
 * older sessions end as for any role change).
 */
@Injectable()
export class OidcService {
  private readonly settings: OidcConfig;
  readonly flows: OidcFlowCookie;

  constructor(
    config: AppConfig,
    private readonly provider: OidcClient,
    private readonly users: UsersService,
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
    private readonly audit: AuditRecorder,
    private readonly metrics: MetricsService,
  ) {
    this.settings = config.oidc!;
    this.flows = new OidcFlowCookie(config.jwtSecret);
  }

  /** A new flow at the provider; a step-up (of this session) asks it for a fresh login (prompt=login, max_age=0). */
  async start(returnTo: unknown, client: ClientInfo, stepUp?: { sessionId: string; userId: string }): Promise<StartedFlow> {
    const flow: OidcFlow = {
      state: randomValue(),
      nonce: randomValue(),
      codeVerifier: randomVerifier(),
      returnTo: safeReturnTo(returnTo),
      expiresAt: Date.now() + OIDC_FLOW_TTL_MS,
      ...(stepUp ? { stepUp } : {}),
    };
    try {
      const url = await this.provider.authorizationUrl({ ...flow, stepUp: stepUp !== undefined });
      return { redirectTo: url.href, cookie: this.flows.seal(flow) };
    } catch (error) {
      throw this.failed(error instanceof ProviderUnavailableError ? 'provider_unavailable' : 'provider_error', null, client);
    }
  }

  /** The callback: a session's token and where to go, or an SsoFailure (already audited). */
  async finish(flow: OidcFlow | null, query: Record<string, unknown>, client: ClientInfo): Promise<{ token: IssuedToken | null; returnTo: string }> {
    if (!flow || typeof query.state !== 'string' || query.state !== flow.state) throw this.failed('invalid_state', null, client);
    if (query.error !== undefined) throw this.failed('provider_error', null, client);
    const callbackUrl = new URL(this.settings.redirectUri);
    for (const [name, value] of Object.entries(query)) if (typeof value === 'string') callbackUrl.searchParams.set(name, value);
    let claims: IdTokenClaims;
    try {
      claims = await this.provider.exchange(callbackUrl, { ...flow, stepUp: flow.stepUp !== undefined });
    } catch (error) {
      throw this.failed(error instanceof ProviderUnavailableError ? 'provider_unavailable' : 'invalid_response', null, client);
    }
    // OpenID Connect caps sub at 255 ASCII characters (the column's size).
    if (claims.sub.length > 255) throw this.failed('invalid_response', null, client);
    if (flow.stepUp) {
      await this.finishStepUp(flow.stepUp, claims, client);
      return { token: null, returnTo: flow.returnTo };
    }
    const username = claims[this.settings.usernameClaim];
    // The same rule as a username an admin creates: printable, no surrounding spaces, at most 100.
    if (typeof username !== 'string' || username.length > MAX_USERNAME || !USERNAME_PATTERN.test(username)) {
      throw this.failed('missing_username', null, client);
    }
    // An address the provider itself says it has not verified is not a name to trust with an account.
    if (this.settings.usernameClaim === 'email' && claims.email_verified === false) throw this.failed('unverified_email', username, client);
    const role = roleForGroups(groupsOf(claims[this.settings.rolesClaim]), this.settings);
    if (!role) throw this.failed('no_role', username, client);
    const user = await this.userFor(claims.sub, username, role, client);
    const methods: AuthMethodUsed[] = ['sso', ...secondFactorsOf(claims.amr)];
    const sid = typeof claims.sid === 'string' && claims.sid.length > 0 && claims.sid.length <= 255 ? claims.sid : null;
    const token = await this.auth.signIn(user, client, methods, sid);
    if (!token) throw this.failed('user_disabled', user.username, client);
    this.audit.record({ type: 'auth.login', outcome: 'success', actor: user.username, reason: `single sign-on (${methods.join(', ')})`, client });
    this.metrics.countAuthentication('sso', 'success');
    return { token, returnTo: flow.returnTo };
  }

  /**
   * A step-up at the provider: the fresh login (max_age=0, checked against auth_time) must be of the
   * same person as the session's, which is then marked on every instance, as a second factor is.
   */
  private async finishStepUp(stepUp: { sessionId: string; userId: string }, claims: IdTokenClaims, client: ClientInfo): Promise<void> {
    const user = await this.users.findBySsoSubject(claims.sub);
    if (!user || user.id !== stepUp.userId) throw this.failed('step_up_mismatch', user?.username ?? null, client, 'mfa.step_up');
    if (!(await this.sessions.markStepUp(stepUp.sessionId))) throw this.failed('session_ended', user.username, client, 'mfa.step_up');
    this.audit.record({ type: 'mfa.step_up', outcome: 'success', actor: user.username, reason: 'single sign-on', client });
  }

  /** Back-channel logout: ends the sessions the provider names (by sid, else every one of the subject). */
  async backchannelLogout(logoutToken: unknown, client: ClientInfo): Promise<boolean> {
    if (typeof logoutToken !== 'string' || logoutToken.length === 0 || logoutToken.length > 16_384) return false;
    let claims: Awaited<ReturnType<OidcClient['verifyLogoutToken']>> = null;
    try {
      claims = await this.provider.verifyLogoutToken(logoutToken);
    } catch (error) {
      // The provider's discovery document or keys are unreachable: the token cannot be verified.
      if (!(error instanceof ProviderUnavailableError)) throw error;
    }
    if (!claims) {
      this.audit.record({ type: 'auth.sso_logout', outcome: 'failure', reason: 'invalid logout_token', client });
      return false;
    }
    const user = claims.sub ? await this.users.findBySsoSubject(claims.sub) : null;
    if (claims.sub && !user) return true; // nobody signed in as this subject here: nothing to end
    const ender = { sub: 'sso-provider', client };
    const ended = claims.sid
      ? await this.sessions.end({ ssoSid: claims.sid, ...(user ? { userId: user.id } : {}) }, 'provider_logout', ender, user?.username)
      : await this.sessions.end({ userId: user!.id }, 'provider_logout', ender, user!.username);
    this.audit.record({ type: 'auth.sso_logout', outcome: 'success', actor: user?.username ?? null, reason: `${ended.length} session(s) ended`, client });
    return true;
  }

  /** The user bound to this subject, created at the first sign-in; their role set from the groups. */
  private async userFor(subject: string, username: string, role: NonNullable<ReturnType<typeof roleForGroups>>, client: ClientInfo): Promise<User> {
    let user = await this.users.findBySsoSubject(subject);
    if (!user) {
      // A local (password) account of the same name is not taken over by the provider's say-so.
      if (await this.users.findByUsername(username)) throw this.failed('account_conflict', username, client);
      try {
        return await this.users.createSsoUser(username, role, subject, client);
      } catch (error) {
        if (!(error instanceof ConflictException)) throw error;
        // A sign-in of the same subject on another instance created it meanwhile.
        user = await this.users.findBySsoSubject(subject);
        if (!user) throw this.failed('account_conflict', username, client);
      }
    }
    if (user.disabled) throw this.failed('user_disabled', user.username, client);
    if (user.role !== role) {
      try {
        await this.users.update(user.id, { role }, { sub: 'sso', client });
      } catch (error) {
        // The last enabled admin would lose users:manage: the sign-in is refused, the role kept.
        if (error instanceof ConflictException) throw this.failed('role_conflict', user.username, client);
        throw error;
      }
    }
    return user;
  }

  /** The failure, audited (type auth.login, or mfa.step_up for a step-up). */
  failed(reason: SsoError, actor: string | null, client: ClientInfo, type = 'auth.login'): SsoFailure {
    this.audit.record({ type, outcome: 'failure', actor, reason: `single sign-on: ${reason}`, client });
    this.metrics.countAuthentication('sso', 'failure', reason);
    return new SsoFailure(reason, actor);
  }
}

function secondFactorsOf(amr: unknown): AuthMethodUsed[] {
  if (!Array.isArray(amr)) return [];
  const methods = amr.map((value) => (typeof value === 'string' ? AMR_SECOND_FACTORS[value] : undefined)).filter((m): m is AuthMethodUsed => m !== undefined);
  return [...new Set(methods)];
}

function randomValue(): string {
  return client.randomState();
}

function randomVerifier(): string {
  return client.randomPKCECodeVerifier();
}
