/** Helpers for race tests: fire requests at the same moment, repeat an interleaving, collect what went wrong. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A whole number of milliseconds in [0, maxMs]. */
export const jitter = (maxMs: number) => Math.floor(Math.random() * (Math.max(0, maxMs) + 1));

/** What one racing request answered, and when (performance.now()) its answer arrived. */
export interface Settled<T> {
  value: T;
  at: number;
}

/** The function, started after `ms` milliseconds (0: at once). */
export function delayed<T>(ms: number, fn: () => Promise<T>): () => Promise<T> {
  return ms > 0 ? () => sleep(ms).then(fn) : fn;
}

/**
 * Starts every function in the same tick and waits for all of them; each result carries the moment
 * its answer arrived, so that a test can tell which request was answered first.
 */
export async function together<T extends readonly unknown[]>(...fns: { [K in keyof T]: () => Promise<T[K]> }): Promise<{ [K in keyof T]: Settled<T[K]> }> {
  const started = (fns as ReadonlyArray<() => Promise<unknown>>).map((fn) => fn().then((value) => ({ value, at: performance.now() })));
  return (await Promise.all(started)) as { [K in keyof T]: Settled<T[K]> };
}

/**
 * Problems found across the iterations of a race test. A test runs every iteration (a failure does
 * not stop the loop, so that the count of failing interleavings is visible), then asserts none.
 */
export class Problems {
  readonly found: string[] = [];
  private readonly failedIterations = new Set<number>();

  add(iteration: number, problem: string): void {
    this.found.push(`#${iteration}: ${problem}`);
    this.failedIterations.add(iteration);
  }

  /** Adds each non-null entry. */
  addAll(iteration: number, problems: Array<string | null | undefined>): void {
    for (const problem of problems) if (problem) this.add(iteration, problem);
  }

  get failedCount(): number {
    return this.failedIterations.size;
  }

  /** One line to assert on: how many of n iterations went wrong, then every problem. */
  summary(iterations: number): string[] {
    return this.found.length === 0 ? [] : [`${this.failedCount} of ${iterations} iterations failed`, ...this.found];
  }
}

/**
 * Runs `body` n times, one after the other. An exception thrown by an iteration is recorded as that
 * iteration's problem and the loop goes on.
 */
export async function repeat(n: number, problems: Problems, body: (iteration: number) => Promise<void>): Promise<void> {
  for (let i = 1; i <= n; i++) {
    try {
      await body(i);
    } catch (error) {
      problems.add(i, `threw: ${(error as Error).message}`);
    }
  }
}

/**
 * Polls `check` (null: holds, else what is wrong) until it holds or `withinMs` has passed, then
 * checks again `recheckAfterMs` later, so that a state that holds only for a moment is caught too.
 * Returns what was wrong, or null.
 */
export async function holdsWithin(check: () => Promise<string | null>, withinMs: number, recheckAfterMs: number): Promise<string | null> {
  const deadline = Date.now() + withinMs;
  let problem = await check();
  while (problem !== null && Date.now() < deadline) {
    await sleep(20);
    problem = await check();
  }
  if (problem !== null) return `after ${withinMs} ms: ${problem}`;
  if (recheckAfterMs > 0) {
    await sleep(recheckAfterMs);
    const later = await check();
    if (later !== null) return `held, then ${recheckAfterMs} ms later: ${later}`;
  }
  return null;
}
