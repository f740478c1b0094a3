import type { IncomingMessage } from 'node:http';
import { PayloadTooLargeException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/** The contract's body limit, 100 kB, in the unit the JSON parser counts. */
export const MAX_BODY_BYTES = 100 * 1024;
export const BODY_TOO_LARGE_MESSAGE = 'request body is larger than 100 kB';

const STRUCTURED_JSON = /^application\/[^\s/]+\+json$/;

/** application/json and the structured +json types (application/merge-patch+json, …), any parameters. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const semicolon = header.indexOf(';');
  const mediaType = (semicolon >= 0 ? header.slice(0, semicolon) : header).trim().toLowerCase();
  return mediaType === 'application/json' || STRUCTURED_JSON.test(mediaType);
}

/** The JSON parser reads exactly the bodies this admits, so the two can never disagree on what JSON is. */
export function isJsonRequest(req: IncomingMessage): boolean {
  return isJsonContentType(req.headers['content-type']);
}

/**
 * The one route that reads a form body (application/x-www-form-urlencoded) instead of JSON: an
 * identity provider's back-channel logout (OpenID Connect Back-Channel Logout 1.0 sends a form);
 * its controller reads the body itself.
 */
export const FORM_BODY_PATHS: ReadonlySet<string> = new Set(['/api/v1/auth/oidc/backchannel-logout']);

function isFormRequest(req: Request): boolean {
  const header = req.headers['content-type'];
  return header !== undefined && header.split(';')[0].trim().toLowerCase() === 'application/x-www-form-urlencoded' && FORM_BODY_PATHS.has(req.path);
}

/** Whether the request announces a body (a length above 0, or chunked). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0);
}

/** Whether the JSON parser would look at the request at all: chunked, or any Content-Length (0 included, read as {}). */
function announcesBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
}

/**
 * Refuses a body before a byte of it is read: one that announces more than 100 kB (413, whatever
 * its type; a chunked JSON body is cut off by the parser's own limit), and one sent to the API in
 * a type the API does not read (415). A request without a body is not looked at.
 */
export function checkBodyFraming(req: Request, _res: Response, next: NextFunction): void {
  if (!hasBody(req)) return next();
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) > MAX_BODY_BYTES) return next(new PayloadTooLargeException(BODY_TOO_LARGE_MESSAGE));
  if (req.path.startsWith('/api/') && !isJsonRequest(req) && !isFormRequest(req)) {
    return next(new UnsupportedMediaTypeException('the API reads JSON bodies only: send Content-Type: application/json'));
  }
  next();
}

type Middleware = (req: Request, res: Response, next: NextFunction) => void;

/**
 * The body steps in one middleware: framing (413/415 before a byte is read), the JSON parser, then
 * the shape check. A request that announces no body — most of them — passes with one header check
 * instead of three middleware calls; one with a Content-Length, even 0, goes through all three as before.
 */
export function jsonBodyPipeline(parseJson: Middleware, checkShape: Middleware): Middleware {
  return (req, res, next) => {
    if (!announcesBody(req)) return next();
    checkBodyFraming(req, res, (framingError?: unknown) => {
      if (framingError) return next(framingError);
      parseJson(req, res, (parseError?: unknown) => (parseError ? next(parseError) : checkShape(req, res, next)));
    });
  };
}
