import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { clientInfo } from '../common/client-info';
import { ChangeOwnPasswordDto } from '../users/users.dto';
import { CurrentPrincipal, RequirePermissions } from '../access/access.decorators';
import { GuessLimited } from '../access/guess-limit';
import { PasswordChangeService } from './password-change.service';
import type { Principal } from '../access/principal';

/** POST /users/me/password: here, beside logins, because it checks a password like one. */
@ApiTags('users')
@Controller('users')
export class PasswordChangeController {
  constructor(private readonly passwords: PasswordChangeService) {}

  /** Any signed-in person; every other session of theirs ends, this one lives on. */
  @Post('me/password')
  @RequirePermissions()
  @GuessLimited('user.password_changed')
  @HttpCode(204)
  changeOwnPassword(@Body() dto: ChangeOwnPasswordDto, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<void> {
    return this.passwords.changeOwnPassword(principal, dto.current_password, dto.new_password, clientInfo(req));
  }
}
