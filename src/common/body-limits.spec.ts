import type { Request, Response } from 'express';
import { checkBodyFraming, isJsonContentType, jsonBodyPipeline, MAX_BODY_BYTES } from './body-limits';

function framing(path: string, headers: Record<string, string>): unknown {
  let passed: unknown = 'not called';
  checkBodyFraming({ path, headers } as unknown as Request, {} as Response, (error?: unknown) => (passed = error));
  return passed;
}
const statusOf = (error: unknown) => (error as { getStatus?: () => number } | undefined)?.getStatus?.();

describe('request body limits', () => {
  it.each(['application/json', 'Application/JSON; charset=utf-8', 'application/merge-patch+json', 'application/vnd.api+json;v=1'])(
    'reads %s as JSON',
    (type) => {
      expect(isJsonContentType(type)).toBe(true);
    },
  );

  it.each([
    undefined,
    '',
    'text/plain',
    'text/json',
    'application/jsonp',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/+json',
    'text/x+json',
  ])('does not read %s as JSON', (type) => {
    expect(isJsonContentType(type)).toBe(false);
  });

  it('refuses a body announced over 100 kB with 413, whatever its type and path, before the type is looked at', () => {
    const length = String(MAX_BODY_BYTES + 1);
    expect(statusOf(framing('/api/v1/alerts', { 'content-length': length, 'content-type': 'application/json' }))).toBe(413);
    expect(statusOf(framing('/api/v1/alerts', { 'content-length': length, 'content-type': 'text/plain' }))).toBe(413);
    expect(statusOf(framing('/healthz', { 'content-length': length }))).toBe(413);
    expect(framing('/api/v1/alerts', { 'content-length': String(MAX_BODY_BYTES), 'content-type': 'application/json' })).toBeUndefined();
  });

  it('refuses a non-JSON body on the API with 415, chunked or not, and lets it pass elsewhere', () => {
    expect(statusOf(framing('/api/v1/alerts', { 'content-length': '5', 'content-type': 'text/plain' }))).toBe(415);
    expect(statusOf(framing('/api/v1/alerts', { 'transfer-encoding': 'chunked' }))).toBe(415);
    expect(framing('/index.html', { 'content-length': '5', 'content-type': 'text/plain' })).toBeUndefined();
  });

  it('does not look at requests without a body', () => {
    expect(framing('/api/v1/alerts', {})).toBeUndefined();
    expect(framing('/api/v1/alerts', { 'content-length': '0', 'content-type': 'text/plain' })).toBeUndefined();
  });
});

describe('the body pipeline', () => {
  const run = (headers: Record<string, string>) => {
    const steps: string[] = [];
    const parse = jest.fn((_req: Request, _res: Response, next: (error?: unknown) => void) => (steps.push('parse'), next()));
    const shape = jest.fn((_req: Request, _res: Response, next: (error?: unknown) => void) => (steps.push('shape'), next()));
    let passed: unknown = 'not called';
    jsonBodyPipeline(parse, shape)({ path: '/api/v1/x', headers } as unknown as Request, {} as Response, (error?: unknown) => (passed = error));
    return { steps, passed };
  };

  it('lets a request that announces no body through without the parser or the shape check', () => {
    expect(run({})).toEqual({ steps: [], passed: undefined });
  });

  it('parses then checks the shape of a body, and of a Content-Length of 0 (read as {} by the parser)', () => {
    expect(run({ 'content-type': 'application/json', 'content-length': '2' })).toEqual({ steps: ['parse', 'shape'], passed: undefined });
    expect(run({ 'content-length': '0' })).toEqual({ steps: ['parse', 'shape'], passed: undefined });
    expect(run({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' })).toEqual({ steps: ['parse', 'shape'], passed: undefined });
  });

  it('refuses a body the framing check refuses before the parser reads it', () => {
    const tooLarge = run({ 'content-type': 'application/json', 'content-length': String(MAX_BODY_BYTES + 1) });
    expect(tooLarge.steps).toEqual([]);
    expect(statusOf(tooLarge.passed)).toBe(413);
    const wrongType = run({ 'content-type': 'text/plain', 'content-length': '5' });
    expect(wrongType.steps).toEqual([]);
    expect(statusOf(wrongType.passed)).toBe(415);
  });
});
