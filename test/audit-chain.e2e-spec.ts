import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditChainMonitor } from '../src/audit/audit-chain-monitor';
import { AuditRecorder } from '../src/audit/audit-recorder';
import { AuditRetention } from '../src/audit/audit-retention';
import { MetricsService } from '../src/metrics/metrics.service';
import { bearer, call, createUser, login } from './support/http';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { postgresServerUrl } from './support/test-database';
import { openLive } from './support/ws';

const ZERO = '0'.repeat(64);

/** What a collector does, written apart from src/: sha256(previous hash + sorted, spaceless JSON of the nine fields). */
function collectorHash(previous: string, e: Record<string, unknown>): string {
  const fields = ['actor', 'created_at', 'ip', 'outcome', 'reason', 'request_id', 'seq', 'type', 'user_agent'];
  const canonical = `{${fields.map((f) => `${JSON.stringify(f)}:${JSON.stringify(e[f])}`).join(',')}}`;
  return createHash('sha256').update(previous).update(canonical, 'utf8').digest('hex');
}

describe(`Audit hash chain (${postgresServerUrl() ? 'PostgreSQL' : 'embedded PGlite'})`, () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let admin: string;
  let dataSource: DataSource;
  let recorder: AuditRecorder;

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({ TRUST_PROXY: 'loopback' }, db);
    admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    dataSource = t.app.get(DataSource);
    recorder = t.app.get(AuditRecorder);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const verify = (query = '') => call(t.baseUrl, 'GET', `/api/v1/audit/verify${query}`, { headers: bearer(admin) });

  async function exported(): Promise<Array<Record<string, unknown>>> {
    await recorder.flush();
    const reply = await call(t.baseUrl, 'GET', '/api/v1/audit/events/export', { headers: bearer(admin) });
    expect(reply.status).toBe(200);
    return String(reply.body)
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Runs statements with the triggers off, as the database superuser could; on the app's own connection. */
  async function asSuperuser(sql: string, params: unknown[] = []): Promise<void> {
    await dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL session_replication_role = replica`);
      await manager.query(sql, params);
    });
  }

  it('numbers events 1, 2, 3 … and hashes them as the contract says, so a collector can recompute the export', async () => {
    // Awkward text: quotes, backslashes, escaped controls and overrides, non-ASCII, an emoji.
    recorder.record({
      type: 'test.chain',
      outcome: 'success',
      actor: 'quote"back\\slash',
      reason: 'Zoë 東京 \u{1F600} \u202e\n',
      client: { ip: '203.0.113.1', userAgent: 'ua "x"', requestId: 'req-1' },
    });
    for (let i = 0; i < 30; i++) recorder.record({ type: 'test.chain', outcome: i % 2 ? 'success' : 'failure', actor: `user${i}`, reason: null });
    const events = await exported();
    expect(events.length).toBeGreaterThan(30);
    let previous = ZERO;
    events.forEach((event, index) => {
      expect(event.seq).toBe(index + 1);
      expect(event.hash).toBe(collectorHash(previous, event));
      previous = event.hash as string;
    });
    const listed = await call(t.baseUrl, 'GET', '/api/v1/audit/events?limit=1', { headers: bearer(admin) });
    expect(listed.body[0]).toMatchObject({ seq: events.length, hash: previous });
    const reply = await verify();
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ ok: true, checked: events.length, head: { seq: events.length, hash: previous }, first_bad_seq: null });
  });

  it('sends seq and hash with each event on /ws/audit, as stored', async () => {
    const live = await openLive(`${t.wsUrl}/api/v1/ws/audit`, bearer(admin));
    try {
      recorder.record({ type: 'test.live', outcome: 'success', actor: 'live-chain', reason: null });
      const frame = await live.nextMessage((m: { type?: string; data?: { type?: string } }) => m?.type === 'audit.event' && m.data?.type === 'test.live');
      const head = (await verify()).body.head as { seq: number; hash: string };
      expect(frame.data).toMatchObject({ seq: head.seq, hash: head.hash, actor: 'live-chain' });
    } finally {
      live.close();
    }
  });

  it('anchors the head outside the database: the gauge aurora_audit_chain_head_seq and a log line with seq and hash', async () => {
    const head = (await verify()).body.head as { seq: number; hash: string };
    const metrics = await t.app.get(MetricsService).registry.metrics();
    expect(metrics).toMatch(new RegExp(`^aurora_audit_chain_head_seq ${head.seq}$`, 'm'));
    const logged = jest.spyOn(Logger.prototype, 'log');
    try {
      expect(await t.app.get(AuditChainMonitor).logHead()).toEqual(head);
      expect(logged).toHaveBeenCalledWith(
        { audit_chain_head: head, audit_chain_base: { seq: 0, hash: '0'.repeat(64) } },
        `audit chain head seq ${head.seq} hash ${head.hash}`,
      );
    } finally {
      logged.mockRestore();
    }
  });

  it('verifies from a given seq, and refuses a from_seq that is not a positive whole number with 400', async () => {
    const head = (await verify()).body.head;
    expect((await verify('?from_seq=5')).body).toEqual({ ok: true, checked: head.seq - 4, head, first_bad_seq: null });
    for (const bad of ['0', '-1', 'abc', '1.5']) expect((await verify(`?from_seq=${bad}`)).status).toBe(400);
  });

  it('needs audit:read', async () => {
    expect((await call(t.baseUrl, 'GET', '/api/v1/audit/verify')).status).toBe(401);
  });

  it('the database refuses UPDATE, DELETE and TRUNCATE of audit events', async () => {
    await expect(dataSource.query(`UPDATE "audit_events" SET "reason" = 'edited' WHERE "seq" = 2`)).rejects.toThrow(/append-only/);
    await expect(dataSource.query(`DELETE FROM "audit_events" WHERE "seq" = 2`)).rejects.toThrow(/append-only/);
    await expect(dataSource.query(`TRUNCATE "audit_events"`)).rejects.toThrow(/append-only/);
    expect((await verify()).body.ok).toBe(true);
  });

  it('refuses, even with the retention flag, to delete the newest events and rewind the head to hide them', async () => {
    await recorder.flush();
    const [{ head }] = await dataSource.query<Array<{ head: number }>>(`SELECT head_seq::int AS head FROM "audit_chain"`);
    await expect(
      dataSource.transaction(async (manager) => {
        await manager.query(`SET LOCAL aurora.audit_retention = 'on'`);
        await manager.query(`DELETE FROM "audit_events" WHERE "seq" = $1`, [head]);
      }),
    ).rejects.toThrow(/append-only/);
    const [{ hash }] = await dataSource.query<Array<{ hash: string }>>(`SELECT hash FROM "audit_events" WHERE seq = $1`, [head - 1]);
    await expect(dataSource.query(`UPDATE "audit_chain" SET head_seq = $1, head_hash = $2`, [head - 1, hash])).rejects.toThrow(/only move forward/);
    await expect(dataSource.query(`UPDATE "audit_chain" SET head_seq = head_seq + 1`)).rejects.toThrow(/only an append moves/);
    await expect(dataSource.query(`UPDATE "audit_chain" SET base_seq = 1, base_hash = $1`, [hash])).rejects.toThrow(/only the retention job/);
    await expect(dataSource.query(`DELETE FROM "audit_chain"`)).rejects.toThrow(/cannot be removed/);
    expect((await verify()).body).toMatchObject({ ok: true, first_bad_seq: null });
  });

  it('names the seq of an event changed behind its back, and of one removed (the gap), and of one inserted past the head', async () => {
    const [original] = await dataSource.query<Array<Record<string, unknown>>>(`SELECT * FROM "audit_events" WHERE "seq" = 7`);
    await asSuperuser(`UPDATE "audit_events" SET "reason" = 'nothing happened' WHERE "seq" = 7`);
    expect((await verify()).body).toMatchObject({ ok: false, first_bad_seq: 7 });
    await asSuperuser(`UPDATE "audit_events" SET "created_at" = "created_at" + interval '1 millisecond' WHERE "seq" = 7`);
    expect((await verify()).body).toMatchObject({ ok: false, first_bad_seq: 7 });
    await asSuperuser(`UPDATE "audit_events" SET "reason" = $1, "created_at" = $2 WHERE "seq" = 7`, [original.reason, original.created_at]);
    expect((await verify()).body).toMatchObject({ ok: true, first_bad_seq: null });

    const [removed] = await dataSource.query<Array<Record<string, unknown>>>(`SELECT * FROM "audit_events" WHERE "seq" = 12`);
    await asSuperuser(`DELETE FROM "audit_events" WHERE "seq" = 12`);
    expect((await verify()).body).toMatchObject({ ok: false, first_bad_seq: 12 });
    expect((await verify('?from_seq=10')).body).toMatchObject({ ok: false, first_bad_seq: 12 });
    // Starting right after the gap: the event it would start from is the missing one.
    expect((await verify('?from_seq=13')).body).toMatchObject({ ok: false, first_bad_seq: 12 });
    const columns = Object.keys(removed);
    await asSuperuser(
      `INSERT INTO "audit_events" (${columns.map((c) => `"${c}"`).join(', ')}) OVERRIDING SYSTEM VALUE VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      columns.map((c) => removed[c]),
    );
    expect((await verify()).body).toMatchObject({ ok: true, first_bad_seq: null });

    const head = (await verify()).body.head as { seq: number };
    await asSuperuser(
      `INSERT INTO "audit_events" ("seq", "hash", "type", "outcome", "actor", "created_at") VALUES ($1, repeat('a', 64), 'forged', 'success', 'x', now())`,
      [head.seq + 1],
    );
    expect((await verify()).body).toMatchObject({ ok: false, first_bad_seq: head.seq + 1 });
    await asSuperuser(`DELETE FROM "audit_events" WHERE "seq" = $1`, [head.seq + 1]);
    expect((await verify()).body).toMatchObject({ ok: true, first_bad_seq: null });
  });

  it('records what an admin changed on a user, before and after, as compact JSON in the reason (never the password)', async () => {
    const user = await createUser(t.baseUrl, admin, 'changed@chain.test', 'viewer');
    const patched = await call(t.baseUrl, 'PATCH', `/api/v1/users/${user.id}`, {
      headers: bearer(admin),
      body: { role: 'analyst', disabled: true, password: 'a-new-password-456' },
    });
    expect(patched.status).toBe(200);
    await recorder.flush();
    const [event] = (await call(t.baseUrl, 'GET', '/api/v1/audit/events?type=user.updated&limit=1', { headers: bearer(admin) })).body;
    expect(JSON.parse(event.reason)).toEqual({
      target: 'changed@chain.test',
      before: { role: 'viewer', disabled: false, password: 'previous' },
      after: { role: 'analyst', disabled: true, password: 'replaced' },
    });
    expect(event.reason).not.toContain('a-new-password-456');
    expect((await verify()).body.ok).toBe(true);
  });

  it('gives seq in the order events were recorded, across batches of one flush', async () => {
    // The outage queue (database-outage.postgres.e2e-spec.ts) is written the same way, oldest first.
    for (let i = 0; i < 700; i++) recorder.record({ type: 'test.order', outcome: 'success', actor: `order-${i}`, reason: null });
    await recorder.flush();
    const rows = await dataSource.query<Array<{ actor: string }>>(`SELECT "actor" FROM "audit_events" WHERE "type" = 'test.order' ORDER BY "seq"`);
    expect(rows.map((row) => row.actor)).toEqual(Array.from({ length: 700 }, (_, i) => `order-${i}`));
  });
});

