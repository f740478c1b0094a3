import * as path from 'node:path';
import { Logger as NestLogger, NotFoundException } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { parse as parseCookies } from 'cookie';
import express, { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { Logger, PinoLogger } from 'nestjs-pino';
import { AuthenticatingWsAdapter } from './realtime/authenticating-ws-adapter';
import { isJsonRequest, jsonBodyPipeline, MAX_BODY_BYTES } from './common/body-limits';
import { checkBodyShape } from './common/body-shape';
import { clientInfo } from './common/client-info';
import { errorResponse, HttpExceptionFilter, sendError } from './common/http-exception.filter';
import { type RequestLogger, requestStart } from './common/logging';
import { fixedHeaders, inOneLayer } from './common/edge-steps';
import { ContractValidationPipe } from './common/validation';
import { validationException } from './common/validation-exception';
import { AuditRecorder } from './audit/audit-recorder';
import { AppConfig } from './config/app-config';
import { AlertsGateway } from './realtime/alerts.gateway';
import { AuditGateway } from './realtime/audit.gateway';
import { MetricsServer } from './metrics/metrics-server';
import { MetricsService } from './metrics/metrics.service';

export const API_PREFIX = 'api/v1';
/** public/ at the project root, whether this file runs from src/ (tests) or dist/src/ (builds). */
export const PUBLIC_DIR = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === 'dist' ? '../..' : '..', 'public');
/** The login and the routes under it (its second step), where a refused body is a failed login. */
const LOGIN_PATHS = new RegExp(`^/${API_PREFIX}/auth/token(?:/|$)`, 'i');
const DOCS_PATH = /^\/api\/docs(?:\/|$)/i;
const DOCS_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'";

/** The one function that configures an app: main.ts and every e2e test call it. */
export function configureApp(app: NestExpressApplication): NestExpressApplication {
  const config = app.get(AppConfig);
  app.useLogger(app.get(Logger));
  app.flushLogs();
  if (config.trustProxy !== undefined) app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  // Every answer is specific to its caller and current: an ETag (a SHA-1 of each body) buys nothing.
  app.set('etag', false);
  const parserLogger = new NestLogger('BodyParser');
  const refusedLogin = auditRefusedLogins(app.get(AuditRecorder, { strict: false }), app.get(MetricsService, { strict: false }));
  // The steps every request takes before routing, as one layer (common/edge-steps.ts says why):
  // the request id and log line first, so that every answer (body refusals too) carries and logs them.
  app.use(
    inOneLayer<Request, Response>(
      [
        requestStart(applicationLogger()),
        fixedHeaders(securityHeaders()),
        docsPolicy,
        jsonBodyPipeline(express.json({ limit: MAX_BODY_BYTES, type: isJsonRequest }), checkBodyShape),
        consoleFiles(),
      ],
      (error, req, res) => {
        refusedLogin(error, req);
        sendError(error, req, res, parserLogger);
      },
    ),
  );
  parseCookiesOnFirstRead(app);
  app.setGlobalPrefix(API_PREFIX, { exclude: ['healthz', 'readyz'] });
  app.useGlobalPipes(
    // Unknown fields are refused, those Nest and class-transformer drop silently (__proto__, toString …) too.
    new ContractValidationPipe({
      // The errors are only turned into messages: they need not hold the body or its values.
      validationError: { target: false, value: false },
      exceptionFactory: validationException,
    }),
  );
  app.useGlobalFilters(new HttpExceptionFilter());
  app.useWebSocketAdapter(new AuthenticatingWsAdapter(app));
  setUpOpenApi(app);
  answerOutsideNestAsJson(app);
  const alerts = app.get(AlertsGateway, { strict: false });
  const audit = app.get(AuditGateway, { strict: false });
  app.get(MetricsServer).registerSocketGauge(() => ({ alerts: alerts.openSockets, audit: audit.openSockets }));
  return app;
}

/** The security headers of every answer, as helmet sets them. */
function securityHeaders(): ReturnType<typeof helmet> {
  return helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
    crossOriginEmbedderPolicy: false,
  });
}

/** Swagger UI ships inline styles; only its pages get style-src 'unsafe-inline'. */
function docsPolicy(req: Request, res: Response, next: NextFunction): void {
  if (DOCS_PATH.test(req.path)) res.setHeader('Content-Security-Policy', DOCS_CSP);
  next();
}

