import { BadRequestException, ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { toString as qrSvg } from 'qrcode';
import type { Principal } from '../access/principal';
import { AuditRecorder } from '../audit/audit-recorder';
import type { ClientInfo } from '../common/client-info';
import { AppConfig } from '../config/app-config';
import { SessionsService } from '../sessions/sessions.service';
import { EnrolledUsers } from './enrolled-users';
import type { MfaStatusView, RecoveryCodesView, TotpEnrolmentView } from './mfa.dto';
import { FactorWrites, MfaRepository } from './mfa.repository';
import { hashRecoveryCode, newRecoveryCodes } from './recovery-codes';
import { SecretBox } from './secret-box';
import { matchingStep, newTotpSecret, totpUri } from './totp';

/** A person's own account, as the enrolment routes need it. */
export interface Person {
  userId: string;
  username: string;
  sessionId?: string;
}

/** The signed-in person; API keys have no second factors. */
export function personOf(principal: Principal): Person {
  if (principal.kind !== 'user' || !principal.userId) throw new ForbiddenException('API keys have no second factors; sign in as a person');
  return { userId: principal.userId, username: principal.sub, sessionId: principal.sessionId };
}

/**
 * Enrolling and removing second factors (TOTP here, WebAuthn in WebAuthnService) and recovery
 * codes. The first factor a user enrols issues 10 recovery codes, shown once; removing the last
 * factor deletes them. Each change is audited (never a secret or a code) and told to every
 * instance (EnrolledUsers), and an enrolment counts as a second factor verified in the session.
 */
@Injectable()
export class MfaService {
  constructor(
    private readonly repository: MfaRepository,
    private readonly box: SecretBox,
    private readonly enrolled: EnrolledUsers,
    private readonly sessions: SessionsService,
    private readonly audit: AuditRecorder,
    private readonly config: AppConfig,
  ) {}

  async status(principal: Principal): Promise<MfaStatusView> {
    const { userId } = personOf(principal);
    const [summary, credentials] = await Promise.all([this.repository.summary(userId), this.repository.credentialsOf(userId)]);
    return {
      totp: summary.totp,
      webauthn: credentials.map((c) => ({
        id: c.id,
        name: c.name,
        created_at: c.createdAt.toISOString(),
        last_used_at: c.lastUsedAt?.toISOString() ?? null,
      })),
      recovery_codes_left: summary.recoveryCodes,
    };
  }

  /** A new pending TOTP secret (replacing a pending one); 409 when TOTP is already enrolled. */
  async startTotp(principal: Principal): Promise<TotpEnrolmentView> {
    const person = personOf(principal);
    const secret = newTotpSecret();
    if (!(await this.repository.savePendingTotp(person.userId, this.box.seal(secret, person.userId)))) {
      throw new ConflictException('TOTP is already enrolled; remove it first to enrol a new authenticator');
    }
    const uri = totpUri(secret, person.username, this.config.webauthnRpName);
    return { secret, otpauth_uri: uri, qr_svg: await qrSvg(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }) };
  }

  /** Confirms the pending secret with a code from it; the recovery codes when TOTP is the first factor. */
  async confirmTotp(principal: Principal, code: string, client: ClientInfo): Promise<RecoveryCodesView> {
    const person = personOf(principal);
    const pending = await this.repository.totpOf(person.userId);
    if (!pending || pending.confirmed) throw new ConflictException('no TOTP enrolment is pending: POST /api/v1/auth/mfa/totp first');
    const secret = this.box.open(pending.secret, person.userId);
    const step = secret === null ? null : matchingStep(secret, code.trim());
    // 400 (the contract), not 401: the caller is signed in, only the code is wrong.
    if (step === null) throw new BadRequestException('the code does not match the new secret; type the code the authenticator app shows now');
    const codes = await this.repository.factorTransaction(person.userId, async (writes) => {
      const first = !(await writes.hasFactor());
      if (!(await writes.confirmTotp(pending.secret, step))) throw new ConflictException('the pending TOTP enrolment changed meanwhile; start again');
      return first ? this.issueRecoveryCodes(writes) : [];
    });
    await this.afterEnrolment(person, 'totp', client);
    return { recovery_codes: codes };
  }

  async removeTotp(principal: Principal, client: ClientInfo): Promise<void> {
    const person = personOf(principal);
    const removed = await this.repository.factorTransaction(person.userId, async (writes) => {
      if (!(await writes.deleteTotp())) return false;
      await this.dropRecoveryCodesIfLast(writes);
      return true;
    });
    if (!removed) throw new NotFoundException('TOTP is not enrolled');
    await this.afterRemoval(person, 'totp', client);
  }

  /** A new set of recovery codes; the old set dies. 409 without a second factor. */
  async regenerateRecoveryCodes(principal: Principal, client: ClientInfo): Promise<RecoveryCodesView> {
    const person = personOf(principal);
    const codes = await this.repository.factorTransaction(person.userId, async (writes) => {
      if (!(await writes.hasFactor())) throw new ConflictException('enrol a second factor first: recovery codes stand in for one');
      return this.issueRecoveryCodes(writes);
    });
    this.audit.record({ type: 'mfa.recovery_codes_issued', outcome: 'success', actor: person.username, reason: `${codes.length} new codes`, client });
    return { recovery_codes: codes };
  }

  /** Inside a factor transaction: a new set of codes stored hashed, the plain ones returned once. */
  async issueRecoveryCodes(writes: FactorWrites): Promise<string[]> {
    const codes = newRecoveryCodes();
    await writes.replaceRecoveryCodes(codes.map(hashRecoveryCode));
    return codes;
  }

  /** Inside a factor transaction, after a removal: without any factor, recovery codes mean nothing. */
  async dropRecoveryCodesIfLast(writes: FactorWrites): Promise<void> {
    if (!(await writes.hasFactor())) await writes.replaceRecoveryCodes([]);
  }

  /** Audited, known to every instance, and (the factor was just used) a step-up for this session. */
  async afterEnrolment(person: Person, factor: string, client: ClientInfo): Promise<void> {
    this.audit.record({ type: 'mfa.enrolled', outcome: 'success', actor: person.username, reason: factor, client });
    await this.enrolled.changed(person.userId);
    if (person.sessionId) await this.sessions.markStepUp(person.sessionId);
  }

  async afterRemoval(person: Person, factor: string, client: ClientInfo): Promise<void> {
    this.audit.record({ type: 'mfa.removed', outcome: 'success', actor: person.username, reason: factor, client });
    await this.enrolled.changed(person.userId);
  }
}
