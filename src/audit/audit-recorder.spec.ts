import { Logger } from '@nestjs/common';
import type { ClientInfo } from '../common/client-info';
import type { EventBus } from '../database/event-bus';
import type { AuditChainRepository } from './audit-chain.repository';
import type { AuditEvent } from './audit-event.entity';
import { AuditRecorder, sanitizeAuditText } from './audit-recorder';
import { FAILURES_SUPPRESSED, FailureFloodLimiter } from './failure-flood-limiter';

/** Keeps what is saved, with ids, as the database would, and takes a turn of the event loop to answer. */
class FakeEvents {
  readonly saved: AuditEvent[] = [];
  async append(batch: AuditEvent[]): Promise<AuditEvent[]> {
    await new Promise((resolve) => setImmediate(resolve));
    const rows: AuditEvent[] = [];
    for (const event of batch) {
      const row = { ...event, id: String(this.saved.length + 1), seq: String(this.saved.length + 1), hash: 'h' };
      this.saved.push(row);
      rows.push(row);
    }
    return rows;
  }
}

const ATTACKER: ClientInfo = { ip: '203.0.113.7', userAgent: 'flood/1.0', requestId: 'r-1' };
const OTHER: ClientInfo = { ip: '198.51.100.2', userAgent: 'curl/8', requestId: 'r-2' };

describe('AuditRecorder', () => {
  let events: FakeEvents;
  let published: unknown[];
  let logged: unknown[];
  let recorder: AuditRecorder;

  beforeEach(() => {
    // setImmediate stays real: the fake database answers on it.
    jest.useFakeTimers({ now: 1_700_000_000_000, doNotFake: ['setImmediate'] });
    events = new FakeEvents();
    published = [];
    logged = [];
    jest.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown) => void logged.push(message));
    const bus = { publish: (event: unknown) => Promise.resolve(void published.push(event)) } as unknown as EventBus;
    recorder = new AuditRecorder(events as unknown as AuditChainRepository, bus, new FailureFloodLimiter({ clock: () => Date.now() }));
    recorder.onModuleInit();
  });

  afterEach(async () => {
    await recorder.onApplicationShutdown();
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  const badToken = (client = ATTACKER) => recorder.record({ type: 'auth.jwt', outcome: 'failure', actor: null, reason: 'bad_signature', client });
  const badKey = (client = ATTACKER) => recorder.record({ type: 'auth.api_key', outcome: 'failure', actor: null, reason: 'unknown_api_key', client });
  const settle = () => recorder.flush();
  const fromAttacker = () => events.saved.filter((event) => event.ip === ATTACKER.ip);

  it('writes, logs and broadcasts the first 60 failures of an address, and none of the rest', async () => {
    for (let i = 0; i < 300; i++) badToken();
    for (let i = 0; i < 40; i++) badKey();
    await settle();
    expect(fromAttacker()).toHaveLength(60);
    expect(fromAttacker().every((event) => event.type === 'auth.jwt')).toBe(true);
    expect(logged).toHaveLength(60);
    expect(published).toHaveLength(60);
  });

  it('records one summary for the address when its window ends, naming the counts per kind', async () => {
    for (let i = 0; i < 300; i++) badToken();
    for (let i = 0; i < 40; i++) badKey();
    await settle();
    jest.advanceTimersByTime(59_000);
    await settle();
    expect(events.saved.filter((event) => event.type === FAILURES_SUPPRESSED)).toEqual([]);
    jest.advanceTimersByTime(2_000);
    await settle();
    const summaries = events.saved.filter((event) => event.type === FAILURES_SUPPRESSED);
    expect(summaries).toEqual([
      expect.objectContaining({
        outcome: 'failure',
        actor: null,
        ip: ATTACKER.ip,
        userAgent: null,
        requestId: null,
        reason: '280 more failures from this address in one minute: auth.jwt/bad_signature ×240, auth.api_key/unknown_api_key ×40',
      }),
    ]);
    expect(published).toHaveLength(61);
    // The next window starts afresh.
    badToken();
    await settle();
    expect(fromAttacker()).toHaveLength(62);
  });

  it("never suppresses successes, failures without an address, or another address's failures", async () => {
    for (let i = 0; i < 100; i++) badToken();
    for (let i = 0; i < 100; i++) recorder.record({ type: 'auth.login', outcome: 'success', actor: 'alice', client: ATTACKER });
    for (let i = 0; i < 100; i++) recorder.record({ type: 'auth.jwt', outcome: 'failure', reason: 'bad_signature', client: { ...ATTACKER, ip: null } });
    for (let i = 0; i < 100; i++) recorder.record({ type: 'user.password_changed', outcome: 'failure', reason: 'wrong current password' });
    for (let i = 0; i < 60; i++) badToken(OTHER);
    await settle();
    expect(events.saved.filter((event) => event.outcome === 'success')).toHaveLength(100);
    expect(events.saved.filter((event) => event.outcome === 'failure' && event.ip === null)).toHaveLength(200);
    expect(events.saved.filter((event) => event.ip === OTHER.ip)).toHaveLength(60);
    expect(events.saved.filter((event) => event.ip === ATTACKER.ip && event.outcome === 'failure')).toHaveLength(60);
  });

  it('writes the pending summaries on shutdown, waiting for a flush already under way', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    for (let i = 0; i < 65; i++) badKey();
    await recorder.onApplicationShutdown();
    expect(errors).not.toHaveBeenCalled();
    expect(events.saved.filter((event) => event.type === FAILURES_SUPPRESSED)).toEqual([
      expect.objectContaining({ ip: ATTACKER.ip, reason: '5 more failures from this address in one minute: auth.api_key/unknown_api_key ×5' }),
    ]);
    expect(recorder.queueDepth).toBe(0);
  });

  it('escapes bidirectional overrides in every field it stores and logs', async () => {
    recorder.record({
      type: 'auth.login',
      outcome: 'success',
      actor: 'admin\u202Egnp.exe',
      reason: 'x\u2066y',
      client: { ip: '10.0.0.1', userAgent: 'ua\u200F', requestId: 'r\u061C' },
    });
    await settle();
    expect(events.saved[0]).toEqual(
      expect.objectContaining({ actor: 'admin\\u202egnp.exe', reason: 'x\\u2066y', userAgent: 'ua\\u200f', requestId: 'r\\u061c' }),
    );
    expect(JSON.stringify(logged)).not.toMatch(/[\u202e\u2066\u200f\u061c]/);
  });
});

