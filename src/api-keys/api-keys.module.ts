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
import { LastUsedRecorder } from './last-used-recorder';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKey, ApiKeyGraceSecret]), AuditModule],
  controllers: [ApiKeysController],
  providers: [ApiKeysRepository, ApiKeysService, ApiKeyCache, ApiKeyMetrics, LastUsedRecorder],
  exports: [ApiKeysService, ApiKeyCache],
})
export class ApiKeysModule {}
