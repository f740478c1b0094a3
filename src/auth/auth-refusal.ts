import { HttpException } from '@nestjs/common';
import type { ErrorBody } from '../common/http-exception.filter';

/**
 * A refused authentication or authorization: its status and the contract's JSON error body, the
 * same whether the HTTP guard or the WebSocket handshake answers it.
 */
export class AuthRefusal extends HttpException {
  constructor(status: 401 | 403 | 503, message: string) {
    super(message, status);
  }

  get statusCode(): 401 | 403 | 503 {
    return this.getStatus() as 401 | 403 | 503;
  }

  /** The body and headers of this refusal, for an answer written outside Nest (the handshake). */
  answer(requestId: string): { body: ErrorBody; headers: Record<string, string> } {
    const status = this.statusCode;
    const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': requestId };
    if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
    const error = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Service Unavailable';
    return { body: { statusCode: status, error, message: this.message, request_id: requestId }, headers };
  }
}

export const MISSING_CREDENTIALS_MESSAGE = 'authentication required: send a Bearer token, an X-API-Key header or the access_token cookie';
export const INVALID_CREDENTIALS_MESSAGE = 'invalid or expired credentials';
export const CREDENTIAL_STORE_DOWN_MESSAGE = 'the credential store is unavailable; retry shortly';
export const CROSS_SITE_MESSAGE = 'cookie-authenticated requests must come from an allowed origin';
export const CLOSED_BY_DEFAULT_MESSAGE = 'this route declares no permissions and is closed by default';
