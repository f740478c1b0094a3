import { randomBytes } from 'node:crypto';
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
