import { HttpStatus } from '@nestjs/common';
import { RetryLaterException } from '../common/retry-later.exception';
import type { LoginFailureCounter, LockStatus } from './login-failure-counter';
import { MAX_CHECKS_IN_FLIGHT_PER_ACCOUNT, PasswordGuessLimiter, type GuessRefusal } from './password-guess-limiter';

/** Never locked unless told; counts nothing the tests look at. */
class OpenCounter {
  locked = false;
  reserve(): Promise<LockStatus> {
    return Promise.resolve(this.locked ? { locked: true, retryAfterSeconds: 42 } : { locked: false, retryAfterSeconds: 0 });
  }
  release(): Promise<void> {
    return Promise.resolve();
  }
  reset(): Promise<void> {
    return Promise.resolve();
  }
}

/** A check that runs until the test lets it finish. */
function heldCheck() {
  let finish!: (right: boolean) => void;
  const result = new Promise<boolean>((resolve) => (finish = resolve));
  return { check: () => result, finish };
}

describe('PasswordGuessLimiter: checks in flight and what its refusals say', () => {
  let counter: OpenCounter;
  let limiter: PasswordGuessLimiter;
  let refusals: GuessRefusal[];
  const refused = (why: GuessRefusal) => refusals.push(why);

  beforeEach(() => {
    counter = new OpenCounter();
    limiter = new PasswordGuessLimiter(counter as unknown as LoginFailureCounter);
    refusals = [];
  });

  it('frees one slot when one of the running checks ends, not every slot', async () => {
    expect(MAX_CHECKS_IN_FLIGHT_PER_ACCOUNT).toBe(2);
    const first = heldCheck();
    const second = heldCheck();
    const running = [limiter.attempt('alice', first.check, refused), limiter.attempt('alice', second.check, refused)];
    first.finish(false);
    await running[0];
    const third = heldCheck();
    const alsoRunning = limiter.attempt('alice', third.check, refused);
    // The second and third are running: a fourth is one too many.
    const error = await limiter.attempt('alice', () => Promise.resolve(true), refused).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryLaterException);
    expect(refusals).toEqual(['concurrent_attempts']);
    second.finish(false);
    third.finish(false);
    await Promise.all([running[1], alsoRunning]);
  });

  it('says what to do when checks of the account are already running: retry in a moment (Retry-After 1)', async () => {
    const held = [heldCheck(), heldCheck()];
    const running = held.map(({ check }) => limiter.attempt('alice', check, refused));
    const error = (await limiter.attempt('alice', () => Promise.resolve(true), refused).catch((e: unknown) => e)) as RetryLaterException;
    expect(error.getStatus()).toBe(HttpStatus.TOO_MANY_REQUESTS);
    expect(error.retryAfterSeconds).toBe(1);
    expect(error.message).toMatch(/running.*retry/);
    for (const { finish } of held) finish(false);
    await Promise.all(running);
  });

  it('says what to do past the failure limit: retry later', async () => {
    counter.locked = true;
    const error = (await limiter.attempt('alice', () => Promise.resolve(true), refused).catch((e: unknown) => e)) as RetryLaterException;
    expect(error.message).toMatch(/too many failed attempts.*retry later/);
  });

  it('reports server_busy only for a 503, not for another refusal the check raised', async () => {
    const tooMany = new RetryLaterException('slow down', 5, HttpStatus.TOO_MANY_REQUESTS);
    await expect(limiter.attempt('alice', () => Promise.reject(tooMany), refused)).rejects.toBe(tooMany);
    expect(refusals).toEqual([]);
  });
});
