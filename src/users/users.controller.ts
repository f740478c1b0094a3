import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AuthCookie } from '../auth/auth-cookie';
import { CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { AuthService } from '../auth/auth.service';
import type { Principal } from '../auth/principal';
import { clientInfo } from '../common/client-info';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { ChangeOwnPasswordDto, CreateUserDto, UpdateUserDto, UserView } from './users.dto';
import { UsersService } from './users.service';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly auth: AuthService,
    private readonly cookie: AuthCookie,
  ) {}

  @Post()
  @RequirePermissions('users:manage')
  create(@Body() dto: CreateUserDto, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<UserView> {
    return this.users.create(dto, { sub: principal.sub, client: clientInfo(req) });
  }

  @Get()
  @RequirePermissions('users:manage')
  list(): Promise<UserView[]> {
    return this.users.list();
  }

  /** Any signed-in person; every older token of theirs stops working, and a browser gets a fresh cookie. */
  @Post('me/password')
  @RequirePermissions()
  @HttpCode(204)
  async changeOwnPassword(
    @Body() dto: ChangeOwnPasswordDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    const user = await this.users.changeOwnPassword(principal.sub, principal.kind, dto.current_password, dto.new_password, clientInfo(req));
    if (principal.source === 'cookie') {
      const issued = await this.auth.reissue(user);
      this.cookie.set(res, issued.access_token, issued.expires_in);
    }
  }

  @Patch(':id')
  @RequirePermissions('users:manage')
  update(
    @Param('id', UuidParamPipe) id: string,
    @Body() dto: UpdateUserDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<UserView> {
    return this.users.update(id, dto, { sub: principal.sub, client: clientInfo(req) });
  }

  @Delete(':id')
  @RequirePermissions('users:manage')
  @HttpCode(204)
  remove(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<void> {
    return this.users.remove(id, { sub: principal.sub, client: clientInfo(req) });
  }
}
