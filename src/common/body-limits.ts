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
 * Refuses a body before a byte of it is read: one that announces more than 100 kB (413, whatever
 * its type; a chunked JSON body is cut off by the parser's own limit), and one sent to the API in
 * a type the API does not read (415). A request without a body is not looked at.
 */
export function checkBodyFraming(req: Request, _res: Response, next: NextFunction): void {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0);
  if (!hasBody) return next();
  if (length !== undefined && Number(length) > MAX_BODY_BYTES) return next(new PayloadTooLargeException(BODY_TOO_LARGE_MESSAGE));
  if (req.path.startsWith('/api/') && !isJsonRequest(req)) {
    return next(new UnsupportedMediaTypeException('the API reads JSON bodies only: send Content-Type: application/json'));
  }
  next();
}
