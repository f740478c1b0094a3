import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { ApiKey } from './api-key.entity';
import { ApiKeyCache } from './api-key-cache';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { LastUsedRecorder } from './last-used-recorder';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKey]), AuditModule],
  controllers: [ApiKeysController],
  providers: [ApiKeysRepository, ApiKeysService, ApiKeyCache, LastUsedRecorder],
  exports: [ApiKeysService, ApiKeyCache],
})
export class ApiKeysModule {}
