import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { MoreThan, Raw, Repository } from 'typeorm';
import { EventBus } from '../database/event-bus';
import { User } from '../users/user.entity';
import type { Role } from './permissions';
import { RevokedToken } from './revoked-token.entity';

export interface UserState {
  userId: string;
  username: string;
  role: Role;
  disabled: boolean;
  /** Epoch second: tokens issued earlier are dead. */
  tokensValidAfter: number;
  deleted: boolean;
}

const PRUNE_INTERVAL_MS = 60_000;
const MAX_UNKNOWN_SUBJECTS = 10_000;
const UNKNOWN_SUBJECT_TTL_MS = 5_000;

function userKey(username: string): string {
  return username.toLowerCase();
}

/**
 * What the JWT hot path needs, held in memory: each user's state and the denied token ids. Loaded
 * at start, kept current by the event bus (every instance within a second), reloaded after the bus
 * reconnects. A JWT request therefore makes no database query once warm.
 */
@Injectable()
export class SessionRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SessionRegistry.name);
  private users = new Map<string, UserState>();
  private deniedTokens = new Map<string, number>();
  private readonly unknownSubjects = new Map<string, number>();
  private pruneTimer?: NodeJS.Timeout;
  private unsubscribe: Array<() => void> = [];

  constructor(
    @InjectRepository(User) private readonly userRepository: Repository<User>,
    @InjectRepository(RevokedToken) private readonly revokedTokens: Repository<RevokedToken>,
    private readonly bus: EventBus,
  ) {}

  async onModuleInit(): Promise<void> {
    this.unsubscribe = [
      this.bus.on('user.changed', (event) => this.applyUserState(event)),
      this.bus.on('token.revoked', (event) => this.deniedTokens.set(event.jti, event.expiresAt)),
      this.bus.onResync(() => void this.reload().catch((error) => this.logger.warn(`resync failed: ${error.message}`))),
    ];
    await this.reload();
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.pruneTimer);
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  async reload(): Promise<void> {
    const [users, revoked] = await Promise.all([
      this.userRepository.find(),
      this.revokedTokens.find({ where: { expiresAt: MoreThan(new Date()) } }),
    ]);
    this.users = new Map(users.map((user) => [userKey(user.username), SessionRegistry.stateOf(user)]));
    this.deniedTokens = new Map(revoked.map((token) => [token.jti, Math.floor(token.expiresAt.getTime() / 1000)]));
    this.unknownSubjects.clear();
  }

  static stateOf(user: User, deleted = false): UserState {
    return {
      userId: user.id,
      username: user.username,
      role: user.role,
      disabled: user.disabled,
      tokensValidAfter: user.tokensValidAfter,
      deleted,
    };
  }

  applyUserState(state: UserState): void {
    this.users.set(userKey(state.username), {
      userId: state.userId,
      username: state.username,
      role: state.role,
      disabled: state.disabled,
      tokensValidAfter: state.tokensValidAfter,
      deleted: state.deleted,
    });
    this.unknownSubjects.delete(userKey(state.username));
  }

  /** The user's state: from memory, or once from the database for a user this instance missed. */
  async userState(username: string): Promise<UserState | null> {
    const key = userKey(username);
    const known = this.users.get(key);
    if (known) return known.deleted ? null : known;
    const missedAt = this.unknownSubjects.get(key);
    if (missedAt !== undefined && Date.now() - missedAt < UNKNOWN_SUBJECT_TTL_MS) return null;
    const user = await this.userRepository.findOne({ where: { username: Raw((column) => `lower(${column}) = :key`, { key }) } });
    if (!user) {
      if (this.unknownSubjects.size >= MAX_UNKNOWN_SUBJECTS) this.unknownSubjects.clear();
      this.unknownSubjects.set(key, Date.now());
      return null;
    }
    const state = SessionRegistry.stateOf(user);
    this.users.set(key, state);
    return state;
  }

  isTokenDenied(jti: string): boolean {
    return this.deniedTokens.has(jti);
  }

  /** Denies a token id until it expires, here at once and on every instance via the bus. */
  async denyToken(jti: string, expiresAt: number): Promise<void> {
    await this.revokedTokens.upsert({ jti, expiresAt: new Date(expiresAt * 1000) }, ['jti']);
    await this.bus.publish({ type: 'token.revoked', jti, expiresAt });
  }

  private async prune(): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    for (const [jti, expiresAt] of this.deniedTokens) if (expiresAt <= now) this.deniedTokens.delete(jti);
    try {
      await this.revokedTokens.delete({ expiresAt: Raw((column) => `${column} <= now()`) });
    } catch (error) {
      this.logger.warn(`could not prune revoked tokens: ${(error as Error).message}`);
    }
  }
}
