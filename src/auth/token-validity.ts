import type { SessionCheck } from '../sessions/live-sessions';
import type { UserState } from './user-registry';

/** Why a token that verified is no longer good for its user as they are now. */
export type ValidityFailure = 'session_ended' | 'unknown_subject' | 'user_disabled' | 'token_issued_before_credential_change';

/** What the validity rule needs of a token (from its claims, or from a principal made of them). */
export interface TokenFacts {
  /** The account id the token was issued to (the `uid` claim); absent in tokens without it. */
  uid?: string;
  iat: number;
}

/**
 * THE rule for "is this verified token still valid": its session is live (not logged out, ended,
 * idle or expired), its account still exists (the same account, not a new one that reuses the
 * name, and the one the session belongs to), is enabled, and has not changed role or status since
 * the token was issued. The credential resolver applies it on every request, and the socket hubs
 * on every change news for their open sockets.
 */
export function validityFailure(token: TokenFacts, state: UserState | null, session: SessionCheck): ValidityFailure | null {
  if (!session.live) return 'session_ended';
  if (!state || (token.uid !== undefined && token.uid !== state.userId) || session.userId !== state.userId) return 'unknown_subject';
  if (state.disabled) return 'user_disabled';
  if (token.iat < state.tokensValidAfter) return 'token_issued_before_credential_change';
  return null;
}
