import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateAlerts1764370000003 implements MigrationInterface {
  name = 'CreateAlerts1764370000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "alerts" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "title" varchar(200) NOT NULL,
        "severity" varchar(10) NOT NULL,
        "source" varchar(100) NOT NULL,
        "description" text,
        "status" varchar(20) NOT NULL DEFAULT 'open',
        "created_at" timestamptz NOT NULL DEFAULT clock_timestamp(),
        "updated_at" timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query(`CREATE INDEX "alerts_created_at_idx" ON "alerts" ("created_at" DESC, "id" DESC)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "alerts"`);
  }
}
