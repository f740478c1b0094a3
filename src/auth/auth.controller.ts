import { Body, Controller, Get, Header, HttpCode, Post, Req, Res, UseInterceptors } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { clientInfo } from '../common/client-info';
import { AuthCookie } from './auth-cookie';
import { CurrentPrincipal, OpenDuringMfaEnrolment, Public, RequirePermissions } from '../access/access.decorators';
import type { MfaChallengeView } from '../mfa/mfa.dto';
import { LoginDto, MeView } from './auth.dto';
import { AuthService, IssuedToken } from './auth.service';
import { GuessLimited } from '../access/guess-limit';
import { LoginRefusalAudit } from './login-refusal-audit.interceptor';
import type { Principal } from '../access/principal';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly cookie: AuthCookie,
  ) {}

  @Post('token')
  @Public()
  @GuessLimited('auth.login')
  @UseInterceptors(LoginRefusalAudit)
  @HttpCode(200)
  // A token response must never be kept by a browser or proxy cache (RFC 6749 §5.1).
  @Header('Cache-Control', 'no-store')
  async login(@Body() dto: LoginDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<IssuedToken | MfaChallengeView> {
    const issued = await this.auth.login(dto.username, dto.password, clientInfo(req));
    // A second factor is still to come: no token, so no cookie.
    if ('access_token' in issued) this.cookie.set(res, issued.access_token, issued.expires_in);
    return issued;
  }

  @Post('logout')
  @RequirePermissions()
  @OpenDuringMfaEnrolment()
  @HttpCode(204)
  async logout(@CurrentPrincipal() principal: Principal, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    await this.auth.logout(principal, clientInfo(req));
    this.cookie.clear(res);
  }

  @Get('me')
  @RequirePermissions()
  @OpenDuringMfaEnrolment()
  me(@CurrentPrincipal() principal: Principal): MeView {
    const view: MeView = {
      sub: principal.sub,
      role: principal.role,
      permissions: principal.permissions,
      auth_method: principal.kind === 'api_key' ? 'api_key' : 'jwt',
    };
    if (principal.keyPrefix) view.key_prefix = principal.keyPrefix;
    if (principal.sessionId) view.session_id = principal.sessionId;
    return view;
  }
}
