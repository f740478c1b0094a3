import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RequirePermissions } from '../access/access.decorators';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { AlertView, CreateAlertDto, ListAlertsQuery, UpdateAlertDto } from './alerts.dto';
import { AlertsService } from './alerts.service';

@ApiTags('alerts')
@Controller('alerts')
export class AlertsController {
  constructor(private readonly alerts: AlertsService) {}

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

  @Patch(':id')
  @RequirePermissions('alerts:write')
  update(@Param('id', UuidParamPipe) id: string, @Body() dto: UpdateAlertDto): Promise<AlertView> {
    return this.alerts.updateStatus(id, dto);
  }
}
