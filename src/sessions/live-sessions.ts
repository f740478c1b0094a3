import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { EventBus } from '../database/event-bus';
import { SessionsRepository } from './sessions.repository';

/** last_seen_at is written at most this often per session (and idleness judged with this slack). */
export const LAST_SEEN_FLUSH_MS = 60_000;
/** Bound on ended session ids remembered (each until its session would have expired). */
const MAX_ENDED = 200_000;
/** Bound on step-ups remembered for sessions not loaded yet (rare: a step-up racing the first read). */
const MAX_EARLY_STEP_UPS = 10_000;

interface LiveSession {
  userId: string;
  /** Epoch ms. */
  expiresAt: number;
  lastSeen: number;
  /** Epoch ms of the last second factor verified in the session; 0: none. */
  stepUpAt: number;
}

/** What this instance knows of a token's session. */
export type SessionCheck = { live: true; userId: string; stepUpAt?: number } | { live: false; why: 'ended' | 'expired' | 'idle' };

/** A session that ended, or everything (after a resync). */
export type SessionNews = { kind: 'session'; sessionId: string } | { kind: 'resync' };

/**
 * The live sessions this instance needs, in memory: loaded at start, kept current by the bus
 * (`session.ended` from any instance), reloaded after a reconnect. A warm request checks its
 * session here without a query; a session first seen here (created on another instance) is read
 * from the database once. Last-seen times are kept here and written in batches.
 */
