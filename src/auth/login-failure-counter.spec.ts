import type { RedisConnection } from '../common/redis.provider';
import type { AppConfig } from '../config/app-config';
import { LoginFailureCounter } from './login-failure-counter';

const LIMIT = 3;
const WINDOW_MS = 15 * 60_000;
const T0 = 1_700_000_000_000;

/**
 * Redis as far as the counter uses it, with Redis's semantics: INCR creates a count at 1, PEXPIRE
 * with NX sets a lifetime only where none is set, PTTL answers -1 for a key without one, DEL
 * removes, and the release script decrements a positive count that exists (its stated rule).
 */
class FakeRedis {
  readonly counts = new Map<string, { value: number; expiresAt: number | null }>();
  failStep: number | null = null;
  now = T0;

  private live(key: string) {
    const entry = this.counts.get(key);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= this.now) this.counts.delete(key);
    return this.counts.get(key);
  }

  multi() {
    const steps: Array<() => number> = [];
    const chain = {
      incr: (key: string) => {
        steps.push(() => {
          const entry = this.live(key) ?? { value: 0, expiresAt: null };
          entry.value++;
          this.counts.set(key, entry);
          return entry.value;
        });
        return chain;
      },
      pexpire: (key: string, ms: number, mode: string) => {
        steps.push(() => {
          const entry = this.live(key);
          if (!entry || (mode === 'NX' && entry.expiresAt !== null)) return 0;
          entry.expiresAt = this.now + ms;
          return 1;
        });
        return chain;
      },
      pttl: (key: string) => {
        steps.push(() => {
          const entry = this.live(key);
          if (!entry) return -2;
          return entry.expiresAt === null ? -1 : entry.expiresAt - this.now;
        });
        return chain;
      },
      exec: () =>
        Promise.resolve(
          steps.map((step, index): [Error | null, unknown] => (index === this.failStep ? [new Error('READONLY replica'), null] : [null, step()])),
        ),
    };
    return chain;
  }

  /** GET and PTTL queued and sent together, as lockedUntil() reads a whole list in one round trip. */
  readonly pipelines: number[] = [];
  pipeline() {
    const steps: Array<() => unknown> = [];
    const chain = {
      get: (key: string) => {
        steps.push(() => {
          const entry = this.live(key);
          return entry ? String(entry.value) : null;
        });
        return chain;
      },
      pttl: (key: string) => {
        steps.push(() => {
          const entry = this.live(key);
          if (!entry) return -2;
          return entry.expiresAt === null ? -1 : entry.expiresAt - this.now;
        });
        return chain;
      },
      exec: () => {
        this.pipelines.push(steps.length);
        return Promise.resolve(steps.map((step): [Error | null, unknown] => [null, step()]));
      },
    };
    return chain;
  }

  eval(_script: string, _keys: number, key: string): Promise<number> {
    const entry = this.live(key);
    return Promise.resolve(!entry || entry.value <= 0 ? 0 : --entry.value);
  }

  del(key: string): Promise<number> {
    return Promise.resolve(this.counts.delete(key) ? 1 : 0);
  }
}

function counterWith(redis: FakeRedis | null): LoginFailureCounter {
  return new LoginFailureCounter({ loginMaxFailuresPerUser: LIMIT } as AppConfig, { client: redis } as unknown as RedisConnection);
}

