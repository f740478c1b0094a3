import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import { availableParallelism } from 'node:os';
import pino from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { ConfigError, type AppConfig } from './config/app-config';

/** More workers than this is a typo, not a machine. */
const MAX_WORKERS = 64;
/** A worker that dies this many times within RESTART_WINDOW_MS is not started again: the primary exits 1. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** Workers get this long to drain after SIGTERM (their own drain is 8 s) before they are killed. */
const WORKER_EXIT_TIMEOUT_MS = 15_000;

type Env = Record<string, string | undefined>;

/**
 * How many worker processes WEB_CONCURRENCY asks for: unset → 1 (no cluster), `auto` → one per
 * core, else an integer 1–64. Several workers need what lets processes share state: PostgreSQL
 * (the embedded database belongs to one process) and Redis (the login limits, the key rate limits
 * and the second-factor limits would otherwise be counted per worker, multiplying every limit).
 */
export function workerCount(env: Env, config: Pick<AppConfig, 'databaseUrl' | 'redisUrl'>): number {
  const raw = env.WEB_CONCURRENCY?.trim();
  if (raw === undefined || raw === '') return 1;
  const workers = raw.toLowerCase() === 'auto' ? availableParallelism() : /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw new ConfigError(`WEB_CONCURRENCY must be "auto" or an integer between 1 and ${MAX_WORKERS}`);
  }
  if (workers > 1 && !config.databaseUrl) {
    throw new ConfigError(
      `WEB_CONCURRENCY=${raw} needs DATABASE_URL: the embedded database can be opened by one process only (unset WEB_CONCURRENCY, or use PostgreSQL)`,
    );
  }
  if (workers > 1 && !config.redisUrl) {
    throw new ConfigError(
      `WEB_CONCURRENCY=${raw} needs REDIS_URL: without it every worker would count login attempts and API-key rate limits on its own, multiplying each limit by the number of workers`,
    );
  }
  return workers;
}

/**
 * The primary of a cluster: starts `workers` processes running this same script (each a whole
 * AuroraSOC instance; Node hands the port's connections to them in turn; the first alone until it
 * listens, so that one process runs the migrations), serves the workers'
 * metrics summed on METRICS_HOST:METRICS_PORT, restarts a worker that dies, and on SIGTERM/SIGINT
 * asks every worker to drain and exits 0 once all have.
 */
export function runPrimary(workers: number, config: Pick<AppConfig, 'metricsPort' | 'metricsHost' | 'logLevel'>): void {
  const logger = pino({ level: config.logLevel }).child({ context: 'Cluster' });
  let stopping = false;
  const deaths: number[] = [];
  const metricsServer = config.metricsPort === 0 ? null : serveClusterMetrics(config, logger);
  const fork = (): Worker => cluster.fork({ AURORA_WORKER: '1' });

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const now = Date.now();
    deaths.push(now);
    while (deaths.length > 0 && deaths[0] < now - RESTART_WINDOW_MS) deaths.shift();
    if (deaths.length > MAX_RESTARTS) {
      logger.error({ code, signal }, `${deaths.length} workers died within a minute; stopping`);
      stop(1);
      return;
    }
    logger.warn(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    fork();
  });

  const stop = (exitCode: number): void => {
    if (stopping) return;
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
    const killer = setTimeout(() => {
      for (const worker of alive) worker.process.kill('SIGKILL');
    }, WORKER_EXIT_TIMEOUT_MS);
    killer.unref();
    let running = alive.length;
    const done = (): void => {
      metricsServer?.close();
      process.exit(exitCode);
    };
    if (running === 0) return done();
    for (const worker of alive) {
      worker.once('exit', () => {
        if (--running === 0) done();
      });
      worker.process.kill('SIGTERM');
    }
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));

  logger.info(`starting ${workers} workers`);
  // The first worker alone first: it runs the migrations and creates the first admin; the rest start once it listens.
  let othersStarted = false;
  cluster.on('listening', () => {
    if (othersStarted) return;
    othersStarted = true;
    for (let i = 1; i < workers && !stopping; i++) fork();
  });
  fork();
}

/** GET /metrics of the primary: every worker's registry, summed (prom-client's cluster aggregation). */
function serveClusterMetrics(config: Pick<AppConfig, 'metricsPort' | 'metricsHost'>, logger: pino.Logger): Server {
  const registry = new AggregatorRegistry();
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry
      .clusterMetrics()
      .then((text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text))
      .catch(() => res.writeHead(503).end());
  });
  server.once('error', (error) => logger.error(`metrics listener on ${config.metricsHost}:${config.metricsPort} failed: ${error.message}`));
  server.listen(config.metricsPort, config.metricsHost);
  return server;
}

/**
 * In a worker: answer the primary's metrics asks from the start, so that a scrape while this
 * worker boots gets its (still empty) numbers rather than waiting 5 s for it and failing. The
 * MetricsServer hands over the application's registry once it exists.
 */
export function answerMetricsAsksFromNow(): void {
  if (cluster.isWorker) new AggregatorRegistry();
}
