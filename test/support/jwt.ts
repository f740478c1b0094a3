import { createHmac, randomUUID } from 'node:crypto';
import type { Json } from './http';
import { TEST_SECRET } from './test-app';

/** Hand-made JWTs for attacking the server: any header, any claims, any signature. */
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const HMAC: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export function forgeToken(payload: Record<string, unknown>, options: { alg?: string; secret?: string; hmac?: string; signature?: string } = {}): string {
  const alg = options.alg ?? 'HS256';
  const input = `${b64({ alg, typ: 'JWT' })}.${b64(payload)}`;
  if (options.signature !== undefined) return `${input}.${options.signature}`;
  const hmac = options.hmac ?? HMAC[alg] ?? 'sha256';
  return `${input}.${createHmac(hmac, options.secret ?? TEST_SECRET)
    .update(input)
    .digest('base64url')}`;
}

/** Claims the server would accept for this user, one minute old, valid for ten. */
export function claimsFor(sub: string, role: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds();
  return { sub, role, iat: now - 60, exp: now + 600, jti: randomUUID(), ...overrides };
}

export function decodePart(token: string, index: 0 | 1): Record<string, Json> {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8'));
}

/** Same header and signature, different payload. */
export function tamper(token: string, changes: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${b64({ ...decodePart(token, 1), ...changes })}.${signature}`;
}

/**
 * Claims the server would accept, taken from a token it issued (same user, account and session),
 * freshly dated: for forging a token that differs from a real one only where a test says.
 */
export function claimsLike(issued: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { sub, role, uid, sid } = decodePart(issued, 1);
  return claimsFor(sub, role, { uid, sid, ...overrides });
}
