import { describeSuppressed, FailureFloodLimiter, OTHER_KINDS } from './failure-flood-limiter';

const MINUTE = 60_000;
const JWT = 'auth.jwt/bad_signature';
const KEY = 'auth.api_key/unknown_api_key';

function limiterAt(start = 1_000, options: { maxAddresses?: number; maxKinds?: number } = {}) {
  const clock = { now: start };
  const limiter = new FailureFloodLimiter({ clock: () => clock.now, ...options });
  return { clock, limiter };
}

/** Admits `count` failures of one kind; returns how many were to be recorded one by one. */
function send(limiter: FailureFloodLimiter, ip: string, kind: string, count: number): number {
  let admitted = 0;
  for (let i = 0; i < count; i++) if (limiter.admit(ip, kind)) admitted++;
  return admitted;
}

describe('FailureFloodLimiter', () => {
  it('lets the first 60 failures of an address through and suppresses the 61st', () => {
    const { limiter } = limiterAt();
    expect(send(limiter, '10.0.0.1', JWT, 60)).toBe(60);
    expect(limiter.admit('10.0.0.1', JWT)).toBe(false);
    expect(limiter.admit('10.0.0.1', KEY)).toBe(false);
  });

  it('summarises nothing while the window lasts, then one summary with the counts per kind, most frequent first', () => {
    const { clock, limiter } = limiterAt();
    send(limiter, '10.0.0.1', JWT, 60);
    send(limiter, '10.0.0.1', KEY, 40);
    send(limiter, '10.0.0.1', JWT, 1900);
    clock.now += MINUTE - 1;
    expect(limiter.expire()).toEqual([]);
    clock.now += 1;
    expect(limiter.expire()).toEqual([
      {
        ip: '10.0.0.1',
        count: 1940,
        kinds: [
          [JWT, 1900],
          [KEY, 40],
        ],
        windowMs: MINUTE,
      },
    ]);
    expect(limiter.expire()).toEqual([]);
    expect(limiter.trackedAddresses).toBe(0);
  });

  it('opens a fresh window after the summary: the address may write 60 again', () => {
    const { clock, limiter } = limiterAt();
    send(limiter, '10.0.0.1', JWT, 100);
    clock.now += MINUTE;
    expect(limiter.expire()).toHaveLength(1);
    expect(send(limiter, '10.0.0.1', JWT, 61)).toBe(60);
  });

  it('summarises an ended window that admit() meets before expire() did, losing no count', () => {
    const { clock, limiter } = limiterAt();
    send(limiter, '10.0.0.1', JWT, 65);
    clock.now += MINUTE;
    expect(limiter.admit('10.0.0.1', KEY)).toBe(true);
    expect(limiter.expire()).toEqual([{ ip: '10.0.0.1', count: 5, kinds: [[JWT, 5]], windowMs: MINUTE }]);
  });

  it('gives no summary for a window that suppressed nothing', () => {
    const { clock, limiter } = limiterAt();
    send(limiter, '10.0.0.1', JWT, 60);
    clock.now += MINUTE;
    expect(limiter.expire()).toEqual([]);
    expect(limiter.trackedAddresses).toBe(0);
  });

  it('counts each address on its own', () => {
    const { clock, limiter } = limiterAt();
    send(limiter, '10.0.0.1', JWT, 70);
    clock.now += 30_000;
    expect(send(limiter, '10.0.0.2', KEY, 60)).toBe(60);
    expect(send(limiter, '10.0.0.2', KEY, 3)).toBe(0);
    clock.now += 30_000;
    // The first address's window ends; the second's, opened 30 s later, does not yet.
    expect(limiter.expire()).toEqual([{ ip: '10.0.0.1', count: 10, kinds: [[JWT, 10]], windowMs: MINUTE }]);
    clock.now += 30_000;
    expect(limiter.expire()).toEqual([{ ip: '10.0.0.2', count: 3, kinds: [[KEY, 3]], windowMs: MINUTE }]);
  });

  it('never tracks more than maxAddresses: the failures of further addresses share one bucket and one summary', () => {
    const { clock, limiter } = limiterAt(1_000, { maxAddresses: 3 });
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) send(limiter, ip, JWT, 1);
    let admitted = 0;
    for (let i = 0; i < 1000; i++) if (limiter.admit(`10.1.${i >> 8}.${i & 255}`, KEY)) admitted++;
    expect(limiter.trackedAddresses).toBe(3);
    expect(admitted).toBe(60);
    clock.now += MINUTE;
    expect(limiter.expire()).toEqual([{ ip: null, count: 940, kinds: [[KEY, 940]], windowMs: MINUTE }]);
    // Once the tracked windows have ended there is room again.
    expect(limiter.trackedAddresses).toBe(0);
    expect(limiter.admit('10.9.9.9', JWT)).toBe(true);
    expect(limiter.trackedAddresses).toBe(1);
  });

  it('counts at most maxKinds kinds per address, the rest as other kinds', () => {
    const { clock, limiter } = limiterAt(1_000, { maxKinds: 2 });
    send(limiter, '10.0.0.1', JWT, 60);
    send(limiter, '10.0.0.1', JWT, 5);
    send(limiter, '10.0.0.1', KEY, 4);
    for (let i = 0; i < 50; i++) limiter.admit('10.0.0.1', `auth.jwt/reason-${i}`);
    send(limiter, '10.0.0.1', KEY, 1);
    clock.now += MINUTE;
    expect(limiter.expire()).toEqual([
      {
        ip: '10.0.0.1',
        count: 60,
        kinds: [
          [OTHER_KINDS, 50],
          [JWT, 5],
          [KEY, 5],
        ],
        windowMs: MINUTE,
      },
    ]);
  });

  it('hands out every pending summary on drain, before any window has ended', () => {
    const { limiter } = limiterAt(1_000, { maxAddresses: 1 });
    send(limiter, '10.0.0.1', JWT, 62);
    send(limiter, '10.0.0.2', KEY, 61);
    expect(limiter.drain()).toEqual([
      { ip: '10.0.0.1', count: 2, kinds: [[JWT, 2]], windowMs: MINUTE },
      { ip: null, count: 1, kinds: [[KEY, 1]], windowMs: MINUTE },
    ]);
    expect(limiter.drain()).toEqual([]);
    expect(limiter.trackedAddresses).toBe(0);
  });
});

