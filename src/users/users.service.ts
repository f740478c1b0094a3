import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { AuditRecorder } from '../audit/audit-recorder';
import { permissionsOf, rolesWith, type Role } from '../access/permissions';
import type { ClientInfo } from '../common/client-info';
import { isUniqueViolation } from '../common/database-errors';
import { EventBus } from '../database/event-bus';
import { NO_PASSWORD, PasswordHasher } from './password-hasher';
import { AccessChange, UserLifecycle } from './user-lifecycle';
import { User } from './user.entity';
import { UserLockouts } from './user-lockouts';
import { CreateUserDto, toUserView, UpdateUserDto, UserListItem, UserView } from './users.dto';
import { UserChanges, UsersRepository, UserWrites } from './users.repository';

const SSO_HAS_NO_PASSWORD = 'this user signs in through single sign-on and cannot be given a password';

/** The first epoch second whose tokens survive a change made now (iat has one-second resolution). */
export function nextTokenEpoch(now = Date.now()): number {
  return Math.floor(now / 1000) + 1;
}

export interface Actor {
  sub: string;
  client?: ClientInfo;
}

/** What replacing one's own password came to: the new state, or why nothing was written. */
export type OwnPasswordResult = { ok: true; user: User } | { ok: false; why: 'account_gone' | 'changed_meanwhile' };

const MANAGER_ROLES = rolesWith('users:manage');
const DUPLICATE = 'a user with this username already exists';

function managesUsers(user: Pick<User, 'role' | 'disabled'>): boolean {
  return !user.disabled && permissionsOf(user.role).includes('users:manage');
}

