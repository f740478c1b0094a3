import { matchingStep, newTotpSecret, totpCode, totpStep, totpUri } from './totp';

/** RFC 6238 appendix B: the SHA-1 secret is the ASCII "12345678901234567890". */
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
/** [time (s), the RFC's 8-digit code]; a 6-digit code is its last six digits (the same truncation, mod 10^6). */
const RFC_VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP (RFC 6238, SHA-1, 6 digits, 30 s)', () => {
  it.each(RFC_VECTORS)('gives the RFC 6238 test vector at T = %i s', (seconds, rfcCode) => {
    expect(totpCode(RFC_SECRET, seconds * 1000)).toBe(rfcCode.slice(-6));
  });

  it.each(RFC_VECTORS)('recognises the RFC 6238 code at T = %i s as its own time step', (seconds, rfcCode) => {
    expect(matchingStep(RFC_SECRET, rfcCode.slice(-6), seconds * 1000)).toBe(Math.floor(seconds / 30));
  });

  it('accepts the previous and next step (clock drift of one step), and nothing further', () => {
    const now = 1_700_000_015_000;
    const step = totpStep(now);
    expect(matchingStep(RFC_SECRET, totpCode(RFC_SECRET, now - 30_000), now)).toBe(step - 1);
    expect(matchingStep(RFC_SECRET, totpCode(RFC_SECRET, now + 30_000), now)).toBe(step + 1);
    expect(matchingStep(RFC_SECRET, totpCode(RFC_SECRET, now - 60_000), now)).toBeNull();
    expect(matchingStep(RFC_SECRET, totpCode(RFC_SECRET, now + 60_000), now)).toBeNull();
  });

  it('refuses what is not six digits', () => {
    const now = 1_700_000_015_000;
    const code = totpCode(RFC_SECRET, now);
    expect(matchingStep(RFC_SECRET, `${code}0`, now)).toBeNull();
    expect(matchingStep(RFC_SECRET, code.slice(1), now)).toBeNull();
    expect(matchingStep(RFC_SECRET, ' 12345', now)).toBeNull();
    expect(matchingStep(RFC_SECRET, 'abcdef', now)).toBeNull();
  });

  it('makes 160-bit secrets in base 32, new each time', () => {
    const a = newTotpSecret();
    expect(a).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(a);
  });

  it('writes the otpauth URI authenticator apps read: issuer, account, SHA1, 6 digits, 30 s', () => {
    const uri = new URL(totpUri(RFC_SECRET, 'alice@example.com', 'AuroraSOC'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/AuroraSOC:alice@example.com');
    expect(Object.fromEntries(uri.searchParams)).toMatchObject({ secret: RFC_SECRET, issuer: 'AuroraSOC', algorithm: 'SHA1', digits: '6', period: '30' });
  });
});
