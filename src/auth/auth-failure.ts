import { ForbiddenException, HttpException, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import type { AuditRecorder } from '../audit/audit-recorder';
import type { ClientInfo } from '../common/client-info';
import type { AuthResult } from './principal';

type Failure = Extract<AuthResult, { ok: false }>;

/** The audit event type of a failed authentication on each path. */
export function failureEventType(failure: Failure, channel: 'http' | 'ws'): string {
  if (channel === 'ws') return 'auth.ws_handshake';
  return failure.method === 'api_key' ? 'auth.api_key' : 'auth.jwt';
}

/** Records a failed authentication, without ever naming the secret that was presented. */
export function auditAuthFailure(audit: AuditRecorder, failure: Failure, channel: 'http' | 'ws', client: ClientInfo): void {
  if (failure.reason === 'missing_credentials' && channel === 'http') return;
  audit.record({ type: failureEventType(failure, channel), outcome: 'failure', actor: failure.actor ?? null, reason: failure.reason, client });
}

/** The HTTP answer to a failed authentication: 401 (503 when the credential store is down). */
export function authFailureException(failure: Failure): HttpException {
  if (failure.reason === 'credential_store_unavailable') {
    return new ServiceUnavailableException('the credential store is unavailable; retry shortly');
  }
  const message =
    failure.reason === 'missing_credentials'
      ? 'authentication required: send a Bearer token, an X-API-Key header or the access_token cookie'
      : 'invalid or expired credentials';
  return new UnauthorizedException(message);
}

export const CROSS_SITE_MESSAGE = 'cookie-authenticated requests must come from an allowed origin';
export function crossSiteException(): HttpException {
  return new ForbiddenException(CROSS_SITE_MESSAGE);
}
