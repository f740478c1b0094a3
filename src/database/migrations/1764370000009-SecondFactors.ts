import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Second factors (TOTP, WebAuthn credentials, recovery codes), what a sign-in in two steps and a
 * WebAuthn ceremony hold between their requests, the per-user count of second-factor failures
 * (when there is no Redis), and the time a session last verified a second factor (step-up).
 * Factors belong to their user and go with them; sessions keep their own rule (no foreign key).
 */
export class SecondFactors1764370000009 implements MigrationInterface {
  name = 'SecondFactors1764370000009';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "mfa_totp" (
        "user_id" uuid PRIMARY KEY REFERENCES "users" ("id") ON DELETE CASCADE,
        "secret" text NOT NULL,
        "confirmed_at" timestamptz,
        "last_step" bigint NOT NULL DEFAULT 0,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE "mfa_recovery_codes" (
        "user_id" uuid NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "code_hash" char(64) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("user_id", "code_hash")
      )`);
    await queryRunner.query(`
      CREATE TABLE "webauthn_credentials" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "user_id" uuid NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "credential_id" text NOT NULL UNIQUE,
        "public_key" text NOT NULL,
        "counter" bigint NOT NULL DEFAULT 0,
        "transports" text[] NOT NULL DEFAULT '{}',
        "name" varchar(64) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "last_used_at" timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX "webauthn_credentials_user_idx" ON "webauthn_credentials" ("user_id")`);
    await queryRunner.query(`
      CREATE TABLE "mfa_pending_signins" (
        "token_hash" char(64) PRIMARY KEY,
        "user_id" uuid NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "failures" integer NOT NULL DEFAULT 0,
        "expires_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE "webauthn_challenges" (
        "challenge" varchar(128) PRIMARY KEY,
        "purpose" varchar(16) NOT NULL,
        "user_id" uuid,
        "expires_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE "mfa_failures" (
        "user_id" uuid PRIMARY KEY,
        "count" integer NOT NULL,
        "window_ends_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`ALTER TABLE "sessions" ADD "step_up_at" timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sessions" DROP COLUMN "step_up_at"`);
    for (const table of ['mfa_failures', 'webauthn_challenges', 'mfa_pending_signins', 'webauthn_credentials', 'mfa_recovery_codes', 'mfa_totp']) {
      await queryRunner.query(`DROP TABLE "${table}"`);
    }
  }
}
