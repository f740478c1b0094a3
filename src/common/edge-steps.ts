import type { IncomingMessage, ServerResponse } from 'node:http';

type Step<Req, Res> = (req: Req, res: Res, next: (error?: unknown) => void) => void;

/**
 * Middleware steps that every request takes, run in order as one Express layer. Express's router
 * pays for each layer a request passes (a match, a parameter object, closures): ten pass-through
 * layers cost a bare Express app 15 % of its CPU per request (bench/RESULTS.md). An error from a
 * step, passed to next or thrown, goes to `onError`, which answers; the remaining steps do not run.
 */
export function inOneLayer<Req, Res>(
  steps: readonly Step<Req, Res>[],
  onError: (error: unknown, req: Req, res: Res) => void,
): (req: Req, res: Res, next: () => void) => void {
  return (req, res, next) => {
    let index = 0;
    const step = (error?: unknown): void => {
      if (error !== undefined && error !== null) return onError(error, req, res);
      const current = steps[index++];
      if (current === undefined) return next();
      try {
        current(req, res, step);
      } catch (thrown) {
        onError(thrown, req, res);
      }
    };
    step();
  };
}

type HeaderMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * The headers a middleware sets when they do not depend on the request (helmet with fixed
 * directives, no nonces), learnt once by running it against a recording response, then set by a
 * step that only copies them: helmet stays the one source of the security headers, and a request
 * pays a dozen setHeader calls instead of helmet's fifteen nested middleware calls.
 * Throws at start-up if the middleware does anything but set or remove headers and call next().
 */
export function fixedHeaders(middleware: HeaderMiddleware): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  const headers = new Map<string, string | number | readonly string[]>();
  let passed = false;
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.set(name, value);
      return recorder;
    },
    removeHeader(name: string) {
      headers.delete(name);
    },
  };
  middleware({ headers: {}, method: 'GET', url: '/' } as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error !== undefined && error !== null) throw error instanceof Error ? error : new Error('fixedHeaders: the middleware passed an error to next()');
    passed = true;
  });
  if (!passed) throw new Error('fixedHeaders: the middleware did not call next() at once, so its headers are not fixed');
  const entries = [...headers];
  return (_req, res, next) => {
    for (const [name, value] of entries) res.setHeader(name, value);
    next();
  };
}
