import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A pending sign-in (the time between a right password and the second factor) remembers the
 * version of the account row its password was checked against. Any change to the account since
 * — a new password, a role, disabling — bumps that version, and the second step is then refused:
 * a password reset in between must not let the old password finish signing in. Rows made before
 * this migration have no version and are refused; they live 5 minutes at most.
 */
export class PendingSignInVersion1764370000013 implements MigrationInterface {
  name = 'PendingSignInVersion1764370000013';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mfa_pending_signins" ADD COLUMN "user_version" bigint`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mfa_pending_signins" DROP COLUMN "user_version"`);
  }
}
