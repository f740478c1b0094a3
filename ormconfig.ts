import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { postgresOptions } from './src/database/data-source-options';
import { Alert } from './src/alerts/alert.entity';
import { ApiKey } from './src/api-keys/api-key.entity';
import { ApiKeyGraceSecret } from './src/api-keys/api-key-grace-secret.entity';
import { AuditEvent } from './src/audit/audit-event.entity';
import { Session } from './src/sessions/session.entity';
import { User } from './src/users/user.entity';

/**
 * The DataSource of the TypeORM CLI (npm run migration:run / migration:generate). It needs a
 * PostgreSQL server; the embedded database runs the same migrations itself at start-up. The app
 * itself finds its entities through the feature modules (autoLoadEntities); the CLI has no
 * modules, so they are listed here, at the root, where importing every feature is no cycle.
 */
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  throw new Error('DATABASE_URL must name a PostgreSQL server for the migration commands');
}

const { autoLoadEntities: _fromModules, ...options } = postgresOptions(databaseUrl);

export default new DataSource({
  ...options,
  entities: [User, Session, AuditEvent, ApiKey, ApiKeyGraceSecret, Alert],
  migrationsRun: false,
});
