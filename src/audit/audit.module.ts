import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditChainMonitor } from './audit-chain-monitor';
import { AuditChainRepository } from './audit-chain.repository';
import { AuditEvent } from './audit-event.entity';
import { AuditMetrics } from './audit-metrics';
import { AuditQueryService } from './audit-query.service';
import { AuditRecorder } from './audit-recorder';
import { AuditRetention } from './audit-retention';
import { AuditVerifier } from './audit-verifier';
import { AuditController, AuditVerifyController } from './audit.controller';
import { FailureFloodLimiter } from './failure-flood-limiter';

@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent])],
  controllers: [AuditController, AuditVerifyController],
  providers: [
    AuditRecorder,
    AuditMetrics,
    AuditQueryService,
    AuditChainRepository,
    AuditVerifier,
    AuditChainMonitor,
    AuditRetention,
    // A factory, because the limiter is a plain class whose options (clock, window) tests replace.
    { provide: FailureFloodLimiter, useFactory: () => new FailureFloodLimiter() },
  ],
  exports: [AuditRecorder, AuditVerifier],
})
export class AuditModule {}
