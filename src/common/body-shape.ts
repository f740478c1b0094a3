import type { NextFunction, Request, Response } from 'express';

/** No contract body nests anywhere near this deep; deeper ones only exhaust the validators. */
export const MAX_BODY_DEPTH = 32;

export class BodyShapeError extends Error {
  readonly status = 400;
  readonly type = 'entity.shape.invalid';
}

/** What is wrong with a parsed JSON body, or null: too deep, or a NUL character PostgreSQL cannot store. */
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
    for (const [key, child] of Object.entries(value)) {
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
