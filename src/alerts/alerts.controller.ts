import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequirePermissions } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { AlertTriage } from './alert-triage';
import { type AlertDetailView, type AlertNoteView, BulkUpdateAlertsDto, CreateNoteDto } from './alert-triage.dto';
import { AlertSummaryQuery, type AlertSummaryView, type AlertView, CreateAlertDto, ListAlertsQuery, UpdateAlertDto } from './alerts.dto';
import { AlertsService } from './alerts.service';

@ApiTags('alerts')
@Controller('alerts')
export class AlertsController {
  constructor(
    private readonly alerts: AlertsService,
    private readonly triage: AlertTriage,
  ) {}

  @Post()
  @RequirePermissions('alerts:write')
  create(@Body() dto: CreateAlertDto): Promise<AlertView> {
    return this.alerts.create(dto);
  }

  @Get()
  @RequirePermissions('alerts:read')
  list(@Query() query: ListAlertsQuery): Promise<AlertView[]> {
    return this.alerts.list(query);
  }

  @Patch()
  @RequirePermissions('alerts:write')
  updateMany(@Body() dto: BulkUpdateAlertsDto, @CurrentPrincipal() principal: Principal): Promise<{ updated: number }> {
    return this.triage.updateMany(dto.ids, { status: dto.status, assignee: dto.assignee }, principal);
  }

  @Get('summary')
  @RequirePermissions('alerts:read')
  summary(@Query() query: AlertSummaryQuery): Promise<AlertSummaryView> {
    return this.alerts.summary(query);
  }

  @Get(':id')
  @RequirePermissions('alerts:read')
  detail(@Param('id', UuidParamPipe) id: string): Promise<AlertDetailView> {
    return this.triage.detail(id);
  }

  @Patch(':id')
  @RequirePermissions('alerts:write')
  update(@Param('id', UuidParamPipe) id: string, @Body() dto: UpdateAlertDto, @CurrentPrincipal() principal: Principal): Promise<AlertView> {
    return this.triage.update(id, { status: dto.status, assignee: dto.assignee }, principal);
  }

  @Post(':id/notes')
  @RequirePermissions('alerts:write')
  addNote(@Param('id', UuidParamPipe) id: string, @Body() dto: CreateNoteDto, @CurrentPrincipal() principal: Principal): Promise<AlertNoteView> {
    return this.triage.addNote(id, dto, principal);
  }
}
