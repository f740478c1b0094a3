import { createHash } from 'node:crypto';
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
import { SessionsModule } from '../sessions/sessions.module';
import { MfaModule } from '../mfa/mfa.module';
import { MfaSignInController } from './mfa-sign-in.controller';
import { UsersModule } from '../users/users.module';
import { User } from '../users/user.entity';
import { ApiKeyStrategy } from './api-key.strategy';
import { AuthCookie } from './auth-cookie';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { Authenticator } from './authenticator';
import { CredentialRecheck } from './credential-recheck';
import { AuthService } from './auth.service';
import { CredentialResolver } from './credential-resolver';
import { JwtStrategy } from './jwt.strategy';
import { LoginFailureCounter } from './login-failure-counter';
import { PasswordChangeController } from './password-change.controller';
import { PasswordChangeService } from './password-change.service';
import { PasswordGuessLimiter } from './password-guess-limiter';
import { guessLimitOf } from '../access/guess-limit';
import { OriginPolicy } from './origin-policy';
import { UserRegistry } from './user-registry';
import { TokenService } from './token.service';

const MINUTE_MS = 60_000;

@Module({
  imports: [
    TypeOrmModule.forFeature([User]),
    SessionsModule,
    MfaModule,
    AuditModule,
    UsersModule,
    ApiKeysModule,
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, RedisConnection],
      useFactory: (config: AppConfig, redis: RedisConnection) => ({
        // Only routes that check a guessable secret are counted: LOGIN_MAX_PER_IP attempts per
        // client IP per minute, one count for all of them (the key leaves out the route).
        throttlers: [{ name: 'default', ttl: MINUTE_MS, limit: config.loginMaxPerIp }],
        skipIf: (context) => guessLimitOf(context) === undefined,
        generateKey: (_context, tracker, name) => createHash('sha256').update(`guesses-${name}-${tracker}`).digest('hex'),
        errorMessage: 'too many login attempts from this address; retry later',
        storage: redis.client ? new ThrottlerStorageRedisService(redis.client) : undefined,
      }),
    }),
  ],
  controllers: [AuthController, MfaSignInController, PasswordChangeController],
  providers: [
    TokenService,
    UserRegistry,
    CredentialResolver,
    Authenticator,
    CredentialRecheck,
    JwtStrategy,
    ApiKeyStrategy,
    OriginPolicy,
    LoginFailureCounter,
    PasswordGuessLimiter,
    AuthService,
    PasswordChangeService,
    AuthCookie,
    // Order matters: the throttler counts a login attempt before anything can refuse it.
    { provide: APP_GUARD, useClass: LoginThrottlerGuard },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [Authenticator, CredentialRecheck, UserRegistry, AuthService, AuthCookie],
})
export class AuthModule {}
