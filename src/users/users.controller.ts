import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { CurrentPrincipal, RequirePermissions, RequireStepUp } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { clientInfo } from '../common/client-info';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { CreateUserDto, UpdateUserDto, UserListItem, UserView } from './users.dto';
import { UsersService } from './users.service';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @RequirePermissions('users:manage')
  @RequireStepUp()
  create(@Body() dto: CreateUserDto, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<UserView> {
    return this.users.create(dto, { sub: principal.sub, client: clientInfo(req) });
  }

  @Get()
  @RequirePermissions('users:manage')
  list(): Promise<UserListItem[]> {
    return this.users.list();
  }

  /** Clears the user's failed sign-ins (the LOGIN_MAX_FAILURES_PER_USER lockout); audited as user.unlocked. */
  @Delete(':id/lockout')
  @RequirePermissions('users:manage')
  @RequireStepUp()
  @HttpCode(204)
  unlock(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<void> {
    return this.users.unlock(id, { sub: principal.sub, client: clientInfo(req) });
  }

  @Patch(':id')
  @RequirePermissions('users:manage')
  @RequireStepUp()
  update(@Param('id', UuidParamPipe) id: string, @Body() dto: UpdateUserDto, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<UserView> {
    return this.users.update(id, dto, { sub: principal.sub, client: clientInfo(req) });
  }

  @Delete(':id')
  @RequirePermissions('users:manage')
  @RequireStepUp()
  @HttpCode(204)
  remove(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<void> {
    return this.users.remove(id, { sub: principal.sub, client: clientInfo(req) });
  }
}
