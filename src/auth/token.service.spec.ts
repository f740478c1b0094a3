import { createHmac, generateKeyPairSync, KeyObject, randomUUID, sign as rsaSign } from 'node:crypto';
import * as jwt from 'jsonwebtoken';
import type { AppConfig } from '../config/app-config';
import { TokenService } from './token.service';

const SECRET = 'current-secret-0123456789-abcdefghijkl';
const PREVIOUS = 'previous-secret-0123456789-abcdefghijk';
const OTHER = 'another-secret-0123456789-abcdefghijkl';
const LIFETIME = 3600;

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Builds a token by hand, so that any header, claim set and signature can be tried. */
function forge(payload: Record<string, unknown>, options: { alg?: string; secret?: string; hmac?: string; signature?: string } = {}): string {
  const alg = options.alg ?? 'HS256';
  const input = `${b64({ alg, typ: 'JWT' })}.${b64(payload)}`;
  if (options.signature !== undefined) return `${input}.${options.signature}`;
  const hmac = options.hmac ?? { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg] ?? 'sha256';
  return `${input}.${createHmac(hmac, options.secret ?? SECRET)
    .update(input)
    .digest('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);
const SID = '7f1c2a9e-5b3d-4c8e-9a6f-0d2e4b6a8c1e';
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

describe('TokenService', () => {
  it('issues HS256 tokens with sub, role, iat, exp = iat + lifetime, a unique jti and the account id', () => {
    const tokens = service();
    const issuedAt = now();
    const first = tokens.issue('alice', 'viewer', issuedAt, 'user-1', SID);
    const second = tokens.issue('alice', 'viewer', issuedAt, 'user-1', SID);
    const decoded = jwt.decode(first.token, { complete: true })!;
    expect(decoded.header).toMatchObject({ alg: 'HS256' });
    expect(decoded.payload).toMatchObject({ sub: 'alice', role: 'viewer', iat: issuedAt, exp: issuedAt + LIFETIME, uid: 'user-1' });
    expect(first.claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.claims.jti).not.toBe(second.claims.jti);
    expect(tokens.lifetimeSeconds).toBe(LIFETIME);
    expect(() => jwt.verify(first.token, SECRET, { algorithms: ['HS256'] })).not.toThrow();
  });

  it('accepts its own tokens and a well-formed HS256 token signed with the current secret', () => {
    const tokens = service();
    const issued = tokens.issue('alice', 'analyst', now(), 'user-1', SID);
    expect(tokens.verify(issued.token)).toEqual({ ok: true, claims: issued.claims });
    const forged = claims();
    expect(tokens.verify(forge(forged))).toEqual({ ok: true, claims: forged });
  });

  describe('pins HS256', () => {
    it.each(['none', 'None', 'NONE'])('refuses alg %s with an empty signature', (alg) => {
      expect(service().verify(forge(claims(), { alg, signature: '' }))).toEqual({ ok: false, reason: 'algorithm_not_allowed' });
    });

    it('refuses alg none even with a signature attached', () => {
      const result = service().verify(forge(claims(), { alg: 'none', hmac: 'sha256' }));
      expect(result.ok).toBe(false);
      expect(result).toEqual({ ok: false, reason: 'algorithm_not_allowed' });
    });

    it.each(['HS384', 'HS512'])('refuses a token signed with %s and the right secret', (alg) => {
      expect(service().verify(forge(claims(), { alg }))).toEqual({ ok: false, reason: 'algorithm_not_allowed' });
    });

    it('refuses an RS256 header over an HMAC of the secret (algorithm confusion)', () => {
      expect(service().verify(forge(claims(), { alg: 'RS256', hmac: 'sha256' }))).toEqual({ ok: false, reason: 'algorithm_not_allowed' });
    });

    it('refuses a genuine RS256 token', () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims())}`;
      const token = `${input}.${rsaSign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
      expect(service().verify(token)).toEqual({ ok: false, reason: 'algorithm_not_allowed' });
    });
  });

  describe('signature', () => {
    it('refuses a token signed with another secret', () => {
      expect(service().verify(forge(claims(), { secret: OTHER }))).toEqual({ ok: false, reason: 'bad_signature' });
    });

    it('refuses a token whose payload was changed after signing', () => {
      const [header, , signature] = service().issue('alice', 'viewer', now(), 'user-1', SID).token.split('.');
      const tampered = `${header}.${b64(claims({ role: 'admin' }))}.${signature}`;
      expect(service().verify(tampered)).toEqual({ ok: false, reason: 'bad_signature' });
    });

    it('says bad_signature, not expired, for an expired token signed with an unknown secret', () => {
      const token = forge(claims({ iat: now() - 100, exp: now() - 50 }), { secret: OTHER });
      expect(service().verify(token)).toEqual({ ok: false, reason: 'bad_signature' });
    });
  });

  describe('JWT_SECRET_KEY_PREVIOUS', () => {
    it('accepts a token signed with the previous secret when it is configured', () => {
      const payload = claims();
      expect(service(PREVIOUS).verify(forge(payload, { secret: PREVIOUS }))).toEqual({ ok: true, claims: payload });
    });

    it('refuses a token signed with the previous secret when it is not configured', () => {
      expect(service().verify(forge(claims(), { secret: PREVIOUS }))).toEqual({ ok: false, reason: 'bad_signature' });
    });

    it('still signs with the current secret', () => {
      const { token } = service(PREVIOUS).issue('alice', 'viewer', now(), 'user-1', SID);
      expect(() => jwt.verify(token, SECRET, { algorithms: ['HS256'] })).not.toThrow();
      expect(() => jwt.verify(token, PREVIOUS, { algorithms: ['HS256'] })).toThrow();
    });

    it('classifies an expired token signed with the previous secret as expired', () => {
      const token = forge(claims({ iat: now() - 100, exp: now() - 50 }), { secret: PREVIOUS });
      expect(service(PREVIOUS).verify(token)).toEqual({ ok: false, reason: 'token_expired' });
    });

    it('still refuses a third secret', () => {
      expect(service(PREVIOUS).verify(forge(claims(), { secret: OTHER }))).toEqual({ ok: false, reason: 'bad_signature' });
    });
  });

  describe('claims', () => {
    it('refuses an expired token, with no clock tolerance', () => {
      expect(service().verify(forge(claims({ iat: now() - 100, exp: now() - 1 })))).toEqual({ ok: false, reason: 'token_expired' });
    });

    it('refuses a token whose nbf is in the future', () => {
      expect(service().verify(forge(claims({ nbf: now() + 300 })))).toEqual({ ok: false, reason: 'token_not_yet_valid' });
    });

    it('refuses a token whose exp − iat exceeds JWT_EXPIRY_HOURS: a 10-year token signed with the previous secret', () => {
      const tenYears = claims({ iat: now() - 60, exp: now() + 10 * 365 * 24 * 3600 });
      expect(service(PREVIOUS).verify(forge(tenYears, { secret: PREVIOUS }))).toEqual({ ok: false, reason: 'token_lifetime_too_long' });
      expect(service().verify(forge(claims({ exp: now() + LIFETIME + 1 })))).toEqual({ ok: false, reason: 'token_lifetime_too_long' });
    });

    it('accepts a token that lives exactly JWT_EXPIRY_HOURS', () => {
      const exp = now() + LIFETIME;
      const payload = claims({ iat: exp - LIFETIME, exp });
      expect(service().verify(forge(payload))).toEqual({ ok: true, claims: payload });
    });

    it.each(['exp', 'iat', 'jti', 'sub', 'role', 'sid'])('refuses a token without %s', (claim) => {
      const payload: Record<string, unknown> = claims();
      delete payload[claim];
      expect(service().verify(forge(payload))).toEqual({ ok: false, reason: 'missing_claims' });
    });

    it.each([
      ['a role outside the table', { role: 'root' }],
      ['an empty subject', { sub: '' }],
      ['a numeric subject', { sub: 42 }],
      ['a string iat', { iat: 'yesterday' }],
      ['an empty jti', { jti: '' }],
      ['a numeric account id', { uid: 7 }],
      ['an empty account id', { uid: '' }],
      ['a session id that is not a UUID', { sid: 'session-1' }],
      ['a numeric session id', { sid: 1 }],
    ])('refuses %s', (_name, overrides) => {
      expect(service().verify(forge(claims(overrides)))).toEqual({ ok: false, reason: 'missing_claims' });
    });

    it('refuses a payload that is not an object', () => {
      const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64('"just a string"')}`;
      const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      expect(service().verify(token).ok).toBe(false);
    });
  });

  it.each([
    ['garbage', 'not-a-jwt'],
    ['two segments', 'abc.def'],
    ['a header that is not JSON', `${b64('{{{')}.${b64(claims())}.sig`],
    ['an empty string', ''],
  ])('classifies %s as malformed', (_name, token) => {
    expect(service().verify(token)).toEqual({ ok: false, reason: 'malformed_token' });
  });
});

