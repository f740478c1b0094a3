import { Body, Controller, Delete, Get, Header, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { CurrentPrincipal, OpenDuringMfaEnrolment, RequirePermissions, RequireStepUp } from '../access/access.decorators';
import { GuessLimited } from '../access/guess-limit';
import type { Principal } from '../access/principal';
import { clientInfo } from '../common/client-info';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { SecondFactorDto, TotpConfirmDto, WebAuthnRegisterDto, type MfaStatusView, type RecoveryCodesView, type TotpEnrolmentView } from './mfa.dto';
import { MfaService } from './mfa.service';
import { StepUpService } from './step-up.service';
import { WebAuthnService, type RegisteredCredentialView } from './webauthn.service';

/** The caller's own second factors. */
@ApiTags('mfa')
@Controller('auth/mfa')
@OpenDuringMfaEnrolment()
export class MfaController {
  constructor(
    private readonly mfa: MfaService,
    private readonly webauthn: WebAuthnService,
  ) {}

  @Get()
  @RequirePermissions()
  status(@CurrentPrincipal() principal: Principal): Promise<MfaStatusView> {
    return this.mfa.status(principal);
  }

  @Post('totp')
  @RequirePermissions()
  // Adding a factor to an account that has one is a step-up action: else a stolen session could add its own.
  @RequireStepUp()
  @Header('Cache-Control', 'no-store')
  startTotp(@CurrentPrincipal() principal: Principal): Promise<TotpEnrolmentView> {
    return this.mfa.startTotp(principal);
  }

  @Post('totp/confirm')
  @RequirePermissions()
  // Adding a factor to an account that has one is a step-up action: else a stolen session could add its own.
  @RequireStepUp()
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  confirmTotp(@Body() dto: TotpConfirmDto, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<RecoveryCodesView> {
    return this.mfa.confirmTotp(principal, dto.code, clientInfo(req));
  }

  @Delete('totp')
  @RequirePermissions()
  @RequireStepUp()
  @HttpCode(204)
  removeTotp(@CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<void> {
    return this.mfa.removeTotp(principal, clientInfo(req));
  }

  @Post('recovery-codes')
  @RequirePermissions()
  @RequireStepUp()
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  regenerateRecoveryCodes(@CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<RecoveryCodesView> {
    return this.mfa.regenerateRecoveryCodes(principal, clientInfo(req));
  }

  @Post('webauthn/options')
  @RequirePermissions()
  // Adding a factor to an account that has one is a step-up action: else a stolen session could add its own.
  @RequireStepUp()
  // Each stores a challenge: bounded per address like the sign-ins.
  @GuessLimited('mfa.enrolled')
  @HttpCode(200)
  registrationOptions(@CurrentPrincipal() principal: Principal): Promise<unknown> {
    return this.webauthn.registrationOptions(principal);
  }

  @Post('webauthn')
  @RequirePermissions()
  // Adding a factor to an account that has one is a step-up action: else a stolen session could add its own.
  @RequireStepUp()
  @Header('Cache-Control', 'no-store')
  register(@Body() dto: WebAuthnRegisterDto, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<RegisteredCredentialView> {
    return this.webauthn.register(principal, dto.name, dto.response, clientInfo(req));
  }

  @Delete('webauthn/:id')
  @RequirePermissions()
  @RequireStepUp()
  @HttpCode(204)
  removeCredential(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<void> {
    return this.webauthn.remove(principal, id, clientInfo(req));
  }
}

/** A second factor verified again in the current session, for sensitive actions. */
@ApiTags('mfa')
@Controller('auth/step-up')
export class StepUpController {
  constructor(private readonly stepUps: StepUpService) {}

  @Post()
  @RequirePermissions()
  @GuessLimited('mfa.step_up')
  @HttpCode(204)
  stepUp(@Body() dto: SecondFactorDto, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<void> {
    return this.stepUps.stepUp(principal, dto, clientInfo(req));
  }

  @Post('webauthn-options')
  @RequirePermissions()
  // Each stores a challenge: bounded per address like the sign-ins.
  @GuessLimited('mfa.step_up')
  @HttpCode(200)
  webauthnOptions(@CurrentPrincipal() principal: Principal): Promise<unknown> {
    return this.stepUps.webauthnOptions(principal);
  }
}
