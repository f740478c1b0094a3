import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { clientInfo } from '../common/client-info';
import { ChangeOwnPasswordDto } from '../users/users.dto';
import { AuthCookie } from './auth-cookie';
import { CurrentPrincipal, RequirePermissions } from '../access/access.decorators';
import { GuessLimited } from '../access/guess-limit';
import { PasswordChangeService } from './password-change.service';
import type { Principal } from '../access/principal';

/** POST /users/me/password: here, beside logins, because it checks a password like one. */
@ApiTags('users')
@Controller('users')
export class PasswordChangeController {
  constructor(
    private readonly passwords: PasswordChangeService,
    private readonly cookie: AuthCookie,
  ) {}

  /** Any signed-in person; every older token of theirs stops working, and a browser gets a fresh cookie. */
  @Post('me/password')
  @RequirePermissions()
  @GuessLimited('user.password_changed')
  @HttpCode(204)
  async changeOwnPassword(
    @Body() dto: ChangeOwnPasswordDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    const issued = await this.passwords.changeOwnPassword(principal, dto.current_password, dto.new_password, clientInfo(req));
    if (issued && principal.source === 'cookie') this.cookie.set(res, issued.access_token, issued.expires_in);
  }
}
