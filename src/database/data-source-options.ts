import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import type { DataSourceOptions } from 'typeorm';
import type { EmbeddedDatabase } from './embedded-database';
import { ENTITIES, MIGRATIONS } from './entities';

const COMMON = {
  type: 'postgres' as const,
  entities: ENTITIES,
  migrations: MIGRATIONS,
  migrationsRun: true,
  synchronize: false,
  // PGlite lacks uuid-ossp; gen_random_uuid() is built into PostgreSQL 13+ and PGlite alike.
  uuidExtension: 'pgcrypto' as const,
  installExtensions: false,
  logging: false,
};

/** A PostgreSQL server named by DATABASE_URL. Queries give up rather than hang when it is gone. */
export function postgresOptions(databaseUrl: string): DataSourceOptions {
  return {
    ...COMMON,
    url: databaseUrl,
    poolSize: 20,
    connectTimeoutMS: 3000,
    extra: {
      max: 20,
      connectionTimeoutMillis: 3000,
      query_timeout: 4000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
    },
  };
}

/** The embedded database: one connection, through PGlite's own node-postgres adapter. */
export function embeddedOptions(embedded: EmbeddedDatabase): DataSourceOptions {
  return {
    ...COMMON,
    poolSize: 1,
    extra: { ...createPgConfig(embedded.pglite), max: 1 },
  };
}
