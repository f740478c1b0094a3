import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { LoginThrottlerGuard } from './login-throttler.guard';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { AuditModule } from '../audit/audit.module';
import { AppConfig } from '../config/app-config';
import { RedisConnection } from '../common/redis.provider';
import { UsersModule } from '../users/users.module';
import { User } from '../users/user.entity';
import { ApiKeyStrategy } from './api-key.strategy';
import { AuthCookie } from './auth-cookie';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { CredentialResolver } from './credential-resolver';
import { JwtStrategy } from './jwt.strategy';
import { LoginFailureCounter } from './login-failure-counter';
import { isLoginRateLimited } from './login-rate-limit';
import { OriginPolicy } from './origin-policy';
import { RevokedToken } from './revoked-token.entity';
import { SessionRegistry } from './session-registry';
import { TokenService } from './token.service';

const MINUTE_MS = 60_000;

@Module({
  imports: [
    TypeOrmModule.forFeature([User, RevokedToken]),
    AuditModule,
    UsersModule,
    ApiKeysModule,
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, RedisConnection],
      useFactory: (config: AppConfig, redis: RedisConnection) => ({
        // Only the login route is counted: LOGIN_MAX_PER_IP attempts per client IP per minute.
        throttlers: [{ name: 'default', ttl: MINUTE_MS, limit: config.loginMaxPerIp }],
        skipIf: (context) => !isLoginRateLimited(context),
        errorMessage: 'too many login attempts from this address; retry later',
        storage: redis.client ? new ThrottlerStorageRedisService(redis.client) : undefined,
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [
    TokenService,
    SessionRegistry,
    CredentialResolver,
    JwtStrategy,
    ApiKeyStrategy,
    OriginPolicy,
    LoginFailureCounter,
    AuthService,
    AuthCookie,
    // Order matters: the throttler counts a login attempt before anything can refuse it.
    { provide: APP_GUARD, useClass: LoginThrottlerGuard },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [CredentialResolver, OriginPolicy, SessionRegistry, AuthService, AuthCookie, TokenService],
})
export class AuthModule {}
