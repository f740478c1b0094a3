import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from './audit/audit.module';
import { isRole, ROLES } from './access/permissions';
import { ConfigError, loadConfig, type AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { PasswordHasher } from './users/password-hasher';
import { passwordProblem } from './users/password-policy';
import { User } from './users/user.entity';
import { UserLifecycle } from './users/user-lifecycle';
import { UsersRepository } from './users/users.repository';
import { UsersService } from './users/users.service';

const USAGE = `usage: npm run cli -- create-user --username NAME --role ${ROLES.join('|')}   (password on stdin)`;

@Module({})
class CliModule {
  static forRoot(config: AppConfig) {
    return {
      module: CliModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, AuditModule, TypeOrmModule.forFeature([User])],
      providers: [UsersRepository, UsersService, UserLifecycle, PasswordHasher],
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

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'create-user') return createUser(args);
  fail(USAGE);
}

main().catch((error: Error) => fail(`failed: ${error.message}`));