/**
 * Users and their lifecycle. Every write runs in one transaction under the user-writes lock, writes
 * only the columns it changes, and is announced with the row's new version: a request that was
 * already running can never write an older state back, and no instance believes older news.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly bus: EventBus,
    private readonly audit: AuditRecorder,
    private readonly lifecycle: UserLifecycle,
    private readonly lockouts: UserLockouts,
  ) {}

  findByUsername(username: string): Promise<User | null> {
    // PostgreSQL refuses NUL in text (a 500); no stored username has one, so nobody matches.
    if (username.includes('\u0000')) return Promise.resolve(null);
    return this.users.findByUsername(username);
  }

  findById(id: string): Promise<User | null> {
    return this.users.findById(id);
  }

  /** The user that single sign-on created for this subject of the identity provider. */
  findBySsoSubject(subject: string): Promise<User | null> {
    return this.users.findBySsoSubject(subject);
  }

  /** A user created at their first single sign-on: bound to the provider's subject, with no password. */
  async createSsoUser(username: string, role: Role, subject: string, client?: ClientInfo): Promise<User> {
    let user: User;
    try {
      user = await this.users.insert({ username, passwordHash: NO_PASSWORD, role, ssoSubject: subject });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictException(DUPLICATE);
      throw error;
    }
    await this.announce(user);
    this.audit.record({ type: 'user.created', outcome: 'success', actor: 'sso', reason: `${user.username} as ${user.role} (single sign-on)`, client });
    return user;
  }

  count(): Promise<number> {
    return this.users.count();
  }

  /** Every user, with when their sign-in lockout ends (null: not locked), read for all in one batch. */
  async list(): Promise<UserListItem[]> {
    const users = await this.users.list();
    const lockedUntil = await this.lockouts.lockedUntil(users.map((user) => user.username));
    return users.map((user, i) => ({ ...toUserView(user), locked_until: lockedUntil[i]?.toISOString() ?? null }));
  }

  /** Clears the user's failed sign-ins (LOGIN_MAX_FAILURES_PER_USER), so they can sign in at once. */
  async unlock(id: string, actor: Actor): Promise<void> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundException('no user with this id');
    await this.lockouts.unlock(user.username);
    this.audit.record({ type: 'user.unlocked', outcome: 'success', actor: actor.sub, reason: user.username, client: actor.client });
  }

  async create(dto: CreateUserDto, actor: Actor): Promise<UserView> {
    if (await this.findByUsername(dto.username)) throw new ConflictException(DUPLICATE);
    const user = await this.insert(dto.username, await this.hasher.hash(dto.password), dto.role);
    this.audit.record({ type: 'user.created', outcome: 'success', actor: actor.sub, reason: `${user.username} as ${user.role}`, client: actor.client });
    return toUserView(user);
  }

  async update(id: string, dto: UpdateUserDto, actor: Actor): Promise<UserView> {
    const passwordHash = dto.password === undefined ? undefined : await this.hasher.hash(dto.password);
    const { user, changed, before } = await this.users.writeTransaction(async (writes) => {
      const current = await writes.findForUpdate(id);
      if (!current) throw new NotFoundException('no user with this id');
      // A password would be a way in that bypasses the identity provider (its sign-out, its second factor).
      if (passwordHash !== undefined && current.ssoSubject) throw new ConflictException(SSO_HAS_NO_PASSWORD);
      const before = { role: current.role, disabled: current.disabled };
      const changes: UserChanges = {};
      if (dto.role !== undefined && dto.role !== current.role) changes.role = dto.role;
      if (dto.disabled !== undefined && dto.disabled !== current.disabled) changes.disabled = dto.disabled;
      if (passwordHash !== undefined) changes.passwordHash = passwordHash;
      const names = Object.keys(changes).map((name) => (name === 'passwordHash' ? 'password' : name));
      if (names.length === 0) return { user: current, changed: names, before };
      await this.refuseToRemoveLastManager(writes, current, { ...current, ...changes });
      return { user: (await writes.update(id, changes, nextTokenEpoch()))!, changed: names, before };
    });
    if (changed.length > 0) {
      await this.announce(user);
      this.audit.record({
        type: 'user.updated',
        outcome: 'success',
        actor: actor.sub,
        // Before and after of what changed (README, "Audit"); of the password only that it changed.
        changes: {
          target: user.username,
          before: { ...before, ...(changed.includes('password') ? { password: 'previous' } : {}) },
          after: { role: user.role, disabled: user.disabled, ...(changed.includes('password') ? { password: 'replaced' } : {}) },
        },
        client: actor.client,
      });
      // Enabling a user takes no access away; every other change ends their sign-ins.
      const ending = changed.filter((name) => name !== 'disabled' || user.disabled) as AccessChange[];
      if (ending.length > 0) await this.lifecycle.accessChanged({ user, changes: ending, actor: actor.sub, client: actor.client });
    }
    return toUserView(user);
  }

  async remove(id: string, actor: Actor): Promise<void> {
    const user = await this.users.writeTransaction(async (writes) => {
      const current = await writes.findForUpdate(id);
      if (!current) throw new NotFoundException('no user with this id');
      await this.refuseToRemoveLastManager(writes, current, null);
      return (await writes.delete(id))!;
    });
    await this.announce(user, true);
    this.audit.record({ type: 'user.deleted', outcome: 'success', actor: actor.sub, reason: user.username, client: actor.client });
    await this.lifecycle.accessChanged({ user, changes: ['deleted'], actor: actor.sub, client: actor.client });
  }

  /**
   * Stores a new password hash for the caller, only if the account still exists, is enabled and
   * still has the password that was just verified: a deletion, a disabling or another password
   * change that committed meanwhile wins, and nothing else of the row is written.
   */
  async replaceOwnPassword(id: string, verifiedHash: string, newHash: string): Promise<OwnPasswordResult> {
    const result = await this.users.writeTransaction(async (writes): Promise<OwnPasswordResult> => {
      // No token marker: the caller's own session lives on, the others are ended by the caller.
      const user = await writes.update(id, { passwordHash: newHash }, 0, { passwordHash: verifiedHash, enabled: true });
      if (user) return { ok: true, user };
      const current = await writes.findForUpdate(id);
      return { ok: false, why: !current || current.disabled ? 'account_gone' : 'changed_meanwhile' };
    });
    if (result.ok) await this.announce(result.user);
    return result;
  }

  /** Creates a user without an acting principal: first-start bootstrap and the operator CLI. */
  createDirect(username: string, password: string, role: Role): Promise<User> {
    return this.hasher.hash(password).then((passwordHash) => this.insert(username, passwordHash, role));
  }

  private async insert(username: string, passwordHash: string, role: Role): Promise<User> {
    let user: User;
    try {
      user = await this.users.insert({ username, passwordHash, role });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictException(DUPLICATE);
      throw error;
    }
    await this.announce(user);
    return user;
  }

  /**
   * Keeps at least one enabled user who can manage users, so nobody locks every admin out. Runs
   * under the user-writes lock, so two admins removing each other at once cannot both pass.
   */
  private async refuseToRemoveLastManager(writes: UserWrites, before: User, after: Pick<User, 'role' | 'disabled'> | null): Promise<void> {
    if (!managesUsers(before) || (after !== null && managesUsers(after))) return;
    if ((await writes.countOthers(MANAGER_ROLES, before.id)) === 0) {
      throw new ConflictException('this is the last enabled user who can manage users; create or enable another admin first');
    }
  }

  private announce(user: User, deleted = false): Promise<void> {
    return this.bus.publish({
      type: 'user.changed',
      userId: user.id,
      username: user.username,
      role: user.role,
      disabled: user.disabled,
      tokensValidAfter: deleted ? nextTokenEpoch() : user.tokensValidAfter,
      version: deleted ? user.version + 1 : user.version,
      deleted,
    });
  }
}
