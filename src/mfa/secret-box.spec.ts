import { AppConfig } from '../config/app-config';
import { SecretBox } from './secret-box';

const JWT = 'j'.repeat(40);
const OLD_JWT = 'o'.repeat(40);
const OWN = 'm'.repeat(40);
const USER = '7f1d1c5e-0000-4000-8000-000000000001';

const box = (fields: Partial<AppConfig>) => new SecretBox(Object.assign(new AppConfig(), { jwtSecret: JWT, ...fields }));

describe('SecretBox (AES-256-GCM for TOTP secrets at rest)', () => {
  it('opens what it sealed, and never stores the plain text', () => {
    const b = box({});
    const sealed = b.seal('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', USER);
    expect(sealed).not.toContain('GEZDGNBV');
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(b.open(sealed, USER)).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  });

  it('uses a new IV each time', () => {
    const b = box({});
    expect(b.seal('same', USER)).not.toBe(b.seal('same', USER));
  });

  it('does not open a value sealed for another user (a row copied across users)', () => {
    const b = box({});
    expect(b.open(b.seal('secret', USER), '7f1d1c5e-0000-4000-8000-000000000002')).toBeNull();
  });

  it('does not open a tampered value, or one under a key it does not hold', () => {
    const b = box({});
    const sealed = b.seal('secret', USER);
    const [v, iv, body, tag] = sealed.split('.');
    const flipped = Buffer.from(body, 'base64url');
    flipped[0] ^= 1;
    expect(b.open([v, iv, flipped.toString('base64url'), tag].join('.'), USER)).toBeNull();
    expect(box({ jwtSecret: 'x'.repeat(40) }).open(sealed, USER)).toBeNull();
    expect(b.open('not sealed', USER)).toBeNull();
  });

  it('still opens values sealed under JWT_SECRET_KEY_PREVIOUS after the signing secret is rotated', () => {
    const before = box({ jwtSecret: OLD_JWT }).seal('secret', USER);
    expect(box({ jwtSecret: JWT, jwtSecretPrevious: OLD_JWT }).open(before, USER)).toBe('secret');
  });

  it('with MFA_ENCRYPTION_KEY, seals under it (a JWT secret alone cannot open) and still opens values sealed under the JWT secret', () => {
    const own = box({ mfaEncryptionKey: OWN });
    const sealed = own.seal('secret', USER);
    expect(box({}).open(sealed, USER)).toBeNull();
    expect(own.open(sealed, USER)).toBe('secret');
    expect(own.open(box({}).seal('older', USER), USER)).toBe('older');
  });
});
