import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateAuditEvents1764370000001 implements MigrationInterface {
  name = 'CreateAuditEvents1764370000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "audit_events" (
        "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        "type" varchar(64) NOT NULL,
        "outcome" varchar(10) NOT NULL,
        "actor" varchar(200),
        "ip" varchar(64),
        "user_agent" varchar(512),
        "reason" varchar(200),
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX "audit_events_created_at_idx" ON "audit_events" ("created_at")`);
    await queryRunner.query(`CREATE INDEX "audit_events_type_idx" ON "audit_events" ("type", "id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "audit_events"`);
  }
}
