import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

/** A client-supplied X-Request-Id is kept only when it is a short, plain token. */
export const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The client's X-Request-Id if it is sane, else a new one. */
export function saneRequestId(offered: unknown): string {
  return typeof offered === 'string' && SANE_REQUEST_ID.test(offered) ? offered : randomUUID();
}

/**
 * The caller's address as Express sees it (honouring TRUST_PROXY), its user agent, and the
 * request id that the response and the log lines carry.
 */
export function clientInfo(req: IncomingMessage & { ip?: string; id?: unknown }): ClientInfo {
  const userAgent = req.headers['user-agent'];
  return {
    ip: req.ip ?? req.socket?.remoteAddress ?? null,
    userAgent: typeof userAgent === 'string' ? userAgent : null,
    requestId: typeof req.id === 'string' ? req.id : null,
  };
}
