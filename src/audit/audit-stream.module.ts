import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { AuthModule } from '../auth/auth.module';
import { AuditGateway } from './audit.gateway';

/** The live audit socket; apart from AuditModule, which everything (auth included) depends on. */
@Module({ imports: [AuthModule, ApiKeysModule], providers: [AuditGateway] })
export class AuditStreamModule {}
