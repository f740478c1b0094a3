import type { IncomingMessage } from 'node:http';
import { Injectable } from '@nestjs/common';
import { parse as parseCookies } from 'cookie';
import { AuditRecorder } from '../audit/audit-recorder';
import { auditAuthFailure, CROSS_SITE_MESSAGE } from '../auth/auth-failure';
import { CredentialResolver } from '../auth/credential-resolver';
import { OriginPolicy } from '../auth/origin-policy';
import type { Principal } from '../auth/principal';
import { clientInfo } from '../common/client-info';
import { MetricsService } from '../metrics/metrics.service';
import { permissionForSocketPath } from './ws-routes';

export type HandshakeResult = { ok: true; principal: Principal } | { ok: false; status: 401 | 403 | 503; message: string };

/**
 * Authenticates a WebSocket upgrade request before the upgrade, through the same credential
 * resolver as HTTP, plus the one thing only the handshake accepts: ?token=.
 */
@Injectable()
export class WsHandshakeAuthenticator {
  constructor(
    private readonly resolver: CredentialResolver,
    private readonly originPolicy: OriginPolicy,
    private readonly audit: AuditRecorder,
    private readonly metrics: MetricsService,
  ) {}

  async authenticate(req: IncomingMessage): Promise<HandshakeResult> {
    const url = new URL(req.url ?? '/', 'http://handshake.invalid');
    const client = clientInfo(req);
    const cookieHeader = req.headers.cookie;
    const result = await this.resolver.resolve({
      headers: req.headers,
      cookies: cookieHeader ? parseCookies(cookieHeader) : {},
      queryToken: url.searchParams.get('token'),
    });
    if (!result.ok) {
      this.metrics.countAuthentication('ws', 'failure', result.reason);
      auditAuthFailure(this.audit, result, 'ws', client);
      if (result.reason === 'credential_store_unavailable') return { ok: false, status: 503, message: 'Service Unavailable' };
      return { ok: false, status: 401, message: 'Unauthorized' };
    }
    const { principal } = result;
    if (principal.source === 'cookie' && this.originPolicy.isForeign(req.headers)) {
      this.audit.record({ type: 'auth.ws_handshake', outcome: 'failure', actor: principal.sub, reason: 'foreign_origin', client });
      return { ok: false, status: 403, message: CROSS_SITE_MESSAGE };
    }
    const required = permissionForSocketPath(url.pathname);
    if (!required || !principal.permissions.includes(required)) {
      this.audit.record({ type: 'auth.ws_handshake', outcome: 'failure', actor: principal.sub, reason: `missing permission ${required ?? 'unknown path'}`, client });
      return { ok: false, status: 403, message: 'Forbidden' };
    }
    this.metrics.countAuthentication('ws', 'success');
    return { ok: true, principal };
  }
}
