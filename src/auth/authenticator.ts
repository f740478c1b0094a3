import type { IncomingHttpHeaders } from 'node:http';
import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { Permission } from '../access/permissions';
import { hasAll } from '../access/permissions';
import type { AuthResult, Principal } from '../access/principal';
import { AuditRecorder } from '../audit/audit-recorder';
import { clientInfo, type ClientInfo } from '../common/client-info';
import { KeyControls } from '../api-keys/key-controls';
import { KeyUsageRecorder, type KeyUseOutcome } from '../api-keys/key-usage-recorder';
import { MetricsService } from '../metrics/metrics.service';
import { AppConfig } from '../config/app-config';
import { EnrolledUsers } from '../mfa/enrolled-users';
import {
  AuthRefusal,
  CLOSED_BY_DEFAULT_MESSAGE,
  CREDENTIAL_STORE_DOWN_MESSAGE,
  CROSS_SITE_MESSAGE,
  INVALID_CREDENTIALS_MESSAGE,
  MISSING_CREDENTIALS_MESSAGE,
} from './auth-refusal';
import { CredentialResolver } from './credential-resolver';
import { OriginPolicy } from './origin-policy';

/** What a request carries, from either transport. */
export interface AuthCarrier {
  /** 'ws' for a WebSocket handshake: the only place a ?token= is read, and its refusals are audited as handshakes. */
  channel: 'http' | 'ws';
  method: string;
  headers: IncomingHttpHeaders;
  cookies?: Record<string, string | undefined>;
  queryToken?: string | null;
  client: ClientInfo;
}

/** What a route (or a socket path) requires: these permissions, or, when undefined, nobody (closed by default). */
export interface AuthRoute {
  permissions: readonly Permission[] | undefined;
  /** @RequireStepUp(): a person with a second factor must have verified one in this session lately. */
  stepUp?: boolean;
  /** @OpenDuringMfaEnrolment(): open to a person who must enrol a second factor and has none yet. */
  openDuringEnrolment?: boolean;
}

/** Any authenticated caller: what `@RequirePermissions()` with no arguments asks for. */
export const ANY_CALLER: AuthRoute = { permissions: [] };

/**
 * The carrier of an HTTP request. Its cookies and client details are read on first use: a request
 * with a Bearer token or key never needs the cookies, and an admitted person's request never
 * needs the address (resolving it through TRUST_PROXY was ≈ 2 % of a warm request's CPU).
 */
export function httpCarrier(request: Request): AuthCarrier {
  let client: ClientInfo | undefined;
  return {
    channel: 'http',
    method: request.method,
    headers: request.headers,
    get cookies() {
      return request.cookies as Record<string, string | undefined>;
    },
    get client() {
      return (client ??= clientInfo(request));
    },
  };
}

/** A decision; an admitted request may come with headers for its answer (a key's RateLimit-*). */
export type AuthDecision = { ok: true; principal: Principal; headers?: Record<string, string> } | { ok: false; refusal: AuthRefusal };

type Failure = Extract<AuthResult, { ok: false }>;

/** Refusals for want of a second factor: their own metric reason (a fixed set). */
const SECOND_FACTOR_REFUSALS: ReadonlySet<string> = new Set(['mfa_enrolment_required', 'step_up_required']);

/**
 * Who is calling, and may they: the one decision for HTTP routes and WebSocket handshakes. The
 * credential in the contract's order (CredentialResolver), still valid for the user's current
 * state (the validity rule), the cookie-origin rule (OriginPolicy), the route's permissions, the
 * audit event and the metric. The global guard and the handshake are adapters that only carry
 * the request in and the answer out.
 */
@Injectable()
export class Authenticator {
  constructor(
    private readonly resolver: CredentialResolver,
    private readonly originPolicy: OriginPolicy,
    private readonly audit: AuditRecorder,
    private readonly metrics: MetricsService,
    private readonly keyControls: KeyControls,
    private readonly keyUsage: KeyUsageRecorder,
    private readonly enrolled: EnrolledUsers,
    config: AppConfig,
  ) {
    this.mfaRequiredRoles = new Set(config.mfaRequiredRoles);
    this.stepUpMaxAgeMs = config.stepUpMaxAgeSeconds * 1000;
  }