// Every sign and verify below goes through these wrappers, so the secret jsonwebtoken receives can be checked.
jest.mock('jsonwebtoken', () => {
  const actual = jest.requireActual<typeof import('jsonwebtoken')>('jsonwebtoken');
  return { ...actual, sign: jest.fn(actual.sign), verify: jest.fn(actual.verify) };
});

describe('TokenService hands jsonwebtoken KeyObjects only', () => {
  // Given a string, jsonwebtoken tries createPublicKey on every call: ~25x the cost of a verify (bench/RESULTS.md).
  const sign = jwt.sign as unknown as jest.Mock<unknown, unknown[]>;
  const verify = jwt.verify as unknown as jest.Mock<unknown, unknown[]>;
  beforeEach(() => {
    sign.mockClear();
    verify.mockClear();
  });

  it('signs with a KeyObject, never a string secret', () => {
    service(PREVIOUS).issue('alice', 'viewer', now(), 'user-1', SID);
    expect(sign).toHaveBeenCalledTimes(1);
    expect(sign.mock.calls[0][1]).toBeInstanceOf(KeyObject);
  });

  it('verifies with KeyObjects, the current and the previous secret alike, never a string secret', () => {
    const tokens = service(PREVIOUS);
    expect(tokens.verify(tokens.issue('alice', 'viewer', now(), 'user-1', SID).token).ok).toBe(true);
    expect(tokens.verify(forge(claims(), { secret: PREVIOUS })).ok).toBe(true);
    expect(tokens.verify(forge(claims(), { secret: OTHER })).ok).toBe(false);
    expect(verify.mock.calls.length).toBeGreaterThanOrEqual(4);
    for (const [, key] of verify.mock.calls) {
      expect(typeof key).not.toBe('string');
      expect(key).toBeInstanceOf(KeyObject);
    }
  });
});

