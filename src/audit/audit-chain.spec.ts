import { createHash } from 'node:crypto';
import { canonicalAuditJson, ChainChecker, chainHash, type ChainedFields, ZERO_HASH } from './audit-chain';

const event = (seq: number, overrides: Partial<ChainedFields> = {}): ChainedFields => ({
  seq,
  type: 'auth.login',
  outcome: 'failure',
  actor: 'alice@aurora.local',
  ip: '203.0.113.7',
  user_agent: 'curl/8',
  reason: 'wrong_password',
  request_id: `r-${seq}`,
  created_at: '2026-12-01T23:40:00.123Z',
  ...overrides,
});

/** A chain of n events from a start position, hashed as the contract says. */
function chain(n: number, start = { seq: 0, hash: ZERO_HASH }): Array<ChainedFields & { hash: string }> {
  const events: Array<ChainedFields & { hash: string }> = [];
  let previous = start.hash;
  for (let seq = start.seq + 1; seq <= start.seq + n; seq++) {
    const fields = event(seq, { reason: `r${seq}` });
    previous = chainHash(previous, fields);
    events.push({ ...fields, hash: previous });
  }
  return events;
}

describe('canonicalAuditJson', () => {
  it('holds exactly the nine fields, keys sorted, no spaces, seq a number, nulls kept', () => {
    const text = canonicalAuditJson({ ...event(7, { ip: null, user_agent: null }), ...({ id: '99', hash: 'x' } as object) });
    expect(text).toBe(
      '{"actor":"alice@aurora.local","created_at":"2026-12-01T23:40:00.123Z","ip":null,"outcome":"failure","reason":"wrong_password","request_id":"r-7","seq":7,"type":"auth.login","user_agent":null}',
    );
    const keys = Object.keys(JSON.parse(text) as object);
    expect(keys).toEqual([...keys].sort());
  });

  it('escapes as JSON does (quotes, backslashes, escaped controls) and keeps other characters as they are', () => {
    const text = canonicalAuditJson(event(1, { actor: 'a"b\\c', reason: 'x\\u202ey Zoë 東京 \u{1F600}' }));
    expect(text).toContain('"actor":"a\\"b\\\\c"');
    expect(text).toContain('"reason":"x\\\\u202ey Zoë 東京 \u{1F600}"');
  });
});

describe('chainHash', () => {
  it('is the lowercase hex SHA-256 of the previous hash followed by the canonical JSON, in UTF-8', () => {
    const fields = event(1, { actor: 'Zoë' });
    const expected = createHash('sha256')
      .update(Buffer.from(ZERO_HASH + canonicalAuditJson(fields), 'utf8'))
      .digest('hex');
    expect(chainHash(ZERO_HASH, fields)).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with any hashed field and with the previous hash', () => {
    const base = chainHash(ZERO_HASH, event(1));
    for (const change of [
      { seq: 2 },
      { type: 'auth.logout' },
      { outcome: 'success' },
      { actor: null },
      { ip: '::1' },
      { user_agent: 'x' },
      { reason: null },
      { request_id: null },
      { created_at: '2026-12-01T23:40:00.124Z' },
    ]) {
      expect(chainHash(ZERO_HASH, event(1, change))).not.toBe(base);
    }
    expect(chainHash('1'.repeat(64), event(1))).not.toBe(base);
  });
});

describe('ChainChecker', () => {
  it('accepts an intact chain and counts every event', () => {
    const checker = new ChainChecker({ seq: 0, hash: ZERO_HASH });
    const events = chain(50);
    for (const e of events) expect(checker.check(e)).toBe(true);
    checker.finish({ seq: 50, hash: events[49].hash });
    expect(checker).toMatchObject({ ok: true, checked: 50, firstBadSeq: null });
  });

  it('starts from a checkpoint (the last deleted event)', () => {
    const all = chain(20);
    const checker = new ChainChecker({ seq: 10, hash: all[9].hash });
    for (const e of all.slice(10)) checker.check(e);
    checker.finish({ seq: 20, hash: all[19].hash });
    expect(checker.ok).toBe(true);
    expect(checker.checked).toBe(10);
  });

  it('names a changed event by its seq', () => {
    const events = chain(10);
    events[4] = { ...events[4], reason: 'edited' };
    const checker = new ChainChecker({ seq: 0, hash: ZERO_HASH });
    for (const e of events) checker.check(e);
    expect(checker.firstBadSeq).toBe(5);
  });

  it('names a removed event by its seq (the gap)', () => {
    const events = chain(10).filter((e) => e.seq !== 7);
    const checker = new ChainChecker({ seq: 0, hash: ZERO_HASH });
    for (const e of events) checker.check(e);
    expect(checker.firstBadSeq).toBe(7);
  });

  it('names removed events at the end by the head the database records', () => {
    const events = chain(10);
    const checker = new ChainChecker({ seq: 0, hash: ZERO_HASH });
    for (const e of events.slice(0, 8)) checker.check(e);
    checker.finish({ seq: 10, hash: events[9].hash });
    expect(checker.firstBadSeq).toBe(9);
  });

  it('names an event whose hash was recomputed after a change at the next event', () => {
    const events = chain(10);
    const edited = { ...events[2], reason: 'edited' };
    events[2] = { ...edited, hash: chainHash(events[1].hash, edited) };
    const checker = new ChainChecker({ seq: 0, hash: ZERO_HASH });
    for (const e of events) checker.check(e);
    expect(checker.firstBadSeq).toBe(4);
  });
});