/** nestjs-pino's root logger, made when the app's Logger was (the first line of configureApp). */
function applicationLogger(): RequestLogger {
  const root = PinoLogger.root as RequestLogger | undefined;
  if (!root) throw new Error('nestjs-pino made no root logger: LoggerModule.forRoot must be imported');
  return root;
}

/**
 * `req.cookies` as cookie-parser makes it, but parsed on first read, from a getter on the app's
 * request prototype: only the requests that reach the cookie credential (no Authorization, no
 * X-API-Key) pay for parsing, and none pays for a middleware.
 */
function parseCookiesOnFirstRead(app: NestExpressApplication): void {
  const parsed = Symbol('cookies');
  type WithCookies = Request & { [parsed]?: Record<string, string | undefined> };
  const instance: express.Express = app.getHttpAdapter().getInstance();
  Object.defineProperty(instance.request, 'cookies', {
    configurable: true,
    get(this: WithCookies) {
      return (this[parsed] ??= this.headers.cookie ? parseCookies(this.headers.cookie) : {});
    },
    set(this: WithCookies, value: Record<string, string | undefined>) {
      this[parsed] = value;
    },
  });
}

/**
 * Logins the body checks refuse before the controller runs (malformed JSON, 413, 415, a body of
 * the wrong shape) are audited and counted like any other failed login: a SOC wants to see them.
 * The username is not known, or not trusted, at this point.
 */
function auditRefusedLogins(audit: AuditRecorder, metrics: MetricsService): (error: unknown, req: Request) => void {
  return (error, req) => {
    const reason = req.method === 'POST' && LOGIN_PATHS.test(req.path) ? refusedLoginReason(error) : null;
    if (!reason) return;
    audit.record({ type: 'auth.login', outcome: 'failure', actor: null, reason, client: clientInfo(req) });
    metrics.countAuthentication('login', 'failure', reason);
  };
}

function refusedLoginReason(error: unknown): string | null {
  // The client stopped sending (or its connection was closed for sending too slowly).
  if ((error as { type?: unknown } | null)?.type === 'request.aborted') return 'request_incomplete';
  const status = errorResponse(error).body.statusCode;
  if (status >= 500) return null;
  return status === 413 ? 'request_too_large' : status === 415 ? 'unsupported_content_type' : 'malformed_request';
}

/**
 * The console's static files. API and health paths never touch the file system: a stat() per API
 * request cost 10-14% of a route's CPU (bench/RESULTS.md).
 */
function consoleFiles(): (req: Request, res: Response, next: NextFunction) => void {
  const serveFile = express.static(PUBLIC_DIR, { index: 'index.html', dotfiles: 'ignore', redirect: false });
  const logger = new NestLogger('Console');
  return (req, res, next) => {
    if (req.path.startsWith('/api/') || req.path === '/healthz' || req.path === '/readyz') return next();
    // Nest's own 404 covers only /api/v1; anything else that is not a file gets the same JSON error.
    serveFile(req, res, () => sendError(new NotFoundException(`nothing at ${req.method} ${req.path}`), req, res, logger));
  };
}

/**
 * Swagger serves the docs outside Nest's prefix, where neither Nest's 404 nor its error handler
 * reaches: what it leaves unanswered or fails on under /api would get Express's HTML page.
 * Registered before Nest's routes, so these run only for requests nothing above them answered.
 */
function answerOutsideNestAsJson(app: NestExpressApplication): void {
  const logger = new NestLogger('HttpEdge');
  // Matches, without consuming it, a path under /api but not under /api/v1: API requests pass
  // these two layers with one failed match each, and the path the handlers see is not cut.
  const outsideNest = new RegExp(`^(?=/api(?:/|$))(?!/${API_PREFIX}(?:/|$))`, 'i');
  app.use(outsideNest, (req: Request, res: Response) => sendError(new NotFoundException(`nothing at ${req.method} ${req.path}`), req, res, logger));
  app.use(outsideNest, (error: unknown, req: Request, res: Response, _next: NextFunction) => sendError(error, req, res, logger));
}

function setUpOpenApi(app: NestExpressApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('AuroraSOC API')
      .setDescription('Authentication, users, API keys, alerts and audit of the AuroraSOC platform')
      .setVersion('1')
      .addBearerAuth()
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api_key')
      .addCookieAuth('access_token')
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
}
