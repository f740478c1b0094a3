import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { usernameKey } from '../common/username-key';
import { EventBus } from '../database/event-bus';
import { User } from '../users/user.entity';
import type { Role } from '../access/permissions';

export interface UserState {
  userId: string;
  username: string;
  role: Role;
  disabled: boolean;
  /** Epoch second: tokens issued earlier are dead. */
  tokensValidAfter: number;
  /** The row's version; deleted states are final. */
  version: number;
  deleted: boolean;
}

/** What changed in the registry: one user's state, or everything (a resync). */
export type RegistryNews = { kind: 'user'; userId: string } | { kind: 'resync' };

const MAX_UNKNOWN_SUBJECTS = 10_000;
const UNKNOWN_SUBJECT_TTL_MS = 5_000;

/**
 * What the JWT hot path needs of users, held in memory: each user's current state. Loaded
 * at start, kept current by the event bus (every instance within a second), reloaded after the bus
 * reconnects. A JWT request therefore makes no database query once warm.
 */
@Injectable()
export class UserRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(UserRegistry.name);
  /** By username key, the newest state heard of; a deleted account stays as a tombstone. */
  private users = new Map<string, UserState>();
  /** Accounts deleted (by id): no later news brings them back. */
  private readonly deletedIds = new Set<string>();
  private readonly unknownSubjects = new Map<string, number>();
  private readonly listeners = new Set<(news: RegistryNews) => void>();
  private unsubscribe: Array<() => void> = [];

  constructor(
    @InjectRepository(User) private readonly userRepository: Repository<User>,
    private readonly bus: EventBus,
  ) {}

  async onModuleInit(): Promise<void> {
    this.unsubscribe = [
      this.bus.on('user.changed', (event) => this.applyUserState(event)),
      this.bus.onResync(
        () =>
          void this.reload().then(
            () => this.tell({ kind: 'resync' }),
            (error: Error) => this.logger.warn(`resync failed: ${error.message}`),
          ),
      ),
    ];
    await this.reload();
  }

  onApplicationShutdown(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  async reload(): Promise<void> {
    const users = await this.userRepository.find();
    const fresh = new Map(users.map((user) => [usernameKey(user.username), UserRegistry.stateOf(user)]));
    // Kept from memory: deletions (final), and states newer than the read (committed while it ran).
    for (const [key, known] of this.users) {
      const loaded = fresh.get(key);
      const newer = loaded !== undefined && loaded.userId === known.userId && known.version > loaded.version;
      if (newer || (known.deleted && (!loaded || loaded.userId === known.userId))) fresh.set(key, known);
    }
    this.users = fresh;
    this.unknownSubjects.clear();
  }

  static stateOf(user: User, deleted = false): UserState {
    return {
      userId: user.id,
      username: user.username,
      role: user.role,
      disabled: user.disabled,
      tokensValidAfter: user.tokensValidAfter,
      version: user.version,
      deleted,
    };
  }

  /**
   * Takes news of a user unless it is older than what is held: events from several writers can
   * arrive out of order, and a deletion is final whatever arrives after it.
   */
  applyUserState(state: UserState): void {
    if (this.deletedIds.has(state.userId)) return;
    const key = usernameKey(state.username);
    const known = this.users.get(key);
    if (known && known.userId === state.userId && known.version >= state.version && !state.deleted) return;
    if (state.deleted) this.deletedIds.add(state.userId);
    if (state.deleted && known && known.userId !== state.userId) return;
    this.users.set(key, {
      userId: state.userId,
      username: state.username,
      role: state.role,
      disabled: state.disabled,
      tokensValidAfter: state.tokensValidAfter,
      version: state.version,
      deleted: state.deleted,
    });
    this.unknownSubjects.delete(key);
    this.tell({ kind: 'user', userId: state.userId });
  }

  /** Told after this registry has taken news in: whoever re-checks open sockets sees the new state. */
  onNews(listener: (news: RegistryNews) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private tell(news: RegistryNews): void {
    for (const listener of this.listeners) listener(news);
  }

  /** The user's state: from memory, or once from the database for a user this instance missed. */
  async userState(username: string): Promise<UserState | null> {
    const key = usernameKey(username);
    const known = this.users.get(key);
    if (known) return known.deleted ? null : known;
    const missedAt = this.unknownSubjects.get(key);
    if (missedAt !== undefined && Date.now() - missedAt < UNKNOWN_SUBJECT_TTL_MS) return null;
    const user = await this.userRepository.findOne({ where: { usernameKey: key } });
    if (!user) {
      if (this.unknownSubjects.size >= MAX_UNKNOWN_SUBJECTS) this.unknownSubjects.clear();
      this.unknownSubjects.set(key, Date.now());
      return null;
    }
    // Through the same rule as bus news: an event that arrived during the query may be newer.
    this.applyUserState(UserRegistry.stateOf(user));
    const state = this.users.get(key);
    return state && !state.deleted ? state : null;
  }
}