  private readonly mfaRequiredRoles: ReadonlySet<string>;
  private readonly stepUpMaxAgeMs: number;

  async authenticate(carrier: AuthCarrier, route: AuthRoute): Promise<AuthDecision> {
    const result = await this.resolver.resolve({
      headers: carrier.headers,
      // Read only when neither an Authorization header nor a key was sent.
      get cookies() {
        return carrier.cookies;
      },
      queryToken: carrier.channel === 'ws' ? carrier.queryToken : null,
    });
    if (!result.ok) return { ok: false, refusal: this.refuseCredential(result, carrier) };
    const { principal } = result;
    let headers: Record<string, string> | undefined;
    if (principal.kind === 'api_key') {
      const admitted = await this.admitKey(principal, carrier);
      if (!admitted.ok) return admitted;
      headers = admitted.headers;
    }
    const decision = this.authorize(principal, carrier, route);
    if (principal.keyId) this.keyUsage.record(principal.keyId, decision.ok ? 'success' : 'denied', carrier.client.ip);
    if (!headers) return decision;
    // Every answer to a rate-limited key carries its RateLimit-* headers, refusals included.
    if (!decision.ok) Object.assign(decision.refusal.responseHeaders, headers);
    return decision.ok ? { ...decision, headers } : decision;
  }

  /** The key's own controls: the address it is used from, then its rate limit. */
  private async admitKey(
    principal: Principal,
    carrier: AuthCarrier,
  ): Promise<{ ok: true; headers?: Record<string, string> } | { ok: false; refusal: AuthRefusal }> {
    const keyId = principal.keyId!;
    const refuse = (outcome: KeyUseOutcome, refusal: AuthRefusal) => {
      this.keyUsage.record(keyId, outcome, carrier.client.ip);
      return { ok: false as const, refusal };
    };
    if (!this.keyControls.ipAllowed(principal.keyAllowedIps, carrier.client.ip)) {
      this.metrics.countAuthentication(methodLabel(carrier, 'api_key'), 'failure', 'ip_not_allowed');
      this.audit.record({
        type: carrier.channel === 'ws' ? 'auth.ws_handshake' : 'auth.api_key',
        outcome: 'failure',
        actor: principal.keyPrefix ?? null,
        reason: 'ip_not_allowed',
        client: carrier.client,
      });
      return refuse('denied', new AuthRefusal(403, 'this API key may not be used from this address', { error: 'ip_not_allowed' }));
    }
    if (!principal.keyRateLimit) return { ok: true };
    let verdict;
    try {
      verdict = await this.keyControls.count(keyId, principal.keyRateLimit);
    } catch {
      return { ok: false, refusal: new AuthRefusal(503, CREDENTIAL_STORE_DOWN_MESSAGE) };
    }
    const headers = {
      'RateLimit-Limit': String(verdict.limit),
      'RateLimit-Remaining': String(verdict.remaining),
      'RateLimit-Reset': String(verdict.resetSeconds),
    };
    if (verdict.allowed) return { ok: true, headers };
    this.metrics.rateLimited.inc({ rule: 'api_key' });
    return refuse(
      'rate_limited',
      new AuthRefusal(429, `this API key's rate limit (${verdict.limit} per ${principal.keyRateLimit.windowSeconds} s) is used up; retry later`, {
        headers: { ...headers, 'Retry-After': String(verdict.resetSeconds) },
      }),
    );
  }

