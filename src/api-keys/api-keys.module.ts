import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { ApiKey } from './api-key.entity';
import { ApiKeyGraceSecret } from './api-key-grace-secret.entity';
import { ApiKeyCache } from './api-key-cache';
import { ApiKeyMetrics } from './api-key-metrics';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { ApiKeySettingsService } from './api-key-settings.service';
import { KeyControls } from './key-controls';
import { KeyUsageRecorder } from './key-usage-recorder';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKey, ApiKeyGraceSecret]), AuditModule],
  controllers: [ApiKeysController],
  providers: [ApiKeysRepository, ApiKeysService, ApiKeySettingsService, ApiKeyCache, ApiKeyMetrics, KeyUsageRecorder, KeyControls],
  exports: [ApiKeysService, ApiKeyCache, KeyControls, KeyUsageRecorder],
})
export class ApiKeysModule {}
