import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a sign-in at the provider must come back with, kept in the browser between the two requests. */
export interface OidcFlow {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  /** A step-up: the session to mark, and its user (the provider must name the same one); absent for a sign-in. */
  stepUp?: { sessionId: string; userId: string };
  /** Epoch milliseconds after which the flow is refused. */
  expiresAt: number;
}

export const OIDC_FLOW_COOKIE = 'aurora_oidc_flow';
/** How long a sign-in at the provider may take. */
export const OIDC_FLOW_TTL_MS = 10 * 60 * 1000;

/**
 * The flow sealed as `<base64url JSON>.<HMAC-SHA256>` under a key derived from JWT_SECRET_KEY
 * (only this server can make one), httpOnly so no script reads the PKCE verifier.
 */
export class OidcFlowCookie {
  private readonly key: Buffer;

  constructor(jwtSecret: string) {
    this.key = createHmac('sha256', jwtSecret).update('aurora-oidc-flow-cookie-v1').digest();
  }

  seal(flow: OidcFlow): string {
    const body = Buffer.from(JSON.stringify(flow)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /** The flow, or null when the cookie is missing, forged, malformed or expired. */
  open(value: unknown, now = Date.now()): OidcFlow | null {
    if (typeof value !== 'string' || value.length > 4096) return null;
    const dot = value.indexOf('.');
    if (dot <= 0) return null;
    const body = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(this.mac(body));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const flow = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as OidcFlow;
      if (typeof flow.state !== 'string' || typeof flow.nonce !== 'string' || typeof flow.codeVerifier !== 'string') return null;
      if (typeof flow.expiresAt !== 'number' || flow.expiresAt < now) return null;
      return flow;
    } catch {
      return null;
    }
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
