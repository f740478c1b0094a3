import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AlertsModule } from './alerts/alerts.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuditModule } from './audit/audit.module';
import { RealtimeModule } from './realtime/realtime.module';
import { AuthModule } from './auth/auth.module';
import { RedisModule } from './common/redis.provider';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { DetectionsModule } from './detections/detections.module';
import { HealthModule } from './health/health.module';
import { loggerParams } from './common/logging';
import { MetricsModule } from './metrics/metrics.module';
import { OidcModule } from './oidc/oidc.module';
import { UsersModule } from './users/users.module';

/** Wires the feature modules. The global guards (throttle, then auth) are registered by AuthModule. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerParams(config)),
        DatabaseModule,
        RedisModule,
        HealthModule,
        MetricsModule,
        AuditModule,
        UsersModule,
        ApiKeysModule,
        AuthModule,
        OidcModule,
        RealtimeModule,
        AlertsModule,
        DetectionsModule,
      ],
    };
  }
}
