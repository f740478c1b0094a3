import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail becomes a hash chain (README, "Audit"): every event gets `seq` (gapless) and
 * `hash` = sha256 hex of the previous hash followed by the event's canonical JSON. The database
 * assigns both in a BEFORE INSERT trigger, so every writer (each instance's recorder, a script)
 * appends to the same chain: the first row of a transaction locks the one-row `audit_chain` head
 * FOR UPDATE (appends from all instances queue there), later rows of the same transaction carry the
 * head in transaction-local settings, and one statement-level trigger writes the new head back.
 * UPDATE, DELETE and TRUNCATE of audit events are refused, except DELETE by the retention job's
 * transaction (`SET LOCAL aurora.audit_retention = 'on'`), which moves the chain's base checkpoint.
 *
 * The canonical JSON is built here exactly as src/audit/audit-chain.ts builds it in JavaScript
 * (keys sorted, no spaces, created_at as ISO-8601 with milliseconds in UTC, seq a number); created_at
 * is cut to milliseconds on insert so the stored time is the one the API shows and hashes.
 */
export class AuditChain1764370000008 implements MigrationInterface {
  name = 'AuditChain1764370000008';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "audit_events" ADD "seq" bigint, ADD "hash" char(64)`);
    // Change records of admin actions (before and after, as compact JSON) need more than 200 characters.
    await queryRunner.query(`ALTER TABLE "audit_events" ALTER COLUMN "reason" TYPE varchar(2000)`);
    await queryRunner.query(`
      CREATE TABLE "audit_chain" (
        "id" smallint PRIMARY KEY DEFAULT 1 CHECK ("id" = 1),
        "head_seq" bigint NOT NULL,
        "head_hash" char(64) NOT NULL,
        "base_seq" bigint NOT NULL,
        "base_hash" char(64) NOT NULL
      )`);
    await queryRunner.query(`INSERT INTO "audit_chain" VALUES (1, 0, repeat('0', 64), 0, repeat('0', 64))`);
    await queryRunner.query(`
      CREATE FUNCTION aurora_audit_canonical(e "audit_events") RETURNS text LANGUAGE sql STABLE AS $$
        SELECT '{"actor":' || COALESCE(to_json(e.actor)::text, 'null')
          || ',"created_at":' || to_json(to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text
          || ',"ip":' || COALESCE(to_json(e.ip)::text, 'null')
          || ',"outcome":' || to_json(e.outcome)::text
          || ',"reason":' || COALESCE(to_json(e.reason)::text, 'null')
          || ',"request_id":' || COALESCE(to_json(e.request_id)::text, 'null')
          || ',"seq":' || e.seq::text
          || ',"type":' || to_json(e.type)::text
          || ',"user_agent":' || COALESCE(to_json(e.user_agent)::text, 'null')
          || '}'
      $$`);
    await queryRunner.query(`
      CREATE FUNCTION aurora_audit_chain_row() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        prev_seq bigint;
        prev_hash text;
      BEGIN
        IF COALESCE(current_setting('aurora.audit_chain_seq', true), '') = '' THEN
          SELECT head_seq, head_hash INTO prev_seq, prev_hash FROM "audit_chain" WHERE id = 1 FOR UPDATE;
        ELSE
          prev_seq := current_setting('aurora.audit_chain_seq')::bigint;
          prev_hash := current_setting('aurora.audit_chain_hash');
        END IF;
        NEW.created_at := date_trunc('milliseconds', NEW.created_at);
        NEW.seq := prev_seq + 1;
        NEW.hash := encode(sha256(convert_to(prev_hash || aurora_audit_canonical(NEW), 'UTF8')), 'hex');
        PERFORM set_config('aurora.audit_chain_seq', NEW.seq::text, true), set_config('aurora.audit_chain_hash', NEW.hash, true);
        RETURN NEW;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION aurora_audit_chain_statement() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF COALESCE(current_setting('aurora.audit_chain_seq', true), '') <> '' THEN
          UPDATE "audit_chain" SET head_seq = current_setting('aurora.audit_chain_seq')::bigint,
                                   head_hash = current_setting('aurora.audit_chain_hash')
           WHERE id = 1;
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION aurora_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- The retention job moves the base first, then deletes: only events at or below the base go.
        IF TG_OP = 'DELETE' AND current_setting('aurora.audit_retention', true) = 'on'
           AND OLD.seq <= (SELECT base_seq FROM "audit_chain" WHERE id = 1) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);

    // Existing events join the chain in the order they were written.
    await queryRunner.query(`
      CREATE FUNCTION aurora_audit_backfill(batch int) RETURNS int LANGUAGE plpgsql AS $$
      DECLARE
        head record;
        e "audit_events";
        n int := 0;
      BEGIN
        SELECT head_seq, head_hash INTO head FROM "audit_chain" WHERE id = 1 FOR UPDATE;
        FOR e IN SELECT * FROM "audit_events" WHERE seq IS NULL ORDER BY id LIMIT batch LOOP
          e.created_at := date_trunc('milliseconds', e.created_at);
          e.seq := head.head_seq + 1;
          e.hash := encode(sha256(convert_to(head.head_hash || aurora_audit_canonical(e), 'UTF8')), 'hex');
          UPDATE "audit_events" SET seq = e.seq, hash = e.hash, created_at = e.created_at WHERE id = e.id;
          head.head_seq := e.seq;
          head.head_hash := e.hash;
          n := n + 1;
        END LOOP;
        UPDATE "audit_chain" SET head_seq = head.head_seq, head_hash = head.head_hash WHERE id = 1;
        RETURN n;
      END $$`);
    for (;;) {
      const [{ n }] = (await queryRunner.query(`SELECT aurora_audit_backfill(2000) AS n`)) as Array<{ n: number }>;
      if (Number(n) === 0) break;
    }
    await queryRunner.query(`DROP FUNCTION aurora_audit_backfill(int)`);

    await queryRunner.query(`ALTER TABLE "audit_events" ALTER COLUMN "seq" SET NOT NULL, ALTER COLUMN "hash" SET NOT NULL`);
    await queryRunner.query(`CREATE UNIQUE INDEX "audit_events_seq_idx" ON "audit_events" ("seq")`);
    await queryRunner.query(`CREATE TRIGGER "audit_events_chain" BEFORE INSERT ON "audit_events" FOR EACH ROW EXECUTE FUNCTION aurora_audit_chain_row()`);
    await queryRunner.query(
      `CREATE TRIGGER "audit_events_chain_head" AFTER INSERT ON "audit_events" FOR EACH STATEMENT EXECUTE FUNCTION aurora_audit_chain_statement()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "audit_events_append_only" BEFORE UPDATE OR DELETE ON "audit_events" FOR EACH ROW EXECUTE FUNCTION aurora_audit_append_only()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "audit_events_no_truncate" BEFORE TRUNCATE ON "audit_events" FOR EACH STATEMENT EXECUTE FUNCTION aurora_audit_append_only()`,
    );

    // The head and the base only move forward; the base only in the retention job's transaction, the
    // head only to the seq an append in this transaction reached. Deleting the newest events and
    // rewinding the head to hide them is refused, and the one row cannot go.
    await queryRunner.query(`
      CREATE FUNCTION aurora_audit_chain_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'UPDATE' THEN
          RAISE EXCEPTION 'the audit chain head cannot be removed: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.id <> OLD.id OR NEW.head_seq < OLD.head_seq OR NEW.base_seq < OLD.base_seq OR NEW.base_seq > NEW.head_seq THEN
          RAISE EXCEPTION 'the audit chain head and base only move forward' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF (NEW.base_seq, NEW.base_hash) IS DISTINCT FROM (OLD.base_seq, OLD.base_hash)
           AND current_setting('aurora.audit_retention', true) IS DISTINCT FROM 'on' THEN
          RAISE EXCEPTION 'only the retention job moves the audit chain base' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF (NEW.head_seq, NEW.head_hash) IS DISTINCT FROM (OLD.head_seq, OLD.head_hash)
           AND (NEW.head_seq::text, NEW.head_hash::text) IS DISTINCT FROM
               (current_setting('aurora.audit_chain_seq', true), current_setting('aurora.audit_chain_hash', true)) THEN
          RAISE EXCEPTION 'only an append moves the audit chain head' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await queryRunner.query(
      `CREATE TRIGGER "audit_chain_guard" BEFORE UPDATE OR DELETE ON "audit_chain" FOR EACH ROW EXECUTE FUNCTION aurora_audit_chain_guard()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "audit_chain_no_truncate" BEFORE TRUNCATE ON "audit_chain" FOR EACH STATEMENT EXECUTE FUNCTION aurora_audit_chain_guard()`,
    );

    // Detections: one alert per rule and subject per 10 minutes, across instances, without Redis.
    await queryRunner.query(`
      CREATE TABLE "detection_marks" (
        "rule" varchar(40) NOT NULL,
        "subject" varchar(200) NOT NULL,
        "raised_at" timestamptz NOT NULL,
        PRIMARY KEY ("rule", "subject")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "detection_marks"`);
    await queryRunner.query(`DROP TRIGGER "audit_chain_no_truncate" ON "audit_chain"`);
    await queryRunner.query(`DROP TRIGGER "audit_chain_guard" ON "audit_chain"`);
    await queryRunner.query(`DROP FUNCTION aurora_audit_chain_guard()`);
    await queryRunner.query(`DROP TRIGGER "audit_events_no_truncate" ON "audit_events"`);
    await queryRunner.query(`DROP TRIGGER "audit_events_append_only" ON "audit_events"`);
    await queryRunner.query(`DROP TRIGGER "audit_events_chain_head" ON "audit_events"`);
    await queryRunner.query(`DROP TRIGGER "audit_events_chain" ON "audit_events"`);
    await queryRunner.query(`DROP FUNCTION aurora_audit_append_only()`);
    await queryRunner.query(`DROP FUNCTION aurora_audit_chain_statement()`);
    await queryRunner.query(`DROP FUNCTION aurora_audit_chain_row()`);
    await queryRunner.query(`DROP FUNCTION aurora_audit_canonical("audit_events")`);
    await queryRunner.query(`DROP TABLE "audit_chain"`);
    await queryRunner.query(`DROP INDEX "audit_events_seq_idx"`);
    await queryRunner.query(`ALTER TABLE "audit_events" DROP COLUMN "hash", DROP COLUMN "seq"`);
  }
}
