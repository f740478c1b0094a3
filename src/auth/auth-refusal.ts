import { HttpException } from '@nestjs/common';
import type { ErrorBody } from '../common/http-exception.filter';

/**
 * A refused authentication or authorization: its status and the contract's JSON error body, the
 * same whether the HTTP guard or the WebSocket handshake answers it.
 */
export class AuthRefusal extends HttpException {
  /** The body's `error`: the status's name, unless the contract names the refusal (ip_not_allowed). */
  readonly error: string;
  /** Headers the answer carries besides the body's (Retry-After, RateLimit-*). */
  readonly responseHeaders: Record<string, string>;

  constructor(status: RefusalStatus, message: string, options: { error?: string; headers?: Record<string, string> } = {}) {
    const error = options.error ?? STATUS_NAMES[status];
    super({ statusCode: status, error, message }, status);
    this.error = error;
    this.responseHeaders = { ...options.headers };
  }

  get statusCode(): RefusalStatus {
    return this.getStatus() as RefusalStatus;
  }

  /** The body and headers of this refusal, for an answer written outside Nest (the handshake). */
  answer(requestId: string): { body: ErrorBody; headers: Record<string, string> } {
    const status = this.statusCode;
    const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': requestId, ...this.responseHeaders };
    if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
    return { body: { statusCode: status, error: this.error, message: this.message, request_id: requestId }, headers };
  }
}

type RefusalStatus = 401 | 403 | 429 | 503;
const STATUS_NAMES: Record<RefusalStatus, string> = { 401: 'Unauthorized', 403: 'Forbidden', 429: 'Too Many Requests', 503: 'Service Unavailable' };

export const MISSING_CREDENTIALS_MESSAGE = 'authentication required: send a Bearer token, an X-API-Key header or the access_token cookie';
export const INVALID_CREDENTIALS_MESSAGE = 'invalid or expired credentials';
export const CREDENTIAL_STORE_DOWN_MESSAGE = 'the credential store is unavailable; retry shortly';
export const CROSS_SITE_MESSAGE = 'cookie-authenticated requests must come from an allowed origin';
export const CLOSED_BY_DEFAULT_MESSAGE = 'this route declares no permissions and is closed by default';
