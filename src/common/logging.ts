import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import { type Logger, stdSerializers } from 'pino';
import type { AppConfig } from '../config/app-config';
import { saneRequestId } from './client-info';
const SECRET_PARAM_NAMES = /^(?:token|access_token|api_key|apikey|key|jwt|password)$/i;
/** Anything shaped like a JWT or an AuroraSOC API key, wherever it stands in the URL. */
const SECRET_VALUES = /eyJ[\w-]*\.[\w-]*\.[\w-]*|aurora_[0-9A-Za-z]{16,}/g;

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/**
 * A URL fit for a log line: values of credential-like parameters (names compared after
 * percent-decoding, so ?to%6Ben= is caught too) and anything shaped like a token or key are replaced.
 */
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const queryStart = url.indexOf('?');
  let redacted = url;
  if (queryStart >= 0) {
    const query = url
      .slice(queryStart + 1)
      .split('&')
      .map((pair) => {
        const equals = pair.indexOf('=');
        return equals >= 0 && SECRET_PARAM_NAMES.test(decodedName(pair.slice(0, equals))) ? `${pair.slice(0, equals)}=[REDACTED]` : pair;
      })
      .join('&');
    redacted = `${url.slice(0, queryStart)}?${query}`;
  }
  return redacted.replace(SECRET_VALUES, '[REDACTED]');
}

/** The client's X-Request-Id if it is sane, else a new one; echoed on the response. */
export function requestIdFor(req: IncomingMessage, res: ServerResponse): string {
  const assigned = (req as IncomingMessage & { id?: unknown }).id;
  if (typeof assigned === 'string') return assigned;
  const id = saneRequestId(req.headers['x-request-id']);
  res.setHeader('X-Request-Id', id);
  return id;
}

/** What a log line says of the request it belongs to: no headers (they carry credentials), a redacted URL. */
export function requestBinding(req: IncomingMessage & { id?: unknown }): { id: unknown; method?: string; url?: string; remoteAddress?: string } {
  return { id: req.id, method: req.method, url: redactUrl(req.url), remoteAddress: req.socket?.remoteAddress };
}

/** Probes are answered, never logged: an orchestrator asks every few seconds. */
const UNLOGGED_PATHS = new Set(['/healthz', '/readyz']);

/** What a request's log line needs of pino: its three levels. */
export type RequestLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

/**
 * The first step of every request: its id (the client's if sane, else a new one, echoed as
 * `X-Request-Id`) and its log line — one per answered request, not the probes, written when the
 * response closes: `request completed` at info, warn from 400, error from 500; `request aborted`
 * (warn) when the connection closed first. The line names the request by `requestBinding`.
 *
 * Written by hand rather than by pino-http through nestjs-pino's middleware, which made a child
 * logger per request and ran the rest of the request inside an AsyncLocalStorage context: on
 * Node 20 that context rides on async hooks, which every promise of the request then pays for.
 * Together they were about a third of a small request's CPU (bench/RESULTS.md, issue 20). Lines
 * about a request name its id explicitly (`request_id`), as the error lines always did.
 */
export function requestStart(logger: RequestLogger): (req: IncomingMessage & { id?: unknown }, res: ServerResponse, next: () => void) => void {
  return (req, res, next) => {
    req.id = requestIdFor(req, res);
    if (!UNLOGGED_PATHS.has(req.url ?? '')) {
      const startedAt = performance.now();
      res.once('close', () => logAnswered(logger, req, res, Math.round(performance.now() - startedAt)));
    }
    next();
  };
}

function logAnswered(logger: RequestLogger, req: IncomingMessage, res: ServerResponse, responseTime: number): void {
  // The serializers of loggerParams turn these into requestBinding and the status code.
  const line = { req, res, responseTime };
  if (!res.writableFinished) logger.warn(line, 'request aborted');
  else if (res.statusCode >= 500) logger.error(line, 'request completed');
  else if (res.statusCode >= 400) logger.warn(line, 'request completed');
  else logger.info(line, 'request completed');
}

/**
 * The application's pino logger (nestjs-pino's root, so `LOG_LEVEL` and every Nest logger share
 * it). nestjs-pino's own request middleware is off (`forRoutes: []`, its documented way to turn
 * off request logging and request context): `requestStart` logs requests instead.
 */
export function loggerParams(config: AppConfig): Params {
  return {
    forRoutes: [],
    pinoHttp: {
      level: config.logLevel,
      wrapSerializers: false,
      serializers: {
        req: requestBinding,
        res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
        err: stdSerializers.err,
      },
    },
  };
}
