import { createHmac, randomUUID } from 'node:crypto';
import * as jwt from 'jsonwebtoken';
import type { AppConfig } from '../config/app-config';
import { TokenService } from './token.service';

// Counts the signature checks jsonwebtoken makes, to see which tokens TokenService remembers.
jest.mock('jsonwebtoken', () => {
  const actual = jest.requireActual<typeof import('jsonwebtoken')>('jsonwebtoken');
  return { ...actual, verify: jest.fn(actual.verify) };
});

const SECRET = 'current-secret-0123456789-abcdefghijkl';
const PREVIOUS = 'previous-secret-0123456789-abcdefghijk';
const LIFETIME = 3600;
const SID = '7f1c2a9e-5b3d-4c8e-9a6f-0d2e4b6a8c1e';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function forge(payload: Record<string, unknown>, header: Record<string, unknown> = {}, secret = SECRET): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT', ...header })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

const claims = (overrides: Record<string, unknown> = {}) => ({
  sub: 'alice',
  role: 'analyst',
  iat: now(),
  exp: now() + 600,
  jti: randomUUID(),
  sid: SID,
  ...overrides,
});

function service(previous?: string): TokenService {
  return new TokenService({ jwtSecret: SECRET, jwtSecretPrevious: previous, jwtExpirySeconds: LIFETIME } as AppConfig);
}

describe('TokenService: claims a verified signature does not make acceptable', () => {
  it('refuses a token with a critical header extension it does not implement (RFC 7515)', () => {
    expect(service().verify(forge(claims(), { crit: ['exp'], exp: 1 }))).toEqual({ ok: false, reason: 'malformed_token' });
  });

  it('refuses a token issued more than a minute in the future, and allows a minute of clock skew', () => {
    const later = claims({ iat: now() + 120, exp: now() + 600 });
    expect(service().verify(forge(later))).toEqual({ ok: false, reason: 'token_not_yet_valid' });
    const skewed = claims({ iat: now() + 60, exp: now() + 600 });
    expect(service().verify(forge(skewed))).toEqual({ ok: true, claims: skewed });
  });

  it('refuses a session id that is not a string, even one whose text is a UUID', () => {
    expect(service().verify(forge(claims({ sid: [SID] })))).toEqual({ ok: false, reason: 'missing_claims' });
  });

  it('refuses a token whose jti is not a string', () => {
    expect(service().verify(forge(claims({ jti: 12345 })))).toEqual({ ok: false, reason: 'missing_claims' });
  });

  it('says expired, not bad signature, for an expired token signed with the current secret while a previous one is configured', () => {
    const token = forge(claims({ iat: now() - 100, exp: now() - 50 }));
    expect(service(PREVIOUS).verify(token)).toEqual({ ok: false, reason: 'token_expired' });
  });

  it('gives a token without a uid claim no account id at all', () => {
    const result = service().verify(forge(claims()));
    expect(result.ok && 'uid' in result.claims).toBe(false);
  });
});

describe('TokenService: the memory of verified tokens is bounded', () => {
  const verify = jwt.verify as unknown as jest.Mock;

  it('remembers at most 10,000 tokens, forgetting the oldest first', () => {
    const tokens = service();
    const issued = Array.from({ length: 10_001 }, (_, i) => tokens.issue(`user-${i}`, 'viewer', now(), `id-${i}`, SID).token);
    for (const token of issued.slice(0, 10_000)) expect(tokens.verify(token).ok).toBe(true);
    verify.mockClear();
    // All 10,000 are remembered: checked again without a signature check.
    expect(tokens.verify(issued[0]).ok).toBe(true);
    expect(tokens.verify(issued[9_999]).ok).toBe(true);
    expect(verify).not.toHaveBeenCalled();
    // One more pushes the oldest out; the newest stay.
    expect(tokens.verify(issued[10_000]).ok).toBe(true);
    verify.mockClear();
    expect(tokens.verify(issued[9_999]).ok).toBe(true);
    expect(verify).not.toHaveBeenCalled();
    expect(tokens.verify(issued[0]).ok).toBe(true);
    expect(verify).toHaveBeenCalledTimes(1);
  });
});
