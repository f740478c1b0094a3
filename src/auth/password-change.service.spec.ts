import { ConflictException, ForbiddenException, HttpStatus, UnauthorizedException } from '@nestjs/common';
import type { Principal } from '../access/principal';
import type { AuditInput, AuditRecorder } from '../audit/audit-recorder';
import type { ClientInfo } from '../common/client-info';
import { RetryLaterException } from '../common/retry-later.exception';
import type { SessionsService } from '../sessions/sessions.service';
import type { PasswordHasher } from '../users/password-hasher';
import type { User } from '../users/user.entity';
import type { OwnPasswordResult, UsersService } from '../users/users.service';
import type { LoginFailureCounter, LockStatus } from './login-failure-counter';
import { PasswordChangeService } from './password-change.service';
import { PasswordGuessLimiter } from './password-guess-limiter';

const CLIENT: ClientInfo = { ip: '203.0.113.7', userAgent: 'jest', requestId: 'req-1' };
const CURRENT = 'the current password';
const NEW = 'a brand new password';
const alice: Principal = {
  kind: 'user',
  sub: 'alice',
  role: 'analyst',
  permissions: ['alerts:read'],
  source: 'bearer',
  userId: 'id-alice',
  sessionId: 'sid-1',
};

/** Hashes are "hash:<password>" here, so a verification is a comparison. */
class FakeHasher {
  readonly hashed: string[] = [];
  verify(passwordHash: string, password: string): Promise<boolean> {
    return Promise.resolve(passwordHash === `hash:${password}`);
  }
  hash(password: string): Promise<string> {
    this.hashed.push(password);
    return Promise.resolve(`hash:${password}`);
  }
}

class FakeUsers {
  row: Partial<User> | null = { id: 'id-alice', username: 'alice', passwordHash: `hash:${CURRENT}` };
  result: OwnPasswordResult | null = null;
  readonly replaced: Array<[string, string, string]> = [];

  findById(): Promise<User | null> {
    return Promise.resolve(this.row as User | null);
  }

  replaceOwnPassword(id: string, verifiedHash: string, newHash: string): Promise<OwnPasswordResult> {
    this.replaced.push([id, verifiedHash, newHash]);
    return Promise.resolve(this.result ?? { ok: true, user: { ...this.row, username: 'Alice' } as User });
  }
}

class FakeCounter {
  count = 0;
  locked = false;
  resets = 0;
  reserve(): Promise<LockStatus> {
    this.count++;
    return Promise.resolve(this.locked ? { locked: true, retryAfterSeconds: 60 } : { locked: false, retryAfterSeconds: 0 });
  }
  release(): Promise<void> {
    this.count--;
    return Promise.resolve();
  }
  reset(): Promise<void> {
    this.resets++;
    this.count = 0;
    return Promise.resolve();
  }
}

