import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { embeddedOptions, postgresOptions } from '../src/database/data-source-options';
import { EmbeddedDatabase } from '../src/database/embedded-database';
import { MIGRATIONS } from '../src/database/migrations';
import { bearer, call, login } from './support/http';
import { ADMIN, databaseForFile, startTestApp } from './support/test-app';
import { postgresServerUrl } from './support/test-database';

const BEFORE_CHAIN = MIGRATIONS.findIndex((migration) => migration.name === 'AuditChain1764370000008');

/** The database as the migrations up to `count` leave it, for one body; closed after. */
async function withMigrations<T>(db: { url?: string; dataDir?: string }, count: number, body: (ds: DataSource) => Promise<T>): Promise<T> {
  const embedded = db.url ? null : await EmbeddedDatabase.open(db.dataDir!);
  const options = embedded ? embeddedOptions(embedded) : postgresOptions(db.url!);
  const dataSource = new DataSource({ ...options, migrations: MIGRATIONS.slice(0, count), migrationsRun: false });
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'all' });
    return await body(dataSource);
  } finally {
    await dataSource.destroy();
    await embedded?.close();
  }
}

describe(`Migration AuditChain on a trail that already has events (${postgresServerUrl() ? 'PostgreSQL' : 'embedded PGlite'})`, () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;

  beforeAll(async () => {
    db = await databaseForFile();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('numbers and hashes the existing events in id order, cuts their times to milliseconds, and the app verifies them', async () => {
    expect(BEFORE_CHAIN).toBeGreaterThan(0);
    await withMigrations(db, BEFORE_CHAIN, async (ds) => {
      // Times out of id order and with microseconds; awkward text.
      await ds.query(
        `INSERT INTO "audit_events" ("type", "outcome", "actor", "ip", "user_agent", "reason", "request_id", "created_at")
         SELECT 'old.event', CASE WHEN i % 2 = 0 THEN 'success' ELSE 'failure' END, 'actor "' || i || '" \\ é',
                CASE WHEN i % 3 = 0 THEN NULL ELSE '10.0.0.' || i END, 'ua/' || i, CASE WHEN i % 4 = 0 THEN NULL ELSE 'r' || i END,
                'req-' || i, timestamptz '2025-06-01 12:00:00.123456+00' - i * interval '1.000789 second'
           FROM generate_series(1, 50) AS i`,
      );
    });
    const rows = await withMigrations(db, MIGRATIONS.length, (ds) =>
      ds.query<Array<{ id: string; seq: string; hash: string; created_at: Date; micro: number }>>(
        `SELECT id, seq, hash, created_at, extract(microseconds FROM created_at)::int % 1000 AS micro FROM "audit_events" ORDER BY id`,
      ),
    );
    expect(rows.map((row) => Number(row.seq))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(rows.every((row) => row.micro === 0)).toBe(true);

    const t = await startTestApp({}, db);
    try {
      const admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
      const verified = await call(t.baseUrl, 'GET', '/api/v1/audit/verify', { headers: bearer(admin) });
      expect(verified.body).toMatchObject({ ok: true, first_bad_seq: null });
      expect(verified.body.checked).toBeGreaterThanOrEqual(50);
      // And as a collector recomputes it from the export.
      const exported = await call(t.baseUrl, 'GET', '/api/v1/audit/events/export', { headers: bearer(admin) });
      let previous = '0'.repeat(64);
      const keys = ['actor', 'created_at', 'ip', 'outcome', 'reason', 'request_id', 'seq', 'type', 'user_agent'];
      for (const line of String(exported.body).split('\n').filter(Boolean).slice(0, 50)) {
        const event = JSON.parse(line) as Record<string, unknown>;
        const canonical = `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(event[k])}`).join(',')}}`;
        expect(event.hash).toBe(
          createHash('sha256')
            .update(previous + canonical)
            .digest('hex'),
        );
        previous = event.hash as string;
      }
      expect(previous).toBe(rows[49].hash);
    } finally {
      await t.close();
    }
  });
});
