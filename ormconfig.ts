import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { postgresOptions } from './src/database/data-source-options';

/**
 * The DataSource of the TypeORM CLI (npm run migration:run / migration:generate). It needs a
 * PostgreSQL server; the embedded database runs the same migrations itself at start-up.
 */
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  throw new Error('DATABASE_URL must name a PostgreSQL server for the migration commands');
}

export default new DataSource({ ...postgresOptions(databaseUrl), migrationsRun: false });
