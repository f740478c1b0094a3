import { Injectable, Logger } from '@nestjs/common';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { AppConfig } from '../config/app-config';
import { MfaRepository, type WebAuthnCredentialRow } from './mfa.repository';

/** WebAuthn's bound on a credential id. */
const MAX_CREDENTIAL_ID_BYTES = 1023;
/** The transports WebAuthn defines; anything else a client sends is dropped. */
const KNOWN_TRANSPORTS: ReadonlySet<unknown> = new Set(['usb', 'nfc', 'ble', 'hybrid', 'internal', 'smart-card', 'cable']);

/** A challenge lives 5 minutes and is used once. */
export const CHALLENGE_TTL_SECONDS = 300;
const TIMEOUT_MS = CHALLENGE_TTL_SECONDS * 1000;

export type WebAuthnVerdict = { ok: true } | { ok: false; reason: string };
export type PasskeyVerdict = { ok: true; userId: string } | { ok: false; reason: string };

/** What a new credential is stored as. */
export interface NewCredential {
  credentialId: string;
  publicKey: string;
  counter: number;
  transports: string[];
}

type Purpose = 'register' | 'assert' | 'passkey';

/** The challenge an assertion or attestation signed, read from its clientDataJSON; null when unreadable. */
export function challengeOf(response: unknown): string | null {
  const clientData = (response as { response?: { clientDataJSON?: unknown } } | null)?.response?.clientDataJSON;
  if (typeof clientData !== 'string' || clientData.length > 4096) return null;
  try {
    const parsed = JSON.parse(Buffer.from(clientData, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof parsed.challenge === 'string' && parsed.challenge.length <= 128 ? parsed.challenge : null;
  } catch {
    return null;
  }
}

/**
 * The WebAuthn ceremonies (SimpleWebAuthn): options with a server-made challenge stored in the
 * database for 5 minutes, and responses checked against it (used up first, atomically, so it
 * serves once on any instance), the allowed origins (ALLOWED_ORIGINS), the relying party id, the
 * credential's public key and its signature counter.
 */
@Injectable()
export class WebAuthnCeremonies {
  private readonly logger = new Logger(WebAuthnCeremonies.name);

  constructor(
    private readonly repository: MfaRepository,
    private readonly config: AppConfig,
  ) {}

  async registrationOptions(user: { id: string; username: string }): Promise<unknown> {
    const existing = await this.repository.credentialsOf(user.id);
    const options = await generateRegistrationOptions({
      rpName: this.config.webauthnRpName,
      rpID: this.config.webauthnRpId,
      userName: user.username,
      userID: Buffer.from(user.id, 'utf8'),
      attestationType: 'none',
      timeout: TIMEOUT_MS,
      excludeCredentials: existing.map((c) => ({ id: c.credentialId, transports: c.transports })),
      // Discoverable when the authenticator can (a passkey signs in without a username).
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    await this.repository.insertChallenge(options.challenge, 'register', user.id, CHALLENGE_TTL_SECONDS);
    return options;
  }

  /** Checks a registration response; the credential to store, or why it was refused. */
  async verifyRegistration(
    userId: string,
    response: Record<string, unknown>,
  ): Promise<{ ok: true; credential: NewCredential } | { ok: false; reason: string }> {
    const challenge = await this.takeChallenge(response, 'register', userId);
    if (!challenge) return { ok: false, reason: 'unknown_or_used_challenge' };
    try {
      const verification = await verifyRegistrationResponse({
        response: response as unknown as RegistrationResponseJSON,
        expectedChallenge: challenge,
        expectedOrigin: this.config.allowedOrigins,
        expectedRPID: this.config.webauthnRpId,
        requireUserVerification: false,
      });
      if (!verification.verified || !verification.registrationInfo) return { ok: false, reason: 'not_verified' };
      const { credential } = verification.registrationInfo;
      // With attestation "none" these come from the client unchecked: bound the id (WebAuthn's own
      // limit is 1023 bytes) and keep only transports WebAuthn defines.
      if (Buffer.from(credential.id, 'base64url').length > MAX_CREDENTIAL_ID_BYTES) return { ok: false, reason: 'credential_id_too_long' };
      const transports = Array.isArray(credential.transports) ? credential.transports.filter((t) => KNOWN_TRANSPORTS.has(t)) : [];
      return {
        ok: true,
        credential: {
          credentialId: credential.id,
          publicKey: Buffer.from(credential.publicKey).toString('base64url'),
          counter: credential.counter,
          transports,
        },
      };
    } catch (error) {
      return { ok: false, reason: this.reasonOf(error) };
    }
  }

  /** A challenge for an assertion by one of the user's credentials, owned by `owner` (the user, or a pending sign-in). */
  async assertionOptions(userId: string, owner: string): Promise<unknown> {
    const credentials = await this.repository.credentialsOf(userId);
    const options = await generateAuthenticationOptions({
      rpID: this.config.webauthnRpId,
      timeout: TIMEOUT_MS,
      allowCredentials: credentials.map((c) => ({ id: c.credentialId, transports: c.transports })),
      userVerification: 'preferred',
    });
    await this.repository.insertChallenge(options.challenge, 'assert', owner, CHALLENGE_TTL_SECONDS);
    return options;
  }

  /** An assertion by one of the user's credentials, against a challenge issued to `owner`. */
  async verifyAssertion(userId: string, response: Record<string, unknown>, owner: string): Promise<WebAuthnVerdict> {
    const challenge = await this.takeChallenge(response, 'assert', owner);
    if (!challenge) return { ok: false, reason: 'unknown_or_used_challenge' };
    const credential = await this.credentialOf(response);
    if (!credential || credential.userId !== userId) return { ok: false, reason: 'unknown_credential' };
    return this.checkAssertion(credential, response, challenge, false);
  }

  /** A challenge for signing in with any discoverable credential (a passkey). */
  async passkeyOptions(): Promise<unknown> {
    const options = await generateAuthenticationOptions({ rpID: this.config.webauthnRpId, timeout: TIMEOUT_MS, userVerification: 'required' });
    await this.repository.insertChallenge(options.challenge, 'passkey', null, CHALLENGE_TTL_SECONDS);
    return options;
  }

  /** A passkey sign-in: the credential's user, when the assertion holds (user verification required). */
  async verifyPasskey(response: Record<string, unknown>): Promise<PasskeyVerdict> {
    const challenge = await this.takeChallenge(response, 'passkey', null);
    if (!challenge) return { ok: false, reason: 'unknown_or_used_challenge' };
    const credential = await this.credentialOf(response);
    if (!credential) return { ok: false, reason: 'unknown_credential' };
    // A discoverable credential names its user too: it must be the one the credential was registered to.
    const userHandle = (response.response as { userHandle?: unknown } | undefined)?.userHandle;
    if (userHandle !== undefined && userHandle !== Buffer.from(credential.userId, 'utf8').toString('base64url'))
      return { ok: false, reason: 'wrong_user_handle' };
    const verdict = await this.checkAssertion(credential, response, challenge, true);
    return verdict.ok ? { ok: true, userId: credential.userId } : verdict;
  }

  private async checkAssertion(
    credential: WebAuthnCredentialRow,
    response: Record<string, unknown>,
    challenge: string,
    requireUserVerification: boolean,
  ): Promise<WebAuthnVerdict> {
    try {
      const verification = await verifyAuthenticationResponse({
        response: response as unknown as AuthenticationResponseJSON,
        expectedChallenge: challenge,
        expectedOrigin: this.config.allowedOrigins,
        expectedRPID: this.config.webauthnRpId,
        credential: {
          id: credential.credentialId,
          publicKey: new Uint8Array(Buffer.from(credential.publicKey, 'base64url')),
          counter: credential.counter,
          transports: credential.transports,
        },
        requireUserVerification,
      });
      if (!verification.verified) return { ok: false, reason: 'not_verified' };
      const next = verification.authenticationInfo.newCounter;
      // A counter that did not grow (when the authenticator keeps one) means a cloned authenticator,
      // or another use of the same assertion racing this one.
      if (!(await this.repository.advanceCounter(credential.id, credential.counter, next))) return { ok: false, reason: 'counter_not_increased' };
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: this.reasonOf(error) };
    }
  }

  private async credentialOf(response: Record<string, unknown>): Promise<WebAuthnCredentialRow | null> {
    const id = response.id;
    if (typeof id !== 'string' || id.length === 0 || id.length > 1024) return null;
    return this.repository.credentialByCredentialId(id);
  }

  /** The response's challenge, used up now if it was issued for this purpose and owner and is unexpired. */
  private async takeChallenge(response: Record<string, unknown>, purpose: Purpose, owner: string | null): Promise<string | null> {
    const challenge = challengeOf(response);
    if (!challenge) return null;
    return (await this.repository.consumeChallenge(challenge, purpose, owner)) ? challenge : null;
  }

  /** The library's refusal, kept short for the audit (it names what failed, never a secret). */
  private reasonOf(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    this.logger.debug(`webauthn response refused: ${message}`);
    return /origin/i.test(message)
      ? 'wrong_origin'
      : /rp ?id/i.test(message)
        ? 'wrong_rp_id'
        : /counter/i.test(message)
          ? 'counter_not_increased'
          : 'invalid_response';
  }
}
