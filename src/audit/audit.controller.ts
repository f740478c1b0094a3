import { once } from 'node:events';
import { Controller, Get, Logger, Query, Req, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { sendError } from '../common/http-exception.filter';
import { RequirePermissions, RequireStepUp } from '../access/access.decorators';
import type { AuditEventView } from './audit-event.view';
import { AuditQueryService } from './audit-query.service';
import { ExportAuditEventsQuery, ListAuditEventsQuery, VerifyAuditQuery } from './audit.dto';
import { AuditVerifier, VerifyResult } from './audit-verifier';

@ApiTags('audit')
@Controller('audit/events')
export class AuditController {
  private readonly logger = new Logger(AuditController.name);

  constructor(private readonly auditQuery: AuditQueryService) {}

  @Get()
  @RequirePermissions('audit:read')
  list(@Query() query: ListAuditEventsQuery): Promise<AuditEventView[]> {
    return this.auditQuery.list(query);
  }

  /** NDJSON for SIEM collectors, written with backpressure. */
  @Get('export')
  @RequirePermissions('audit:read')
  @RequireStepUp()
  @ApiProduces('application/x-ndjson')
  async export(@Query() query: ExportAuditEventsQuery, @Req() req: Request, @Res() res: Response): Promise<void> {
    res.status(200).type('application/x-ndjson');
    try {
      for await (const event of this.auditQuery.export(query)) {
        if (res.destroyed) return;
        if (!res.write(`${JSON.stringify(event)}\n`)) await once(res, 'drain');
      }
      res.end();
    } catch (error) {
      // Before the first line the client still gets the JSON error (503 when the database is down);
      // after it, cutting the stream is the only honest signal.
      if (res.headersSent) res.destroy();
      else {
        res.removeHeader('Content-Type');
        sendError(error, req, res, this.logger);
      }
    }
  }
}

@ApiTags('audit')
@Controller('audit')
export class AuditVerifyController {
  constructor(private readonly verifier: AuditVerifier) {}

  /** Recomputes the hash chain from the stored events (README, "Audit"). */
  @Get('verify')
  @RequirePermissions('audit:read')
  verify(@Query() query: VerifyAuditQuery): Promise<VerifyResult> {
    return this.verifier.verify(query.from_seq);
  }
}
