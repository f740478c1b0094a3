import type { SessionCheck } from '../sessions/live-sessions';
import { validityFailure } from './token-validity';
import type { UserState } from './user-registry';

const alice: UserState = { userId: 'id-alice', username: 'alice', role: 'analyst', disabled: false, tokensValidAfter: 1000, version: 3, deleted: false };
const token = { uid: 'id-alice', iat: 1000 };
const live: SessionCheck = { live: true, userId: 'id-alice' };

describe('validityFailure: is a verified token still good for its user now', () => {
  it('passes a token of a live session of an enabled user issued at or after the last credential change', () => {
    expect(validityFailure(token, alice, live)).toBeNull();
    expect(validityFailure({ ...token, iat: 5000 }, alice, live)).toBeNull();
  });

  it.each(['ended', 'expired', 'idle'] as const)('refuses a token whose session has %s', (why) => {
    expect(validityFailure(token, alice, { live: false, why })).toBe('session_ended');
  });

  it('refuses a token whose account no longer exists', () => {
    expect(validityFailure(token, null, live)).toBe('unknown_subject');
  });

  it('refuses a token of another account that had the same name (the uid claim differs)', () => {
    expect(validityFailure({ ...token, uid: 'id-old-alice' }, alice, live)).toBe('unknown_subject');
  });

  it('refuses a token whose session belongs to another account', () => {
    expect(validityFailure(token, alice, { live: true, userId: 'id-bob' })).toBe('unknown_subject');
  });

  it('accepts a token without a uid claim by its name and session', () => {
    expect(validityFailure({ iat: 1000 }, alice, live)).toBeNull();
  });

  it('refuses a token of a disabled user, whenever it was issued', () => {
    expect(validityFailure({ ...token, iat: 99_999 }, { ...alice, disabled: true }, live)).toBe('user_disabled');
  });

  it('refuses a token issued before the last role or status change', () => {
    expect(validityFailure({ ...token, iat: 999 }, alice, live)).toBe('token_issued_before_credential_change');
  });

  it('checks in order: the session first, then the account, then disabling, then the change marker', () => {
    const everything = { uid: 'other', iat: 1 };
    expect(validityFailure(everything, { ...alice, disabled: true }, { live: false, why: 'ended' })).toBe('session_ended');
    expect(validityFailure(everything, { ...alice, disabled: true }, live)).toBe('unknown_subject');
    expect(validityFailure({ ...everything, uid: 'id-alice' }, { ...alice, disabled: true }, live)).toBe('user_disabled');
  });
});
