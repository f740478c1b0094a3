import type { IncomingHttpHeaders } from 'node:http';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The cookie-origin rule: a browser may use the auth cookie to change state, or to open a
 * WebSocket, only from an origin in ALLOWED_ORIGINS. Origin decides; lacking it, Referer.
 */
@Injectable()
export class OriginPolicy {
  private readonly allowed: Set<string>;

  constructor(config: AppConfig) {
    this.allowed = new Set(config.allowedOrigins);
  }

  changesState(method: string | undefined): boolean {
    return !SAFE_METHODS.has((method ?? 'GET').toUpperCase());
  }

  /** True when the request names an origin that is not allowed. No Origin or Referer: allowed. */
  isForeign(headers: IncomingHttpHeaders): boolean {
    const origin = headers.origin;
    // Present but empty (or "null") counts as an origin that is not allowed.
    if (typeof origin === 'string') return !this.allowed.has(origin);
    const referer = headers.referer;
    if (typeof referer === 'string' && referer !== '') {
      try {
        return !this.allowed.has(new URL(referer).origin);
      } catch {
        return true;
      }
    }
    return false;
  }
}
