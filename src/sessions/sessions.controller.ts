import { Controller, Delete, Get, HttpCode, Param, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { CurrentPrincipal, OpenDuringMfaEnrolment, RequirePermissions, RequireStepUp } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { clientInfo } from '../common/client-info';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import type { SessionView } from './sessions.dto';
import { SessionsService } from './sessions.service';

/** The caller's own sign-ins. */
@ApiTags('sessions')
@Controller('auth/sessions')
@OpenDuringMfaEnrolment()
export class OwnSessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get()
  @RequirePermissions()
  list(@CurrentPrincipal() principal: Principal): Promise<SessionView[]> {
    return this.sessions.listOwn(principal);
  }

  /** Ends every session of the caller except the current one. */
  @Delete()
  @RequirePermissions()
  @HttpCode(204)
  endOthers(@CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<void> {
    return this.sessions.endOwnOthers(principal, clientInfo(req));
  }

  @Delete(':id')
  @RequirePermissions()
  @HttpCode(204)
  end(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<void> {
    return this.sessions.endOwn(principal, id, clientInfo(req));
  }
}

/** Any user's sign-ins, for admins. */
@ApiTags('sessions')
@Controller('users/:id/sessions')
export class UserSessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get()
  @RequirePermissions('users:manage')
  list(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() principal: Principal): Promise<SessionView[]> {
    return this.sessions.listOfUser(id, principal);
  }

  @Delete()
  @RequirePermissions('users:manage')
  @RequireStepUp()
  @HttpCode(204)
  endAll(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<void> {
    return this.sessions.endAllOfUser(id, principal, clientInfo(req));
  }
}
