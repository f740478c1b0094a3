import type { DataSource } from 'typeorm';

/**
 * Counts the SQL statements TypeORM sends, by watching the query runner class of the data source
 * (every repository call, query builder and raw query goes through QueryRunner.query).
 */
export interface QueryCounter {
  /** Statements seen since the counter started (or was reset), optionally only those matching. */
  count(match?: RegExp): number;
  statements: string[];
  reset(): void;
  stop(): void;
}

export async function countQueries(dataSource: DataSource): Promise<QueryCounter> {
  const runner = dataSource.createQueryRunner();
  const prototype = Object.getPrototypeOf(runner) as { query: (...args: unknown[]) => Promise<unknown> };
  await runner.release();
  const original = prototype.query;
  const statements: string[] = [];
  prototype.query = function (this: unknown, ...args: unknown[]) {
    statements.push(String(args[0]));
    return original.apply(this, args);
  };
  return {
    statements,
    count: (match) => (match ? statements.filter((sql) => match.test(sql)).length : statements.length),
    reset: () => void statements.splice(0),
    stop: () => {
      prototype.query = original;
    },
  };
}
