import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import { fixedHeaders, inOneLayer } from './edge-steps';

type Next = (error?: unknown) => void;

describe('inOneLayer: the edge steps as one Express layer', () => {
  it('runs every step in order, each after the one before called next, then passes the request on', () => {
    const ran: string[] = [];
    const later: Next[] = [];
    const layer = inOneLayer<object, object>(
      [
        (_req, _res, next) => (ran.push('first'), next()),
        (_req, _res, next) => (ran.push('second'), later.push(next)),
        (_req, _res, next) => (ran.push('third'), next()),
      ],
      () => ran.push('error'),
    );
    const passedOn = jest.fn();
    layer({}, {}, passedOn);
    expect(ran).toEqual(['first', 'second']);
    expect(passedOn).not.toHaveBeenCalled();
    later[0]();
    expect(ran).toEqual(['first', 'second', 'third']);
    expect(passedOn).toHaveBeenCalledTimes(1);
  });

  it('hands a step’s error to onError with the request and response, and runs no later step', () => {
    const req = { id: 'r' };
    const res = { id: 's' };
    const third = jest.fn();
    const onError = jest.fn();
    const passedOn = jest.fn();
    const failure = new Error('bad body');
    inOneLayer<object, object>([(_q, _s, next) => next(), (_q, _s, next) => next(failure), third], onError)(req, res, passedOn);
    expect(onError).toHaveBeenCalledWith(failure, req, res);
    expect(third).not.toHaveBeenCalled();
    expect(passedOn).not.toHaveBeenCalled();
  });

  it('hands a thrown error to onError once, as Express would hand it to an error handler', () => {
    const failure = new Error('thrown');
    const onError = jest.fn();
    const passedOn = jest.fn();
    inOneLayer<object, object>(
      [
        (_q, _s, next) => next(),
        () => {
          throw failure;
        },
      ],
      onError,
    )({}, {}, passedOn);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(failure, {}, {});
    expect(passedOn).not.toHaveBeenCalled();
  });

  it('keeps no state between requests', () => {
    const steps = [jest.fn((_q: object, _s: object, next: Next) => next()), jest.fn((_q: object, _s: object, next: Next) => next())];
    const layer = inOneLayer<object, object>(steps, jest.fn());
    const passedOn = jest.fn();
    layer({}, {}, passedOn);
    layer({}, {}, passedOn);
    expect(steps[0]).toHaveBeenCalledTimes(2);
    expect(steps[1]).toHaveBeenCalledTimes(2);
    expect(passedOn).toHaveBeenCalledTimes(2);
  });
});

describe('fixedHeaders: a header middleware learnt once, copied per request', () => {
  function headersSetBy(step: (req: IncomingMessage, res: ServerResponse, next: () => void) => void): Record<string, unknown> {
    const set: Record<string, unknown> = {};
    const res = {
      setHeader: (name: string, value: unknown) => (set[name.toLowerCase()] = value),
      removeHeader: (name: string) => delete set[name.toLowerCase()],
    };
    const next = jest.fn();
    step({ headers: {}, method: 'GET', url: '/x' } as IncomingMessage, res as unknown as ServerResponse, next);
    expect(next).toHaveBeenCalledTimes(1);
    return set;
  }

  it('sets exactly the headers helmet sets, with its values, on every response', () => {
    const options = { contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], objectSrc: ["'none'"] } }, crossOriginEmbedderPolicy: false };
    const fromHelmet = headersSetBy(helmet(options));
    const copied = fixedHeaders(helmet(options));
    expect(Object.keys(fromHelmet).length).toBeGreaterThan(8);
    expect(headersSetBy(copied)).toEqual(fromHelmet);
    expect(headersSetBy(copied)).toEqual(fromHelmet);
  });

  it('leaves out a header the middleware removes after setting it', () => {
    const step = fixedHeaders((_req, res, next) => {
      res.setHeader('X-Kept', 'yes');
      res.setHeader('X-Dropped', 'no');
      res.removeHeader('X-Dropped');
      next();
    });
    expect(headersSetBy(step)).toEqual({ 'x-kept': 'yes' });
  });

  it('refuses at start-up a middleware that fails or does not call next at once', () => {
    expect(() => fixedHeaders((_req, _res, next) => next(new Error('no')))).toThrow('no');
    expect(() => fixedHeaders(() => undefined)).toThrow(/did not call next/);
  });
});
