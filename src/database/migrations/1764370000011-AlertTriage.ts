import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Alert triage (issue 19): an assignee, notes, the history of every change of status or assignee,
 * full-text search and the indexes of the filtered, sorted pages.
 *
 * - `assignee_id` points at the user (their username is shown): usernames never change, and a user
 *   who is deleted leaves their alerts unassigned, with a history row (actor `system`) written by the
 *   trigger below in the deleting transaction, so the history still names them.
 * - `search_document` is the text searched by `?q=`: title, description and source, with the
 *   punctuation inside host names, addresses, paths and identifiers (. @ / \ : _ - = +) read as a
 *   space, so `example` finds `host-17.example.com`. The `simple` configuration (no stemming, no
 *   stop words) exists on every PostgreSQL and on the embedded one; no extension is needed.
 * - `severity_rank` (critical 4 … low 1) orders `?sort=severity` from an index.
 */
export class AlertTriage1764370000011 implements MigrationInterface {
  name = 'AlertTriage1764370000011';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "alerts" ADD "assignee_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL`);
    await queryRunner.query(`
      ALTER TABLE "alerts" ADD "search_document" tsvector GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig, translate("title" || ' ' || coalesce("description", '') || ' ' || "source", '.@/\\:_-=+', '         '))
      ) STORED`);
    await queryRunner.query(`
      ALTER TABLE "alerts" ADD "severity_rank" smallint GENERATED ALWAYS AS (
        CASE "severity" WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END
      ) STORED`);

    await queryRunner.query(`CREATE INDEX "alerts_search_idx" ON "alerts" USING gin ("search_document")`);
    await queryRunner.query(`CREATE INDEX "alerts_status_created_at_idx" ON "alerts" ("status", "created_at" DESC, "id" DESC)`);
    await queryRunner.query(`CREATE INDEX "alerts_severity_created_at_idx" ON "alerts" ("severity", "created_at" DESC, "id" DESC)`);
    await queryRunner.query(`CREATE INDEX "alerts_status_severity_created_at_idx" ON "alerts" ("status", "severity", "created_at" DESC, "id" DESC)`);
    await queryRunner.query(`CREATE INDEX "alerts_assignee_created_at_idx" ON "alerts" ("assignee_id", "created_at" DESC, "id" DESC)`);
    await queryRunner.query(`CREATE INDEX "alerts_severity_rank_idx" ON "alerts" ("severity_rank" DESC, "created_at" DESC, "id" DESC)`);

    await queryRunner.query(`
      CREATE TABLE "alert_notes" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "alert_id" uuid NOT NULL REFERENCES "alerts" ("id") ON DELETE CASCADE,
        "author" text NOT NULL,
        "text" varchar(4000) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query(`CREATE INDEX "alert_notes_alert_idx" ON "alert_notes" ("alert_id", "created_at", "id")`);
    await queryRunner.query(`
      CREATE TABLE "alert_history" (
        "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        "alert_id" uuid NOT NULL REFERENCES "alerts" ("id") ON DELETE CASCADE,
        "at" timestamptz NOT NULL DEFAULT clock_timestamp(),
        "actor" text NOT NULL,
        "field" varchar(20) NOT NULL CHECK ("field" IN ('status', 'assignee')),
        "from" text,
        "to" text
      )`);
    await queryRunner.query(`CREATE INDEX "alert_history_alert_idx" ON "alert_history" ("alert_id", "id")`);

    await queryRunner.query(`
      CREATE FUNCTION aurora_unassign_deleted_user() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- Locks the user's alerts in id order first, as a bulk change does, so the two never deadlock.
        PERFORM 1 FROM "alerts" WHERE "assignee_id" = OLD.id ORDER BY "id" FOR UPDATE;
        WITH unassigned AS (
          UPDATE "alerts" SET "assignee_id" = NULL, "updated_at" = clock_timestamp() WHERE "assignee_id" = OLD.id RETURNING "id"
        )
        INSERT INTO "alert_history" ("alert_id", "actor", "field", "from", "to")
        SELECT "id", 'system', 'assignee', OLD.username, NULL FROM unassigned;
        RETURN OLD;
      END $$`);
    await queryRunner.query(`CREATE TRIGGER "users_unassign_alerts" BEFORE DELETE ON "users" FOR EACH ROW EXECUTE FUNCTION aurora_unassign_deleted_user()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "users_unassign_alerts" ON "users"`);
    await queryRunner.query(`DROP FUNCTION aurora_unassign_deleted_user()`);
    await queryRunner.query(`DROP TABLE "alert_history"`);
    await queryRunner.query(`DROP TABLE "alert_notes"`);
    await queryRunner.query(`DROP INDEX "alerts_severity_rank_idx"`);
    await queryRunner.query(`DROP INDEX "alerts_assignee_created_at_idx"`);
    await queryRunner.query(`DROP INDEX "alerts_status_severity_created_at_idx"`);
    await queryRunner.query(`DROP INDEX "alerts_severity_created_at_idx"`);
    await queryRunner.query(`DROP INDEX "alerts_status_created_at_idx"`);
    await queryRunner.query(`DROP INDEX "alerts_search_idx"`);
    await queryRunner.query(`ALTER TABLE "alerts" DROP COLUMN "severity_rank", DROP COLUMN "search_document", DROP COLUMN "assignee_id"`);
  }
}