describe(`Audit retention (${postgresServerUrl() ? 'PostgreSQL' : 'embedded PGlite'})`, () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let admin: string;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({ AUDIT_RETENTION_DAYS: '30' }, db);
    admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    dataSource = t.app.get(DataSource);
    await t.app.get(AuditRecorder).flush();
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('deletes the events past retention, keeps the rest verifiable from the checkpoint, and lets nothing else delete', async () => {
    const [{ young }] = await dataSource.query<Array<{ young: number }>>(`SELECT max("seq")::int + 1 AS young FROM "audit_events"`);
    // Events 60 days ahead: with "now" 40 days ahead and 30 days of retention, everything before them is past it.
    await dataSource.query(
      `INSERT INTO "audit_events" ("type", "outcome", "actor", "created_at") SELECT 'test.kept', 'success', 'k' || i, now() + interval '60 days' FROM generate_series(1, 20) i`,
    );
    const [{ hash: lastDeletedHash }] = await dataSource.query<Array<{ hash: string }>>(`SELECT hash FROM "audit_events" WHERE seq = $1`, [young - 1]);
    const logged = jest.spyOn(Logger.prototype, 'log');
    let deleted: number;
    try {
      deleted = await t.app.get(AuditRetention).run(Date.now() + 40 * 86_400_000, 30);
      // The new base is logged, for the same external anchoring as the head.
      expect(logged).toHaveBeenCalledWith({ audit_chain_base: { seq: young - 1, hash: lastDeletedHash } }, expect.stringContaining(`after seq ${young - 1}`));
    } finally {
      logged.mockRestore();
    }
    expect(deleted).toBe(young - 1);
    const [{ oldest }] = await dataSource.query<Array<{ oldest: number }>>(`SELECT min("seq")::int AS oldest FROM "audit_events"`);
    expect(oldest).toBe(young);
    const reply = await call(t.baseUrl, 'GET', '/api/v1/audit/verify', { headers: bearer(admin) });
    expect(reply.body).toMatchObject({ ok: true, checked: expect.any(Number) as number, first_bad_seq: null });
    expect(reply.body.checked).toBeGreaterThanOrEqual(20);
    // The flag is the retention job's, in its transaction only.
    await expect(dataSource.query(`DELETE FROM "audit_events" WHERE "seq" = $1`, [oldest])).rejects.toThrow(/append-only/);
    // A tampered event is not erased by retention: it stops and says where.
    await dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL session_replication_role = replica`);
      await manager.query(`UPDATE "audit_events" SET "reason" = 'edited' WHERE "seq" = $1`, [oldest + 1]);
    });
    await expect(t.app.get(AuditRetention).run(Date.now() + 100 * 86_400_000, 30)).rejects.toThrow(new RegExp(`broken at seq ${oldest + 1}`));
    expect((await dataSource.query(`SELECT count(*)::int AS n FROM "audit_events" WHERE "seq" = $1`, [oldest]))[0].n).toBe(1);
  });
});
