import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';

/** A PostgreSQL database created for one test file on the server DATABASE_URL names, dropped after. */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export function postgresServerUrl(): string | undefined {
  return process.env.DATABASE_URL || undefined;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = postgresServerUrl();
  if (!serverUrl) throw new Error('DATABASE_URL must name a PostgreSQL server for this test');
  const name = `aurora_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * Empties the Redis database at `url` before a file's instances start. Counters there (the login
 * limits per address, second-factor failures, detection windows) are shared by every process that
 * uses the same Redis, so a file that ran in the minute before would otherwise spend this file's
 * small limits from 127.0.0.1. The e2e files run one at a time (--runInBand).
 */
export async function emptyRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}
