import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { OidcClient } from './oidc-client';
import { OidcController } from './oidc.controller';
import { OidcService } from './oidc.service';

/** Single sign-on through an OpenID Connect provider (on when OIDC_ISSUER is set). */
@Module({
  imports: [AuthModule, UsersModule, SessionsModule, AuditModule],
  controllers: [OidcController],
  providers: [OidcClient, OidcService],
})
export class OidcModule {}
