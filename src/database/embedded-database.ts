import * as fs from 'node:fs';
import * as path from 'node:path';
import { PGlite } from '@electric-sql/pglite';

export class DataDirLockedError extends Error {}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A lock file in DATA_DIR. PGlite has no lock of its own, and two processes writing one data
 * directory silently lose rows, so a second process must refuse to start.
 */
export class DataDirLock {
  private constructor(private readonly file: string) {}

  static acquire(dataDir: string): DataDirLock {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, 'aurora.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
        return new DataDirLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = Number(fs.readFileSync(file, 'utf8').trim());
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processIsAlive(holder)) {
          throw new DataDirLockedError(`DATA_DIR ${dataDir} is in use by another AuroraSOC process (pid ${holder}); stop it or choose another DATA_DIR`);
        }
        fs.rmSync(file, { force: true });
      }
    }
    throw new DataDirLockedError(`could not lock DATA_DIR ${dataDir}`);
  }

  release(): void {
    try {
      if (fs.readFileSync(this.file, 'utf8').trim() === String(process.pid)) fs.rmSync(this.file, { force: true });
    } catch {
      // already gone
    }
  }
}

/** The embedded PostgreSQL-compatible database (PGlite) persisted in DATA_DIR, guarded by a lock. */
export class EmbeddedDatabase {
  private constructor(
    readonly pglite: PGlite,
    private readonly lock: DataDirLock,
  ) {}

  static async open(dataDir: string): Promise<EmbeddedDatabase> {
    const lock = DataDirLock.acquire(dataDir);
    try {
      const pglite = await PGlite.create(path.join(dataDir, 'pgdata'));
      return new EmbeddedDatabase(pglite, lock);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  async close(): Promise<void> {
    try {
      if (!this.pglite.closed) await this.pglite.close();
    } finally {
      this.lock.release();
    }
  }
}
