import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppConfig } from '../config/app-config';
import { loggerParams, redactUrl, type RequestLogger, requestStart } from './logging';

describe('URLs in log lines', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl';
  const key = `aurora_${'A1b2'.repeat(9)}xy`;

  it('redacts credential-like parameters, also when their names are percent-encoded', () => {
    expect(redactUrl(`/api/v1/ws/alerts?token=${jwt}&x=1`)).toBe('/api/v1/ws/alerts?token=[REDACTED]&x=1');
    expect(redactUrl(`/a?to%6Ben=secret-value`)).toBe('/a?to%6Ben=[REDACTED]');
    expect(redactUrl(`/a?access%5Ftoken=secret-value`)).toBe('/a?access%5Ftoken=[REDACTED]');
  });

  it('redacts anything shaped like a token or a key, wherever it stands', () => {
    expect(redactUrl(`/a?q=${jwt}`)).toBe('/a?q=[REDACTED]');
    expect(redactUrl(`/a/${key}/b`)).toBe('/a/[REDACTED]/b');
  });

  it('leaves ordinary URLs alone', () => {
    expect(redactUrl('/api/v1/alerts?status=open&limit=20')).toBe('/api/v1/alerts?status=open&limit=20');
    expect(redactUrl(undefined)).toBeUndefined();
  });
});

describe('requestStart: the request id and the request log line', () => {
  type Line = { level: 'info' | 'warn' | 'error'; fields: { req: unknown; res: unknown; responseTime: number }; message: string };

  function harness(url: string, requestId?: string) {
    const lines: Line[] = [];
    const logger = {
      info: (fields: Line['fields'], message: string) => lines.push({ level: 'info', fields, message }),
      warn: (fields: Line['fields'], message: string) => lines.push({ level: 'warn', fields, message }),
      error: (fields: Line['fields'], message: string) => lines.push({ level: 'error', fields, message }),
    } as unknown as RequestLogger;
    const req = Object.assign(new EventEmitter(), {
      url,
      method: 'GET',
      headers: requestId ? { 'x-request-id': requestId } : {},
    }) as unknown as IncomingMessage & {
      id?: unknown;
    };
    const headers = new Map<string, string>();
    const res = Object.assign(new EventEmitter(), {
      statusCode: 200,
      writableFinished: false,
      setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), value),
    }) as unknown as ServerResponse & { writableFinished: boolean };
    let nexts = 0;
    requestStart(logger)(req, res, () => nexts++);
    const close = (statusCode: number, finished = true) => {
      Object.assign(res, { statusCode, writableFinished: finished });
      res.emit('close');
    };
    return { lines, req, res, headers, close, nexts: () => nexts };
  }

  it('keeps a sane client id, echoes it, and goes on with the request', () => {
    const { req, headers, nexts } = harness('/api/v1/alerts', 'edge-42');
    expect(req.id).toBe('edge-42');
    expect(headers.get('x-request-id')).toBe('edge-42');
    expect(nexts()).toBe(1);
  });

  it('gives a request without a sane id a new UUID', () => {
    const { req, headers } = harness('/api/v1/alerts', 'not sane!');
    expect(req.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(headers.get('x-request-id')).toBe(req.id);
  });

  it('writes one line when the response closes, at the level its status calls for', () => {
    for (const [status, level] of [
      [200, 'info'],
      [302, 'info'],
      [399, 'info'],
      [400, 'warn'],
      [499, 'warn'],
      [500, 'error'],
      [503, 'error'],
    ] as const) {
      const { lines, req, res, close } = harness('/api/v1/auth/me');
      expect(lines).toHaveLength(0);
      close(status);
      res.emit('close');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level, message: 'request completed' });
      expect(lines[0].fields.req).toBe(req);
      expect(lines[0].fields.res).toBe(res);
      expect(lines[0].fields.responseTime).toBeGreaterThanOrEqual(0);
    }
  });

  it('says so when the connection closed before the answer was sent', () => {
    const { lines, close } = harness('/api/v1/alerts');
    close(200, false);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', message: 'request aborted' })]);
  });

  it('never logs the probes, but gives them an id', () => {
    for (const url of ['/healthz', '/readyz']) {
      const { lines, req, close } = harness(url);
      close(200);
      expect(lines).toHaveLength(0);
      expect(typeof req.id).toBe('string');
    }
    const { lines, close } = harness('/healthz/x');
    close(404);
    expect(lines).toHaveLength(1);
  });

  it('serialises a request as its binding and a response as its status, so no header reaches a line', () => {
    const serializers = loggerParams({ logLevel: 'info' } as AppConfig).pinoHttp as { serializers: Record<string, (v: unknown) => unknown> };
    const req = { id: 'r1', method: 'GET', url: `/a?token=secret`, headers: { authorization: 'Bearer x' }, socket: { remoteAddress: '10.0.0.1' } };
    expect(serializers.serializers.req(req)).toEqual({ id: 'r1', method: 'GET', url: '/a?token=[REDACTED]', remoteAddress: '10.0.0.1' });
    expect(serializers.serializers.res({ statusCode: 201, getHeaders: () => ({ 'set-cookie': 'x' }) })).toEqual({ statusCode: 201 });
  });

  it("turns nestjs-pino's own request middleware off", () => {
    expect(loggerParams({ logLevel: 'info' } as AppConfig).forRoutes).toEqual([]);
  });
});
