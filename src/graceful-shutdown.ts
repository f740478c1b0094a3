import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AlertsGateway } from './alerts/alerts.gateway';
import { AuditGateway } from './audit/audit.gateway';
import { ShutdownState } from './health/shutdown-state';
import type { LiveSocketHub } from './realtime/live-socket-hub';

/** In-flight requests get this long to finish before their connections are cut. */
const DRAIN_TIMEOUT_MS = 8000;

/**
 * SIGTERM (or SIGINT): /readyz turns 503, WebSockets close with 1001, the server stops accepting
 * and lets requests in flight finish, then the app's shutdown hooks run and the process exits 0.
 */
export function installGracefulShutdown(app: NestExpressApplication): void {
  const logger = new Logger('Shutdown');
  let started = false;
  const shutdown = async (signal: string) => {
    if (started) return;
    started = true;
    logger.log(`${signal} received: draining`);
    app.get(ShutdownState).begin();
    const hubs: LiveSocketHub[] = [app.get(AlertsGateway, { strict: false }), app.get(AuditGateway, { strict: false })];
    for (const hub of hubs) hub.closeAll();
    const server = app.getHttpServer() as Server;
    const drained = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
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
