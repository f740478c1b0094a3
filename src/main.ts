import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { ContractHttpAdapter } from './common/http-server';
import { ConfigError, loadConfig } from './config/app-config';
import { DataDirLockedError } from './database/embedded-database';
import { Logger } from '@nestjs/common';
import { installGracefulShutdown } from './graceful-shutdown';
import cluster from 'node:cluster';
import { answerMetricsAsksFromNow, runPrimary, workerCount } from './web-concurrency';

async function bootstrap(): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const { config, warnings } = loaded;
  let workers = 1;
  try {
    workers = cluster.isPrimary ? workerCount(process.env, config) : 1;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(78);
  }
  if (workers > 1) return runPrimary(workers, config);
  answerMetricsAsksFromNow();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), new ContractHttpAdapter(), { bufferLogs: true, bodyParser: false });
  configureApp(app);
  const logger = new Logger('Main');
  for (const warning of warnings) logger.warn(warning);
  installGracefulShutdown(app);
  await app.listen(config.port, config.host);
  logger.log(`AuroraSOC API listening on http://${config.host}:${config.port}`);
}

bootstrap().catch((error: Error) => {
  const message = error instanceof DataDirLockedError ? error.message : `failed to start: ${error.message}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
