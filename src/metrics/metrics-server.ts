import cluster from 'node:cluster';
import { createServer, Server } from 'node:http';
import { AggregatorRegistry } from 'prom-client';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { MetricsService } from './metrics.service';

/**
 * Serves GET /metrics on METRICS_HOST:METRICS_PORT (0 turns it off), never on the public port.
 * The components that own numbers register their own gauges with MetricsService.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsServer.name);
  private server?: Server;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  /** Lets the gateways report their open sockets without this module depending on them. */
  registerSocketGauge(read: () => Record<string, number>): void {
    this.metrics.gauge('aurora_open_sockets', 'Open WebSockets per gateway', read, 'gateway');
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.metricsPort === 0) return;
    if (cluster.isWorker && process.env.AURORA_WORKER === '1') {
      // A worker of WEB_CONCURRENCY: the primary serves every worker's numbers, summed; this one answers its asks.
      AggregatorRegistry.setRegistries([this.metrics.registry]);
      return;
    }
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.metrics.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType }).end(text))
        .catch(() => res.writeHead(500).end());
    });
    await new Promise<void>((resolve) => {
      this.server!.once('error', (error) => {
        this.logger.error(`metrics listener on ${this.config.metricsHost}:${this.config.metricsPort} failed: ${error.message}`);
        resolve();
      });
      this.server!.listen(this.config.metricsPort, this.config.metricsHost, () => resolve());
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.server?.listening) await new Promise((resolve) => this.server!.close(resolve));
  }
}
