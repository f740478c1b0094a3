import { ConflictException, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import type { Role } from '../access/permissions';
import type { AuditInput, AuditRecorder } from '../audit/audit-recorder';
import type { ClientInfo } from '../common/client-info';
import type { BusEvent, EventBus } from '../database/event-bus';
import type { PasswordHasher } from './password-hasher';
import { UserLifecycle, type UserAccessChanged } from './user-lifecycle';
import { UserLockouts } from './user-lockouts';
import { User } from './user.entity';
import type { UserChanges, UsersRepository, UserWrites } from './users.repository';
import { nextTokenEpoch, UsersService } from './users.service';

const CREATED = new Date('2025-01-01T00:00:00.000Z');
const CLIENT: ClientInfo = { ip: '203.0.113.7', userAgent: 'jest', requestId: 'req-1' };
const ACTOR = { sub: 'root', client: CLIENT };

function aUser(fields: Partial<User> & Pick<User, 'id'>): User {
  return Object.assign(new User(), {
    username: fields.id,
    usernameKey: fields.id,
    passwordHash: `stored-hash-of-${fields.id}`,
    role: 'analyst',
    disabled: false,
    tokensValidAfter: 100,
    version: 3,
    createdAt: CREATED,
    updatedAt: CREATED,
    ...fields,
  });
}

/** Rows in memory; the statements of one user-writes transaction, as the repository's UserWrites. */
class FakeWrites {
  constructor(
    private readonly rows: Map<string, User>,
    private readonly calls: string[],
  ) {}

  findForUpdate = jest.fn((id: string): Promise<User | null> => {
    const row = this.rows.get(id);
    return Promise.resolve(row ? aUser({ ...row }) : null);
  });

  countOthers = jest.fn((roles: readonly Role[], exceptId: string): Promise<number> => {
    return Promise.resolve([...this.rows.values()].filter((row) => row.id !== exceptId && !row.disabled && roles.includes(row.role)).length);
  });

  update = jest.fn(
    (id: string, changes: UserChanges, tokensValidAfter: number, onlyIf: { passwordHash?: string; enabled?: boolean } = {}): Promise<User | null> => {
      this.calls.push('update');
      return Promise.resolve(this.updated(id, changes, tokensValidAfter, onlyIf));
    },
  );

  delete = jest.fn((id: string): Promise<User | null> => {
    this.calls.push('delete');
    const row = this.rows.get(id);
    this.rows.delete(id);
    return Promise.resolve(row ? aUser({ ...row }) : null);
  });

  private updated(id: string, changes: UserChanges, tokensValidAfter: number, onlyIf: { passwordHash?: string; enabled?: boolean }): User | null {
    const row = this.rows.get(id);
    if (!row) return null;
    if (onlyIf.passwordHash !== undefined && row.passwordHash !== onlyIf.passwordHash) return null;
    if (onlyIf.enabled && row.disabled) return null;
    const next = aUser({ ...row, ...changes, version: row.version + 1, tokensValidAfter: Math.max(row.tokensValidAfter, tokensValidAfter) });
    this.rows.set(id, next);
    return aUser({ ...next });
  }
}

class FakeUsersRepository {
  readonly rows = new Map<string, User>();
  readonly calls: string[] = [];
  readonly writes = new FakeWrites(this.rows, this.calls);

  add(fields: Partial<User> & Pick<User, 'id'>): User {
    const user = aUser(fields);
    this.rows.set(user.id, user);
    return user;
  }

  findById = jest.fn((id: string) => Promise.resolve(this.rows.get(id) ?? null));
  findByUsername = jest.fn((username: string) => Promise.resolve([...this.rows.values()].find((row) => row.username === username) ?? null));
  list = jest.fn(() => Promise.resolve([...this.rows.values()]));
  count = jest.fn(() => Promise.resolve(this.rows.size));
  insert = jest.fn((fields: { username: string; passwordHash: string; role: Role }): Promise<User> => {
    this.calls.push('insert');
    const user = aUser({ id: `id-${fields.username}`, ...fields, tokensValidAfter: 0, version: 1 });
    this.rows.set(user.id, user);
    return Promise.resolve(user);
  });

  writeTransaction = jest.fn(<T>(work: (writes: UserWrites) => Promise<T>): Promise<T> => {
    this.calls.push('transaction');
    return work(this.writes as unknown as UserWrites);
  });
}

function uniqueViolation(): QueryFailedError {
  return new QueryFailedError(
    'INSERT INTO "users" …',
    [],
    Object.assign(new Error('duplicate key value'), { code: '23505', constraint: 'users_username_key_key' }),
  );
}

describe(UsersService.name, () => {
  let sut: UsersService;
  let users: FakeUsersRepository;
  let hasher: { hash: jest.Mock; verify: jest.Mock };
  let published: BusEvent[];
  let audited: AuditInput[];
  let accessChanges: UserAccessChanged[];

  beforeEach(() => {
    users = new FakeUsersRepository();
    hasher = {
      hash: jest.fn((password: string) => {
        users.calls.push('hash');
        return Promise.resolve(`argon2-of-${password}`);
      }),
      verify: jest.fn(),
    };
    published = [];
    audited = [];
    const bus = { publish: jest.fn((event: BusEvent) => Promise.resolve(void published.push(event))) };
    const audit = { record: jest.fn((input: AuditInput) => void audited.push(input)) };
    accessChanges = [];
    const lifecycle = new UserLifecycle();
    lifecycle.onAccessChanged((event) => Promise.resolve(void accessChanges.push(event)));
    sut = new UsersService(
      users as unknown as UsersRepository,
      hasher as unknown as PasswordHasher,
      bus as unknown as EventBus,
      audit as unknown as AuditRecorder,
      lifecycle,
      new UserLockouts(),
    );
  });

  describe('nextTokenEpoch', () => {
    it('is the epoch second after the current one, so tokens issued in this second are before it', () => {
      expect(nextTokenEpoch(1_700_000_000_000)).toBe(1_700_000_001);
      expect(nextTokenEpoch(1_700_000_000_999)).toBe(1_700_000_001);
    });
  });

  describe('findByUsername', () => {
    it('finds nobody for a name holding NUL, without asking the database', async () => {
      users.add({ id: 'u1', username: 'alice' });

      await expect(sut.findByUsername('alice\u0000')).resolves.toBeNull();
      expect(users.findByUsername).not.toHaveBeenCalled();
    });

    it('asks the repository for any other name', async () => {
      const alice = users.add({ id: 'u1', username: 'alice' });

      await expect(sut.findByUsername('alice')).resolves.toEqual(alice);
      expect(users.findByUsername).toHaveBeenCalledWith('alice');
    });
  });

  describe('list', () => {
    it('shows users without their password hash', async () => {
      users.add({ id: 'u1', username: 'alice', role: 'viewer' });

      const list = await sut.list();

      expect(list).toEqual([
        {
          id: 'u1',
          username: 'alice',
          role: 'viewer',
          disabled: false,
          created_at: CREATED.toISOString(),
          updated_at: CREATED.toISOString(),
          locked_until: null,
        },
      ]);
      expect(JSON.stringify(list)).not.toContain('stored-hash');
    });
  });

  describe('create', () => {
    const dto = { username: 'carol', password: 'correct horse battery', role: 'analyst' as Role };

    it('stores the hash of the password, never the password, and answers the view', async () => {
      const view = await sut.create(dto, ACTOR);

      expect(hasher.hash).toHaveBeenCalledWith('correct horse battery');
      expect(users.insert).toHaveBeenCalledWith({ username: 'carol', passwordHash: 'argon2-of-correct horse battery', role: 'analyst' });
      expect(view).toEqual({
        id: 'id-carol',
        username: 'carol',
        role: 'analyst',
        disabled: false,
        created_at: CREATED.toISOString(),
        updated_at: CREATED.toISOString(),
      });
    });

    it('refuses a username that already exists with 409, and writes nothing', async () => {
      users.add({ id: 'u1', username: 'carol' });

      await expect(sut.create(dto, ACTOR)).rejects.toThrow(new ConflictException('a user with this username already exists'));
      expect(users.insert).not.toHaveBeenCalled();
      expect(published).toEqual([]);
      expect(audited).toEqual([]);
    });

    it('refuses with 409 when the insert loses a race to the unique index', async () => {
      users.insert.mockRejectedValueOnce(uniqueViolation());

      await expect(sut.create(dto, ACTOR)).rejects.toThrow(new ConflictException('a user with this username already exists'));
      expect(published).toEqual([]);
      expect(audited).toEqual([]);
    });

    it('passes on any other database error unchanged', async () => {
      const failure = new QueryFailedError('INSERT …', [], Object.assign(new Error('null value'), { code: '23502' }));
      users.insert.mockRejectedValueOnce(failure);

      await expect(sut.create(dto, ACTOR)).rejects.toBe(failure);
    });

    it('announces user.changed with the new row and its version', async () => {
      await sut.create(dto, ACTOR);

      expect(published).toEqual([
        { type: 'user.changed', userId: 'id-carol', username: 'carol', role: 'analyst', disabled: false, tokensValidAfter: 0, version: 1, deleted: false },
      ]);
    });

    it('audits user.created naming the user and role, the actor and the client', async () => {
      await sut.create(dto, ACTOR);

      expect(audited).toEqual([{ type: 'user.created', outcome: 'success', actor: 'root', reason: 'carol as analyst', client: CLIENT }]);
    });
  });

  describe('createDirect', () => {
    it('hashes, inserts and announces without an actor', async () => {
      const user = await sut.createDirect('admin', 'a long bootstrap password', 'admin');

      expect(users.insert).toHaveBeenCalledWith({ username: 'admin', passwordHash: 'argon2-of-a long bootstrap password', role: 'admin' });
      expect(user.id).toBe('id-admin');
      expect(published).toEqual([expect.objectContaining({ type: 'user.changed', userId: 'id-admin', version: 1, deleted: false })]);
    });

    it('refuses with 409 when the name is taken', async () => {
      users.insert.mockRejectedValueOnce(uniqueViolation());

      await expect(sut.createDirect('admin', 'a long bootstrap password', 'admin')).rejects.toBeInstanceOf(ConflictException);
      expect(published).toEqual([]);
    });
  });

  describe('update', () => {
    beforeEach(() => {
      users.add({ id: 'boss', username: 'boss', role: 'admin' });
      users.add({ id: 'ann', username: 'ann', role: 'analyst' });
    });

    it('refuses an unknown id with 404 and writes nothing', async () => {
      await expect(sut.update('nobody', { role: 'viewer' }, ACTOR)).rejects.toThrow(new NotFoundException('no user with this id'));
      expect(users.writes.update).not.toHaveBeenCalled();
      expect(published).toEqual([]);
      expect(audited).toEqual([]);
    });

    it('writes only the role when only the role changes, and raises the token marker to the next second', async () => {
      const before = nextTokenEpoch();
      const view = await sut.update('ann', { role: 'viewer' }, ACTOR);
      const after = nextTokenEpoch();

      expect(users.writes.update).toHaveBeenCalledTimes(1);
      const [id, changes, tokensValidAfter] = users.writes.update.mock.calls[0];
      expect(id).toBe('ann');
      expect(changes).toEqual({ role: 'viewer' });
      expect(tokensValidAfter).toBeGreaterThanOrEqual(before);
      expect(tokensValidAfter).toBeLessThanOrEqual(after);
      expect(view.role).toBe('viewer');
    });

    it('writes only disabled when only that changes', async () => {
      await sut.update('ann', { role: 'analyst', disabled: true }, ACTOR);

      expect(users.writes.update).toHaveBeenCalledWith('ann', { disabled: true }, expect.any(Number));
    });

    it('writes nothing and announces nothing when the PATCH repeats the current role', async () => {
      const view = await sut.update('ann', { role: 'analyst' }, ACTOR);

      expect(users.writes.update).not.toHaveBeenCalled();
      expect(published).toEqual([]);
      expect(audited).toEqual([]);
      expect(view.role).toBe('analyst');
    });

    it('writes nothing when the PATCH repeats the current disabled state', async () => {
      await sut.update('ann', { disabled: false }, ACTOR);

      expect(users.writes.update).not.toHaveBeenCalled();
      expect(published).toEqual([]);
    });

    it('writes nothing for an empty PATCH', async () => {
      await sut.update('ann', {}, ACTOR);

      expect(users.writes.update).not.toHaveBeenCalled();
      expect(hasher.hash).not.toHaveBeenCalled();
    });

    it('hashes a new password before the transaction starts, and writes the hash', async () => {
      await sut.update('ann', { password: 'a brand new passphrase' }, ACTOR);

      expect(users.calls).toEqual(['hash', 'transaction', 'update']);
      expect(users.writes.update).toHaveBeenCalledWith('ann', { passwordHash: 'argon2-of-a brand new passphrase' }, expect.any(Number));
    });

    it('writes every changed column at once', async () => {
      await sut.update('ann', { role: 'viewer', disabled: true, password: 'a brand new passphrase' }, ACTOR);

      expect(users.writes.update).toHaveBeenCalledWith(
        'ann',
        { role: 'viewer', disabled: true, passwordHash: 'argon2-of-a brand new passphrase' },
        expect.any(Number),
      );
    });

    it('announces user.changed with the written row and its new version', async () => {
      await sut.update('ann', { role: 'viewer' }, ACTOR);

      expect(published).toEqual([
        {
          type: 'user.changed',
          userId: 'ann',
          username: 'ann',
          role: 'viewer',
          disabled: false,
          tokensValidAfter: users.rows.get('ann')!.tokensValidAfter,
          version: 4,
          deleted: false,
        },
      ]);
    });

    it('audits user.updated naming the changed fields, and never the password or its hash', async () => {
      await sut.update('ann', { role: 'viewer', disabled: true, password: 'a brand new passphrase' }, ACTOR);

      expect(audited).toEqual([
        {
          type: 'user.updated',
          outcome: 'success',
          actor: 'root',
          changes: {
            target: 'ann',
            before: { role: 'analyst', disabled: false, password: 'previous' },
            after: { role: 'viewer', disabled: true, password: 'replaced' },
          },
          client: CLIENT,
        },
      ]);
      expect(JSON.stringify(audited)).not.toMatch(/passphrase|argon2-of|stored-hash/);
      expect(JSON.stringify(published)).not.toMatch(/passphrase|argon2-of|stored-hash/);
    });

    it("tells the lifecycle which changes end the user's sign-ins, before answering", async () => {
      await sut.update('ann', { role: 'viewer', disabled: true, password: 'a brand new passphrase' }, ACTOR);

      // Jest's asymmetric matchers are typed any; `as unknown` keeps that out of the typed literal.
      expect(accessChanges).toEqual([
        { user: expect.objectContaining({ id: 'ann', username: 'ann' }) as unknown, changes: ['role', 'disabled', 'password'], actor: 'root', client: CLIENT },
      ]);
    });

    it('does not count enabling a user as a change that ends sign-ins', async () => {
      users.rows.get('ann')!.disabled = true;

      await sut.update('ann', { disabled: false }, ACTOR);

      expect(users.writes.update).toHaveBeenCalledWith('ann', { disabled: false }, expect.any(Number));
      expect(accessChanges).toEqual([]);
    });

    it('names only the other changes when a user is enabled together with them', async () => {
      users.rows.get('ann')!.disabled = true;

      await sut.update('ann', { disabled: false, password: 'a brand new passphrase' }, ACTOR);

      expect(accessChanges).toEqual([expect.objectContaining({ changes: ['password'] })]);
    });

    it('tells the lifecycle nothing when nothing changed or nothing was written', async () => {
      await sut.update('ann', { role: 'analyst' }, ACTOR);
      await expect(sut.update('boss', { role: 'viewer' }, ACTOR)).rejects.toBeInstanceOf(ConflictException);

      expect(accessChanges).toEqual([]);
    });

    describe('the last enabled user who can manage users', () => {
      it('refuses to demote the last enabled admin with 409, and writes nothing', async () => {
        await expect(sut.update('boss', { role: 'analyst' }, ACTOR)).rejects.toThrow(ConflictException);
        expect(users.writes.countOthers).toHaveBeenCalledWith(['admin'], 'boss');
        expect(users.writes.update).not.toHaveBeenCalled();
        expect(published).toEqual([]);
        expect(audited).toEqual([]);
      });

      it('refuses to disable the last enabled admin with 409', async () => {
        await expect(sut.update('boss', { disabled: true }, ACTOR)).rejects.toThrow(
          new ConflictException('this is the last enabled user who can manage users; create or enable another admin first'),
        );
        expect(users.writes.update).not.toHaveBeenCalled();
      });

      it('counts users of other roles for nothing', async () => {
        // ann (analyst) is enabled, but cannot manage users.
        await expect(sut.update('boss', { role: 'viewer' }, ACTOR)).rejects.toBeInstanceOf(ConflictException);
      });

      it('counts a disabled admin for nothing', async () => {
        users.add({ id: 'old-boss', role: 'admin', disabled: true });

        await expect(sut.update('boss', { disabled: true }, ACTOR)).rejects.toBeInstanceOf(ConflictException);
      });

      it('lets an admin be demoted while another enabled admin exists', async () => {
        users.add({ id: 'deputy', role: 'admin' });

        await sut.update('boss', { role: 'analyst' }, ACTOR);

        expect(users.writes.update).toHaveBeenCalledWith('boss', { role: 'analyst' }, expect.any(Number));
      });

      it('lets an admin be disabled while another enabled admin exists', async () => {
        users.add({ id: 'deputy', role: 'admin' });

        await sut.update('boss', { disabled: true }, ACTOR);

        expect(users.writes.update).toHaveBeenCalledWith('boss', { disabled: true }, expect.any(Number));
      });

      it('does not check a change to someone who cannot manage users', async () => {
        users.rows.delete('boss');

        await sut.update('ann', { role: 'viewer', disabled: true }, ACTOR);

        expect(users.writes.countOthers).not.toHaveBeenCalled();
        expect(users.writes.update).toHaveBeenCalled();
      });

      it('does not check a change to an admin who is already disabled', async () => {
        users.add({ id: 'old-boss', role: 'admin', disabled: true });
        users.rows.delete('boss');

        await sut.update('old-boss', { role: 'viewer' }, ACTOR);

        expect(users.writes.countOthers).not.toHaveBeenCalled();
        expect(users.writes.update).toHaveBeenCalledWith('old-boss', { role: 'viewer' }, expect.any(Number));
      });

      it('does not check a change that leaves the last admin an enabled admin', async () => {
        await sut.update('boss', { role: 'admin', disabled: false, password: 'a brand new passphrase' }, ACTOR);

        expect(users.writes.countOthers).not.toHaveBeenCalled();
        expect(users.writes.update).toHaveBeenCalledWith('boss', { passwordHash: 'argon2-of-a brand new passphrase' }, expect.any(Number));
      });

      it('does not check enabling a disabled admin', async () => {
        users.add({ id: 'old-boss', role: 'admin', disabled: true });
        users.rows.delete('boss');

        await sut.update('old-boss', { disabled: false }, ACTOR);

        expect(users.writes.countOthers).not.toHaveBeenCalled();
        expect(users.writes.update).toHaveBeenCalledWith('old-boss', { disabled: false }, expect.any(Number));
      });

      it('does not check promoting someone to admin', async () => {
        users.rows.delete('boss');

        await sut.update('ann', { role: 'admin' }, ACTOR);

        expect(users.writes.countOthers).not.toHaveBeenCalled();
      });
    });
  });

  describe('remove', () => {
    beforeEach(() => {
      users.add({ id: 'boss', username: 'boss', role: 'admin' });
      users.add({ id: 'ann', username: 'ann', role: 'analyst', version: 7, tokensValidAfter: 50 });
    });

    it('refuses an unknown id with 404', async () => {
      await expect(sut.remove('nobody', ACTOR)).rejects.toThrow(new NotFoundException('no user with this id'));
      expect(users.writes.delete).not.toHaveBeenCalled();
      expect(published).toEqual([]);
    });

    it('announces the deletion with the version after the last write and a fresh token marker', async () => {
      const before = nextTokenEpoch();
      await sut.remove('ann', ACTOR);
      const after = nextTokenEpoch();

      expect(users.rows.has('ann')).toBe(false);
      expect(published).toEqual([
        {
          type: 'user.changed',
          userId: 'ann',
          username: 'ann',
          role: 'analyst',
          disabled: false,
          tokensValidAfter: expect.any(Number) as unknown,
          version: 8,
          deleted: true,
        },
      ]);
      const { tokensValidAfter } = published[0] as Extract<BusEvent, { type: 'user.changed' }>;
      expect(tokensValidAfter).toBeGreaterThanOrEqual(before);
      expect(tokensValidAfter).toBeLessThanOrEqual(after);
    });

    it('audits user.deleted with the username', async () => {
      await sut.remove('ann', ACTOR);

      expect(audited).toEqual([{ type: 'user.deleted', outcome: 'success', actor: 'root', reason: 'ann', client: CLIENT }]);
    });

    it('tells the lifecycle the user was deleted', async () => {
      await sut.remove('ann', ACTOR);

      expect(accessChanges).toEqual([
        { user: expect.objectContaining({ id: 'ann', username: 'ann' }) as unknown, changes: ['deleted'], actor: 'root', client: CLIENT },
      ]);
    });

    it('refuses to delete the last enabled admin with 409, and deletes nothing', async () => {
      await expect(sut.remove('boss', ACTOR)).rejects.toBeInstanceOf(ConflictException);
      expect(users.writes.delete).not.toHaveBeenCalled();
      expect(published).toEqual([]);
      expect(audited).toEqual([]);
    });

    it('deletes an admin while another enabled admin exists', async () => {
      users.add({ id: 'deputy', role: 'admin' });

      await sut.remove('boss', ACTOR);

      expect(users.writes.delete).toHaveBeenCalledWith('boss');
    });

    it('deletes a disabled admin without counting the others', async () => {
      users.add({ id: 'old-boss', role: 'admin', disabled: true });

      await sut.remove('old-boss', ACTOR);

      expect(users.writes.countOthers).not.toHaveBeenCalled();
      expect(users.writes.delete).toHaveBeenCalledWith('old-boss');
    });
  });

  describe('replaceOwnPassword', () => {
    beforeEach(() => {
      users.add({ id: 'ann', username: 'ann', passwordHash: 'verified-hash', version: 5 });
    });

    it('writes only the new hash, on condition the row is enabled and still has the verified hash, leaving the token marker', async () => {
      const result = await sut.replaceOwnPassword('ann', 'verified-hash', 'new-hash');

      // The caller's own session lives on; the caller ends the others.
      expect(users.writes.update).toHaveBeenCalledWith('ann', { passwordHash: 'new-hash' }, 0, { passwordHash: 'verified-hash', enabled: true });
      expect(users.rows.get('ann')!.tokensValidAfter).toBe(100);
      expect(result).toEqual({ ok: true, user: expect.objectContaining({ id: 'ann', passwordHash: 'new-hash', version: 6 }) as unknown });
    });

    it('announces the new state', async () => {
      await sut.replaceOwnPassword('ann', 'verified-hash', 'new-hash');

      expect(published).toEqual([expect.objectContaining({ type: 'user.changed', userId: 'ann', version: 6, deleted: false })]);
      expect(JSON.stringify(published)).not.toContain('hash');
    });

    it("answers 'account_gone' when the account was deleted meanwhile", async () => {
      users.rows.delete('ann');

      await expect(sut.replaceOwnPassword('ann', 'verified-hash', 'new-hash')).resolves.toEqual({ ok: false, why: 'account_gone' });
      expect(published).toEqual([]);
    });

    it("answers 'account_gone' when the account was disabled meanwhile", async () => {
      users.rows.get('ann')!.disabled = true;

      await expect(sut.replaceOwnPassword('ann', 'verified-hash', 'new-hash')).resolves.toEqual({ ok: false, why: 'account_gone' });
      expect(users.rows.get('ann')!.passwordHash).toBe('verified-hash');
      expect(published).toEqual([]);
    });

    it("answers 'changed_meanwhile' when another password change committed first", async () => {
      users.rows.get('ann')!.passwordHash = 'someone-elses-hash';

      await expect(sut.replaceOwnPassword('ann', 'verified-hash', 'new-hash')).resolves.toEqual({ ok: false, why: 'changed_meanwhile' });
      expect(users.rows.get('ann')!.passwordHash).toBe('someone-elses-hash');
      expect(published).toEqual([]);
    });
  });
});
