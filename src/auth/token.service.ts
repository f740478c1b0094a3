import { createSecretKey, KeyObject, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import * as jwt from 'jsonwebtoken';
import { UUID_PATTERN } from '../common/uuid-param.pipe';
import { AppConfig } from '../config/app-config';
import { isRole, type Role } from '../access/permissions';

export interface TokenClaims {
  sub: string;
  role: Role;
  iat: number;
  exp: number;
  jti: string;
  /**
   * The account's id. The subject is a username, which can be reused after a deletion: this ties
   * the token to the account it was issued to. Every token the server issues carries it.
   */
  uid?: string;
  /** The session the token belongs to: ending the session ends the token. Required. */
  sid: string;
}

export type TokenFailure =
  'malformed_token' | 'bad_signature' | 'algorithm_not_allowed' | 'token_expired' | 'token_not_yet_valid' | 'token_lifetime_too_long' | 'missing_claims';
export type TokenVerification = { ok: true; claims: TokenClaims } | { ok: false; reason: TokenFailure };

const ALGORITHM = 'HS256';
const MAX_CLOCK_SKEW_SECONDS = 60;
/** Tokens whose signature and claims were checked, remembered so that a client's next request skips the HMAC and JSON work. */
const MAX_VERIFIED_TOKENS = 10_000;

/**
 * Issues and verifies HS256 tokens. Secrets are KeyObjects: given a string, jsonwebtoken tries
 * createPublicKey on every call, which costs ~25x more (bench/).
 */
@Injectable()
export class TokenService {
  private readonly signingKey: KeyObject;
  private readonly verificationKeys: KeyObject[];
  /**
   * A token is immutable and the whole string (signature included) is the key, so a hit is a token
   * already verified with these keys; only expiry still moves and is checked on every hit.
   * Revocation is not decided here (CredentialResolver checks it on every request).
   */
  private readonly verified = new Map<string, TokenClaims>();

  constructor(private readonly config: AppConfig) {
    this.signingKey = createSecretKey(Buffer.from(config.jwtSecret, 'utf8'));
    this.verificationKeys = [this.signingKey];
    if (config.jwtSecretPrevious) this.verificationKeys.push(createSecretKey(Buffer.from(config.jwtSecretPrevious, 'utf8')));
  }

  get lifetimeSeconds(): number {
    return this.config.jwtExpirySeconds;
  }

  issue(subject: string, role: Role, issuedAt: number, userId: string, sessionId: string): { token: string; claims: TokenClaims } {
    const claims: TokenClaims = { sub: subject, role, iat: issuedAt, exp: issuedAt + this.lifetimeSeconds, jti: randomUUID(), uid: userId, sid: sessionId };
    const token = jwt.sign(claims, this.signingKey, { algorithm: ALGORITHM });
    return { token, claims };
  }

  verify(token: string): TokenVerification {
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (Math.floor(Date.now() / 1000) < known.exp) return { ok: true, claims: known };
      this.verified.delete(token);
      return { ok: false, reason: 'token_expired' };
    }
    const result = this.verifySignature(token);
    if (result.ok) this.remember(token, result.claims);
    return result;
  }

  private remember(token: string, claims: TokenClaims): void {
    if (this.verified.size >= MAX_VERIFIED_TOKENS) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, claims);
  }

  private verifySignature(token: string): TokenVerification {
    let failure: TokenFailure = 'bad_signature';
    for (const key of this.verificationKeys) {
      try {
        const { header, payload } = jwt.verify(token, key, { algorithms: [ALGORITHM], clockTolerance: 0, complete: true });
        // RFC 7515: a critical header extension this server does not implement makes the token invalid.
        if ((header as jwt.JwtHeader & { crit?: unknown }).crit !== undefined) return { ok: false, reason: 'malformed_token' };
        return this.checkClaims(payload);
      } catch (error) {
        failure = this.classify(error as Error);
        if (failure !== 'bad_signature') return { ok: false, reason: failure };
      }
    }
    return { ok: false, reason: failure };
  }

  private checkClaims(payload: string | jwt.JwtPayload): TokenVerification {
    if (typeof payload !== 'object' || payload === null) return { ok: false, reason: 'missing_claims' };
    const { sub, role, iat, exp, jti, uid, sid } = payload as jwt.JwtPayload & { sid?: unknown };
    if (typeof sub !== 'string' || !sub || !isRole(role) || typeof jti !== 'string' || !jti || typeof sid !== 'string' || !UUID_PATTERN.test(sid)) {
      return { ok: false, reason: 'missing_claims' };
    }
    if (!Number.isFinite(iat) || !Number.isFinite(exp)) return { ok: false, reason: 'missing_claims' };
    // A token cannot have been issued in the future; a minute covers clock skew between instances.
    if ((iat as number) > Math.floor(Date.now() / 1000) + MAX_CLOCK_SKEW_SECONDS) return { ok: false, reason: 'token_not_yet_valid' };
    // This server never issues a token living longer than JWT_EXPIRY_HOURS; a longer one was not
    // issued by it (or under a policy since shortened), even if it bears a valid signature.
    if ((exp as number) - (iat as number) > this.config.jwtExpirySeconds) return { ok: false, reason: 'token_lifetime_too_long' };
    if (uid !== undefined && (typeof uid !== 'string' || !uid)) return { ok: false, reason: 'missing_claims' };
    const claims: TokenClaims = { sub, role, iat: iat as number, exp: exp as number, jti, sid };
    if (typeof uid === 'string') claims.uid = uid;
    return { ok: true, claims };
  }

  private classify(error: Error): TokenFailure {
    if (error instanceof jwt.TokenExpiredError) return 'token_expired';
    if (error instanceof jwt.NotBeforeError) return 'token_not_yet_valid';
    if (/invalid algorithm|signature is required|jwt signature is required/i.test(error.message)) return 'algorithm_not_allowed';
    if (/invalid signature/i.test(error.message)) return 'bad_signature';
    return 'malformed_token';
  }
}
