import { Body, Controller, Header, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../access/access.decorators';
import { GuessLimited } from '../access/guess-limit';
import { clientInfo } from '../common/client-info';
import { MfaSignInDto, MfaTokenDto, PasskeySignInDto } from '../mfa/mfa.dto';
import { AuthCookie } from './auth-cookie';
import { AuthService, IssuedToken } from './auth.service';

/** The second step of a sign-in, and sign-in with a passkey alone. */
@ApiTags('auth')
@Controller('auth')
export class MfaSignInController {
  constructor(
    private readonly auth: AuthService,
    private readonly cookie: AuthCookie,
  ) {}

  @Post('token/mfa')
  @Public()
  @GuessLimited('mfa.failed')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async finish(@Body() dto: MfaSignInDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<IssuedToken> {
    const { mfa_token, ...proof } = dto;
    const issued = await this.auth.finishMfaSignIn(mfa_token, proof, clientInfo(req));
    this.cookie.set(res, issued.access_token, issued.expires_in);
    return issued;
  }

  @Post('token/mfa/webauthn-options')
  @Public()
  // Each stores a challenge: bounded per address like the sign-ins.
  @GuessLimited('mfa.failed')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  webauthnOptions(@Body() dto: MfaTokenDto): Promise<unknown> {
    return this.auth.mfaWebAuthnOptions(dto.mfa_token);
  }

  @Post('passkey/options')
  @Public()
  // Each stores a challenge: bounded per address like the sign-ins themselves.
  @GuessLimited('auth.passkey')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  passkeyOptions(): Promise<unknown> {
    return this.auth.passkeyOptions();
  }

  @Post('passkey')
  @Public()
  @GuessLimited('auth.passkey')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async passkey(@Body() dto: PasskeySignInDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<IssuedToken> {
    const issued = await this.auth.passkeySignIn(dto.response, clientInfo(req));
    this.cookie.set(res, issued.access_token, issued.expires_in);
    return issued;
  }
}
