import type { Principal } from '../access/principal';
import type { ApiKeysService } from '../api-keys/api-keys.service';
import { InProcessEventBus } from '../database/event-bus';
import type { LiveSessions, SessionCheck, SessionNews } from '../sessions/live-sessions';
import type { SessionsService } from '../sessions/sessions.service';
import { CredentialRecheck, type CredentialNews } from './credential-recheck';
import type { RegistryNews, UserRegistry, UserState } from './user-registry';

const ISSUED = 1_700_000_000;

const alice: Principal = {
  kind: 'user',
  sub: 'alice',
  role: 'analyst',
  permissions: ['alerts:read', 'alerts:write'],
  source: 'cookie',
  userId: 'id-alice',
  sessionId: 'sid-1',
  tokenIssuedAt: ISSUED,
};
const siem: Principal = {
  kind: 'api_key',
  sub: 'siem',
  role: 'api_service',
  permissions: ['alerts:read'],
  source: 'api_key',
  keyId: 'key-1',
  keyHash: 'hash-1',
};

class FakeUsers {
  readonly states = new Map<string, UserState>();
  failing = false;
  readonly asked: string[] = [];
  listener?: (news: RegistryNews) => void;

  set(overrides: Partial<UserState> = {}): void {
    this.states.set('alice', {
      userId: 'id-alice',
      username: 'alice',
      role: 'analyst',
      disabled: false,
      tokensValidAfter: ISSUED,
      version: 1,
      deleted: false,
      ...overrides,
    });
  }

  userState(username: string): Promise<UserState | null> {
    this.asked.push(username);
    if (this.failing) return Promise.reject(new Error('connection refused'));
    return Promise.resolve(this.states.get(username) ?? null);
  }

  onNews(listener: (news: RegistryNews) => void): () => void {
    this.listener = listener;
    return () => undefined;
  }
}

class FakeSessions {
  answer: SessionCheck = { live: true, userId: 'id-alice' };
  failing = false;
  readonly checked: string[] = [];

  check(sessionId: string): Promise<SessionCheck> {
    this.checked.push(sessionId);
    if (this.failing) return Promise.reject(new Error('connection refused'));
    return Promise.resolve(this.answer);
  }
}

class FakeLiveSessions {
  listener?: (news: SessionNews) => void;
  onNews(listener: (news: SessionNews) => void): () => void {
    this.listener = listener;
    return () => undefined;
  }
}

class FakeApiKeys {
  answer: number | null = 1_800_000_000_000;
  failing = false;
  readonly asked: string[] = [];

  validUntil(hash: string): Promise<number | null> {
    this.asked.push(hash);
    if (this.failing) return Promise.reject(new Error('connection refused'));
    return Promise.resolve(this.answer);
  }
}

