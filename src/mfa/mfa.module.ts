import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { EnrolledUsers } from './enrolled-users';
import { MfaController, StepUpController } from './mfa.controller';
import { MfaRepository } from './mfa.repository';
import { MfaService } from './mfa.service';
import { PendingSignIns } from './pending-sign-ins';
import { SecondFactorCheck } from './second-factor-check';
import { SecondFactorFailures } from './second-factor-failures';
import { SecretBox } from './secret-box';
import { StepUpService } from './step-up.service';
import { WebAuthnCeremonies } from './webauthn-ceremonies';
import { WebAuthnService } from './webauthn.service';

@Module({
  imports: [SessionsModule, UsersModule, AuditModule],
  controllers: [MfaController, StepUpController],
  providers: [
    MfaRepository,
    SecretBox,
    EnrolledUsers,
    SecondFactorFailures,
    SecondFactorCheck,
    WebAuthnCeremonies,
    WebAuthnService,
    MfaService,
    StepUpService,
    PendingSignIns,
  ],
  exports: [EnrolledUsers, PendingSignIns, WebAuthnCeremonies],
})
export class MfaModule {}
