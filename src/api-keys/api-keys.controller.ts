import { Body, Controller, Delete, Get, Header, HttpCode, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { CurrentPrincipal, RequirePermissions, RequireStepUp } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { clientInfo } from '../common/client-info';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { ApiKeySettingsService } from './api-key-settings.service';
import { ApiKeyView, CreateApiKeyDto, IssuedApiKeyView, KeyUsageQuery, KeyUsageView, RotateApiKeyDto, UpdateApiKeyDto } from './api-keys.dto';
import { ApiKeysService } from './api-keys.service';

@ApiTags('api-keys')
@Controller('auth/api-keys')
export class ApiKeysController {
  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly settings: ApiKeySettingsService,
  ) {}

  @Post()
  @RequirePermissions('users:manage')
  @RequireStepUp()
  @Header('Cache-Control', 'no-store')
  create(@Body() dto: CreateApiKeyDto, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<IssuedApiKeyView> {
    return this.apiKeys.create(dto, principal, clientInfo(req));
  }

  @Get()
  @RequirePermissions('users:manage')
  list(): Promise<ApiKeyView[]> {
    return this.apiKeys.list();
  }

  @Post(':id/rotate')
  @RequirePermissions('users:manage')
  @RequireStepUp()
  @Header('Cache-Control', 'no-store')
  rotate(
    @Param('id', UuidParamPipe) id: string,
    @Body() dto: RotateApiKeyDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<IssuedApiKeyView> {
    return this.apiKeys.rotate(id, dto.grace_period_seconds ?? 0, principal, clientInfo(req));
  }

  @Patch(':id')
  @RequirePermissions('users:manage')
  @RequireStepUp()
  update(
    @Param('id', UuidParamPipe) id: string,
    @Body() dto: UpdateApiKeyDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<ApiKeyView> {
    return this.settings.update(id, dto, principal, clientInfo(req));
  }

  @Get(':id/usage')
  @RequirePermissions('users:manage')
  usage(@Param('id', UuidParamPipe) id: string, @Query() query: KeyUsageQuery): Promise<KeyUsageView> {
    return this.settings.usageOf(id, query.days ?? 1);
  }

  @Delete(':id')
  @RequirePermissions('users:manage')
  @RequireStepUp()
  @HttpCode(204)
  revoke(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<void> {
    return this.apiKeys.revoke(id, principal, clientInfo(req));
  }
}
