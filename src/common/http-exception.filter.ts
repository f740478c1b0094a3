import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { BODY_TOO_LARGE_MESSAGE } from './body-limits';
import { BodyShapeError } from './body-shape';
import { RetryLaterException } from './retry-later.exception';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  request_id?: string;
}

const DATABASE_DOWN =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection terminated|timeout exceeded when trying to connect|Query read timeout|connect ETIMEDOUT|Client has encountered a connection error|the database system is (starting up|shutting down)|terminating connection/i;

export function statusText(status: number): string {
  const name = HttpStatus[status];
  return name
    ? name
        .toLowerCase()
        .split('_')
        .map((word) => word[0].toUpperCase() + word.slice(1))
        .join(' ')
    : 'Error';
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  if (typeof message === 'string') return message;
  return exception.message;
}

/** True for errors that mean "the database is not answering", which clients should retry. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const err = error as { message?: string; code?: string; driverError?: { message?: string; code?: string } };
  const text = `${err?.message ?? ''} ${err?.code ?? ''} ${err?.driverError?.message ?? ''} ${err?.driverError?.code ?? ''}`;
  return DATABASE_DOWN.test(text) || ['57P01', '57P03', '08006', '08001', '08003'].includes(err?.driverError?.code ?? err?.code ?? '');
}

/** PostgreSQL's code for a database error, if it is one. */
function sqlStateOf(error: unknown): string | undefined {
  const err = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = err?.driverError?.code ?? err?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** A deadlock or serialization failure: nothing was written and the same request can be sent again. */
const TRANSIENT_CONFLICT = new Set(['40001', '40P01']);

/** Builds the contract's error body for any thrown value; never a stack trace. */
export function errorResponse(exception: unknown): { body: ErrorBody; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  let status: HttpStatus;
  let message: string;
  let error: string | undefined;
  if (exception instanceof HttpException) {
    status = exception.getStatus();
    message = messageOf(exception);
    if (exception instanceof RetryLaterException) headers['Retry-After'] = String(exception.retryAfterSeconds);
    // An exception may name its own error code and carry headers of its own (e.g. RateLimit-*).
    const own = exception.getResponse() as { error?: unknown };
    if (typeof own === 'object' && own !== null && typeof own.error === 'string') error = own.error;
    Object.assign(headers, (exception as { responseHeaders?: Record<string, string> }).responseHeaders ?? {});
  } else if (isDatabaseUnavailable(exception)) {
    status = HttpStatus.SERVICE_UNAVAILABLE;
    message = 'the database is unavailable; retry shortly';
  } else if (TRANSIENT_CONFLICT.has(sqlStateOf(exception) ?? '')) {
    status = HttpStatus.SERVICE_UNAVAILABLE;
    message = 'a concurrent change got in the way and nothing was changed; retry';
    headers['Retry-After'] = '1';
  } else if (sqlStateOf(exception) === '22001') {
    // Validation counts as the columns do; this is the safety net if a limit ever disagrees.
    status = HttpStatus.BAD_REQUEST;
    message = 'a value is longer than its field allows';
  } else {
    const parserError = exception as { type?: string; status?: number };
    if (parserError?.type === 'entity.too.large') {
      status = HttpStatus.PAYLOAD_TOO_LARGE;
      message = BODY_TOO_LARGE_MESSAGE;
    } else if (exception instanceof BodyShapeError) {
      status = HttpStatus.BAD_REQUEST;
      message = exception.message;
    } else if (parserError?.type === 'entity.parse.failed') {
      status = HttpStatus.BAD_REQUEST;
      message = 'request body is not valid JSON';
    } else if (typeof parserError?.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
      status = parserError.status;
      message = 'the request could not be read';
    } else {
      status = HttpStatus.INTERNAL_SERVER_ERROR;
      message = 'internal error; the request id identifies it in the server log';
    }
  }
  if (status === HttpStatus.UNAUTHORIZED) headers['WWW-Authenticate'] = 'Bearer';
  return { body: { statusCode: status, error: error ?? statusText(status), message }, headers };
}

export function sendError(exception: unknown, req: Request, res: Response, logger: Logger): void {
  const { body, headers } = errorResponse(exception);
  const requestId = (req as Request & { id?: unknown }).id;
  if (typeof requestId === 'string') body.request_id = requestId;
  if (body.statusCode >= 500) {
    const error = exception as Error;
    logger.error({ err: { type: error?.name, message: error?.message }, request_id: body.request_id }, 'request failed');
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(body.statusCode).json(body);
}

@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const http = host.switchToHttp();
    sendError(exception, http.getRequest<Request>(), http.getResponse<Response>(), this.logger);
  }
}