describe('sanitizeAuditText', () => {
  it('escapes control characters, line separators and every bidirectional mark, embedding, override and isolate', () => {
    const unsafe = [
      '\u0000',
      '\n',
      '\u001b',
      '\u007f',
      '\u0085',
      '\u2028',
      '\u2029',
      '\u061c',
      '\u200e',
      '\u200f',
      '\u202a',
      '\u202b',
      '\u202c',
      '\u202d',
      '\u202e',
      '\u2066',
      '\u2067',
      '\u2068',
      '\u2069',
    ];
    for (const char of unsafe) {
      expect(sanitizeAuditText(`a${char}b`, 200)).toBe(`a\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}b`);
    }
    expect(sanitizeAuditText('Zoë İstanbul 東京 \u{1F600}', 200)).toBe('Zoë İstanbul 東京 \u{1F600}');
    expect(sanitizeAuditText(null, 200)).toBeNull();
  });

  it('truncates to the limit without leaving half an escape or half a surrogate pair', () => {
    expect(sanitizeAuditText('abcdefghij', 5)).toBe('abcd…');
    expect(sanitizeAuditText(`abc\u202e`, 5)).toBe('abc…');
    expect(sanitizeAuditText(`ab\u202e`, 7)).toBe('ab…');
    expect(sanitizeAuditText(`abc\u{1F600}xyz`, 5)).toBe('abc…');
    for (let length = 1; length < 40; length++) {
      const text = sanitizeAuditText(`${'x'.repeat(length)}\u202e\u{1F600}\u202e`, 30)!;
      expect(text.length).toBeLessThanOrEqual(30);
      expect(text).not.toMatch(/\\(u[0-9a-f]{0,3})?…$|[\ud800-\udbff]…$/);
    }
  });
});
