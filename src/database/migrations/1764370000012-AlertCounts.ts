import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * True alert counts without counting the table (issue 19, GET /alerts/summary): `alert_counts` holds,
 * per hour of created_at (`hour` = whole hours since 1970 UTC, so no time zone enters), severity and
 * status, how many alerts there are. Statement-level triggers keep it exact in the transaction that
 * inserts, changes or deletes alerts, one grouped write per statement (a bulk change of 500 alerts
 * is a few row updates, taken in key order so concurrent statements never deadlock). The summary
 * adds whole hours from here and counts the partial hours at a window's edges in `alerts` itself.
 * Existing alerts are counted once here.
 */
export class AlertCounts1764370000012 implements MigrationInterface {
  name = 'AlertCounts1764370000012';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "alert_counts" (
        "hour" bigint NOT NULL,
        "severity" varchar(10) NOT NULL,
        "status" varchar(20) NOT NULL,
        "n" bigint NOT NULL,
        PRIMARY KEY ("hour", "severity", "status")
      )`);
    await queryRunner.query(`
      CREATE FUNCTION aurora_alert_counts() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO "alert_counts" ("hour", "severity", "status", "n")
          SELECT floor(extract(epoch FROM "created_at") / 3600)::bigint AS h, "severity", "status", count(*)
            FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
          ON CONFLICT ("hour", "severity", "status") DO UPDATE SET "n" = "alert_counts"."n" + EXCLUDED."n";
        ELSIF TG_OP = 'DELETE' THEN
          INSERT INTO "alert_counts" ("hour", "severity", "status", "n")
          SELECT floor(extract(epoch FROM "created_at") / 3600)::bigint AS h, "severity", "status", -count(*)
            FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
          ON CONFLICT ("hour", "severity", "status") DO UPDATE SET "n" = "alert_counts"."n" + EXCLUDED."n";
        ELSE
          INSERT INTO "alert_counts" ("hour", "severity", "status", "n")
          SELECT h, "severity", "status", sum(d) FROM (
            SELECT floor(extract(epoch FROM "created_at") / 3600)::bigint AS h, "severity", "status", -1 AS d FROM old_rows
            UNION ALL
            SELECT floor(extract(epoch FROM "created_at") / 3600)::bigint AS h, "severity", "status", 1 AS d FROM new_rows
          ) delta
          GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
          ON CONFLICT ("hour", "severity", "status") DO UPDATE SET "n" = "alert_counts"."n" + EXCLUDED."n";
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(
      `CREATE TRIGGER "alerts_count_insert" AFTER INSERT ON "alerts" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aurora_alert_counts()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "alerts_count_update" AFTER UPDATE ON "alerts" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aurora_alert_counts()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "alerts_count_delete" AFTER DELETE ON "alerts" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aurora_alert_counts()`,
    );
    // TRUNCATE skips row triggers: the counts go with the rows.
    await queryRunner.query(`
      CREATE FUNCTION aurora_alert_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM "alert_counts";
        RETURN NULL;
      END $$`);
    await queryRunner.query(
      `CREATE TRIGGER "alerts_count_truncate" AFTER TRUNCATE ON "alerts" FOR EACH STATEMENT EXECUTE FUNCTION aurora_alert_counts_truncate()`,
    );
    await queryRunner.query(`
      INSERT INTO "alert_counts" ("hour", "severity", "status", "n")
      SELECT floor(extract(epoch FROM "created_at") / 3600)::bigint, "severity", "status", count(*) FROM "alerts" GROUP BY 1, 2, 3`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "alerts_count_truncate" ON "alerts"`);
    await queryRunner.query(`DROP TRIGGER "alerts_count_delete" ON "alerts"`);
    await queryRunner.query(`DROP TRIGGER "alerts_count_update" ON "alerts"`);
    await queryRunner.query(`DROP TRIGGER "alerts_count_insert" ON "alerts"`);
    await queryRunner.query(`DROP FUNCTION aurora_alert_counts_truncate()`);
    await queryRunner.query(`DROP FUNCTION aurora_alert_counts()`);
    await queryRunner.query(`DROP TABLE "alert_counts"`);
  }
}
