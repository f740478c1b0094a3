import type { UserState } from './session-registry';
import { validityFailure } from './token-validity';

const alice: UserState = { userId: 'id-alice', username: 'alice', role: 'analyst', disabled: false, tokensValidAfter: 1000, version: 3, deleted: false };
const token = { uid: 'id-alice', iat: 1000, jti: 'jti-1' };
const nothingDenied = () => false;

describe('validityFailure: is a verified token still good for its user now', () => {
  it('passes a token of an enabled user issued at or after the last credential change', () => {
    expect(validityFailure(token, alice, nothingDenied)).toBeNull();
    expect(validityFailure({ ...token, iat: 5000 }, alice, nothingDenied)).toBeNull();
  });

  it('refuses a logged-out token id', () => {
    expect(validityFailure(token, alice, (jti) => jti === 'jti-1')).toBe('token_revoked');
    expect(validityFailure({ ...token, jti: 'jti-2' }, alice, (jti) => jti === 'jti-1')).toBeNull();
  });

  it('refuses a token whose account no longer exists', () => {
    expect(validityFailure(token, null, nothingDenied)).toBe('unknown_subject');
  });

  it('refuses a token of another account that had the same name (the uid claim differs)', () => {
    expect(validityFailure({ ...token, uid: 'id-old-alice' }, alice, nothingDenied)).toBe('unknown_subject');
  });

  it('accepts a token without a uid claim by its name alone', () => {
    expect(validityFailure({ iat: 1000, jti: 'jti-1' }, alice, nothingDenied)).toBeNull();
  });

  it('refuses a token of a disabled user, whenever it was issued', () => {
    expect(validityFailure({ ...token, iat: 99_999 }, { ...alice, disabled: true }, nothingDenied)).toBe('user_disabled');
  });

  it('refuses a token issued before the last role, password or status change', () => {
    expect(validityFailure({ ...token, iat: 999 }, alice, nothingDenied)).toBe('token_issued_before_credential_change');
  });

  it('checks in order: logout first, then the account, then disabling, then the change marker', () => {
    const everything = { uid: 'other', iat: 1, jti: 'jti-1' };
    expect(validityFailure(everything, { ...alice, disabled: true }, () => true)).toBe('token_revoked');
    expect(validityFailure(everything, { ...alice, disabled: true }, nothingDenied)).toBe('unknown_subject');
    expect(validityFailure({ ...everything, uid: 'id-alice' }, { ...alice, disabled: true }, nothingDenied)).toBe('user_disabled');
  });
});
