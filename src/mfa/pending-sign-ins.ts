import { createHash, randomBytes } from 'node:crypto';
import { Injectable, UnauthorizedException } from '@nestjs/common';
import type { ClientInfo } from '../common/client-info';
import type { AuthMethodUsed } from '../sessions/session.entity';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import type { MfaChallengeView } from './mfa.dto';
import { MfaRepository } from './mfa.repository';
import { SecondFactorCheck, type SecondFactorProof } from './second-factor-check';
import { WebAuthnCeremonies } from './webauthn-ceremonies';

/** How long the second step may wait after the password (the contract's expires_in). */
export const MFA_TOKEN_TTL_SECONDS = 300;
/** An mfa_token dies after this many wrong second factors. */
export const MFA_TOKEN_MAX_FAILURES = 5;
const EXPIRED = 'this sign-in has expired or was already used; sign in with your password again';

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * The time between a right password and the second factor: an opaque mfa_token (256 random bits;
 * only its hash is stored, in the database so any instance can finish the sign-in), single-use,
 * 5 minutes, dead after 5 wrong factors.
 */
@Injectable()
export class PendingSignIns {
  constructor(
    private readonly repository: MfaRepository,
    private readonly users: UsersService,
    private readonly check: SecondFactorCheck,
    private readonly webauthn: WebAuthnCeremonies,
  ) {}

  /** The factors a user could finish a sign-in with; empty: the password is enough. */
  async methodsOf(userId: string): Promise<MfaChallengeView['methods']> {
    const summary = await this.repository.summary(userId);
    const methods: MfaChallengeView['methods'] = [];
    if (summary.totp) methods.push('totp');
    if (summary.webauthn > 0) methods.push('webauthn');
    if (methods.length > 0 && summary.recoveryCodes > 0) methods.push('recovery');
    return methods;
  }

  /**
   * A pending sign-in for the account as its password was checked (`version`): any change to the
   * account before the second step (a password reset, a role, disabling) makes the mfa_token
   * expire, so an old password cannot finish a sign-in begun before it was changed.
   */
  async start(user: Pick<User, 'id' | 'version'>, methods: MfaChallengeView['methods']): Promise<MfaChallengeView> {
    const token = randomBytes(32).toString('base64url');
    await this.repository.insertPendingSignIn(hashOf(token), user.id, user.version, MFA_TOKEN_TTL_SECONDS);
    return { mfa_required: true, mfa_token: token, methods, expires_in: MFA_TOKEN_TTL_SECONDS };
  }

  /**
   * Checks the second factor of a pending sign-in and uses the sign-in up: the account and the
   * method for its session, or 401 (expired, used, dead, wrong factor) / 429 (too many failures).
   */
  async finish(token: string, proof: SecondFactorProof, client: ClientInfo): Promise<{ user: User; method: AuthMethodUsed }> {
    const user = await this.userOf(token);
    let method: AuthMethodUsed;
    try {
      method = await this.check.verify(user, proof, { client, purpose: 'sign_in', challengeOwner: this.challengeOwner(token) });
    } catch (error) {
      if (error instanceof UnauthorizedException) await this.repository.failPendingSignIn(hashOf(token));
      throw error;
    }
    // Parallel requests with two right factors: one signs in, the other finds the token used.
    if ((await this.repository.consumePendingSignIn(hashOf(token), MFA_TOKEN_MAX_FAILURES)) === null) throw new UnauthorizedException(EXPIRED);
    return { user, method };
  }

  /** A single-use challenge for a WebAuthn second step of this pending sign-in. */
  async webauthnOptions(token: string): Promise<unknown> {
    const user = await this.userOf(token);
    return this.webauthn.assertionOptions(user.id, this.challengeOwner(token));
  }

  private async userOf(token: string): Promise<User> {
    const userId = await this.repository.pendingSignIn(hashOf(token), MFA_TOKEN_MAX_FAILURES);
    const user = userId === null ? null : await this.users.findById(userId);
    if (!user || user.disabled) throw new UnauthorizedException(EXPIRED);
    return user;
  }

  /**
   * Whose a sign-in's WebAuthn challenge is: the pending sign-in's (a uuid made from its token's
   * hash), so a challenge from one sign-in cannot finish another.
   */
  private challengeOwner(token: string): string {
    const h = hashOf(`challenge:${token}`);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
