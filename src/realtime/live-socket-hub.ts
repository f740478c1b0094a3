import { BeforeApplicationShutdown, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { OnGatewayConnection, OnGatewayDisconnect } from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import type { Principal } from '../access/principal';
import { CredentialRecheck, type CredentialNews } from '../auth/credential-recheck';
import { EventBus } from '../database/event-bus';
import type { AuthenticatedUpgradeRequest } from './authenticating-ws-adapter';
import { CLOSE_CREDENTIAL_INVALID, CLOSE_GOING_AWAY } from './ws-routes';

const HEARTBEAT_INTERVAL_MS = 30_000;
/** setTimeout cannot wait longer than this; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long shutdown waits for clients to answer the 1001 close frame. */
const CLOSE_HANDSHAKE_WAIT_MS = 2000;

interface LiveSocket {
  socket: WebSocket;
  principal: Principal;
  alive: boolean;
  expiryTimer?: NodeJS.Timeout;
}

/**
 * What every live WebSocket endpoint shares: sockets authenticated on the handshake, closed with
 * 4401 when their credential expires or is revoked on any instance, heartbeats that drop dead
 * peers, and 1001 on shutdown. Subclasses decide what to broadcast.
 */
export abstract class LiveSocketHub implements OnGatewayConnection, OnGatewayDisconnect, OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  protected readonly logger = new Logger(this.constructor.name);
  private readonly sockets = new Map<WebSocket, LiveSocket>();
  /** Sockets sent a 1001 whose closing handshake has not ended yet. */
  private readonly goingAway = new Set<WebSocket>();
  private heartbeat?: NodeJS.Timeout;
  private unsubscribe: Array<() => void> = [];

  constructor(
    protected readonly bus: EventBus,
    private readonly credentials: CredentialRecheck,
  ) {}

  get openSockets(): number {
    return this.sockets.size;
  }

  onModuleInit(): void {
    this.unsubscribe = [this.credentials.onNews((news) => this.recheckConcerned(news))];
    this.unsubscribe.push(...(this.registerBroadcasts() ?? []));
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
  }

  /** Subscribes the hub's broadcasts to the bus. */
  protected abstract registerBroadcasts(): Array<() => void> | void;

  handleConnection(socket: WebSocket, request: AuthenticatedUpgradeRequest): void {
    const principal = request.principal;
    if (!principal) {
      socket.close(CLOSE_CREDENTIAL_INVALID, 'unauthenticated');
      return;
    }
    const live: LiveSocket = { socket, principal, alive: true };
    this.sockets.set(socket, live);
    socket.on('pong', () => (live.alive = true));
    this.scheduleExpiry(live);
  }

  handleDisconnect(socket: WebSocket): void {
    const live = this.sockets.get(socket);
    if (live) clearTimeout(live.expiryTimer);
    this.sockets.delete(socket);
  }

  /** Sends one JSON text frame to every open socket of this hub. */
  protected broadcast(message: unknown): void {
    if (this.sockets.size === 0) return;
    // Encoded once: given a string, ws would convert it to bytes again for every socket.
    const frame = Buffer.from(JSON.stringify(message));
    for (const { socket } of this.sockets.values()) {
      if (socket.readyState === socket.OPEN) socket.send(frame, { binary: false });
    }
  }

  private scheduleExpiry(live: LiveSocket): void {
    clearTimeout(live.expiryTimer);
    const until = live.principal.tokenExpiresAt !== undefined ? live.principal.tokenExpiresAt * 1000 : live.principal.keyValidUntil;
    if (until === undefined) return;
    const delay = until - Date.now();
    if (delay <= 0) {
      this.closeInvalid(live, 'credential expired');
      return;
    }
    live.expiryTimer = setTimeout(() => this.scheduleExpiry(live), Math.min(delay, MAX_TIMER_MS));
    live.expiryTimer.unref();
  }

  /**
   * Re-checks every socket the news may concern, by the validity rule every request meets: a
   * socket whose credential no longer passes closes with 4401; a key's new end is rescheduled.
   */
  private recheckConcerned(news: CredentialNews): void {
    for (const live of this.sockets.values()) {
      if (CredentialRecheck.concerns(news, live.principal)) void this.recheck(live);
    }
  }

  private async recheck(live: LiveSocket): Promise<void> {
    const verdict = await this.credentials.recheck(live.principal);
    if (verdict === undefined || !this.sockets.has(live.socket)) return;
    if (!verdict.valid) {
      this.closeInvalid(live, 'credential no longer valid');
      return;
    }
    if (verdict.keyValidUntil !== undefined && verdict.keyValidUntil !== live.principal.keyValidUntil) {
      live.principal = { ...live.principal, keyValidUntil: verdict.keyValidUntil };
      this.scheduleExpiry(live);
    }
  }

  private closeInvalid(live: LiveSocket, reason: string): void {
    clearTimeout(live.expiryTimer);
    this.sockets.delete(live.socket);
    live.socket.close(CLOSE_CREDENTIAL_INVALID, reason);
  }

  private beat(): void {
    for (const live of this.sockets.values()) {
      if (!live.alive) {
        this.sockets.delete(live.socket);
        live.socket.terminate();
        continue;
      }
      live.alive = false;
      live.socket.ping();
    }
  }

  /** Closes every socket with 1001 so clients reconnect to another instance. */
  closeAll(): void {
    for (const live of this.sockets.values()) {
      clearTimeout(live.expiryTimer);
      this.goingAway.add(live.socket);
      live.socket.once('close', () => this.goingAway.delete(live.socket));
      live.socket.close(CLOSE_GOING_AWAY, 'server shutting down');
    }
    this.sockets.clear();
  }

  /**
   * app.close() disposes the ws servers, which terminate every client, before it runs the
   * shutdown hooks: the 1001 must be sent, and answered, before that.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.closeAll();
    if (this.goingAway.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const closed = [...this.goingAway].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
    await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_HANDSHAKE_WAIT_MS)))]);
    clearTimeout(timer);
  }

  onApplicationShutdown(): void {
    clearInterval(this.heartbeat);
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.closeAll();
  }
}
