import type { Repository } from 'typeorm';
import { InProcessEventBus } from '../database/event-bus';
import type { User } from '../users/user.entity';
import { UserRegistry, type RegistryNews, type UserState } from './user-registry';

const T0 = 1_700_000_000_000;

function userRow(overrides: Partial<User> = {}): User {
  return {
    id: 'id-alice',
    username: 'alice',
    usernameKey: 'alice',
    passwordHash: 'x',
    role: 'analyst',
    disabled: false,
    tokensValidAfter: 100,
    version: 5,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...overrides,
  };
}

/** A bus whose resync can be announced, as the PostgreSQL bus does after a reconnect. */
class TestBus extends InProcessEventBus {
  resync(): void {
    this.announceResync();
  }
}

describe('UserRegistry: lookups, news and resyncs', () => {
  let rows: User[];
  let lookups: string[];
  let failReload: boolean;
  let bus: TestBus;
  let registry: UserRegistry;
  let news: RegistryNews[];
  let now: number;

  beforeEach(async () => {
    rows = [userRow()];
    lookups = [];
    failReload = false;
    now = T0;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const repository = {
      find: () => (failReload ? Promise.reject(new Error('connection refused')) : Promise.resolve([...rows])),
      findOne: ({ where }: { where: { usernameKey: string } }) => {
        lookups.push(where.usernameKey);
        return Promise.resolve(rows.find((row) => row.usernameKey === where.usernameKey) ?? null);
      },
    } as unknown as Repository<User>;
    bus = new TestBus();
    registry = new UserRegistry(repository, bus);
    news = [];
    registry.onNews((item) => news.push(item));
    await registry.onModuleInit();
  });

  afterEach(() => jest.restoreAllMocks());

  const state = (overrides: Partial<UserState> = {}): UserState => ({ ...UserRegistry.stateOf(userRow()), ...overrides });
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('answers from memory once loaded: no query for a known user', async () => {
    expect(await registry.userState('ALICE')).toMatchObject({ userId: 'id-alice', role: 'analyst' });
    expect(lookups).toEqual([]);
  });

  it('looks a user this instance missed up once in the database, by the key of the name, and then knows it', async () => {
    rows.push(userRow({ id: 'id-carol', username: 'Carol', usernameKey: 'carol', role: 'viewer' }));
    expect(await registry.userState('CAROL')).toMatchObject({ userId: 'id-carol', username: 'Carol', role: 'viewer' });
    expect(await registry.userState('carol')).toMatchObject({ userId: 'id-carol' });
    expect(lookups).toEqual(['carol']);
  });

  it('remembers for 5 s that a name is unknown, then asks again', async () => {
    expect(await registry.userState('ghost')).toBeNull();
    now = T0 + 4_999;
    expect(await registry.userState('ghost')).toBeNull();
    expect(lookups).toEqual(['ghost']);
    now = T0 + 5_000;
    expect(await registry.userState('ghost')).toBeNull();
    expect(lookups).toEqual(['ghost', 'ghost']);
  });

  it('remembers unknown names apart from one another', async () => {
    await registry.userState('ghost');
    await registry.userState('phantom');
    await registry.userState('ghost');
    expect(lookups).toEqual(['ghost', 'phantom']);
  });

  it('forgets the unknown names all at once when 10,000 are remembered, so their memory stays bounded', async () => {
    for (let i = 0; i < 10_000; i++) await registry.userState(`ghost-${i}`);
    await registry.userState('ghost-0');
    expect(lookups).toHaveLength(10_000);
    await registry.userState('one-too-many');
    await registry.userState('ghost-1');
    expect(lookups.slice(10_000)).toEqual(['one-too-many', 'ghost-1']);
  });

  it('finds a user created after a miss once the bus brings the news, without waiting out the 5 s', async () => {
    expect(await registry.userState('dave')).toBeNull();
    await bus.publish({ type: 'user.changed', ...state({ userId: 'id-dave', username: 'dave', version: 1 }) });
    expect(await registry.userState('dave')).toMatchObject({ userId: 'id-dave' });
  });

  it('takes user news from the bus and tells its listeners which user changed', async () => {
    await bus.publish({ type: 'user.changed', ...state({ version: 6, role: 'viewer' }) });
    expect(await registry.userState('alice')).toMatchObject({ role: 'viewer', version: 6 });
    expect(news).toEqual([{ kind: 'user', userId: 'id-alice' }]);
  });

  it('tells nobody of news it ignored', async () => {
    await bus.publish({ type: 'user.changed', ...state({ version: 4, role: 'admin' }) });
    expect(news).toEqual([]);
  });

  it('reloads on a bus resync, then tells its listeners to re-check everything', async () => {
    rows = [userRow({ version: 9, disabled: true })];
    bus.resync();
    await settle();
    expect(await registry.userState('alice')).toMatchObject({ disabled: true, version: 9 });
    expect(news).toEqual([{ kind: 'resync' }]);
  });

  it('keeps what it knows and tells nobody when the reload of a resync fails', async () => {
    failReload = true;
    bus.resync();
    await settle();
    expect(await registry.userState('alice')).toMatchObject({ version: 5 });
    expect(news).toEqual([]);
  });

  it('stops listening to the bus at shutdown', async () => {
    registry.onApplicationShutdown();
    await bus.publish({ type: 'user.changed', ...state({ version: 6, role: 'viewer' }) });
    bus.resync();
    await settle();
    expect(await registry.userState('alice')).toMatchObject({ role: 'analyst', version: 5 });
    expect(news).toEqual([]);
  });

  it('stops telling a listener that unsubscribed', () => {
    const heard: RegistryNews[] = [];
    const stop = registry.onNews((item) => heard.push(item));
    registry.applyUserState(state({ version: 6 }));
    stop();
    registry.applyUserState(state({ version: 7 }));
    expect(heard).toEqual([{ kind: 'user', userId: 'id-alice' }]);
    expect(news).toHaveLength(2);
  });

  describe('what a reload takes from the database', () => {
    it('takes a newer row of the same account (its news was lost)', async () => {
      rows = [userRow({ version: 6, role: 'viewer' })];
      await registry.reload();
      expect(await registry.userState('alice')).toMatchObject({ role: 'viewer', version: 6 });
    });

    it('takes a new account that now holds the name, whatever the versions', async () => {
      registry.applyUserState(state({ version: 8 }));
      rows = [userRow({ id: 'id-alice-2', version: 1, role: 'viewer' })];
      await registry.reload();
      expect(await registry.userState('alice')).toMatchObject({ userId: 'id-alice-2', role: 'viewer' });
    });

    it('keeps a deletion through a reload that no longer sees the row, answering without a query', async () => {
      registry.applyUserState(state({ version: 6, deleted: true }));
      rows = [];
      await registry.reload();
      expect(await registry.userState('alice')).toBeNull();
      expect(lookups).toEqual([]);
    });

    it('drops the deletion of an old account when a new account holds the name', async () => {
      registry.applyUserState(state({ version: 6, deleted: true }));
      rows = [userRow({ id: 'id-alice-2', version: 1 })];
      await registry.reload();
      expect(await registry.userState('alice')).toMatchObject({ userId: 'id-alice-2' });
    });

    it('asks again for names it had found unknown before the reload', async () => {
      await registry.userState('ghost');
      await registry.reload();
      await registry.userState('ghost');
      expect(lookups).toEqual(['ghost', 'ghost']);
    });
  });

  it('never brings back a deleted account from a late database read', async () => {
    registry.applyUserState(state({ userId: 'id-erin', username: 'erin', version: 3, deleted: true }));
    registry.applyUserState(state({ userId: 'id-frank', username: 'erin', version: 1 }));
    registry.applyUserState(state({ userId: 'id-frank', username: 'erin', version: 2, deleted: true }));
    expect(await registry.userState('erin')).toBeNull();
  });
});
