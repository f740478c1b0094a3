import { BadRequestException, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { AuditRecorder } from '../audit/audit-recorder';
import type { ClientInfo } from '../common/client-info';
import { RetryLaterException } from '../common/retry-later.exception';
import { MetricsService } from '../metrics/metrics.service';
import type { AuthMethodUsed } from '../sessions/session.entity';
import { MfaRepository } from './mfa.repository';
import { hashRecoveryCode } from './recovery-codes';
import { SecondFactorFailures } from './second-factor-failures';
import { SecretBox } from './secret-box';
import { matchingStep } from './totp';
import { WebAuthnCeremonies } from './webauthn-ceremonies';

/** One second factor as a request carries it: exactly one of these. */
export interface SecondFactorProof {
  code?: string;
  recovery_code?: string;
  webauthn?: Record<string, unknown>;
}

/** What the factor was checked for: the audit's words. */
export type FactorPurpose = 'sign_in' | 'step_up';

export const WRONG_SECOND_FACTOR = 'the second factor is wrong or was already used';

type Kind = 'totp' | 'recovery' | 'webauthn';
const METHOD_OF: Record<Kind, Extract<AuthMethodUsed, 'otp' | 'recovery' | 'webauthn'>> = { totp: 'otp', recovery: 'recovery', webauthn: 'webauthn' };

/** A verdict on one factor; `reason` says why it failed, for the audit only. */
type Verdict = { ok: true } | { ok: false; reason: string };

/** The kind of factor a proof carries; 400 unless it carries exactly one. */
export function kindOf(proof: SecondFactorProof): Kind {
  const given = (['code', 'recovery_code', 'webauthn'] as const).filter((field) => proof[field] !== undefined);
  if (given.length !== 1) throw new BadRequestException('send exactly one of code, recovery_code or webauthn');
  return given[0] === 'code' ? 'totp' : given[0] === 'recovery_code' ? 'recovery' : 'webauthn';
}

/**
 * Checks a user's second factor (sign-in's second step, step-up), under the per-user failure limit
 * (SecondFactorFailures): a TOTP code at most once (its time step is taken in the database), a
 * recovery code once (deleted as it is used), a WebAuthn assertion against its single-use
 * challenge. Every failure is audited as `mfa.failed` and counted; no code is ever recorded.
 */
@Injectable()
export class SecondFactorCheck {
  private readonly logger = new Logger(SecondFactorCheck.name);

  constructor(
    private readonly repository: MfaRepository,
    private readonly box: SecretBox,
    private readonly failures: SecondFactorFailures,
    private readonly webauthn: WebAuthnCeremonies,
    private readonly audit: AuditRecorder,
    private readonly metrics: MetricsService,
  ) {}

  /** The method used (for the session's auth_methods), or 401 (wrong), 429 (too many failures). */
  async verify(
    user: { id: string; username: string },
    proof: SecondFactorProof,
    context: { client: ClientInfo; purpose: FactorPurpose; challengeOwner?: string },
  ): Promise<Extract<AuthMethodUsed, 'otp' | 'recovery' | 'webauthn'>> {
    const kind = kindOf(proof);
    const fail = (reason: string) => {
      this.audit.record({
        type: 'mfa.failed',
        outcome: 'failure',
        actor: user.username,
        reason: `${kind} ${context.purpose}: ${reason}`,
        client: context.client,
      });
      this.metrics.countAuthentication(kind, 'failure', reason);
    };
    const lock = await this.failures.reserve(user.id);
    if (lock.locked) {
      fail('too_many_failures');
      this.metrics.rateLimited.inc({ rule: 'second_factor_failures' });
      throw new RetryLaterException('too many failed second factors for this account; retry later', lock.retryAfterSeconds);
    }
    let verdict: Verdict;
    try {
      verdict = await this.check(kind, user.id, proof, context.challengeOwner ?? user.id);
    } catch (error) {
      await this.failures.release(user.id);
      throw error;
    }
    if (!verdict.ok) {
      fail(verdict.reason);
      throw new UnauthorizedException(WRONG_SECOND_FACTOR);
    }
    await this.failures.reset(user.id);
    this.metrics.countAuthentication(kind, 'success');
    if (kind === 'recovery') {
      const left = (await this.repository.summary(user.id)).recoveryCodes;
      this.audit.record({
        type: 'mfa.recovery_code_used',
        outcome: 'success',
        actor: user.username,
        reason: `${context.purpose}; ${left} recovery codes left`,
        client: context.client,
      });
    }
    return METHOD_OF[kind];
  }

  private async check(kind: Kind, userId: string, proof: SecondFactorProof, challengeOwner: string): Promise<Verdict> {
    if (kind === 'totp') return this.checkTotp(userId, proof.code!);
    if (kind === 'recovery') {
      return (await this.repository.useRecoveryCode(userId, hashRecoveryCode(proof.recovery_code!)))
        ? { ok: true }
        : { ok: false, reason: 'wrong_recovery_code' };
    }
    return this.webauthn.verifyAssertion(userId, proof.webauthn!, challengeOwner);
  }

  private async checkTotp(userId: string, code: string): Promise<Verdict> {
    const row = await this.repository.totpOf(userId);
    if (!row?.confirmed) return { ok: false, reason: 'totp_not_enrolled' };
    const secret = this.box.open(row.secret, userId);
    if (secret === null) {
      this.logger.error(`the TOTP secret of user ${userId} does not open with the configured keys (MFA_ENCRYPTION_KEY / JWT_SECRET_KEY changed?)`);
      return { ok: false, reason: 'secret_unreadable' };
    }
    const step = matchingStep(secret, code.trim());
    if (step === null) return { ok: false, reason: 'wrong_code' };
    return (await this.repository.claimTotpStep(userId, step)) ? { ok: true } : { ok: false, reason: 'code_reused' };
  }
}
