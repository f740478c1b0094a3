import type { AppConfig } from '../config/app-config';
import { InProcessEventBus } from '../database/event-bus';
import { LiveSessions } from './live-sessions';
import type { SessionsRepository } from './sessions.repository';

const HOUR = 3_600_000;

describe('LiveSessions: step-up times', () => {
  let bus: InProcessEventBus;
  let rows: Map<string, { id: string; userId: string; expiresAt: Date; lastSeenAt: Date; endedAt: null; stepUpAt: Date | null }>;
  let live: LiveSessions;

  beforeEach(async () => {
    bus = new InProcessEventBus();
    rows = new Map();
    const repository = {
      loadLive: () => Promise.resolve([...rows.values()]),
      findById: (id: string) => Promise.resolve(rows.get(id) ?? null),
      writeLastSeen: () => Promise.resolve(),
    };
    live = new LiveSessions(repository as unknown as SessionsRepository, bus, { sessionIdleSeconds: 0 } as AppConfig);
    await live.onModuleInit();
  });
  afterEach(() => live.onApplicationShutdown());

  it('reports no step-up for a session that never verified a factor, and the time of the latest one after', async () => {
    live.add('s-1', 'u-1', Date.now() + HOUR);
    expect(await live.check('s-1')).toEqual({ live: true, userId: 'u-1' });
    await bus.publish({ type: 'session.stepped_up', sessionId: 's-1', at: 1_000 });
    await bus.publish({ type: 'session.stepped_up', sessionId: 's-1', at: 500 });
    expect(await live.check('s-1')).toEqual({ live: true, userId: 'u-1', stepUpAt: 1_000 });
  });

  it('starts a session signed in with a second factor as stepped up', async () => {
    live.add('s-2', 'u-1', Date.now() + HOUR, Date.now(), 2_000);
    expect(await live.check('s-2')).toMatchObject({ stepUpAt: 2_000 });
  });

  it('reads the step-up time with a session first seen here, and keeps one heard while it was not held yet', async () => {
    rows.set('s-3', { id: 's-3', userId: 'u-2', expiresAt: new Date(Date.now() + HOUR), lastSeenAt: new Date(), endedAt: null, stepUpAt: new Date(3_000) });
    rows.set('s-4', { id: 's-4', userId: 'u-2', expiresAt: new Date(Date.now() + HOUR), lastSeenAt: new Date(), endedAt: null, stepUpAt: null });
    // News of s-4's step-up overtook this instance's first read of it (the row read is older).
    live.steppedUp('s-4', 4_000);
    expect(await live.check('s-3')).toMatchObject({ live: true, stepUpAt: 3_000 });
    expect(await live.check('s-4')).toMatchObject({ live: true, stepUpAt: 4_000 });
  });
});
