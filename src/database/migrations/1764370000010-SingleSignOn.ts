import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Single sign-on: a user created by the identity provider is bound to its subject (`sub`), unique;
 * such a user has no password (an empty hash no password can match). A session signed in through
 * the provider keeps the provider's session id (`sid`), so back-channel logout can end it.
 */
export class SingleSignOn1764370000010 implements MigrationInterface {
  name = 'SingleSignOn1764370000010';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD COLUMN "sso_subject" varchar(255)`);
    await queryRunner.query(`CREATE UNIQUE INDEX "users_sso_subject_key" ON "users" ("sso_subject") WHERE "sso_subject" IS NOT NULL`);
    await queryRunner.query(`ALTER TABLE "sessions" ADD COLUMN "sso_sid" varchar(255)`);
    await queryRunner.query(`CREATE INDEX "sessions_sso_sid_idx" ON "sessions" ("sso_sid") WHERE "sso_sid" IS NOT NULL AND "ended_at" IS NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS "sessions_sso_sid_idx"`);
    await queryRunner.query(`ALTER TABLE "sessions" DROP COLUMN IF EXISTS "sso_sid"`);
    await queryRunner.query(`DROP INDEX IF EXISTS "users_sso_subject_key"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN IF EXISTS "sso_subject"`);
  }
}
