import { createHash, randomBytes, randomInt } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * `aurora_` + 32 base62 characters from the CSPRNG (~190 bits) + a 6-character base62 CRC32 of
 * them, after GitHub's token format: a mistyped or truncated key fails the checksum before any
 * cache or database lookup, and secret scanners can recognise a leaked key by API_KEY_PATTERN.
 */
export const API_KEY_PATTERN = /^aurora_[0-9A-Za-z]{38}$/;
const KEY_PREFIX_LITERAL = 'aurora_';
const SECRET_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62Fixed(value: number, width: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

function checksumOf(secret: string): string {
  return base62Fixed(crc32(secret), CHECKSUM_LENGTH);
}

export function generateApiKey(): string {
  let secret = '';
  for (let i = 0; i < SECRET_LENGTH; i++) secret += BASE62[randomInt(62)];
  return `${KEY_PREFIX_LITERAL}${secret}${checksumOf(secret)}`;
}

/** True when the key has the right shape and its checksum matches. Costs no I/O. */
export function hasValidApiKeyFormat(key: string): boolean {
  if (!API_KEY_PATTERN.test(key)) return false;
  const body = key.slice(KEY_PREFIX_LITERAL.length);
  const secret = body.slice(0, SECRET_LENGTH);
  return checksumOf(secret) === body.slice(SECRET_LENGTH);
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The management label: random, unrelated to the key. */
export function generateKeyPrefix(): string {
  return `ak_${randomBytes(6).toString('hex')}`;
}