describe.each([
  ['in memory (no REDIS_URL)', false],
  ['in Redis', true],
])('LoginFailureCounter %s', (_name, withRedis) => {
  let redis: FakeRedis | null;
  let counter: LoginFailureCounter;
  let now: number;

  const at = (ms: number) => {
    now = ms;
    if (redis) redis.now = ms;
  };

  beforeEach(() => {
    redis = withRedis ? new FakeRedis() : null;
    counter = counterWith(redis);
    now = T0;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });

  afterEach(() => jest.restoreAllMocks());

  it(`answers the first ${LIMIT} attempts of a username, and locks the next for what is left of 15 minutes`, async () => {
    for (let i = 0; i < LIMIT; i++) expect(await counter.reserve('alice')).toEqual({ locked: false, retryAfterSeconds: 0 });
    expect(await counter.reserve('alice')).toEqual({ locked: true, retryAfterSeconds: WINDOW_MS / 1000 });
    at(T0 + 60_000);
    expect(await counter.reserve('alice')).toEqual({ locked: true, retryAfterSeconds: WINDOW_MS / 1000 - 60 });
  });

  it('rounds the wait up to whole seconds, and never says less than one', async () => {
    for (let i = 0; i < LIMIT; i++) await counter.reserve('alice');
    at(T0 + WINDOW_MS - 1500);
    expect(await counter.reserve('alice')).toEqual({ locked: true, retryAfterSeconds: 2 });
    at(T0 + WINDOW_MS - 1);
    expect(await counter.reserve('alice')).toEqual({ locked: true, retryAfterSeconds: 1 });
  });

  it('starts a new window 15 minutes after the first failure', async () => {
    for (let i = 0; i <= LIMIT; i++) await counter.reserve('alice');
    at(T0 + WINDOW_MS);
    expect(await counter.reserve('alice')).toEqual({ locked: false, retryAfterSeconds: 0 });
  });

  it('counts each username apart, and one username however it is cased', async () => {
    for (let i = 0; i < LIMIT; i++) await counter.reserve(['alice', 'Alice', 'ALICE'][i]);
    expect((await counter.reserve('bob')).locked).toBe(false);
    expect((await counter.reserve('aLiCe')).locked).toBe(true);
  });

  it('clears the count on reset() (a success)', async () => {
    for (let i = 0; i <= LIMIT; i++) await counter.reserve('alice');
    await counter.reset('ALICE');
    for (let i = 0; i < LIMIT; i++) expect((await counter.reserve('alice')).locked).toBe(false);
  });

  it(`says until when each listed username is locked (from its ${LIMIT}th failure, when its next attempt is refused), null for the others, in one batch`, async () => {
    for (let i = 0; i < LIMIT; i++) await counter.reserve('alice');
    for (let i = 0; i < LIMIT - 1; i++) await counter.reserve('bob');
    at(T0 + 60_000);
    const until = await counter.lockedUntil(['ALICE', 'bob', 'carol']);
    expect(until).toEqual([new Date(T0 + WINDOW_MS), null, null]);
    if (redis) expect(redis.pipelines).toEqual([6]);
    expect(await counter.lockedUntil([])).toEqual([]);
    await counter.reset('alice');
    expect(await counter.lockedUntil(['alice'])).toEqual([null]);
    for (let i = 0; i < LIMIT; i++) await counter.reserve('bob');
    at(T0 + 60_000 + WINDOW_MS);
    expect(await counter.lockedUntil(['bob'])).toEqual([null]);
  });

  if (withRedis) {
    it('lists nobody as locked, instead of failing the users list, while Redis does not answer', async () => {
      for (let i = 0; i < LIMIT; i++) await counter.reserve('alice');
      const pipeline = redis!.pipeline.bind(redis);
      redis!.pipeline = () => ({ ...pipeline(), exec: () => Promise.reject(new Error('MaxRetriesPerRequestError')) });
      await expect(counter.lockedUntil(['alice', 'bob'])).resolves.toEqual([null, null]);
      redis!.pipeline = () => ({ ...pipeline(), exec: () => Promise.resolve([[new Error('READONLY replica'), null]]) });
      await expect(counter.lockedUntil(['alice'])).resolves.toEqual([null]);
      redis!.pipeline = pipeline;
      expect((await counter.lockedUntil(['alice']))[0]).toBeInstanceOf(Date);
    });
  }

  it('takes back one reserved attempt on release(), never below zero', async () => {
    for (let i = 0; i < LIMIT; i++) await counter.reserve('alice');
    await counter.release('Alice');
    expect((await counter.reserve('alice')).locked).toBe(false);
    expect((await counter.reserve('alice')).locked).toBe(true);

    await counter.reserve('bob');
    await counter.release('bob');
    await counter.release('bob');
    for (let i = 0; i < LIMIT; i++) expect((await counter.reserve('bob')).locked).toBe(false);
    expect((await counter.reserve('bob')).locked).toBe(true);
  });
});

describe('LoginFailureCounter in Redis', () => {
  it('keeps no username in the keys it writes, only a digest shared by every casing of the name', async () => {
    const redis = new FakeRedis();
    const counter = counterWith(redis);
    await counter.reserve('Alice@Example.org');
    await counter.reserve('alice@example.org');
    expect(redis.counts.size).toBe(1);
    const [key] = redis.counts.keys();
    expect(key.toLowerCase()).not.toContain('alice');
    expect(redis.counts.get(key)?.value).toBe(2);
  });

  it('fails the attempt when a step of the count fails (a refused count must not look like zero)', async () => {
    for (const step of [0, 1, 2]) {
      const redis = new FakeRedis();
      redis.failStep = step;
      await expect(counterWith(redis).reserve('alice')).rejects.toThrow('READONLY replica');
    }
  });

  it('assumes a whole window when the count has no lifetime to report', async () => {
    const redis = new FakeRedis();
    const counter = counterWith(redis);
    // A count whose expiry was lost (PTTL -1): the lock lasts a whole window from now.
    for (let i = 0; i <= LIMIT; i++) await counter.reserve('alice');
    for (const entry of redis.counts.values()) entry.expiresAt = null;
    const multi = redis.multi.bind(redis);
    redis.multi = () => {
      const chain = multi();
      chain.pexpire = () => chain;
      return chain;
    };
    expect(await counter.reserve('alice')).toEqual({ locked: true, retryAfterSeconds: WINDOW_MS / 1000 });
  });
});

describe('LoginFailureCounter in memory', () => {
  afterEach(() => jest.restoreAllMocks());

  it('stays bounded: at 100,000 tracked usernames it drops the expired windows and keeps the live ones', async () => {
    let now = T0;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const counter = counterWith(null);
    for (let i = 0; i <= LIMIT; i++) await counter.reserve('victim');
    now = T0 + WINDOW_MS - 1000;
    for (let i = 0; i < 99_999; i++) await counter.reserve(`late-${i}`);
    now = T0 + WINDOW_MS;
    // The victim's window has ended and is pruned to make room; the live windows are kept.
    await counter.reserve('newcomer');
    for (let i = 0; i < LIMIT - 1; i++) await counter.reserve('late-0');
    expect((await counter.reserve('late-0')).locked).toBe(true);
  });
});
