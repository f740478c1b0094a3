import { MigrationInterface, QueryRunner } from 'typeorm';
import { usernameKey } from '../../common/username-key';

/**
 * Users get a version (raised by every write, so that the news of an older write can never
 * overwrite a newer one in any instance's memory) and a username_key (NFC + case folding computed
 * in one place, usernameKey(): PostgreSQL's lower() disagrees with JavaScript's on names like İ).
 * Rotated-out API-key secrets move to their own table so that each keeps its own grace period.
 */
export class AccessRemovalIsFinal1764370000005 implements MigrationInterface {
  name = 'AccessRemovalIsFinal1764370000005';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD "version" bigint NOT NULL DEFAULT 1`);
    await queryRunner.query(`ALTER TABLE "users" ADD "username_key" text`);
    const users = (await queryRunner.query(`SELECT "id", "username" FROM "users"`)) as Array<{ id: string; username: string }>;
    for (const user of users) {
      await queryRunner.query(`UPDATE "users" SET "username_key" = $1 WHERE "id" = $2`, [usernameKey(user.username), user.id]);
    }
    await queryRunner.query(`ALTER TABLE "users" ALTER COLUMN "username_key" SET NOT NULL`);
    await queryRunner.query(`DROP INDEX "users_username_lower_key"`);
    await queryRunner.query(`CREATE UNIQUE INDEX "users_username_key_key" ON "users" ("username_key")`);

    await queryRunner.query(`
      CREATE TABLE "api_key_grace_secrets" (
        "key_hash" char(64) PRIMARY KEY,
        "key_id" uuid NOT NULL REFERENCES "api_keys" ("id") ON DELETE CASCADE,
        "valid_until" timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "api_key_grace_secrets_key_id_idx" ON "api_key_grace_secrets" ("key_id")`);
    await queryRunner.query(`
      INSERT INTO "api_key_grace_secrets" ("key_hash", "key_id", "valid_until")
      SELECT "previous_key_hash", "id", "previous_key_valid_until" FROM "api_keys"
      WHERE "previous_key_hash" IS NOT NULL AND "previous_key_valid_until" > now()`);
    await queryRunner.query(`DROP INDEX "api_keys_previous_key_hash_key"`);
    await queryRunner.query(`ALTER TABLE "api_keys" DROP COLUMN "previous_key_hash", DROP COLUMN "previous_key_valid_until"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "api_keys" ADD "previous_key_hash" char(64), ADD "previous_key_valid_until" timestamptz`);
    await queryRunner.query(`CREATE UNIQUE INDEX "api_keys_previous_key_hash_key" ON "api_keys" ("previous_key_hash") WHERE "previous_key_hash" IS NOT NULL`);
    await queryRunner.query(`DROP TABLE "api_key_grace_secrets"`);
    await queryRunner.query(`DROP INDEX "users_username_key_key"`);
    await queryRunner.query(`CREATE UNIQUE INDEX "users_username_lower_key" ON "users" (lower("username"))`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "username_key", DROP COLUMN "version"`);
  }
}