describe('describeSuppressed', () => {
  it('says how many and of which kinds, most frequent first', () => {
    expect(
      describeSuppressed(
        {
          ip: '10.0.0.1',
          count: 1940,
          kinds: [
            [JWT, 1900],
            [KEY, 40],
          ],
          windowMs: MINUTE,
        },
        200,
      ),
    ).toBe('1940 more failures from this address in one minute: auth.jwt/bad_signature ×1900, auth.api_key/unknown_api_key ×40');
    expect(describeSuppressed({ ip: null, count: 3, kinds: [[KEY, 3]], windowMs: 5_000 }, 200)).toBe(
      '3 more failures from addresses beyond the tracked limit in 5 seconds: auth.api_key/unknown_api_key ×3',
    );
  });

  it('fits the column: the least frequent kinds give way to an ellipsis', () => {
    const kinds: Array<[string, number]> = Array.from({ length: 12 }, (_, i) => [`auth.jwt/reason-number-${i}`, 100 - i]);
    const text = describeSuppressed({ ip: '10.0.0.1', count: 1134, kinds, windowMs: MINUTE }, 200);
    expect(text.length).toBeLessThanOrEqual(200);
    expect(text).toMatch(/^1134 more failures from this address in one minute: auth\.jwt\/reason-number-0 ×100, auth\.jwt\/reason-number-1 ×99, .* …$/);
    expect(text).not.toContain('reason-number-11');
  });
});
