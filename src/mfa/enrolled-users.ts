import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { EventBus } from '../database/event-bus';
import { MfaRepository } from './mfa.repository';

/**
 * Which users have a second factor, in memory, for the one authentication decision (enrolment
 * policy, step-up) without a query per request. Loaded at start; a change of a user's factors is
 * told over the bus (`mfa.changed`) and each instance reads that user's state again; after a
 * reconnect everything is read again.
 */
@Injectable()
export class EnrolledUsers implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(EnrolledUsers.name);
  private enrolled = new Set<string>();
  /** Per user, the number of the latest read started: an older read that ends later is ignored. */
  private readonly reads = new Map<string, number>();
  /** Reads finished since the last full load, for a load that was running meanwhile. */
  private readonly settled = new Map<string, { read: number; has: boolean }>();
  private generation = 0;
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly repository: MfaRepository,
    private readonly bus: EventBus,
  ) {}

  async onModuleInit(): Promise<void> {
    this.unsubscribe = [
      this.bus.on(
        'mfa.changed',
        (event) => void this.refresh(event.userId).catch((error: Error) => this.logger.warn(`could not read factors: ${error.message}`)),
      ),
      this.bus.onResync(() => void this.reload().catch((error: Error) => this.logger.warn(`resync failed: ${error.message}`))),
    ];
    await this.reload();
  }

  onApplicationShutdown(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  has(userId: string): boolean {
    return this.enrolled.has(userId);
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
  }

  private apply(set: Set<string>, userId: string, has: boolean): void {
    if (has) set.add(userId);
    else set.delete(userId);
  }
}