describe('TokenService remembers verified tokens', () => {
  afterEach(() => jest.restoreAllMocks());

  it('verifies a token once, and still refuses it as expired once its exp has passed', () => {
    const tokens = service();
    const issuedAt = now();
    const { token, claims: issued } = tokens.issue('alice', 'viewer', issuedAt, 'user-1', SID);
    const verify = jwt.verify as unknown as jest.Mock;
    verify.mockClear();
    expect(tokens.verify(token)).toEqual({ ok: true, claims: issued });
    expect(tokens.verify(token)).toEqual({ ok: true, claims: issued });
    expect(verify).toHaveBeenCalledTimes(1);
    jest.spyOn(Date, 'now').mockReturnValue((issuedAt + LIFETIME) * 1000);
    expect(tokens.verify(token)).toEqual({ ok: false, reason: 'token_expired' });
  });

  it('does not let a changed signature or payload ride on a remembered token', () => {
    const tokens = service();
    const { token } = tokens.issue('alice', 'viewer', now(), 'user-1', SID);
    expect(tokens.verify(token).ok).toBe(true);
    const [header, payload, signature] = token.split('.');
    expect(tokens.verify(`${header}.${payload}.${signature.slice(0, -2)}AA`)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(tokens.verify(`${header}.${b64(claims({ role: 'admin' }))}.${signature}`)).toEqual({ ok: false, reason: 'bad_signature' });
  });
});
