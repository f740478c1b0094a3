import type { NextFunction, Request, Response } from 'express';

/** No contract body nests anywhere near this deep; deeper ones only exhaust the validators. */
export const MAX_BODY_DEPTH = 32;
/**
 * No contract body has an object anywhere near this many fields. Validating thousands of unknown
 * fields costs ~170 ms of CPU and names every one of them; counting them costs nothing.
 */
export const MAX_OBJECT_FIELDS = 64;

export class BodyShapeError extends Error {
  readonly status = 400;
  readonly type = 'entity.shape.invalid';
}

/**
 * What is wrong with a parsed JSON body, or null: too deep, an object with too many fields, or a
 * NUL character PostgreSQL cannot store.
 */
export function bodyShapeProblem(body: unknown): string | null {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: body, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return 'strings in the request body must not contain NUL characters';
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH) return `the request body nests deeper than ${MAX_BODY_DEPTH} levels`;
    const entries = Object.entries(value);
    if (!Array.isArray(value) && entries.length > MAX_OBJECT_FIELDS) {
      return `an object in the request body has ${entries.length} fields; send at most ${MAX_OBJECT_FIELDS}, and only the fields the route documents`;
    }
    for (const [key, child] of entries) {
      if (key.includes('\u0000')) return 'keys in the request body must not contain NUL characters';
      stack.push({ value: child, depth: depth + 1 });
    }
  }
  return null;
}

/** Express middleware run right after the JSON parser. */
export function checkBodyShape(req: Request, _res: Response, next: NextFunction): void {
  const problem = req.body === undefined ? null : bodyShapeProblem(req.body);
  next(problem ? new BodyShapeError(problem) : undefined);
}
