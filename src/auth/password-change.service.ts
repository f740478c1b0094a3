import { ConflictException, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { AuditRecorder } from '../audit/audit-recorder';
import type { ClientInfo } from '../common/client-info';
import { PasswordHasher } from '../users/password-hasher';
import { UsersService } from '../users/users.service';
import { SessionsService } from '../sessions/sessions.service';
import { PasswordGuessLimiter } from './password-guess-limiter';
import type { Principal } from '../access/principal';

const AUDIT_TYPE = 'user.password_changed';

/**
 * A signed-in person changes their own password. The current password is a guessable secret:
 * it shares the per-username failure limit (and, on the route, the per-IP limit) with logins.
 */
@Injectable()
export class PasswordChangeService {
  constructor(
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly guesses: PasswordGuessLimiter,
    private readonly sessions: SessionsService,
    private readonly audit: AuditRecorder,
  ) {}

  /** Changes the password and ends every other session of the caller; the current one lives on. */
  async changeOwnPassword(principal: Principal, currentPassword: string, newPassword: string, client: ClientInfo): Promise<void> {
    if (principal.kind !== 'user' || !principal.userId) throw new ForbiddenException('API keys have no password; sign in as a person');
    const userId = principal.userId;
    const fail = (reason: string) => this.audit.record({ type: AUDIT_TYPE, outcome: 'failure', actor: principal.sub, reason, client });
    let verifiedHash = '';
    let newHash = '';
    const right = await this.guesses.attempt(
      principal.sub,
      async () => {
        const user = await this.users.findById(userId);
        if (!user || !(await this.hasher.verify(user.passwordHash, currentPassword))) return false;
        verifiedHash = user.passwordHash;
        // Hashed here, before any lock is taken, and inside the per-account bound on hashing work.
        newHash = await this.hasher.hash(newPassword);
        return true;
      },
      fail,
    );
    if (!right) {
      fail('wrong_current_password');
      throw new ForbiddenException('the current password is not correct');
    }
    const result = await this.users.replaceOwnPassword(userId, verifiedHash, newHash);
    if (!result.ok) {
      fail(result.why);
      if (result.why === 'account_gone') throw new UnauthorizedException('this account no longer exists or is disabled');
      throw new ConflictException('the password was changed by another request meanwhile; sign in with the new one');
    }
    this.audit.record({ type: AUDIT_TYPE, outcome: 'success', actor: result.user.username, client });
    await this.sessions.endOwnOthers(principal, client, 'password_changed');
  }
}
