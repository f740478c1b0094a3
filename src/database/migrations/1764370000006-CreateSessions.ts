import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every sign-in becomes a session; tokens carry its id (`sid`). Logging out ends the session, so the
 * deny list of token ids (revoked_tokens) is no longer needed. user_id has no foreign key on
 * purpose: a deleted user's sessions are ended (reason `deleted`, audited) and kept for the
 * record, not swept away by a cascade before anyone could end them.
 */
export class CreateSessions1764370000006 implements MigrationInterface {
  name = 'CreateSessions1764370000006';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "sessions" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "user_id" uuid NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "last_seen_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        "ip" varchar(64),
        "user_agent" varchar(512),
        "auth_methods" text[] NOT NULL,
        "ended_at" timestamptz,
        "end_reason" varchar(64)
      )`);
    await queryRunner.query(`CREATE INDEX "sessions_live_user_idx" ON "sessions" ("user_id") WHERE "ended_at" IS NULL`);
    await queryRunner.query(`CREATE INDEX "sessions_expires_at_idx" ON "sessions" ("expires_at")`);
    await queryRunner.query(`DROP TABLE "revoked_tokens"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "revoked_tokens" (
        "jti" varchar(64) PRIMARY KEY,
        "expires_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "revoked_tokens_expires_at_idx" ON "revoked_tokens" ("expires_at")`);
    await queryRunner.query(`DROP TABLE "sessions"`);
  }
}
