import { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys gain an IP allowlist, a rate limit, the last address they were used from, and hourly usage counts. */
export class ApiKeyControls1764370000007 implements MigrationInterface {
  name = 'ApiKeyControls1764370000007';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "api_keys"
        ADD "allowed_ips" text[] NOT NULL DEFAULT '{}',
        ADD "rate_limit_limit" integer,
        ADD "rate_limit_window_seconds" integer,
        ADD "last_ip" varchar(64)`);
    await queryRunner.query(`
      CREATE TABLE "api_key_usage" (
        "key_id" uuid NOT NULL REFERENCES "api_keys" ("id") ON DELETE CASCADE,
        "hour" timestamptz NOT NULL,
        "success" integer NOT NULL DEFAULT 0,
        "denied" integer NOT NULL DEFAULT 0,
        "rate_limited" integer NOT NULL DEFAULT 0,
        PRIMARY KEY ("key_id", "hour")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "api_key_usage"`);
    await queryRunner.query(
      `ALTER TABLE "api_keys" DROP COLUMN "allowed_ips", DROP COLUMN "rate_limit_limit", DROP COLUMN "rate_limit_window_seconds", DROP COLUMN "last_ip"`,
    );
  }
}
