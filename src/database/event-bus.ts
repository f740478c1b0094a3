import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Role } from '../access/permissions';

/** What instances tell each other. Payloads hold ids and state, never a secret. */
export type BusEvent =
  | {
      type: 'user.changed';
      userId: string;
      username: string;
      role: Role;
      disabled: boolean;
      tokensValidAfter: number;
      /** The row's version: an instance ignores news older than what it holds. */
      version: number;
      deleted: boolean;
    }
  | { type: 'session.ended'; sessions: Array<{ id: string; expiresAt: number }> }
  /** A second factor was verified in the session at `at` (epoch ms): step-up holds on every instance. */
  | { type: 'session.stepped_up'; sessionId: string; at: number }
  /** The user's second factors changed (enrolled or removed): instances read which they have now. */
  | { type: 'mfa.changed'; userId: string }
  | { type: 'api_key.revoked'; keyId: string; keyHashes: string[] }
  | { type: 'api_key.changed'; keyId: string }
  | { type: 'alert.created' | 'alert.updated'; alertId: string; alert?: unknown }
  | { type: 'audit.recorded'; event: unknown };

export type BusEventType = BusEvent['type'];
type Handler<T extends BusEventType> = (event: Extract<BusEvent, { type: T }>) => void;

/**
 * One bus between instances (docs/architecture.md): PostgreSQL LISTEN/NOTIFY when there is a server,
 * in-process on the embedded database. An event is delivered to this process at once and to the
 * others as soon as PostgreSQL passes it on. After a reconnect the bus asks subscribers to resync,
 * because notifications sent while it was disconnected are lost.
 */
export abstract class EventBus {
  protected readonly logger = new Logger('EventBus');
  private readonly handlers = new Map<BusEventType, Set<(event: BusEvent) => void>>();
  private readonly resyncHandlers = new Set<() => void>();
  private readonly connectionHandlers = new Set<(connected: boolean) => void>();
  readonly instanceId = randomUUID();
  reconnects = 0;

  abstract get connected(): boolean;
  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;
  protected abstract send(event: BusEvent): Promise<void>;

  on<T extends BusEventType>(type: T, handler: Handler<T>): () => void {
    const set = this.handlers.get(type) ?? new Set();
    set.add(handler as (event: BusEvent) => void);
    this.handlers.set(type, set);
    return () => set.delete(handler as (event: BusEvent) => void);
  }

  onResync(handler: () => void): () => void {
    this.resyncHandlers.add(handler);
    return () => this.resyncHandlers.delete(handler);
  }

  onConnectionChange(handler: (connected: boolean) => void): () => void {
    this.connectionHandlers.add(handler);
    return () => this.connectionHandlers.delete(handler);
  }

  /** Delivers locally at once, then to every other instance. Never throws. */
  async publish(event: BusEvent): Promise<void> {
    this.deliver(event);
    try {
      await this.send(event);
    } catch (error) {
      this.logger.warn(`could not publish ${event.type} to other instances: ${(error as Error).message}`);
    }
  }

  protected deliver(event: BusEvent): void {
    for (const handler of this.handlers.get(event.type) ?? []) {
      try {
        handler(event);
      } catch (error) {
        this.logger.error(`a ${event.type} subscriber failed: ${(error as Error).message}`);
      }
    }
  }

  protected announceResync(): void {
    for (const handler of this.resyncHandlers) {
      try {
        handler();
      } catch (error) {
        this.logger.error(`a resync subscriber failed: ${(error as Error).message}`);
      }
    }
  }

  protected announceConnection(connected: boolean): void {
    for (const handler of this.connectionHandlers) handler(connected);
  }
}

/** The embedded database serves one process, so the bus stays inside it. */
export class InProcessEventBus extends EventBus {
  get connected(): boolean {
    return true;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  protected async send(): Promise<void> {}
}
