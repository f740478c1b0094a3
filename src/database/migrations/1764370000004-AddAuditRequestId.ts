import { MigrationInterface, QueryRunner } from 'typeorm';

export class AddAuditRequestId1764370000004 implements MigrationInterface {
  name = 'AddAuditRequestId1764370000004';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "audit_events" ADD "request_id" varchar(64)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "audit_events" DROP COLUMN "request_id"`);
  }
}
