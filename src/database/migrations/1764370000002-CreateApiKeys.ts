import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateApiKeys1764370000002 implements MigrationInterface {
  name = 'CreateApiKeys1764370000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "api_keys" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "service_name" varchar(100) NOT NULL,
        "key_prefix" varchar(15) NOT NULL,
        "key_hash" char(64) NOT NULL,
        "previous_key_hash" char(64),
        "previous_key_valid_until" timestamptz,
        "permissions" text[] NOT NULL,
        "created_by" varchar(100) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        "last_used_at" timestamptz,
        "revoked_at" timestamptz
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "api_keys_key_prefix_key" ON "api_keys" ("key_prefix")`);
    await queryRunner.query(`CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys" ("key_hash")`);
    await queryRunner.query(`CREATE UNIQUE INDEX "api_keys_previous_key_hash_key" ON "api_keys" ("previous_key_hash") WHERE "previous_key_hash" IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "api_keys"`);
  }
}
