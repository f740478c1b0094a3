import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AlertsGateway } from './realtime/alerts.gateway';
import { AuditGateway } from './realtime/audit.gateway';
import { ShutdownState } from './health/shutdown-state';
import type { LiveSocketHub } from './realtime/live-socket-hub';

/** In-flight requests get this long to finish before their connections are cut. */
const DRAIN_TIMEOUT_MS = 8000;
/** After the listener closes, a connection that has not sent a request by then is closed. */
const UNUSED_CONNECTION_GRACE_MS = 1000;

/**
 * Which connections have a request in progress, and which have served one. Node's
 * closeIdleConnections() (which http.Server.close() calls) treats a connection whose request has
 * arrived but not been parsed yet (the event loop was busy when the signal came) as idle and resets
 * it, losing a request sent before the signal; so draining decides for itself.
 */
class ConnectionTracker {
  private readonly connections = new Map<Socket, { active: number; served: number }>();
  accepted = 0;

  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      this.accepted++;
      this.connections.set(socket, { active: 0, served: 0 });
      socket.once('close', () => this.connections.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const state = this.connections.get(req.socket);
      if (!state) return;
      state.active++;
      res.once('close', () => {
        state.active--;
        state.served++;
      });
    });
  }

  /** Closes connections with no request in progress: kept-alive ones, and unused ones if asked. */
  closeIdle(includeUnused: boolean): void {
    for (const [socket, state] of this.connections) {
      if (state.active === 0 && (state.served > 0 || includeUnused)) socket.destroy();
    }
  }
}

/** Runs after the event loop has read whatever the sockets hold (setImmediate follows the poll phase). */
const afterPendingReads = (work: () => void) => setImmediate(work);

/** The listener closes once no connection has arrived for this long (at most ACCEPT_WINDOW_MS). */
const ACCEPT_QUIET_MS = 50;
const ACCEPT_WINDOW_MS = 1000;

/**
 * Closing the listener resets the connections still in its backlog: clients that connected before
 * the signal, whose requests a busy event loop had not taken yet. So take connections until none
 * arrived for ACCEPT_QUIET_MS (/readyz already answers 503 and responses say Connection: close).
 */
function stopAcceptingWhenQuiet(server: Server, tracker: ConnectionTracker): Promise<void> {
  const began = Date.now();
  return new Promise((resolve) => {
    let seen = tracker.accepted;
    const check = () =>
      afterPendingReads(() => {
        if (tracker.accepted !== seen && Date.now() - began < ACCEPT_WINDOW_MS) {
          seen = tracker.accepted;
          setTimeout(check, ACCEPT_QUIET_MS);
          return;
        }
        // net.Server.close(), not http.Server.close(): see ConnectionTracker.
        NetServer.prototype.close.call(server, () => resolve());
        tracker.closeIdle(false);
        setTimeout(() => afterPendingReads(() => tracker.closeIdle(true)), UNUSED_CONNECTION_GRACE_MS).unref();
      });
    setTimeout(check, ACCEPT_QUIET_MS);
  });
}

/**
 * SIGTERM (or SIGINT): /readyz turns 503, WebSockets close with 1001, the server stops accepting
 * and lets requests in flight finish, then the app's shutdown hooks run and the process exits 0.
 */
export function installGracefulShutdown(app: NestExpressApplication): void {
  const logger = new Logger('Shutdown');
  const tracker = new ConnectionTracker(app.getHttpServer());
  let started = false;
  const shutdown = async (signal: string) => {
    if (started) return;
    started = true;
    logger.log(`${signal} received: draining`);
    app.get(ShutdownState).begin();
    const hubs: LiveSocketHub[] = [app.get(AlertsGateway, { strict: false }), app.get(AuditGateway, { strict: false })];
    for (const hub of hubs) hub.closeAll();
    const server = app.getHttpServer();
    // A request on a kept-alive connection is still answered, but the connection closes after it.
    server.prependListener('request', (_req, res) => res.setHeader('Connection', 'close'));
    afterPendingReads(() => tracker.closeIdle(false));
    const drained = stopAcceptingWhenQuiet(server, tracker);
    const timer = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS);
    await drained;
    clearTimeout(timer);
    await app.close();
    logger.log('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