@Injectable()
export class LiveSessions implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(LiveSessions.name);
  private live = new Map<string, LiveSession>();
  private readonly ended = new Map<string, number>();
  /** Step-ups heard of for sessions not held here yet (a load may be running): applied when they are. */
  private readonly earlyStepUps = new Map<string, number>();
  private readonly seenSinceFlush = new Set<string>();
  private readonly listeners = new Set<(news: SessionNews) => void>();
  private readonly idleMs: number;
  private timer?: NodeJS.Timeout;
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly repository: SessionsRepository,
    private readonly bus: EventBus,
    config: AppConfig,
  ) {
    this.idleMs = config.sessionIdleSeconds * 1000;
  }

  get size(): number {
    return this.live.size;
  }

  async onModuleInit(): Promise<void> {
    this.unsubscribe = [
      this.bus.on('session.ended', (event) => this.forget(event.sessions)),
      this.bus.on('session.stepped_up', (event) => this.steppedUp(event.sessionId, event.at)),
      this.bus.onResync(
        () =>
          void this.reload().then(
            () => this.tell({ kind: 'resync' }),
            (error: Error) => this.logger.warn(`resync failed: ${error.message}`),
          ),
      ),
    ];
    await this.reload();
    this.timer = setInterval(
      () => void this.flush().catch((error: Error) => this.logger.warn(`could not write last-seen times: ${error.message}`)),
      LAST_SEEN_FLUSH_MS,
    );
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    await this.flush().catch(() => undefined);
  }

  async reload(): Promise<void> {
    const rows = await this.repository.loadLive();
    const fresh = new Map<string, LiveSession>();
    for (const row of rows) {
      if (this.ended.has(row.id)) continue;
      const known = this.live.get(row.id);
      fresh.set(row.id, {
        userId: row.userId,
        expiresAt: row.expiresAt.getTime(),
        lastSeen: Math.max(known?.lastSeen ?? 0, row.lastSeenAt.getTime()),
        stepUpAt: Math.max(known?.stepUpAt ?? 0, row.stepUpAt?.getTime() ?? 0, this.earlyStepUps.get(row.id) ?? 0),
      });
    }
    this.live = fresh;
  }

  /** A session this instance has just created. */
  add(id: string, userId: string, expiresAt: number, now = Date.now(), stepUpAt = 0): void {
    this.live.set(id, { userId, expiresAt, lastSeen: now, stepUpAt });
  }

  /**
   * A second factor was verified in the session (here, or on another instance: news over the bus).
   * A session not held here reads its step-up time with its row when it is first used.
   */
  steppedUp(id: string, at: number): void {
    const session = this.live.get(id);
    if (session) {
      if (at > session.stepUpAt) session.stepUpAt = at;
      return;
    }
    if (this.earlyStepUps.size >= MAX_EARLY_STEP_UPS) this.earlyStepUps.clear();
    this.earlyStepUps.set(id, Math.max(at, this.earlyStepUps.get(id) ?? 0));
  }

  /**
   * The state of a token's session. Idleness is judged with the database's last-seen as well,
   * since another instance may have served the session; that time lags by up to a flush, so a
   * session counts as idle only after SESSION_IDLE_MINUTES plus that lag.
   */
  async check(id: string, now = Date.now()): Promise<SessionCheck> {
    let session = this.live.get(id);
    if (!session) {
      if (this.ended.has(id)) return { live: false, why: 'ended' };
      session = await this.loadOne(id);
      if (!session) return { live: false, why: 'ended' };
    }
    if (session.expiresAt <= now) {
      this.live.delete(id);
      return { live: false, why: 'expired' };
    }
    if (this.idleMs > 0 && now - session.lastSeen > this.idleMs + LAST_SEEN_FLUSH_MS) {
      const row = await this.repository.findById(id);
      if (row) session.lastSeen = Math.max(session.lastSeen, row.lastSeenAt.getTime());
      if (now - session.lastSeen > this.idleMs + LAST_SEEN_FLUSH_MS) return { live: false, why: 'idle' };
    }
    return session.stepUpAt > 0 ? { live: true, userId: session.userId, stepUpAt: session.stepUpAt } : { live: true, userId: session.userId };
  }

  /** A request used the session: remembered now, written with the next batch. */
  touch(id: string, now = Date.now()): void {
    const session = this.live.get(id);
    if (!session) return;
    session.lastSeen = now;
    this.seenSinceFlush.add(id);
  }

  /** Sessions that ended (here or on another instance): their tokens are refused from now on. */
  forget(sessions: ReadonlyArray<{ id: string; expiresAt: number }>): void {
    for (const { id, expiresAt } of sessions) {
      this.live.delete(id);
      this.seenSinceFlush.delete(id);
      if (this.ended.size >= MAX_ENDED) this.pruneEnded(Date.now());
      this.ended.set(id, expiresAt);
      this.tell({ kind: 'session', sessionId: id });
    }
  }

  onNews(listener: (news: SessionNews) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes the last-seen times gathered since the previous batch. */
  async flush(): Promise<void> {
    this.pruneEnded(Date.now());
    if (this.seenSinceFlush.size === 0) return;
    const batch: Array<[string, Date]> = [];
    for (const id of this.seenSinceFlush) {
      const session = this.live.get(id);
      if (session) batch.push([id, new Date(session.lastSeen)]);
    }
    this.seenSinceFlush.clear();
    await this.repository.writeLastSeen(batch);
  }

  private async loadOne(id: string): Promise<LiveSession | undefined> {
    const row = await this.repository.findById(id);
    // An end that arrived while the row was read wins over what the row said.
    if (this.ended.has(id)) return undefined;
    if (!row || row.endedAt) {
      this.ended.set(id, row ? row.expiresAt.getTime() : Date.now() + LAST_SEEN_FLUSH_MS);
      return undefined;
    }
    const stepUpAt = Math.max(row.stepUpAt?.getTime() ?? 0, this.earlyStepUps.get(id) ?? 0);
    this.earlyStepUps.delete(id);
    const session = { userId: row.userId, expiresAt: row.expiresAt.getTime(), lastSeen: row.lastSeenAt.getTime(), stepUpAt };
    this.live.set(id, session);
    return session;
  }

  private pruneEnded(now: number): void {
    for (const [id, until] of this.ended) if (until <= now) this.ended.delete(id);
    if (this.ended.size >= MAX_ENDED) this.ended.clear();
  }

  private tell(news: SessionNews): void {
    for (const listener of this.listeners) listener(news);
  }
}
