import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { EventBus } from '../database/event-bus';
import { MfaRepository } from './mfa.repository';

/**
 * Which users have a second factor, in memory, for the one authentication decision (enrolment
 * policy, step-up) without a query per request. Loaded at start; a change of a user's factors is
 * told over the bus (`mfa.changed`) and each instance reads that user's state again; after a
 * reconnect everything is read again.
 */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

@Injectable()
export class EnrolledUsers implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(EnrolledUsers.name);
  private enrolled = new Set<string>();
  /** Per user, the number of the latest read started: an older read that ends later is ignored. */
  private readonly reads = new Map<string, number>();
  /** Reads finished since the last full load, for a load that was running meanwhile. */
  private readonly settled = new Map<string, { read: number; has: boolean }>();
  private generation = 0;
  /** Users whose factors could not be read after a change; read again until it works. */
  private readonly unread = new Set<string>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly repository: MfaRepository,
    private readonly bus: EventBus,
  ) {}

  async onModuleInit(): Promise<void> {
    this.unsubscribe = [
      this.bus.on('mfa.changed', (event) => void this.refreshUntilRead(event.userId)),
      this.bus.onResync(() => void this.reload().catch((error: Error) => this.logger.warn(`resync failed: ${error.message}`))),
    ];
    await this.reload();
  }

  onApplicationShutdown(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    for (const timer of this.retries) clearTimeout(timer);
  }

  /** True also while a user's factors could not be read since news of a change: step-up is asked rather than skipped. */
  has(userId: string): boolean {
    return this.enrolled.has(userId) || this.unread.has(userId);
  }

  /**
   * Reads a user's factors after news of a change, again and again (1 s, 2 s, … 30 s apart) until a
   * read succeeds; until then the user counts as having a factor, so a failed read cannot leave
   * this instance skipping step-up for a user who has just enrolled.
   */
  private async refreshUntilRead(userId: string, delayMs = RETRY_FIRST_MS): Promise<void> {
    try {
      await this.refresh(userId);
      this.unread.delete(userId);
    } catch (error) {
      this.unread.add(userId);
      this.logger.warn(`could not read the factors of a user (again in ${delayMs / 1000} s): ${(error as Error).message}`);
      const timer = setTimeout(() => {
        this.retries.delete(timer);
        void this.refreshUntilRead(userId, Math.min(delayMs * 2, RETRY_MAX_MS));
      }, delayMs);
      timer.unref();
      this.retries.add(timer);
    }
  }

  /** The user's factors changed here: tell every instance, and have read them here before answering. */
  async changed(userId: string): Promise<void> {
    await this.bus.publish({ type: 'mfa.changed', userId });
    // Started after the read the bus's local delivery began, so it is the one that counts here.
    await this.refresh(userId);
  }

  async refresh(userId: string): Promise<void> {
    const read = ++this.generation;
    this.reads.set(userId, read);
    const has = await this.repository.hasFactor(userId);
    if (this.reads.get(userId) !== read) return;
    this.settled.set(userId, { read, has });
    this.apply(this.enrolled, userId, has);
  }

  async reload(): Promise<void> {
    const started = ++this.generation;
    const fresh = new Set(await this.repository.usersWithFactors());
    // A user read again after this load began keeps what that read said.
    for (const [userId, { read, has }] of this.settled) if (read > started) this.apply(fresh, userId, has);
    this.settled.clear();
    this.enrolled = fresh;
    this.unread.clear();
  }

  private apply(set: Set<string>, userId: string, has: boolean): void {
    if (has) set.add(userId);
    else set.delete(userId);
  }
}
