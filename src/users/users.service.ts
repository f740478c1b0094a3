import { ConflictException, ForbiddenException, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Raw, Repository } from 'typeorm';
import { AuditRecorder } from '../audit/audit-recorder';
import { permissionsOf, rolesWith, type Role } from '../auth/permissions';
import type { ClientInfo } from '../common/client-info';
import { isUniqueViolation } from '../common/database-errors';
import { EventBus } from '../database/event-bus';
import { PasswordHasher } from './password-hasher';
import { User } from './user.entity';
import { CreateUserDto, toUserView, UpdateUserDto, UserView } from './users.dto';

/** The first epoch second whose tokens survive a change made now (iat has one-second resolution). */
export function nextTokenEpoch(now = Date.now()): number {
  return Math.floor(now / 1000) + 1;
}


export interface Actor {
  sub: string;
  client?: ClientInfo;
}

@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly hasher: PasswordHasher,
    private readonly bus: EventBus,
    private readonly audit: AuditRecorder,
  ) {}

  async findByUsername(username: string): Promise<User | null> {
    // PostgreSQL refuses NUL in text (a 500); no stored username has one, so nobody matches.
    if (username.includes('\u0000')) return null;
    const key = username.toLowerCase();
    return this.users.findOne({ where: { username: Raw((column) => `lower(${column}) = :key`, { key }) } });
  }

  count(): Promise<number> {
    return this.users.count();
  }

  async list(): Promise<UserView[]> {
    const users = await this.users.find({ order: { createdAt: 'ASC' } });
    return users.map(toUserView);
  }

  async create(dto: CreateUserDto, actor: Actor): Promise<UserView> {
    if (await this.findByUsername(dto.username)) throw new ConflictException('a user with this username already exists');
    const passwordHash = await this.hasher.hash(dto.password);
    let user: User;
    try {
      user = await this.users.save(this.users.create({ username: dto.username, passwordHash, role: dto.role, disabled: false, tokensValidAfter: 0 }));
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictException('a user with this username already exists');
      throw error;
    }
    await this.announce(user);
    this.audit.record({ type: 'user.created', outcome: 'success', actor: actor.sub, reason: `${user.username} as ${user.role}`, client: actor.client });
    return toUserView(user);
  }

  async update(id: string, dto: UpdateUserDto, actor: Actor): Promise<UserView> {
    const user = await this.users.findOne({ where: { id } });
    if (!user) throw new NotFoundException('no user with this id');
    const changed: string[] = [];
    if (dto.role !== undefined && dto.role !== user.role) {
      await this.refuseToRemoveLastAdmin(user);
      user.role = dto.role;
      changed.push('role');
    }
    if (dto.disabled !== undefined && dto.disabled !== user.disabled) {
      if (dto.disabled) await this.refuseToRemoveLastAdmin(user);
      user.disabled = dto.disabled;
      changed.push('disabled');
    }
    if (dto.password !== undefined) {
      user.passwordHash = await this.hasher.hash(dto.password);
      changed.push('password');
    }
    if (changed.length > 0) {
      user.tokensValidAfter = nextTokenEpoch();
      user.updatedAt = new Date();
      await this.users.save(user);
      await this.announce(user);
      this.audit.record({ type: 'user.updated', outcome: 'success', actor: actor.sub, reason: `${user.username}: ${changed.join(', ')}`, client: actor.client });
    }
    return toUserView(user);
  }

  async remove(id: string, actor: Actor): Promise<void> {
    const user = await this.users.findOne({ where: { id } });
    if (!user) throw new NotFoundException('no user with this id');
    await this.refuseToRemoveLastAdmin(user);
    await this.users.delete({ id });
    await this.announce(user, true);
    this.audit.record({ type: 'user.deleted', outcome: 'success', actor: actor.sub, reason: user.username, client: actor.client });
  }

  /** Changes the caller's own password; every token issued before the change stops working. */
  async changeOwnPassword(
    username: string,
    callerKind: 'user' | 'api_key',
    currentPassword: string,
    newPassword: string,
    client: ClientInfo,
  ): Promise<User> {
    if (callerKind !== 'user') throw new ForbiddenException('API keys have no password; sign in as a person');
    const user = await this.findByUsername(username);
    if (!user || !(await this.hasher.verify(user.passwordHash, currentPassword))) {
      this.audit.record({ type: 'user.password_changed', outcome: 'failure', actor: username, reason: 'wrong current password', client });
      throw new UnauthorizedException('the current password is not correct');
    }
    user.passwordHash = await this.hasher.hash(newPassword);
    user.tokensValidAfter = nextTokenEpoch();
    user.updatedAt = new Date();
    await this.users.save(user);
    await this.announce(user);
    this.audit.record({ type: 'user.password_changed', outcome: 'success', actor: user.username, client });
    return user;
  }

  /** Creates a user without an acting principal: first-start bootstrap and the operator CLI. */
  async createDirect(username: string, password: string, role: Role): Promise<User> {
    const user = await this.users.save(
      this.users.create({ username, passwordHash: await this.hasher.hash(password), role, disabled: false, tokensValidAfter: 0 }),
    );
    await this.announce(user);
    return user;
  }

  /** Keeps at least one enabled user who can manage users, so nobody locks every admin out. */
  private async refuseToRemoveLastAdmin(user: User): Promise<void> {
    if (!permissionsOf(user.role).includes('users:manage') || user.disabled) return;
    const managers = await this.users.count({ where: { role: In(rolesWith('users:manage')), disabled: false } });
    if (managers <= 1) throw new ConflictException('this is the last enabled user who can manage users; create or enable another admin first');
  }

  private announce(user: User, deleted = false): Promise<void> {
    return this.bus.publish({
      type: 'user.changed',
      userId: user.id,
      username: user.username,
      role: user.role,
      disabled: user.disabled,
      tokensValidAfter: deleted ? nextTokenEpoch() : user.tokensValidAfter,
      deleted,
    });
  }
}
