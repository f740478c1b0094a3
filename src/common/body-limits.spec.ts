import type { Request, Response } from 'express';
import { checkBodyFraming, isJsonContentType, MAX_BODY_BYTES } from './body-limits';

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
