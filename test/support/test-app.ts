import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { ContractHttpAdapter, type HttpTimeouts } from '../../src/common/http-server';
import { loadConfig } from '../../src/config/app-config';
import { createTestDatabase, postgresServerUrl, TestDatabase } from './test-database';

export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnop';
export const ALLOWED_ORIGIN = 'http://console.test';
export const ADMIN = { username: 'admin@test.local', password: 'admin-password-123' };

export interface TestApp {
  app: NestExpressApplication;
  baseUrl: string;
  wsUrl: string;
  close(): Promise<void>;
}

/**
 * Boots the real application through app.setup.ts, on env.PORT if given (a browser test must know
 * its origin in advance), else on a random port. The database is the one given, else a fresh
 * PostgreSQL database when DATABASE_URL is set, else a fresh embedded one. The HTTP timeouts are
 * the contract's unless a test of them passes shorter ones.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  database?: { url?: string; dataDir?: string },
  options: { timeouts?: HttpTimeouts } = {},
): Promise<TestApp> {
  const dataDir = database?.dataDir ?? mkdtempSync(path.join(tmpdir(), 'aurora-test-'));
  const { config } = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET_KEY: TEST_SECRET,
    AURORA_ADMIN_USERNAME: ADMIN.username,
    AURORA_ADMIN_PASSWORD: ADMIN.password,
    DATA_DIR: dataDir,
    METRICS_PORT: '0',
    ALLOWED_ORIGINS: ALLOWED_ORIGIN,
    ...(database?.url ? { DATABASE_URL: database.url } : {}),
    ...env,
  });
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), new ContractHttpAdapter(options.timeouts), {
    bodyParser: false,
    bufferLogs: true,
  });
  configureApp(app);
  try {
    await app.listen(env.PORT ? Number(env.PORT) : 0, '127.0.0.1');
  } catch (error) {
    await app.close();
    throw error;
  }
  const port = (app.getHttpServer().address() as { port: number }).port;
  return {
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    async close() {
      await app.close();
      if (!database?.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One database for a test file: PostgreSQL when DATABASE_URL is set, else embedded in a temp dir. */
export async function databaseForFile(): Promise<{ url?: string; dataDir?: string; drop(): Promise<void> }> {
  if (postgresServerUrl()) {
    const db: TestDatabase = await createTestDatabase();
    return { url: db.url, drop: () => db.drop() };
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'aurora-embedded-'));
  return { dataDir, drop: () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })) };
}
