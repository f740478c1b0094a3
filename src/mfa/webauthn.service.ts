import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import type { Principal } from '../access/principal';
import { AuditRecorder } from '../audit/audit-recorder';
import type { ClientInfo } from '../common/client-info';
import { isUniqueViolation } from '../common/database-errors';
import { MfaRepository, type WebAuthnCredentialRow } from './mfa.repository';
import { MfaService, personOf } from './mfa.service';
import { WebAuthnCeremonies } from './webauthn-ceremonies';

export interface RegisteredCredentialView {
  id: string;
  name: string;
  created_at: string;
  /** Only when this credential is the user's first second factor. */
  recovery_codes?: string[];
}

/** Bound on the credentials of one user: plenty for keys and devices, not a table filler. */
const MAX_CREDENTIALS_PER_USER = 20;

/** Registering (several, named) and removing WebAuthn credentials: passkeys and security keys. */
@Injectable()
export class WebAuthnService {
  constructor(
    private readonly ceremonies: WebAuthnCeremonies,
    private readonly repository: MfaRepository,
    private readonly mfa: MfaService,
    private readonly audit: AuditRecorder,
  ) {}

  registrationOptions(principal: Principal): Promise<unknown> {
    const person = personOf(principal);
    return this.ceremonies.registrationOptions({ id: person.userId, username: person.username });
  }

  /** Stores a verified new credential; when it is the user's first factor the answer also carries the recovery codes, shown once. */
  async register(principal: Principal, name: string, response: Record<string, unknown>, client: ClientInfo): Promise<RegisteredCredentialView> {
    const person = personOf(principal);
    const label = name.trim();
    if (!label) throw new BadRequestException('name must not be blank');
    const verdict = await this.ceremonies.verifyRegistration(person.userId, response);
    if (!verdict.ok) {
      this.audit.record({ type: 'mfa.failed', outcome: 'failure', actor: person.username, reason: `webauthn register: ${verdict.reason}`, client });
      throw new BadRequestException('the authenticator response was not accepted; ask for new options and try again');
    }
    let stored: { credential: WebAuthnCredentialRow; codes: string[] };
    try {
      stored = await this.repository.factorTransaction(person.userId, async (writes) => {
        // Through the transaction's own connection: the embedded database has only one.
        if ((await writes.countCredentials()) >= MAX_CREDENTIALS_PER_USER) {
          throw new ConflictException(`at most ${MAX_CREDENTIALS_PER_USER} WebAuthn credentials per user; remove one first`);
        }
        const first = !(await writes.hasFactor());
        const credential = await writes.insertCredential({ ...verdict.credential, name: label });
        return { credential, codes: first ? await this.mfa.issueRecoveryCodes(writes) : [] };
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictException('this authenticator is already registered');
      throw error;
    }
    await this.mfa.afterEnrolment(person, `webauthn "${label}"`, client);
    const view: RegisteredCredentialView = { id: stored.credential.id, name: stored.credential.name, created_at: stored.credential.createdAt.toISOString() };
    if (stored.codes.length > 0) view.recovery_codes = stored.codes;
    return view;
  }

  async remove(principal: Principal, id: string, client: ClientInfo): Promise<void> {
    const person = personOf(principal);
    const removed = await this.repository.factorTransaction(person.userId, async (writes) => {
      if (!(await writes.deleteCredential(id))) return false;
      await this.mfa.dropRecoveryCodesIfLast(writes);
      return true;
    });
    if (!removed) throw new NotFoundException('no WebAuthn credential of yours with this id');
    await this.mfa.afterRemoval(person, 'webauthn', client);
  }
}
