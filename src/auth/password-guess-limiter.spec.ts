import { HttpStatus } from '@nestjs/common';
import { RetryLaterException } from '../common/retry-later.exception';
import type { LoginFailureCounter, LockStatus } from './login-failure-counter';
import { MAX_CHECKS_IN_FLIGHT_PER_ACCOUNT, PasswordGuessLimiter, type GuessRefusal } from './password-guess-limiter';

class FakeCounter {
  count = 0;
  resets = 0;
  releases = 0;
  constructor(private readonly limit: number) {}
  reserve(): Promise<LockStatus> {
    this.count++;
    return Promise.resolve(this.count > this.limit ? { locked: true, retryAfterSeconds: 42 } : { locked: false, retryAfterSeconds: 0 });
  }
  release(): Promise<void> {
    this.releases++;
    this.count--;
    return Promise.resolve();
  }
  reset(): Promise<void> {
    this.resets++;
    this.count = 0;
    return Promise.resolve();
  }
}

describe('PasswordGuessLimiter', () => {
  let counter: FakeCounter;
  let limiter: PasswordGuessLimiter;
  let refusals: GuessRefusal[];
  const refused = (why: GuessRefusal) => refusals.push(why);

  beforeEach(() => {
    counter = new FakeCounter(3);
    limiter = new PasswordGuessLimiter(counter as unknown as LoginFailureCounter);
    refusals = [];
  });

  it('counts a wrong secret as a failure and keeps it', async () => {
    expect(await limiter.attempt('alice', () => Promise.resolve(false), refused)).toBe(false);
    expect(counter.count).toBe(1);
    expect(counter.resets).toBe(0);
  });

  it('resets the count after a right secret', async () => {
    await limiter.attempt('alice', () => Promise.resolve(false), refused);
    expect(await limiter.attempt('alice', () => Promise.resolve(true), refused)).toBe(true);
    expect(counter.count).toBe(0);
  });

  it('refuses with 429 and Retry-After past the limit, without running the check', async () => {
    for (let i = 0; i < 3; i++) await limiter.attempt('alice', () => Promise.resolve(false), refused);
    const check = jest.fn(() => Promise.resolve(true));
    const error = await limiter.attempt('alice', check, refused).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryLaterException);
    expect((error as RetryLaterException).getStatus()).toBe(HttpStatus.TOO_MANY_REQUESTS);
    expect((error as RetryLaterException).retryAfterSeconds).toBe(42);
    expect(check).not.toHaveBeenCalled();
    expect(refusals).toEqual(['too_many_failures']);
  });

  it('does not count a check the server was too busy to make (503) against the user', async () => {
    const busy = new RetryLaterException('busy', 1, HttpStatus.SERVICE_UNAVAILABLE);
    await expect(limiter.attempt('alice', async () => Promise.reject(busy), refused)).rejects.toBe(busy);
    expect(counter.count).toBe(0);
    expect(counter.releases).toBe(1);
    expect(refusals).toEqual(['server_busy']);
  });

  it('does not count a check that failed for another reason either, and reports no refusal', async () => {
    await expect(limiter.attempt('alice', async () => Promise.reject(new Error('database down')), refused)).rejects.toThrow('database down');
    expect(counter.count).toBe(0);
    expect(refusals).toEqual([]);
  });

  it(`runs at most ${MAX_CHECKS_IN_FLIGHT_PER_ACCOUNT} checks of one account at once, however its name is cased`, async () => {
    let release!: () => void;
    const gate = new Promise<boolean>((resolve) => (release = () => resolve(false)));
    const running = Array.from({ length: MAX_CHECKS_IN_FLIGHT_PER_ACCOUNT }, () => limiter.attempt('Alice', () => gate, refused));
    const error = await limiter.attempt('ALICE', () => Promise.resolve(true), refused).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryLaterException);
    expect((error as RetryLaterException).getStatus()).toBe(HttpStatus.TOO_MANY_REQUESTS);
    expect(refusals).toEqual(['concurrent_attempts']);
    // Another account is not held up.
    expect(await limiter.attempt('bob', () => Promise.resolve(true), refused)).toBe(true);
    release();
    await Promise.all(running);
    // Once they finish, the account may be checked again.
    expect(await limiter.attempt('alice', () => Promise.resolve(true), refused)).toBe(true);
  });
});
