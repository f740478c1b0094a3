import { InProcessEventBus } from '../database/event-bus';
import { EnrolledUsers } from './enrolled-users';
import type { MfaRepository } from './mfa.repository';

/** A promise and the hand that settles it: to finish reads in the order a test chooses. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('EnrolledUsers (who has a second factor, in memory)', () => {
  let bus: InProcessEventBus;
  let repository: { usersWithFactors: jest.Mock; hasFactor: jest.Mock };
  let enrolled: EnrolledUsers;

  beforeEach(async () => {
    bus = new InProcessEventBus();
    repository = { usersWithFactors: jest.fn(() => Promise.resolve(['u-1'])), hasFactor: jest.fn(() => Promise.resolve(true)) };
    enrolled = new EnrolledUsers(repository as unknown as MfaRepository, bus);
    await enrolled.onModuleInit();
  });
  afterEach(() => enrolled.onApplicationShutdown());

  it('knows at start who has a factor, without a query per question', () => {
    expect(enrolled.has('u-1')).toBe(true);
    expect(enrolled.has('u-2')).toBe(false);
    expect(repository.hasFactor).not.toHaveBeenCalled();
  });

  it('reads a user again on news from the bus (another instance enrolled or removed a factor)', async () => {
    repository.hasFactor.mockResolvedValueOnce(false);
    await bus.publish({ type: 'mfa.changed', userId: 'u-1' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(enrolled.has('u-1')).toBe(false);
  });

  it('counts a user as having a factor while their factors cannot be read after news of a change, and reads again until it works', async () => {
    jest.useFakeTimers();
    try {
      repository.hasFactor.mockRejectedValueOnce(new Error('connection lost')).mockRejectedValueOnce(new Error('connection lost')).mockResolvedValueOnce(false);
      expect(enrolled.has('u-2')).toBe(false);
      await bus.publish({ type: 'mfa.changed', userId: 'u-2' });
      await jest.advanceTimersByTimeAsync(0);
      // Step-up is asked rather than skipped while the instance does not know.
      expect(enrolled.has('u-2')).toBe(true);
      await jest.advanceTimersByTimeAsync(1000);
      expect(repository.hasFactor).toHaveBeenCalledTimes(2);
      expect(enrolled.has('u-2')).toBe(true);
      await jest.advanceTimersByTimeAsync(2000);
      expect(repository.hasFactor).toHaveBeenCalledTimes(3);
      expect(enrolled.has('u-2')).toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });

  it('has the change read here before changed() returns (the answer to an enrolment must hold at once)', async () => {
    await enrolled.changed('u-3');
    expect(enrolled.has('u-3')).toBe(true);
  });

  it('ignores an older read that finishes after a newer one', async () => {
    const older = deferred<boolean>();
    const newer = deferred<boolean>();
    repository.hasFactor.mockReturnValueOnce(older.promise).mockReturnValueOnce(newer.promise);
    const first = enrolled.refresh('u-4');
    const second = enrolled.refresh('u-4');
    newer.resolve(false);
    await second;
    older.resolve(true);
    await first;
    expect(enrolled.has('u-4')).toBe(false);
  });

  it('keeps a user read again while a full reload was running', async () => {
    const load = deferred<string[]>();
    repository.usersWithFactors.mockReturnValueOnce(load.promise);
    const reloading = enrolled.reload();
    await enrolled.refresh('u-5');
    load.resolve(['u-1']);
    await reloading;
    expect(enrolled.has('u-5')).toBe(true);
  });
});
