import type { IncomingHttpHeaders } from 'node:http';
import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { Permission } from '../access/permissions';
import { hasAll } from '../access/permissions';
import type { AuthResult, Principal } from '../access/principal';
import { AuditRecorder } from '../audit/audit-recorder';
import { clientInfo, type ClientInfo } from '../common/client-info';
import { MetricsService } from '../metrics/metrics.service';
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
}

/** Any authenticated caller: what `@RequirePermissions()` with no arguments asks for. */
export const ANY_CALLER: AuthRoute = { permissions: [] };

/** The carrier of an HTTP request. */
export function httpCarrier(request: Request): AuthCarrier {
  return { channel: 'http', method: request.method, headers: request.headers, cookies: request.cookies as Record<string, string>, client: clientInfo(request) };
}

export type AuthDecision = { ok: true; principal: Principal } | { ok: false; refusal: AuthRefusal };

type Failure = Extract<AuthResult, { ok: false }>;

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
  ) {}

  async authenticate(carrier: AuthCarrier, route: AuthRoute): Promise<AuthDecision> {
    const result = await this.resolver.resolve({
      headers: carrier.headers,
      cookies: carrier.cookies,
      queryToken: carrier.channel === 'ws' ? carrier.queryToken : null,
    });
    if (!result.ok) return { ok: false, refusal: this.refuseCredential(result, carrier) };
    const { principal } = result;
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
    if (!hasAll(principal.permissions, route.permissions)) {
      const missing = route.permissions.filter((p) => !principal.permissions.includes(p)).join(', ');
      // Refused access is recorded: a SOC wants to see probing.
      this.recordRefusal('auth.forbidden', principal, `missing permission ${missing}`, carrier);
      return { ok: false, refusal: new AuthRefusal(403, `missing permission: ${missing}`) };
    }
    this.metrics.countAuthentication(methodLabel(carrier, principal.source), 'success');
    return { ok: true, principal };
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
    this.metrics.countAuthentication(methodLabel(carrier, principal.source), 'failure', type === 'auth.cross_site' ? 'foreign_origin' : 'forbidden');
    this.audit.record({ type, outcome: 'failure', actor: principal.sub, reason, client: carrier.client });
  }
}

/** The metric's method label: the transport for handshakes, else the credential's kind. */
function methodLabel(carrier: AuthCarrier, source: Principal['source'] | undefined): 'ws' | 'jwt' | 'cookie' | 'api_key' {
  if (carrier.channel === 'ws') return 'ws';
  return source === 'api_key' ? 'api_key' : source === 'cookie' ? 'cookie' : 'jwt';
}