  /** The cookie-origin rule, then the route's permissions. */
  private authorize(principal: Principal, carrier: AuthCarrier, route: AuthRoute): AuthDecision {
    const handshake = carrier.channel === 'ws';
    // A browser opening a socket is as much a cross-site risk as one changing state.
    const originMatters = handshake || this.originPolicy.changesState(carrier.method);
    if (principal.source === 'cookie' && originMatters && this.originPolicy.isForeign(carrier.headers)) {
      this.recordRefusal('auth.cross_site', principal, 'foreign_origin', carrier);
      return { ok: false, refusal: new AuthRefusal(403, CROSS_SITE_MESSAGE) };
    }
    if (route.permissions === undefined) {
      this.recordRefusal('auth.forbidden', principal, 'route closed by default', carrier);
      return { ok: false, refusal: new AuthRefusal(403, CLOSED_BY_DEFAULT_MESSAGE) };
    }
    // A person who must enrol a second factor and has none may only enrol (and see their sessions, sign out).
    if (principal.kind === 'user' && !route.openDuringEnrolment && this.mfaRequiredRoles.has(principal.role) && !this.enrolled.has(principal.userId!)) {
      this.recordRefusal('auth.forbidden', principal, 'mfa_enrolment_required', carrier);
      return {
        ok: false,
        refusal: new AuthRefusal(403, 'your role requires a second factor: enrol one at /api/v1/auth/mfa first', { error: 'mfa_enrolment_required' }),
      };
    }
    if (!hasAll(principal.permissions, route.permissions)) {
      const missing = route.permissions.filter((p) => !principal.permissions.includes(p)).join(', ');
      // Refused access is recorded: a SOC wants to see probing.
      this.recordRefusal('auth.forbidden', principal, `missing permission ${missing}`, carrier);
      return { ok: false, refusal: new AuthRefusal(403, `missing permission: ${missing}`) };
    }
    if (route.stepUp && this.needsStepUp(principal)) {
      this.recordRefusal('auth.forbidden', principal, 'step_up_required', carrier);
      return {
        ok: false,
        refusal: new AuthRefusal(403, 'this action needs a second factor verified lately: POST /api/v1/auth/step-up, then retry', {
          error: 'step_up_required',
        }),
      };
    }
    this.metrics.countAuthentication(methodLabel(carrier, principal.source), 'success');
    return { ok: true, principal };
  }

  /** A person with a second factor who has not verified one in this session within STEP_UP_MAX_AGE_SECONDS; never a key. */
  private needsStepUp(principal: Principal): boolean {
    if (principal.kind !== 'user' || !this.enrolled.has(principal.userId!)) return false;
    return principal.stepUpAt === undefined || Date.now() - principal.stepUpAt > this.stepUpMaxAgeMs;
  }

  private refuseCredential(failure: Failure, carrier: AuthCarrier): AuthRefusal {
    this.metrics.countAuthentication(methodLabel(carrier, failure.source ?? (failure.method === 'api_key' ? 'api_key' : undefined)), 'failure', failure.reason);
    // A request without any credential is not recorded over HTTP (a browser opening the console
    // would flood the trail); on a handshake, where it is rarer and telling, it is.
    if (failure.reason !== 'missing_credentials' || carrier.channel === 'ws') {
      const type = carrier.channel === 'ws' ? 'auth.ws_handshake' : failure.method === 'api_key' ? 'auth.api_key' : 'auth.jwt';
      this.audit.record({ type, outcome: 'failure', actor: failure.actor ?? null, reason: failure.reason, client: carrier.client });
    }
    if (failure.reason === 'credential_store_unavailable') return new AuthRefusal(503, CREDENTIAL_STORE_DOWN_MESSAGE);
    return new AuthRefusal(401, failure.reason === 'missing_credentials' ? MISSING_CREDENTIALS_MESSAGE : INVALID_CREDENTIALS_MESSAGE);
  }

  private recordRefusal(type: string, principal: Principal, reason: string, carrier: AuthCarrier): void {
    const label = type === 'auth.cross_site' ? 'foreign_origin' : SECOND_FACTOR_REFUSALS.has(reason) ? reason : 'forbidden';
    this.metrics.countAuthentication(methodLabel(carrier, principal.source), 'failure', label);
    this.audit.record({ type, outcome: 'failure', actor: principal.sub, reason, client: carrier.client });
  }
}

/** The metric's method label: the transport for handshakes, else the credential's kind. */
function methodLabel(carrier: AuthCarrier, source: Principal['source'] | undefined): 'ws' | 'jwt' | 'cookie' | 'api_key' {
  if (carrier.channel === 'ws') return 'ws';
  return source === 'api_key' ? 'api_key' : source === 'cookie' ? 'cookie' : 'jwt';
}
