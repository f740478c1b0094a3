import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import { stdSerializers } from 'pino';
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

/**
 * Structured JSON logs through pino-http, one line per answered request (not /healthz, /readyz).
 * Every request gets one child logger bound to `requestBinding` (so lines logged while it runs name
 * its id): pino serialises a child's bindings when it is made, so that binding is kept small and
 * cheap — no headers, hence nothing to redact, and none of pino-std-serializers' wrapping.
 */
export function loggerParams(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      genReqId: requestIdFor,
      wrapSerializers: false,
      serializers: {
        req: requestBinding,
        res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
        err: stdSerializers.err,
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    },
  };
}
