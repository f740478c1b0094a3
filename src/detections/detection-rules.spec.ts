import { detect, type WatchedEvent } from './detection-rules';
import { MemoryWindows } from './detection-windows';

const T0 = Date.parse('2026-12-01T23:00:00.000Z');
let seq = 0;

function failedLogin(username: string, ip: string, atMs = T0, reason = 'wrong_password'): WatchedEvent {
  return { seq: ++seq, type: 'auth.login', outcome: 'failure', actor: username, ip, reason, created_at: new Date(atMs).toISOString() };
}

async function rulesFired(windows: MemoryWindows, events: WatchedEvent[]): Promise<string[][]> {
  const fired: string[][] = [];
  for (const event of events) fired.push((await detect(event, windows)).map((d) => `${d.rule}:${d.subject}`));
  return fired;
}

describe('detection rules', () => {
  let windows: MemoryWindows;
  beforeEach(() => {
    windows = new MemoryWindows();
  });

  describe('credential stuffing (10 failed sign-ins of one username from 3 addresses in 10 minutes)', () => {
    it('fires at the 10th failure once 3 addresses took part, and not at the 9th', async () => {
      const ips = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
      const events = Array.from({ length: 10 }, (_, i) => failedLogin('alice', ips[i % 3], T0 + i * 1000, i > 4 ? 'too_many_failures' : 'wrong_password'));
      const fired = await rulesFired(windows, events);
      expect(fired.slice(0, 9).flat()).toEqual([]);
      expect(fired[9]).toEqual(['credential_stuffing:alice']);
    });

    it('does not fire for 10 failures from only 2 addresses', async () => {
      const events = Array.from({ length: 12 }, (_, i) => failedLogin('bob', i % 2 ? '192.0.2.1' : '192.0.2.2', T0 + i));
      expect((await rulesFired(windows, events)).flat()).toEqual([]);
    });

    it('counts only the last 10 minutes', async () => {
      const ips = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
      const early = Array.from({ length: 5 }, (_, i) => failedLogin('carol', ips[i % 3], T0 + i));
      const late = Array.from({ length: 5 }, (_, i) => failedLogin('carol', ips[i % 3], T0 + 10 * 60_000 + 1 + i));
      expect((await rulesFired(windows, [...early, ...late])).flat()).toEqual([]);
      const fired = await rulesFired(
        windows,
        Array.from({ length: 5 }, (_, i) => failedLogin('carol', ips[i % 3], T0 + 10 * 60_000 + 100 + i)),
      );
      expect(fired.flat()).toContain('credential_stuffing:carol');
    });

    it('counts an event seen twice (by two instances) once', async () => {
      const ips = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
      const events = Array.from({ length: 9 }, (_, i) => failedLogin('dave', ips[i % 3], T0 + i));
      expect((await rulesFired(windows, [...events, ...events])).flat()).toEqual([]);
    });
  });

  describe('password spraying (one address failing sign-in for 10 usernames in 10 minutes)', () => {
    it('fires at the 10th username, not at the 9th nor for repeats of the same ones', async () => {
      const nine = Array.from({ length: 9 }, (_, i) => failedLogin(`user${i}`, '198.51.100.9', T0 + i));
      expect((await rulesFired(windows, [...nine, ...nine])).flat()).toEqual([]);
      expect(await rulesFired(windows, [failedLogin('user9', '198.51.100.9', T0 + 50)])).toEqual([['password_spraying:198.51.100.9']]);
    });

    it('does not count usernames older than 10 minutes', async () => {
      const old = Array.from({ length: 9 }, (_, i) => failedLogin(`old${i}`, '198.51.100.10', T0 + i));
      await rulesFired(windows, old);
      expect((await rulesFired(windows, [failedLogin('new', '198.51.100.10', T0 + 10 * 60_000 + 10)])).flat()).toEqual([]);
    });
  });

  describe('API keys', () => {
    const keyEvent = (reason: string, type = 'auth.api_key'): WatchedEvent => ({
      seq: ++seq,
      type,
      outcome: 'failure',
      actor: 'ak_0123456789ab',
      ip: '203.0.113.5',
      reason,
      created_at: new Date(T0).toISOString(),
    });

    it('fires at once for a key used outside its allowed_ips (HTTP or handshake)', async () => {
      expect(await rulesFired(windows, [keyEvent('ip_not_allowed'), keyEvent('ip_not_allowed', 'auth.ws_handshake')])).toEqual([
        ['api_key_ip_not_allowed:ak_0123456789ab'],
        ['api_key_ip_not_allowed:ak_0123456789ab'],
      ]);
    });

    it('fires at once for a revoked or rotated-out key, and not for an unknown or expired one', async () => {
      expect(await rulesFired(windows, [keyEvent('api_key_revoked'), keyEvent('unknown_api_key'), keyEvent('api_key_expired')])).toEqual([
        ['api_key_revoked_in_use:ak_0123456789ab'],
        [],
        [],
      ]);
    });
  });

  it('ignores successes and sign-in failures without a username or an address', async () => {
    const events: WatchedEvent[] = Array.from({ length: 20 }, (_, i) => ({ ...failedLogin(`u${i}`, `192.0.2.${i}`), outcome: 'success' }));
    events.push(...Array.from({ length: 20 }, (_, i) => ({ ...failedLogin(`u${i}`, '192.0.2.1'), actor: null })));
    events.push(...Array.from({ length: 20 }, () => ({ ...failedLogin('eve', '192.0.2.1'), ip: null })));
    expect((await rulesFired(windows, events)).flat()).toEqual([]);
  });

  it('raises alerts with the source aurorasoc-auth and no secret', async () => {
    const events = Array.from({ length: 10 }, (_, i) => failedLogin(`v${i}`, '198.51.100.77', T0 + i));
    const found = (await Promise.all(events.map((e) => detect(e, windows)))).flat();
    expect(found).toHaveLength(1);
    expect(found[0].alert).toMatchObject({ source: 'aurorasoc-auth', severity: 'high', title: 'Password spraying from 198.51.100.77' });
  });
});

describe('MemoryWindows', () => {
  it('keeps a member once, at its latest time, and forgets what left the window', async () => {
    const windows = new MemoryWindows();
    expect(await windows.add('k', 'a', 1000, 100)).toBe(1);
    expect(await windows.add('k', 'a', 1050, 100)).toBe(1);
    expect(await windows.add('k', 'b', 1100, 100)).toBe(2);
    expect(await windows.add('k', 'c', 1151, 100)).toBe(2);
    expect(await windows.add('other', 'a', 1151, 100)).toBe(1);
  });

  it('holds at most 1000 members per key', async () => {
    const windows = new MemoryWindows();
    let count = 0;
    for (let i = 0; i < 1500; i++) count = await windows.add('k', `m${i}`, 1000 + i, 1_000_000);
    expect(count).toBe(1000);
  });
});
