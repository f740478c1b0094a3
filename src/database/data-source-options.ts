import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import type { DataSourceOptions } from 'typeorm';
import type { EmbeddedDatabase } from './embedded-database';
import { MIGRATIONS } from './migrations';

/** TypeORM's options plus Nest's autoLoadEntities. */
export type AppDataSourceOptions = Extract<DataSourceOptions, { type: 'postgres' }> & { autoLoadEntities: boolean };

const COMMON = {
  type: 'postgres' as const,
  // Each feature module registers its own entities (TypeOrmModule.forFeature): this folder imports none.
  autoLoadEntities: true,
  migrations: MIGRATIONS,
  migrationsRun: true,
  synchronize: false,
  // PGlite lacks uuid-ossp; gen_random_uuid() is built into PostgreSQL 13+ and PGlite alike.
  uuidExtension: 'pgcrypto' as const,
  installExtensions: false,
  logging: false,
};

/** A PostgreSQL server named by DATABASE_URL. Queries give up rather than hang when it is gone. */
export function postgresOptions(databaseUrl: string): AppDataSourceOptions {
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
export function embeddedOptions(embedded: EmbeddedDatabase): AppDataSourceOptions {
  return {
    ...COMMON,
    poolSize: 1,
    extra: { ...createPgConfig(embedded.pglite), max: 1 },
  };
}
