import 'reflect-metadata';
import { Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from './audit/audit.module';
import { AuditVerifier } from './audit/audit-verifier';
import { isRole, ROLES } from './access/permissions';
import { ConfigError, loadConfig, type AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { MetricsService } from './metrics/metrics.service';
import { PasswordHasher } from './users/password-hasher';
import { passwordProblem } from './users/password-policy';
import { User } from './users/user.entity';
import { UserLifecycle } from './users/user-lifecycle';
import { UserLockouts } from './users/user-lockouts';
import { UsersRepository } from './users/users.repository';
import { UsersService } from './users/users.service';

const USAGE = `usage: npm run cli -- create-user --username NAME --role ${ROLES.join('|')}   (password on stdin)
       npm run cli -- audit-verify [--from-seq N]   (exit 0: the audit chain is intact; 1: broken)`;

/** The registry the modules register their metrics with; no listener (MetricsModule's server) in a command. */
@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
class CliMetricsModule {}

@Module({})
class CliModule {
  static forRoot(config: AppConfig) {
    return {
      module: CliModule,
      imports: [ConfigModule.forRoot(config), CliMetricsModule, DatabaseModule, AuditModule, TypeOrmModule.forFeature([User])],
      // The CLI counts no sign-in failures: its UserLockouts has no counter attached (nobody is locked).
      providers: [UsersRepository, UsersService, UserLifecycle, UserLockouts, PasswordHasher],
    };
  }
}

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

async function createUser(args: string[]): Promise<void> {
  const username = option(args, '--username');
  const role = option(args, '--role');
  if (!username || !role) fail(USAGE);
  if (!isRole(role)) fail(`unknown role "${role}"; one of ${ROLES.join(', ')}`);
  if (process.stdin.isTTY) process.stderr.write('password (then Enter and Ctrl-D): ');
  const password = await readStdin();
  const problem = passwordProblem(password);
  if (problem) fail(problem);
  let config: AppConfig;
  try {
    config = loadConfig().config;
  } catch (error) {
    fail(error instanceof ConfigError ? error.message : String(error));
  }
  const app = await NestFactory.createApplicationContext(CliModule.forRoot(config), { logger: ['error'] });
  try {
    const users = app.get(UsersService);
    if (await users.findByUsername(username)) fail(`a user named "${username}" already exists`);
    const user = await users.createDirect(username, password, role);
    process.stdout.write(`created ${user.role} "${user.username}" (${user.id})\n`);
  } finally {
    await app.close();
  }
}

/** Recomputes the audit hash chain in the database; prints the answer as JSON, exits 1 when broken. */
async function auditVerify(args: string[]): Promise<void> {
  const fromText = option(args, '--from-seq');
  const fromSeq = fromText === undefined ? undefined : Number(fromText);
  if (fromSeq !== undefined && !(Number.isSafeInteger(fromSeq) && fromSeq >= 1)) fail('--from-seq must be a whole number from 1');
  let config: AppConfig;
  try {
    config = loadConfig().config;
  } catch (error) {
    fail(error instanceof ConfigError ? error.message : String(error));
  }
  const app = await NestFactory.createApplicationContext(CliModule.forRoot(config), { logger: ['error'] });
  let ok: boolean;
  try {
    const result = await app.get(AuditVerifier).verify(fromSeq);
    ok = result.ok;
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!ok) process.stderr.write(`the audit chain is broken at seq ${result.first_bad_seq}\n`);
  } finally {
    await app.close();
  }
  process.exit(ok ? 0 : 1);
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'create-user') return createUser(args);
  if (command === 'audit-verify') return auditVerify(args);
  fail(USAGE);
}

main().catch((error: Error) => fail(`failed: ${error.message}`));
