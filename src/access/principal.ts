import type { Permission, Role } from './permissions';

/** How the credential reached us. Cookie-borne credentials are subject to the origin rule. */
export type CredentialSource = 'bearer' | 'cookie' | 'query' | 'api_key';

/** Who is calling, as the credential resolver found it. */
export interface Principal {
  kind: 'user' | 'api_key';
  sub: string;
  role: Role;
  permissions: Permission[];
  source: CredentialSource;
  /** Users: the token's id and expiry (epoch seconds), for logout and for closing sockets on time. */
  jti?: string;
  tokenIssuedAt?: number;
  tokenExpiresAt?: number;
  userId?: string;
  /** Users: the session the token belongs to (its `sid`). */
  sessionId?: string;
  /** Users: when a second factor was last verified in that session (epoch ms), for step-up. */
  stepUpAt?: number;
  /** Keys: the record's id and label, and when the key (or a rotated-out secret) stops working. */
  keyId?: string;
  keyPrefix?: string;
  keyHash?: string;
  keyValidUntil?: number;
  /** Keys: the address ranges it may be used from (empty: any) and its rate limit, from the cached entry. */
  keyAllowedIps?: readonly string[];
  keyRateLimit?: { limit: number; windowSeconds: number } | null;
}

export type AuthFailureReason =
  | 'missing_credentials'
  | 'malformed_authorization_header'
  | 'malformed_token'
  | 'bad_signature'
  | 'algorithm_not_allowed'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_lifetime_too_long'
  | 'missing_claims'
  | 'session_ended'
  | 'token_issued_before_credential_change'
  | 'unknown_subject'
  | 'user_disabled'
  | 'malformed_api_key'
  | 'unknown_api_key'
  | 'api_key_revoked'
  | 'api_key_expired'
  | 'credential_store_unavailable';

export type AuthMethod = 'jwt' | 'api_key';

export type AuthResult =
  { ok: true; principal: Principal } | { ok: false; reason: AuthFailureReason; method?: AuthMethod; source?: CredentialSource; actor?: string | null };
