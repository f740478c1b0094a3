import type { Repository } from 'typeorm';
import { InProcessEventBus } from '../database/event-bus';
import type { User } from '../users/user.entity';
import { UserRegistry, type UserState } from './user-registry';

function userRow(overrides: Partial<User> = {}): User {
  return {
    id: 'id-alice',
    username: 'Alice',
    usernameKey: 'alice',
    passwordHash: 'x',
    role: 'admin',
    disabled: false,
    tokensValidAfter: 100,
    version: 5,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...overrides,
  };
}

describe('UserRegistry: which news of a user it believes', () => {
  let rows: User[];
  let registry: UserRegistry;
  const state = (overrides: Partial<UserState>): UserState => ({ ...UserRegistry.stateOf(userRow()), ...overrides });

  beforeEach(async () => {
    rows = [userRow()];
    const users = {
      find: () => Promise.resolve(rows),
      findOne: ({ where }: { where: { usernameKey: string } }) => Promise.resolve(rows.find((row) => row.usernameKey === where.usernameKey) ?? null),
    } as unknown as Repository<User>;
    registry = new UserRegistry(users, new InProcessEventBus());
    await registry.reload();
  });

  it('takes a newer version', async () => {
    registry.applyUserState(state({ version: 6, role: 'viewer', tokensValidAfter: 200 }));
    expect(await registry.userState('alice')).toMatchObject({ role: 'viewer', tokensValidAfter: 200, version: 6 });
  });

  it('ignores news older than what it holds: a late event cannot undo a demotion', async () => {
    registry.applyUserState(state({ version: 7, role: 'viewer', tokensValidAfter: 300 }));
    registry.applyUserState(state({ version: 6, role: 'admin', tokensValidAfter: 200 }));
    expect(await registry.userState('ALICE')).toMatchObject({ role: 'viewer', tokensValidAfter: 300, version: 7 });
  });

  it('ignores news of the same version it already holds', async () => {
    registry.applyUserState(state({ version: 5, role: 'viewer' }));
    expect(await registry.userState('alice')).toMatchObject({ role: 'admin' });
  });

  it('keeps a deletion final whatever arrives after it', async () => {
    registry.applyUserState(state({ version: 6, deleted: true }));
    registry.applyUserState(state({ version: 9, role: 'admin' }));
    expect(await registry.userState('alice')).toBeNull();
  });

  it('keeps a deletion through a reload that still saw the row', async () => {
    registry.applyUserState(state({ version: 6, deleted: true }));
    await registry.reload();
    expect(await registry.userState('alice')).toBeNull();
  });

  it('keeps a state newer than a reload that read an older row', async () => {
    registry.applyUserState(state({ version: 8, disabled: true }));
    await registry.reload();
    expect(await registry.userState('alice')).toMatchObject({ disabled: true, version: 8 });
  });

  it('drops a live user that a reload no longer finds (its deletion news was lost)', async () => {
    rows = [];
    await registry.reload();
    expect(await registry.userState('alice')).toBeNull();
  });

  it('takes a new account that reuses a deleted name, and a late deletion of the old one leaves it alone', async () => {
    registry.applyUserState(state({ userId: 'id-alice-2', version: 1, role: 'viewer' }));
    registry.applyUserState(state({ version: 6, deleted: true }));
    expect(await registry.userState('alice')).toMatchObject({ userId: 'id-alice-2', role: 'viewer' });
  });

  it('finds a name the same way whatever its case or Unicode form', async () => {
    rows = [userRow({ id: 'id-i', username: 'İlker', usernameKey: 'i\u0307lker' })];
    await registry.reload();
    expect(await registry.userState('İLKER')).toMatchObject({ userId: 'id-i' });
  });
});
