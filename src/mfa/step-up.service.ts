import { ConflictException, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Principal } from '../access/principal';
import { AuditRecorder } from '../audit/audit-recorder';
import type { ClientInfo } from '../common/client-info';
import { SessionsService } from '../sessions/sessions.service';
import { EnrolledUsers } from './enrolled-users';
import { personOf } from './mfa.service';
import { SecondFactorCheck, WRONG_SECOND_FACTOR, type SecondFactorProof } from './second-factor-check';
import { WebAuthnCeremonies } from './webauthn-ceremonies';

/**
 * Step-up: a second factor verified in the current session, marked on the session (in the
 * database, here at once, on every other instance over the bus), so that sensitive routes
 * (@RequireStepUp) let the session through for STEP_UP_MAX_AGE_SECONDS.
 */
@Injectable()
export class StepUpService {
  constructor(
    private readonly check: SecondFactorCheck,
    private readonly enrolled: EnrolledUsers,
    private readonly sessions: SessionsService,
    private readonly webauthn: WebAuthnCeremonies,
    private readonly audit: AuditRecorder,
  ) {}

  async stepUp(principal: Principal, proof: SecondFactorProof, client: ClientInfo): Promise<void> {
    const { userId, username, sessionId } = personOf(principal);
    if (!sessionId) throw new ForbiddenException('this token has no session to step up; sign in again');
    if (!this.enrolled.has(userId)) throw new ConflictException('no second factor is enrolled: there is nothing to step up with');
    let method;
    try {
      method = await this.check.verify({ id: userId, username }, proof, { client, purpose: 'step_up' });
    } catch (error) {
      // 403, not 401: the caller is signed in and stays so; only the factor was wrong (as for a wrong current password).
      if (error instanceof UnauthorizedException) throw new ForbiddenException(WRONG_SECOND_FACTOR);
      throw error;
    }
    if (!(await this.sessions.markStepUp(sessionId))) throw new UnauthorizedException('this session has ended; sign in again');
    this.audit.record({ type: 'mfa.step_up', outcome: 'success', actor: username, reason: method, client });
  }

  /** A single-use challenge for a WebAuthn step-up, allowed for the caller's own credentials. */
  async webauthnOptions(principal: Principal): Promise<unknown> {
    const { userId } = personOf(principal);
    return this.webauthn.assertionOptions(userId, userId);
  }
}
