import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditEvent } from './audit-event.entity';
import { AuditMetrics } from './audit-metrics';
import { AuditQueryService } from './audit-query.service';
import { AuditRecorder } from './audit-recorder';
import { AuditController } from './audit.controller';
import { FailureFloodLimiter } from './failure-flood-limiter';

@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent])],
  controllers: [AuditController],
  // A factory, because the limiter is a plain class whose options (clock, window) tests replace.
  providers: [AuditRecorder, AuditMetrics, AuditQueryService, { provide: FailureFloodLimiter, useFactory: () => new FailureFloodLimiter() }],
  exports: [AuditRecorder],
})
export class AuditModule {}
