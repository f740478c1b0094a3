import { randomBytes } from 'node:crypto';
import { ConflictException, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { BOOTSTRAP_ADMIN_ROLE } from '../access/permissions';
import { AppConfig } from '../config/app-config';
import { passwordProblem } from './password-policy';
import { UsersService } from './users.service';

export const DEFAULT_ADMIN_USERNAME = 'admin@aurora.local';

/**
 * When the user table is empty at start-up: create the configured admin, or outside production
 * one with a random password that is shown once on the terminal (never in a log line).
 */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrap.name);

  constructor(
    private readonly users: UsersService,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if ((await this.users.count()) > 0) return;
    const { adminUsername, adminPassword, isProduction } = this.config;
    if (adminUsername && adminPassword) {
      const problem = passwordProblem(adminPassword);
      if (problem) throw new Error(`AURORA_ADMIN_PASSWORD is not acceptable: ${problem}`);
      if (await this.createQuietly(adminUsername, adminPassword)) this.logger.log(`created the first admin ${adminUsername}`);
      return;
    }
    if (isProduction) {
      this.logger.warn('no users exist: set AURORA_ADMIN_USERNAME and AURORA_ADMIN_PASSWORD, or run `npm run cli -- create-user`');
      return;
    }
    const password = randomBytes(18).toString('base64url');
    if (!(await this.createQuietly(DEFAULT_ADMIN_USERNAME, password))) return;
    this.logger.warn(`created the first admin ${DEFAULT_ADMIN_USERNAME}; its password is shown once on the terminal`);
    process.stdout.write(
      `\n  First start: created admin "${DEFAULT_ADMIN_USERNAME}" with password: ${password}\n` +
        '  It is shown only this once. Sign in and change it (POST /api/v1/users/me/password).\n\n',
    );
  }

  /** Another instance may bootstrap at the same moment; the unique index decides who wins. */
  private async createQuietly(username: string, password: string): Promise<boolean> {
    try {
      await this.users.createDirect(username, password, BOOTSTRAP_ADMIN_ROLE);
      return true;
    } catch (error) {
      if (error instanceof ConflictException) return false;
      throw error;
    }
  }
}
