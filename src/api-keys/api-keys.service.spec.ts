import { BadRequestException, ConflictException, ForbiddenException, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import type { Permission } from '../access/permissions';
import type { Principal } from '../access/principal';
import type { AuditInput, AuditRecorder } from '../audit/audit-recorder';
import type { ClientInfo } from '../common/client-info';
import type { AppConfig } from '../config/app-config';
import { InProcessEventBus, type BusEvent } from '../database/event-bus';
import { ApiKey } from './api-key.entity';
import { ApiKeyCache } from './api-key-cache';
import { generateApiKey, hashApiKey, hasValidApiKeyFormat } from './api-key-format';
import type { ApiKeysRepository, KeyBySecret, KeyWrites } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import type { KeyUsageRecorder } from './key-usage-recorder';

const T0 = 1_900_000_000_000;
const DAY_MS = 86_400_000;
const CLIENT: ClientInfo = { ip: '203.0.113.7', userAgent: 'jest', requestId: 'req-1' };
const ADMIN: Principal = {
  kind: 'user',
  sub: 'root',
  role: 'admin',
  permissions: ['users:manage', 'alerts:read', 'alerts:write', 'audit:read'],
  source: 'bearer',
};

function creatorWith(permissions: Permission[]): Principal {
  return { kind: 'user', sub: 'someone', role: 'viewer', permissions, source: 'bearer' };
}

function copyOf(key: ApiKey): ApiKey {
  return Object.assign(new ApiKey(), key);
}

/** A key with one flipped character in its checksum: the right shape, a wrong checksum. */
function withBadChecksum(rawKey: string): string {
  const last = rawKey.at(-1) === 'A' ? 'B' : 'A';
  return rawKey.slice(0, -1) + last;
}

/** The statements of one locked-key transaction, over the fake repository's rows. */
class FakeKeyWrites {
  readonly key: ApiKey;

  constructor(
    private readonly repo: FakeKeysRepository,
    private readonly stored: ApiKey,
  ) {
    this.key = copyOf(stored);
  }

  graceHashes = jest.fn((): Promise<string[]> => {
    return Promise.resolve([...this.repo.graceSecrets].filter(([, grace]) => grace.keyId === this.stored.id).map(([hash]) => hash));
  });

  revoke = jest.fn((at: Date): Promise<void> => {
    this.stored.revokedAt = at;
    for (const [hash, grace] of this.repo.graceSecrets) if (grace.keyId === this.stored.id) this.repo.graceSecrets.delete(hash);
    return Promise.resolve();
  });

  replaceSecret = jest.fn((newHash: string, graceUntil: Date | null): Promise<void> => {
    for (const [hash, grace] of this.repo.graceSecrets) {
      if (grace.keyId === this.stored.id && grace.validUntil.getTime() <= Date.now()) this.repo.graceSecrets.delete(hash);
    }
    if (graceUntil) this.repo.graceSecrets.set(this.stored.keyHash, { keyId: this.stored.id, validUntil: graceUntil });
    this.stored.keyHash = newHash;
    return Promise.resolve();
  });
}

/**
 * api_keys and api_key_grace_secrets in memory. A lookup reads the rows when it starts, like a
 * query; holdLookups() keeps its answer from arriving until released.
 */
class FakeKeysRepository {
  readonly keys = new Map<string, ApiKey>();
  readonly graceSecrets = new Map<string, { keyId: string; validUntil: Date }>();
  readonly writes: FakeKeyWrites[] = [];
  private holding = false;
  private readonly held: Array<() => void> = [];
  private inserted = 0;

  /** Stores a key and answers its raw secret. */
  addKey(fields: Partial<ApiKey> = {}): string {
    const rawKey = generateApiKey();
    const key = Object.assign(new ApiKey(), {
      id: 'k1',
      serviceName: 'siem',
      keyPrefix: 'ak_000000000001',
      keyHash: hashApiKey(rawKey),
      permissions: ['alerts:read'],
      createdBy: 'root',
      createdAt: new Date(T0 - DAY_MS),
      expiresAt: new Date(T0 + 30 * DAY_MS),
      lastUsedAt: null,
      revokedAt: null,
      allowedIps: [],
      rateLimitLimit: null,
      rateLimitWindowSeconds: null,
      lastIp: null,
      ...fields,
    });
    this.keys.set(key.id, key);
    return rawKey;
  }

  /** Stores a rotated-out secret of a key and answers it. */
  addGraceSecret(keyId: string, validUntil: number): string {
    const rawKey = generateApiKey();
    this.graceSecrets.set(hashApiKey(rawKey), { keyId, validUntil: new Date(validUntil) });
    return rawKey;
  }

  /** Holds every lookup's answer from now on; the function returned releases them all. */
  holdLookups(): () => void {
    this.holding = true;
    return () => {
      this.holding = false;
      for (const release of this.held.splice(0)) release();
    };
  }

  /** Lets the oldest held lookup answer. */
  releaseOldest(): void {
    this.held.shift()!();
  }

  findBySecretHash = jest.fn(async (hash: string): Promise<KeyBySecret | null> => {
    const found = this.read(hash);
    if (this.holding) await new Promise<void>((resolve) => this.held.push(resolve));
    return found;
  });

  insert = jest.fn((fields: Partial<ApiKey>): Promise<ApiKey> => {
    this.inserted++;
    const key = Object.assign(new ApiKey(), { id: `new-${this.inserted}`, createdAt: new Date(Date.now()), lastUsedAt: null, revokedAt: null, ...fields });
    this.keys.set(key.id, key);
    return Promise.resolve(copyOf(key));
  });

  list = jest.fn((): Promise<ApiKey[]> => Promise.resolve([...this.keys.values()].map(copyOf)));

  withKeyLocked = jest.fn(async <T>(id: string, work: (writes: KeyWrites) => Promise<T>): Promise<T | null> => {
    const stored = this.keys.get(id);
    if (!stored) return null;
    const writes = new FakeKeyWrites(this, stored);
    this.writes.push(writes);
    return work(writes as unknown as KeyWrites);
  });

  private read(hash: string): KeyBySecret | null {
    for (const key of this.keys.values()) if (key.keyHash === hash) return { key: copyOf(key), graceUntil: null };
    const grace = this.graceSecrets.get(hash);
    const key = grace && this.keys.get(grace.keyId);
    return key ? { key: copyOf(key), graceUntil: new Date(grace.validUntil) } : null;
  }
}

/** The real in-process bus, with the resync a reconnect would announce. */
class TestBus extends InProcessEventBus {
  resync(): void {
    this.announceResync();
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function prefixViolation(constraint = 'api_keys_key_prefix_key'): QueryFailedError {
  return new QueryFailedError('INSERT INTO "api_keys" …', [], Object.assign(new Error('duplicate key value'), { code: '23505', constraint }));
}

describe(ApiKeysService.name, () => {
  let sut: ApiKeysService;
  let repo: FakeKeysRepository;
  let cache: ApiKeyCache;
  let bus: TestBus;
  let lastUsed: { touch: jest.Mock; flush: jest.Mock };
  let audited: AuditInput[];
  let revocations: Array<Extract<BusEvent, { type: 'api_key.revoked' }>>;
  let now: number;

  beforeEach(() => {
    now = T0;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    repo = new FakeKeysRepository();
    cache = new ApiKeyCache({ apiKeyCacheTtlSeconds: 30, apiKeyCacheMaxEntries: 100 } as AppConfig);
    bus = new TestBus();
    lastUsed = { touch: jest.fn(), flush: jest.fn(() => Promise.resolve()) };
    audited = [];
    const audit = { record: jest.fn((input: AuditInput) => void audited.push(input)) };
    revocations = [];
    bus.on('api_key.revoked', (event) => void revocations.push(event));
    sut = new ApiKeysService(repo as unknown as ApiKeysRepository, cache, lastUsed as unknown as KeyUsageRecorder, bus, audit as unknown as AuditRecorder);
    sut.onModuleInit();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('authenticate', () => {
    it('refuses a key of the wrong shape without any lookup', async () => {
      await expect(sut.authenticate('aurora_short')).resolves.toEqual({ ok: false, reason: 'malformed_api_key', method: 'api_key' });
      expect(repo.findBySecretHash).not.toHaveBeenCalled();
    });

    it('refuses a key whose checksum does not match without any lookup', async () => {
      const rawKey = repo.addKey();

      await expect(sut.authenticate(withBadChecksum(rawKey))).resolves.toEqual({ ok: false, reason: 'malformed_api_key', method: 'api_key' });
      expect(repo.findBySecretHash).not.toHaveBeenCalled();
    });

    it('accepts a live key as api_service with its own permissions and controls (its use is counted by the Authenticator)', async () => {
      const rawKey = repo.addKey({ permissions: ['alerts:read', 'alerts:write'] });

      await expect(sut.authenticate(rawKey)).resolves.toEqual({
        ok: true,
        principal: {
          kind: 'api_key',
          sub: 'siem',
          role: 'api_service',
          permissions: ['alerts:read', 'alerts:write'],
          source: 'api_key',
          keyId: 'k1',
          keyPrefix: 'ak_000000000001',
          keyHash: hashApiKey(rawKey),
          keyValidUntil: T0 + 30 * DAY_MS,
          keyAllowedIps: [],
          keyRateLimit: null,
        },
      });
      expect(repo.findBySecretHash).toHaveBeenCalledWith(hashApiKey(rawKey));
    });

    it('answers a known key from the cache the second time', async () => {
      const rawKey = repo.addKey();

      await sut.authenticate(rawKey);
      const again = await sut.authenticate(rawKey);

      expect(again.ok).toBe(true);
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(1);
    });

    it('refuses an unknown key and remembers that, so a second try costs no lookup', async () => {
      const rawKey = generateApiKey();

      await expect(sut.authenticate(rawKey)).resolves.toEqual({ ok: false, reason: 'unknown_api_key', method: 'api_key', actor: null });
      await expect(sut.authenticate(rawKey)).resolves.toEqual({ ok: false, reason: 'unknown_api_key', method: 'api_key' });
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(1);
      expect(lastUsed.touch).not.toHaveBeenCalled();
    });

    it('looks an unknown key up again once its negative entry has ended', async () => {
      const rawKey = generateApiKey();
      await sut.authenticate(rawKey);

      now = T0 + 5_000;
      await sut.authenticate(rawKey);

      expect(repo.findBySecretHash).toHaveBeenCalledTimes(2);
    });

    it("refuses a revoked key as 'api_key_revoked', naming its prefix, and does not cache the refusal", async () => {
      const rawKey = repo.addKey({ revokedAt: new Date(T0 - 1000) });

      await expect(sut.authenticate(rawKey)).resolves.toEqual({ ok: false, reason: 'api_key_revoked', method: 'api_key', actor: 'ak_000000000001' });
      await expect(sut.authenticate(rawKey)).resolves.toMatchObject({ ok: false, reason: 'api_key_revoked' });
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(2);
      expect(lastUsed.touch).not.toHaveBeenCalled();
    });

    it("refuses an expired key as 'api_key_expired', from the moment it expires", async () => {
      const rawKey = repo.addKey({ expiresAt: new Date(T0) });

      await expect(sut.authenticate(rawKey)).resolves.toEqual({ ok: false, reason: 'api_key_expired', method: 'api_key', actor: 'ak_000000000001' });
    });

    it('accepts a key until the millisecond it expires', async () => {
      const rawKey = repo.addKey({ expiresAt: new Date(T0 + 1) });

      await expect(sut.authenticate(rawKey)).resolves.toMatchObject({ ok: true, principal: { keyValidUntil: T0 + 1 } });
    });

    it('stops accepting a cached key when it expires, within the cache TTL', async () => {
      const rawKey = repo.addKey({ expiresAt: new Date(T0 + 10_000) });
      await sut.authenticate(rawKey);

      now = T0 + 10_000;

      await expect(sut.authenticate(rawKey)).resolves.toMatchObject({ ok: false, reason: 'api_key_expired' });
    });

    it('accepts a rotated-out secret within its grace, valid until the grace ends', async () => {
      repo.addKey({ expiresAt: new Date(T0 + 30 * DAY_MS) });
      const oldSecret = repo.addGraceSecret('k1', T0 + 60_000);

      await expect(sut.authenticate(oldSecret)).resolves.toMatchObject({ ok: true, principal: { keyId: 'k1', keyValidUntil: T0 + 60_000 } });
    });

    it('accepts a rotated-out secret only until the key itself expires, when that comes first', async () => {
      repo.addKey({ expiresAt: new Date(T0 + 30_000) });
      const oldSecret = repo.addGraceSecret('k1', T0 + 60_000);

      await expect(sut.authenticate(oldSecret)).resolves.toMatchObject({ ok: true, principal: { keyValidUntil: T0 + 30_000 } });
    });

    it("refuses a rotated-out secret past its grace as 'api_key_revoked'", async () => {
      repo.addKey();
      const oldSecret = repo.addGraceSecret('k1', T0);

      await expect(sut.authenticate(oldSecret)).resolves.toEqual({ ok: false, reason: 'api_key_revoked', method: 'api_key', actor: 'ak_000000000001' });
    });

    it("refuses a rotated-out secret of a key that has itself expired as 'api_key_expired'", async () => {
      repo.addKey({ expiresAt: new Date(T0) });
      const oldSecret = repo.addGraceSecret('k1', T0 + 60_000);

      await expect(sut.authenticate(oldSecret)).resolves.toMatchObject({ ok: false, reason: 'api_key_expired' });
    });

    it('shares one lookup between concurrent misses of one key', async () => {
      const rawKey = repo.addKey();
      const release = repo.holdLookups();

      const answers = [sut.authenticate(rawKey), sut.authenticate(rawKey), sut.authenticate(rawKey)];
      release();

      for (const answer of await Promise.all(answers)) expect(answer.ok).toBe(true);
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(1);
    });

    it('looks up concurrent misses of different keys separately', async () => {
      const first = repo.addKey({ id: 'k1' });
      const second = repo.addKey({ id: 'k2', keyPrefix: 'ak_000000000002' });
      const release = repo.holdLookups();

      const answers = Promise.all([sut.authenticate(first), sut.authenticate(second)]);
      release();

      expect((await answers).map((answer) => answer.ok && answer.principal.keyId)).toEqual(['k1', 'k2']);
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(2);
    });

    it('does not let a request that arrives after a revocation wait on a lookup that began before it', async () => {
      const rawKey = repo.addKey();
      const release = repo.holdLookups();
      const before = sut.authenticate(rawKey);

      repo.keys.get('k1')!.revokedAt = new Date(now);
      await bus.publish({ type: 'api_key.revoked', keyId: 'k1', keyHashes: [hashApiKey(rawKey)] });
      const after = sut.authenticate(rawKey);
      release();

      await before;
      await expect(after).resolves.toMatchObject({ ok: false, reason: 'api_key_revoked' });
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(2);
    });

    it('does not cache what a lookup that began before a revocation found', async () => {
      const rawKey = repo.addKey();
      const release = repo.holdLookups();
      const before = sut.authenticate(rawKey);

      repo.keys.get('k1')!.revokedAt = new Date(now);
      await bus.publish({ type: 'api_key.revoked', keyId: 'k1', keyHashes: [hashApiKey(rawKey)] });
      release();
      await before;

      await expect(sut.authenticate(rawKey)).resolves.toMatchObject({ ok: false, reason: 'api_key_revoked' });
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(2);
    });

    it('shares the lookup that began after a revocation even once the older lookup has ended', async () => {
      const rawKey = repo.addKey();
      const releaseAll = repo.holdLookups();
      const before = sut.authenticate(rawKey);
      repo.keys.get('k1')!.revokedAt = new Date(now);
      await bus.publish({ type: 'api_key.revoked', keyId: 'k1', keyHashes: [hashApiKey(rawKey)] });
      const after = sut.authenticate(rawKey);

      repo.releaseOldest();
      await before;
      const later = sut.authenticate(rawKey);
      releaseAll();

      await expect(after).resolves.toMatchObject({ ok: false, reason: 'api_key_revoked' });
      await expect(later).resolves.toMatchObject({ ok: false, reason: 'api_key_revoked' });
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(2);
    });

    it('forgets a cached key when another instance announces its revocation', async () => {
      const rawKey = repo.addKey();
      await sut.authenticate(rawKey);

      repo.keys.get('k1')!.revokedAt = new Date(now);
      await bus.publish({ type: 'api_key.revoked', keyId: 'k1', keyHashes: [hashApiKey(rawKey)] });

      await expect(sut.authenticate(rawKey)).resolves.toMatchObject({ ok: false, reason: 'api_key_revoked' });
    });

    it('forgets every cached key when the bus asks for a resync', async () => {
      const rawKey = repo.addKey();
      await sut.authenticate(rawKey);

      bus.resync();
      await sut.authenticate(rawKey);

      expect(repo.findBySecretHash).toHaveBeenCalledTimes(2);
    });

    it('refreshes a key used near the end of its entry with one background lookup, answering from the cache meanwhile', async () => {
      const rawKey = repo.addKey();
      await sut.authenticate(rawKey);

      now = T0 + 20_000;
      await sut.authenticate(rawKey);
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(1);

      now = T0 + 25_000;
      const release = repo.holdLookups();
      const answers = await Promise.all([sut.authenticate(rawKey), sut.authenticate(rawKey)]);
      for (const answer of answers) expect(answer.ok).toBe(true);
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(2);
      release();
      await settle();

      now = T0 + 40_000;
      await expect(sut.authenticate(rawKey)).resolves.toMatchObject({ ok: true });
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(2);
    });

    it('drops a cached key at once when its refresh finds it revoked', async () => {
      const rawKey = repo.addKey();
      await sut.authenticate(rawKey);
      repo.keys.get('k1')!.revokedAt = new Date(T0 + 1000);

      now = T0 + 25_000;
      await sut.authenticate(rawKey);
      await settle();

      now = T0 + 26_000;
      await expect(sut.authenticate(rawKey)).resolves.toMatchObject({ ok: false, reason: 'api_key_revoked' });
    });

    it('keeps answering from the cache when a background refresh fails', async () => {
      const rawKey = repo.addKey();
      await sut.authenticate(rawKey);
      repo.findBySecretHash.mockRejectedValueOnce(new Error('connection refused'));

      now = T0 + 25_000;
      await expect(sut.authenticate(rawKey)).resolves.toMatchObject({ ok: true });
      await settle();
      await expect(sut.authenticate(rawKey)).resolves.toMatchObject({ ok: true });
    });

    it('passes a failed lookup on, and looks up afresh on the next request', async () => {
      const rawKey = repo.addKey();
      repo.findBySecretHash.mockRejectedValueOnce(new Error('connection refused'));

      await expect(sut.authenticate(rawKey)).rejects.toThrow('connection refused');
      await expect(sut.authenticate(rawKey)).resolves.toMatchObject({ ok: true });
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(2);
    });
  });

  describe('validUntil', () => {
    it('answers when the secret stops working, from the database every time', async () => {
      const rawKey = repo.addKey({ expiresAt: new Date(T0 + 60_000) });
      await sut.authenticate(rawKey);

      await expect(sut.validUntil(hashApiKey(rawKey))).resolves.toBe(T0 + 60_000);
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(2);
    });

    it('answers null for a secret that no longer works', async () => {
      const rawKey = repo.addKey({ revokedAt: new Date(T0) });

      await expect(sut.validUntil(hashApiKey(rawKey))).resolves.toBeNull();
      await expect(sut.validUntil(hashApiKey(generateApiKey()))).resolves.toBeNull();
    });
  });

  describe('create', () => {
    it('stores only the hash of a well-formed new key, expiring after the days asked for', async () => {
      const issued = await sut.create({ service_name: 'siem', expires_in_days: 7, permissions: ['alerts:read'] }, ADMIN, CLIENT);

      expect(hasValidApiKeyFormat(issued.api_key)).toBe(true);
      expect(repo.insert).toHaveBeenCalledWith({
        serviceName: 'siem',
        keyHash: hashApiKey(issued.api_key),
        permissions: ['alerts:read'],
        createdBy: 'root',
        expiresAt: new Date(T0 + 7 * DAY_MS),
        // Jest's asymmetric matchers are typed any; `as unknown` keeps that out of the typed literal.
        keyPrefix: expect.stringMatching(/^ak_[0-9a-f]{12}$/) as unknown,
        allowedIps: [],
        rateLimitLimit: null,
        rateLimitWindowSeconds: null,
      });
      expect(issued).toMatchObject({ service_name: 'siem', permissions: ['alerts:read'], expires_at: new Date(T0 + 7 * DAY_MS).toISOString() });
    });

    it('expires a key after 90 days when no lifetime is asked for', async () => {
      const issued = await sut.create({ service_name: 'siem' }, ADMIN, CLIENT);

      expect(issued.expires_at).toBe(new Date(T0 + 90 * DAY_MS).toISOString());
    });

    it('gives a key without a permission list the api_service permissions its creator holds', async () => {
      await expect(sut.create({ service_name: 'a' }, ADMIN, CLIENT)).resolves.toMatchObject({ permissions: ['alerts:read', 'alerts:write'] });
      await expect(sut.create({ service_name: 'b' }, creatorWith(['alerts:read', 'audit:read']), CLIENT)).resolves.toMatchObject({
        permissions: ['alerts:read'],
      });
    });

    it('refuses users:manage with 400, naming it, and stores nothing', async () => {
      const creating = sut.create({ service_name: 'siem', permissions: ['alerts:read', 'users:manage'] }, ADMIN, CLIENT);

      await expect(creating).rejects.toBeInstanceOf(BadRequestException);
      await expect(creating).rejects.toThrow("a key's permissions must be among alerts:read, alerts:write, audit:read (not users:manage)");
      expect(repo.insert).not.toHaveBeenCalled();
    });

    it('refuses with 400, not 403, users:manage even for a creator who lacks it too', async () => {
      await expect(sut.create({ service_name: 'siem', permissions: ['users:manage'] }, creatorWith(['alerts:read']), CLIENT)).rejects.toBeInstanceOf(
        BadRequestException,
      );
    });

    it('grants audit:read to a key of a creator who holds it (a SIEM reading the audit trail)', async () => {
      const issued = await sut.create({ service_name: 'siem', permissions: ['audit:read'] }, ADMIN, CLIENT);
      expect(issued.permissions).toEqual(['audit:read']);
    });

    it('refuses audit:read with 403 to a creator who does not hold it', async () => {
      await expect(sut.create({ service_name: 'siem', permissions: ['audit:read'] }, creatorWith(['alerts:read']), CLIENT)).rejects.toBeInstanceOf(
        ForbiddenException,
      );
    });

    it('refuses with 403 a permission its creator does not hold, and stores nothing', async () => {
      const creating = sut.create({ service_name: 'siem', permissions: ['alerts:write'] }, creatorWith(['alerts:read']), CLIENT);

      await expect(creating).rejects.toBeInstanceOf(ForbiddenException);
      expect(repo.insert).not.toHaveBeenCalled();
    });

    it('grants the listed permissions once each', async () => {
      await expect(sut.create({ service_name: 'siem', permissions: ['alerts:write', 'alerts:write'] }, ADMIN, CLIENT)).resolves.toMatchObject({
        permissions: ['alerts:write'],
      });
    });

    it('tries another prefix when the prefix is taken, up to five times', async () => {
      repo.insert.mockRejectedValueOnce(prefixViolation()).mockRejectedValueOnce(prefixViolation());

      await sut.create({ service_name: 'siem' }, ADMIN, CLIENT);
      expect(repo.insert).toHaveBeenCalledTimes(3);

      repo.insert.mockReset().mockRejectedValue(prefixViolation());
      await expect(sut.create({ service_name: 'siem' }, ADMIN, CLIENT)).rejects.toBeInstanceOf(QueryFailedError);
      expect(repo.insert).toHaveBeenCalledTimes(5);
    });

    it('does not retry any other failure', async () => {
      repo.insert.mockRejectedValueOnce(prefixViolation('api_keys_key_hash_key'));

      await expect(sut.create({ service_name: 'siem' }, ADMIN, CLIENT)).rejects.toBeInstanceOf(QueryFailedError);
      expect(repo.insert).toHaveBeenCalledTimes(1);
    });

    it('caches the new key, so its first use costs no lookup', async () => {
      const issued = await sut.create({ service_name: 'siem' }, ADMIN, CLIENT);

      await expect(sut.authenticate(issued.api_key)).resolves.toMatchObject({ ok: true, principal: { keyId: issued.id, sub: 'siem' } });
      expect(repo.findBySecretHash).not.toHaveBeenCalled();
    });

    it('does not cache the new key when the cache was fenced while it was being written', async () => {
      const insert = repo.insert.getMockImplementation()!;
      repo.insert.mockImplementationOnce(async (fields: Partial<ApiKey>) => {
        const saved = await insert(fields);
        await bus.publish({ type: 'api_key.revoked', keyId: saved.id, keyHashes: [] });
        return saved;
      });

      const issued = await sut.create({ service_name: 'siem' }, ADMIN, CLIENT);

      await sut.authenticate(issued.api_key);
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(1);
    });

    it('audits api_key.created with the prefix and service, never the key', async () => {
      const issued = await sut.create({ service_name: 'siem' }, ADMIN, CLIENT);

      expect(audited).toEqual([{ type: 'api_key.created', outcome: 'success', actor: 'root', reason: `key ${issued.key_prefix} for siem`, client: CLIENT }]);
      expect(JSON.stringify(audited)).not.toContain(issued.api_key.slice(7));
    });
  });

  describe('list', () => {
    it('writes the pending last-used times before reading the keys', async () => {
      const order: string[] = [];
      lastUsed.flush.mockImplementation(() => Promise.resolve(void order.push('flush')));
      repo.list.mockImplementation(() => {
        order.push('list');
        return Promise.resolve([]);
      });

      await sut.list();

      expect(order).toEqual(['flush', 'list']);
    });
  });

  describe('rotate', () => {
    it('refuses an unknown id with 404', async () => {
      await expect(sut.rotate('nope', 0, ADMIN, CLIENT)).rejects.toThrow(new NotFoundException('no API key with this id'));
      expect(revocations).toEqual([]);
      expect(audited).toEqual([]);
    });

    it('refuses a revoked key with 409 and gives it no secret', async () => {
      repo.addKey({ revokedAt: new Date(T0 - 1000) });

      await expect(sut.rotate('k1', 0, ADMIN, CLIENT)).rejects.toThrow(new ConflictException('this API key is revoked; create a new one'));
      expect(repo.writes[0].replaceSecret).not.toHaveBeenCalled();
      expect(revocations).toEqual([]);
    });

    it('refuses an expired key with 409, from the moment it expires', async () => {
      repo.addKey({ expiresAt: new Date(T0) });

      await expect(sut.rotate('k1', 0, ADMIN, CLIENT)).rejects.toThrow(new ConflictException('this API key has expired; create a new one'));
      expect(repo.writes[0].replaceSecret).not.toHaveBeenCalled();
    });

    it('keeps the replaced secret until the grace period ends', async () => {
      const oldSecret = repo.addKey();

      const issued = await sut.rotate('k1', 60, ADMIN, CLIENT);

      expect(repo.writes[0].replaceSecret).toHaveBeenCalledWith(hashApiKey(issued.api_key), new Date(T0 + 60_000));
      await expect(sut.authenticate(oldSecret)).resolves.toMatchObject({ ok: true, principal: { keyValidUntil: T0 + 60_000 } });
    });

    it('keeps no replaced secret when the grace period is 0', async () => {
      const oldSecret = repo.addKey();

      const issued = await sut.rotate('k1', 0, ADMIN, CLIENT);

      expect(repo.writes[0].replaceSecret).toHaveBeenCalledWith(hashApiKey(issued.api_key), null);
      await expect(sut.authenticate(oldSecret)).resolves.toMatchObject({ ok: false, reason: 'unknown_api_key' });
    });

    it('answers a new well-formed secret for the same record', async () => {
      const oldSecret = repo.addKey();

      const issued = await sut.rotate('k1', 0, ADMIN, CLIENT);

      expect(hasValidApiKeyFormat(issued.api_key)).toBe(true);
      expect(issued.api_key).not.toBe(oldSecret);
      expect(issued).toMatchObject({ id: 'k1', key_prefix: 'ak_000000000001', service_name: 'siem' });
      expect(repo.keys.get('k1')!.keyHash).toBe(hashApiKey(issued.api_key));
    });

    it('evicts the replaced secret from the cache and caches the new one', async () => {
      const oldSecret = repo.addKey();
      await sut.authenticate(oldSecret);

      const issued = await sut.rotate('k1', 0, ADMIN, CLIENT);
      repo.findBySecretHash.mockClear();

      await expect(sut.authenticate(issued.api_key)).resolves.toMatchObject({ ok: true, principal: { keyId: 'k1' } });
      expect(repo.findBySecretHash).not.toHaveBeenCalled();
      await expect(sut.authenticate(oldSecret)).resolves.toMatchObject({ ok: false, reason: 'unknown_api_key' });
      expect(repo.findBySecretHash).toHaveBeenCalledTimes(1);
    });

    it('does not cache the new secret when a revocation arrived from another instance before its own commit did', async () => {
      repo.addKey();
      const write = repo.withKeyLocked.getMockImplementation()!;
      repo.withKeyLocked.mockImplementationOnce(async (id: string, work: (writes: KeyWrites) => Promise<unknown>) => {
        const result = await write(id, work);
        // The other instance's DELETE waited for our row lock, committed, and its news overtook our COMMIT's answer.
        repo.keys.get('k1')!.revokedAt = new Date(T0);
        await bus.publish({ type: 'api_key.revoked', keyId: 'k1', keyHashes: [repo.keys.get('k1')!.keyHash] });
        return result;
      });

      const issued = await sut.rotate('k1', 60, ADMIN, CLIENT);

      await expect(sut.authenticate(issued.api_key)).resolves.toMatchObject({ ok: false, reason: 'api_key_revoked' });
    });

    it('announces the replaced secret as revoked', async () => {
      const oldSecret = repo.addKey();

      await sut.rotate('k1', 60, ADMIN, CLIENT);

      expect(revocations).toEqual([{ type: 'api_key.revoked', keyId: 'k1', keyHashes: [hashApiKey(oldSecret)] }]);
    });

    it('audits api_key.rotated with the prefix and the grace, never a secret', async () => {
      repo.addKey();

      const issued = await sut.rotate('k1', 60, ADMIN, CLIENT);

      expect(audited).toEqual([{ type: 'api_key.rotated', outcome: 'success', actor: 'root', reason: 'key ak_000000000001, grace 60s', client: CLIENT }]);
      expect(JSON.stringify(audited)).not.toContain(issued.api_key.slice(7));
    });
  });

  describe('revoke', () => {
    it('refuses an unknown id with 404', async () => {
      await expect(sut.revoke('nope', ADMIN, CLIENT)).rejects.toThrow(new NotFoundException('no API key with this id'));
      expect(revocations).toEqual([]);
      expect(audited).toEqual([]);
    });

    it('revokes the key and announces its current and rotated-out secrets', async () => {
      const current = repo.addKey();
      const rotatedOut = repo.addGraceSecret('k1', T0 + 60_000);

      await sut.revoke('k1', ADMIN, CLIENT);

      expect(repo.writes[0].revoke).toHaveBeenCalledTimes(1);
      expect(repo.keys.get('k1')!.revokedAt).toBeInstanceOf(Date);
      expect(revocations).toEqual([{ type: 'api_key.revoked', keyId: 'k1', keyHashes: [hashApiKey(current), hashApiKey(rotatedOut)] }]);
    });

    it('evicts the current and the rotated-out secret from the cache', async () => {
      const current = repo.addKey();
      const rotatedOut = repo.addGraceSecret('k1', T0 + 60_000);
      await sut.authenticate(current);
      await sut.authenticate(rotatedOut);

      await sut.revoke('k1', ADMIN, CLIENT);

      await expect(sut.authenticate(current)).resolves.toMatchObject({ ok: false, reason: 'api_key_revoked' });
      await expect(sut.authenticate(rotatedOut)).resolves.toMatchObject({ ok: false });
    });

    it('leaves an already revoked key as it was, and announces it again', async () => {
      const at = new Date(T0 - 1000);
      repo.addKey({ revokedAt: at });

      await sut.revoke('k1', ADMIN, CLIENT);

      expect(repo.writes[0].revoke).not.toHaveBeenCalled();
      expect(repo.keys.get('k1')!.revokedAt).toBe(at);
      expect(revocations).toHaveLength(1);
    });

    it('audits api_key.revoked with the prefix', async () => {
      repo.addKey();

      await sut.revoke('k1', ADMIN, CLIENT);

      expect(audited).toEqual([{ type: 'api_key.revoked', outcome: 'success', actor: 'root', reason: 'key ak_000000000001', client: CLIENT }]);
    });
  });
});
