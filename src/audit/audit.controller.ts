import { once } from 'node:events';
import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { RequirePermissions } from '../auth/auth.decorators';
import type { AuditEventView } from './audit-event.view';
import { AuditQueryService } from './audit-query.service';
import { ExportAuditEventsQuery, ListAuditEventsQuery } from './audit.dto';

@ApiTags('audit')
@Controller('audit/events')
export class AuditController {
  constructor(private readonly auditQuery: AuditQueryService) {}

  @Get()
  @RequirePermissions('audit:read')
  list(@Query() query: ListAuditEventsQuery): Promise<AuditEventView[]> {
    return this.auditQuery.list(query);
  }

  /** NDJSON for SIEM collectors, written with backpressure. */
  @Get('export')
  @RequirePermissions('audit:read')
  @ApiProduces('application/x-ndjson')
  async export(@Query() query: ExportAuditEventsQuery, @Res() res: Response): Promise<void> {
    res.status(200).type('application/x-ndjson');
    try {
      for await (const event of this.auditQuery.export(query)) {
        if (res.destroyed) return;
        if (!res.write(`${JSON.stringify(event)}\n`)) await once(res, 'drain');
      }
      res.end();
    } catch {
      res.destroy();
    }
  }
}