describe('PasswordChangeService: a person changes their own password', () => {
  let users: FakeUsers;
  let hasher: FakeHasher;
  let counter: FakeCounter;
  let audits: AuditInput[];
  let ended: Array<[Principal, ClientInfo, string | undefined]>;
  let service: PasswordChangeService;

  beforeEach(() => {
    users = new FakeUsers();
    hasher = new FakeHasher();
    counter = new FakeCounter();
    audits = [];
    ended = [];
    const sessions = {
      endOwnOthers: (principal: Principal, client: ClientInfo, reason?: string) => {
        ended.push([principal, client, reason]);
        return Promise.resolve();
      },
    } as unknown as SessionsService;
    const audit = { record: (input: AuditInput) => audits.push(input) } as unknown as AuditRecorder;
    service = new PasswordChangeService(
      users as unknown as UsersService,
      hasher as unknown as PasswordHasher,
      new PasswordGuessLimiter(counter as unknown as LoginFailureCounter),
      sessions,
      audit,
    );
  });

  it('replaces the verified hash with the new one, audits it, and ends every other session of the caller', async () => {
    await service.changeOwnPassword(alice, CURRENT, NEW, CLIENT);
    expect(users.replaced).toEqual([['id-alice', `hash:${CURRENT}`, `hash:${NEW}`]]);
    expect(audits).toEqual([{ type: 'user.password_changed', outcome: 'success', actor: 'Alice', client: CLIENT }]);
    expect(ended).toEqual([[alice, CLIENT, 'password_changed']]);
    expect(counter.resets).toBe(1);
  });

  it('refuses an API key with 403: keys have no password', async () => {
    const key: Principal = { kind: 'api_key', sub: 'siem', role: 'api_service', permissions: ['alerts:read'], source: 'api_key', userId: 'id-alice' };
    await expect(service.changeOwnPassword(key, CURRENT, NEW, CLIENT)).rejects.toThrow(/API keys have no password/);
    await expect(service.changeOwnPassword({ ...alice, userId: undefined }, CURRENT, NEW, CLIENT)).rejects.toBeInstanceOf(ForbiddenException);
    expect(users.replaced).toEqual([]);
    expect(counter.count).toBe(0);
  });

  it('answers a wrong current password with 403 (the caller is authenticated), counts it, audits it, and changes nothing', async () => {
    const error = await service.changeOwnPassword(alice, 'a wrong guess', NEW, CLIENT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenException);
    expect((error as ForbiddenException).getStatus()).toBe(403);
    expect((error as ForbiddenException).message).toMatch(/current password/);
    expect(counter.count).toBe(1);
    expect(users.replaced).toEqual([]);
    expect(hasher.hashed).toEqual([]);
    expect(ended).toEqual([]);
    expect(audits).toEqual([{ type: 'user.password_changed', outcome: 'failure', actor: 'alice', reason: 'wrong_current_password', client: CLIENT }]);
  });

  it('treats an account that vanished before the check like a wrong password', async () => {
    users.row = null;
    await expect(service.changeOwnPassword(alice, CURRENT, NEW, CLIENT)).rejects.toBeInstanceOf(ForbiddenException);
    expect(users.replaced).toEqual([]);
  });

  it('answers 429 past the per-username failure limit it shares with logins, audited as such, without checking', async () => {
    counter.locked = true;
    const error = await service.changeOwnPassword(alice, CURRENT, NEW, CLIENT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryLaterException);
    expect((error as RetryLaterException).getStatus()).toBe(HttpStatus.TOO_MANY_REQUESTS);
    expect(audits).toEqual([{ type: 'user.password_changed', outcome: 'failure', actor: 'alice', reason: 'too_many_failures', client: CLIENT }]);
    expect(users.replaced).toEqual([]);
  });

  it('answers 401 when the account was deleted or disabled meanwhile, audited, ending no session', async () => {
    users.result = { ok: false, why: 'account_gone' };
    await expect(service.changeOwnPassword(alice, CURRENT, NEW, CLIENT)).rejects.toBeInstanceOf(UnauthorizedException);
    await expect(service.changeOwnPassword(alice, CURRENT, NEW, CLIENT)).rejects.toThrow(/no longer exists or is disabled/);
    expect(audits.at(-1)).toEqual({ type: 'user.password_changed', outcome: 'failure', actor: 'alice', reason: 'account_gone', client: CLIENT });
    expect(ended).toEqual([]);
  });

  it('answers 409 when the password was changed by another request meanwhile, audited, ending no session', async () => {
    users.result = { ok: false, why: 'changed_meanwhile' };
    await expect(service.changeOwnPassword(alice, CURRENT, NEW, CLIENT)).rejects.toBeInstanceOf(ConflictException);
    await expect(service.changeOwnPassword(alice, CURRENT, NEW, CLIENT)).rejects.toThrow(/changed by another request.*sign in with the new one/);
    expect(audits.at(-1)).toEqual({ type: 'user.password_changed', outcome: 'failure', actor: 'alice', reason: 'changed_meanwhile', client: CLIENT });
    expect(ended).toEqual([]);
  });

  it('never puts a password or a hash in the audit trail', async () => {
    await service.changeOwnPassword(alice, 'a wrong guess', NEW, CLIENT).catch(() => undefined);
    await service.changeOwnPassword(alice, CURRENT, NEW, CLIENT);
    const trail = JSON.stringify(audits);
    for (const secret of [CURRENT, NEW, 'a wrong guess']) expect(trail).not.toContain(secret);
  });
});