describe('CredentialRecheck: the validity rule for credentials held open', () => {
  let users: FakeUsers;
  let sessions: FakeSessions;
  let live: FakeLiveSessions;
  let apiKeys: FakeApiKeys;
  let bus: InProcessEventBus;
  let recheck: CredentialRecheck;

  beforeEach(() => {
    users = new FakeUsers();
    users.set();
    sessions = new FakeSessions();
    live = new FakeLiveSessions();
    apiKeys = new FakeApiKeys();
    bus = new InProcessEventBus();
    recheck = new CredentialRecheck(
      users as unknown as UserRegistry,
      sessions as unknown as SessionsService,
      live as unknown as LiveSessions,
      apiKeys as unknown as ApiKeysService,
      bus,
    );
  });

  describe('a person', () => {
    it('stays valid while the session is live and the account unchanged since the token', async () => {
      expect(await recheck.recheck(alice)).toEqual({ valid: true });
      expect(sessions.checked).toEqual(['sid-1']);
      expect(users.asked).toEqual(['alice']);
    });

    it('is no longer valid once the session ended, without asking for the account', async () => {
      sessions.answer = { live: false, why: 'ended' };
      expect(await recheck.recheck(alice)).toEqual({ valid: false });
      expect(users.asked).toEqual([]);
    });

    it('is no longer valid after a role, password or status change later than the token', async () => {
      users.set({ tokensValidAfter: ISSUED + 1 });
      expect(await recheck.recheck(alice)).toEqual({ valid: false });
    });

    it('is no longer valid once the account is disabled or gone', async () => {
      users.set({ disabled: true });
      expect(await recheck.recheck(alice)).toEqual({ valid: false });
      users.states.clear();
      expect(await recheck.recheck(alice)).toEqual({ valid: false });
    });

    it('is no longer valid when the name now belongs to another account', async () => {
      users.set({ userId: 'id-new-alice' });
      sessions.answer = { live: true, userId: 'id-new-alice' };
      expect(await recheck.recheck(alice)).toEqual({ valid: false });
    });

    it('treats a principal without an issue time as issued at the epoch: any credential change ends it', async () => {
      users.set({ tokensValidAfter: 1 });
      expect(await recheck.recheck({ ...alice, tokenIssuedAt: undefined })).toEqual({ valid: false });
    });

    it('is not valid without a session', async () => {
      expect(await recheck.recheck({ ...alice, sessionId: undefined })).toEqual({ valid: false });
      expect(sessions.checked).toEqual([]);
    });

    it('cannot tell (undefined) while the session or account store is down', async () => {
      sessions.failing = true;
      expect(await recheck.recheck(alice)).toBeUndefined();
      sessions.failing = false;
      users.failing = true;
      expect(await recheck.recheck(alice)).toBeUndefined();
    });
  });

  describe('an API key', () => {
    it('stays valid until the time its secret stops working', async () => {
      expect(await recheck.recheck(siem)).toEqual({ valid: true, keyValidUntil: 1_800_000_000_000 });
      expect(apiKeys.asked).toEqual(['hash-1']);
    });

    it('is no longer valid once revoked, expired or rotated out', async () => {
      apiKeys.answer = null;
      expect(await recheck.recheck(siem)).toEqual({ valid: false });
    });

    it('is not valid without the hash of its secret', async () => {
      expect(await recheck.recheck({ ...siem, keyHash: undefined })).toEqual({ valid: false });
      expect(apiKeys.asked).toEqual([]);
    });

    it('cannot tell (undefined) while the key store is down', async () => {
      apiKeys.failing = true;
      expect(await recheck.recheck(siem)).toBeUndefined();
    });
  });

  describe('which news concerns which credential', () => {
    it('a change of a user concerns that user only, never a key', () => {
      expect(CredentialRecheck.concerns({ kind: 'user', userId: 'id-alice' }, alice)).toBe(true);
      expect(CredentialRecheck.concerns({ kind: 'user', userId: 'id-bob' }, alice)).toBe(false);
      expect(CredentialRecheck.concerns({ kind: 'user', userId: 'id-alice' }, { ...siem, userId: 'id-alice' })).toBe(false);
    });

    it('an ended session concerns the credentials of that session', () => {
      expect(CredentialRecheck.concerns({ kind: 'session', sessionId: 'sid-1' }, alice)).toBe(true);
      expect(CredentialRecheck.concerns({ kind: 'session', sessionId: 'sid-2' }, alice)).toBe(false);
    });

    it('a revoked key concerns that key', () => {
      expect(CredentialRecheck.concerns({ kind: 'key', keyId: 'key-1' }, siem)).toBe(true);
      expect(CredentialRecheck.concerns({ kind: 'key', keyId: 'key-2' }, siem)).toBe(false);
      expect(CredentialRecheck.concerns({ kind: 'key', keyId: 'key-1' }, alice)).toBe(false);
    });

    it('a resync concerns everybody', () => {
      expect(CredentialRecheck.concerns({ kind: 'resync' }, alice)).toBe(true);
      expect(CredentialRecheck.concerns({ kind: 'resync' }, siem)).toBe(true);
    });
  });

  it('passes on the news of users, of sessions and of revoked keys to every listener until it unsubscribes', async () => {
    recheck.onModuleInit();
    const heard: CredentialNews[] = [];
    const heardToo: CredentialNews[] = [];
    const stop = recheck.onNews((news) => heard.push(news));
    recheck.onNews((news) => heardToo.push(news));
    users.listener?.({ kind: 'user', userId: 'id-alice' });
    live.listener?.({ kind: 'session', sessionId: 'sid-1' });
    await bus.publish({ type: 'api_key.revoked', keyId: 'key-1', keyHashes: ['hash-1'] });
    users.listener?.({ kind: 'resync' });
    const expected = [{ kind: 'user', userId: 'id-alice' }, { kind: 'session', sessionId: 'sid-1' }, { kind: 'key', keyId: 'key-1' }, { kind: 'resync' }];
    expect(heard).toEqual(expected);
    expect(heardToo).toEqual(expected);
    stop();
    live.listener?.({ kind: 'session', sessionId: 'sid-2' });
    expect(heard).toHaveLength(4);
    expect(heardToo).toHaveLength(5);
  });
});
