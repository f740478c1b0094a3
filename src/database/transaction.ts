import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { isDatabaseUnavailable } from '../common/http-exception.filter';

type Releasable = QueryRunner & { releasePostgresConnection?: (error?: Error) => Promise<void> };

/**
 * Runs the work in one transaction on a connection of its own. When the database stops answering
 * mid-way, the connection is thrown away instead of rolled back: a ROLLBACK would wait out another
 * query timeout before the caller gets its 503, and the broken connection must not go back to the
 * pool in the middle of a transaction.
 */
export async function inTransaction<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner() as Releasable;
  await runner.connect();
  let broken: Error | undefined;
  try {
    await runner.startTransaction();
    const result = await work(runner.manager);
    await runner.commitTransaction();
    return result;
  } catch (error) {
    if (isDatabaseUnavailable(error)) broken = error as Error;
    else if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    throw error;
  } finally {
    if (broken && runner.releasePostgresConnection) await runner.releasePostgresConnection(broken);
    else await runner.release();
  }
}
