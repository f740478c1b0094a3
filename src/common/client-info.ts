import type { IncomingMessage } from 'node:http';

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/** The caller's address as Express sees it (honouring TRUST_PROXY) and its user agent. */
export function clientInfo(req: IncomingMessage & { ip?: string }): ClientInfo {
  const userAgent = req.headers['user-agent'];
  return {
    ip: req.ip ?? req.socket?.remoteAddress ?? null,
    userAgent: typeof userAgent === 'string' ? userAgent : null,
  };
}
