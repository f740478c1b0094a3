import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { AuditChainMonitor } from '../src/audit/audit-chain-monitor';
import { AuditRecorder } from '../src/audit/audit-recorder';
import { DetectionsService } from '../src/detections/detections.service';
import { bearer, call, login, type Json } from './support/http';
import { freshIp, freshUsername } from './support/login-attempts';
import { ensureBuilt, ROOT } from './support/server-process';
import { ADMIN, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase, TestDatabase } from './support/test-database';

const run = promisify(execFile);

/** Needs a PostgreSQL server shared by two instances (and a process for the CLI). */
describe('Audit chain across instances (two apps on one PostgreSQL database)', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let admin: string;
  let dataSource: DataSource;

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase();
    a = await startTestApp({ TRUST_PROXY: 'loopback', LOGIN_MAX_PER_IP: '1000' }, { url: db.url });
    b = await startTestApp({ TRUST_PROXY: 'loopback', LOGIN_MAX_PER_IP: '1000' }, { url: db.url });
    admin = await login(a.baseUrl, ADMIN.username, ADMIN.password);
    dataSource = a.app.get(DataSource);
  }, 180_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  const verify = (app: TestApp) => call(app.baseUrl, 'GET', '/api/v1/audit/verify', { headers: bearer(admin) });

  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli.js'), 'audit-verify', ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, JWT_SECRET_KEY: 'cli-secret-0123456789-abcdefghijklmnop', METRICS_PORT: '0' },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it('stays gapless with both instances appending at once (many events, batches and HTTP failures together)', async () => {
    const PER_INSTANCE = 3000;
    const recorders = [a.app.get(AuditRecorder), b.app.get(AuditRecorder)];
    const writes = recorders.map(async (recorder, which) => {
      for (let i = 0; i < PER_INSTANCE; i++) {
        recorder.record({ type: 'test.concurrent', outcome: 'success', actor: `${which}-${i}`, reason: null });
        if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await recorder.flush();
    });
    const logins = [a, b].map(async (app) => {
      for (let i = 0; i < 30; i++) {
        await call(app.baseUrl, 'POST', '/api/v1/auth/token', {
          headers: { 'x-forwarded-for': freshIp() },
          body: { username: freshUsername('nobody'), password: 'wrong-password-1' },
        });
      }
    });
    await Promise.all([...writes, ...logins]);
    for (const recorder of recorders) await recorder.flush();

    const [stats] = await dataSource.query<Array<{ n: number; distinct_seqs: number; first: number; last: number }>>(
      `SELECT count(*)::int AS n, count(DISTINCT seq)::int AS distinct_seqs, min(seq)::int AS first, max(seq)::int AS last FROM "audit_events"`,
    );
    expect(stats).toEqual({ n: stats.last, distinct_seqs: stats.last, first: 1, last: stats.last });
    expect(stats.n).toBeGreaterThanOrEqual(2 * PER_INSTANCE + 60);
    // Each instance's events keep the order it recorded them in.
    for (const which of [0, 1]) {
      const rows = await dataSource.query<Array<{ actor: string }>>(
        `SELECT actor FROM "audit_events" WHERE type = 'test.concurrent' AND actor LIKE $1 ORDER BY seq`,
        [`${which}-%`],
      );
      expect(rows.map((row) => row.actor)).toEqual(Array.from({ length: PER_INSTANCE }, (_, i) => `${which}-${i}`));
    }
    for (const app of [a, b]) expect((await verify(app)).body).toMatchObject({ ok: true, checked: stats.n, head: { seq: stats.n }, first_bad_seq: null });
  }, 120_000);

  it("anchors the head: each instance's gauge follows the other's appends, and the head log line names seq and hash", async () => {
    a.app.get(AuditRecorder).record({ type: 'test.anchor', outcome: 'success', actor: 'a', reason: null });
    await a.app.get(AuditRecorder).flush();
    const head = (await verify(a)).body.head as { seq: number; hash: string };
    const onB = b.app.get(AuditChainMonitor);
    const deadline = Date.now() + 2000;
    while (onB.headSeq < head.seq && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(onB.headSeq).toBe(head.seq);
    expect(await onB.logHead()).toEqual(head);
  });

  it('npm run cli -- audit-verify: exit 0 and the answer on an intact chain, exit 1 naming the seq of a changed event', async () => {
    const intact = await cli();
    expect(intact.code).toBe(0);
    const answer = JSON.parse(intact.stdout);
    expect(answer).toMatchObject({ ok: true, first_bad_seq: null });
    expect(answer.head).toEqual((await verify(a)).body.head);

    const client = dataSource.createQueryRunner();
    try {
      await client.query(`SET session_replication_role = replica`);
      await client.query(`UPDATE "audit_events" SET actor = 'someone-else' WHERE seq = 42`);
      await client.query(`SET session_replication_role = origin`);
    } finally {
      await client.release();
    }
    const broken = await cli();
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, first_bad_seq: 42 });
    expect(broken.stderr).toMatch(/broken at seq 42/);
    expect((await cli('--from-seq', '43')).code).toBe(0);
    expect((await verify(b)).body).toMatchObject({ ok: false, first_bad_seq: 42 });
  }, 60_000);

  it('raises a detection once, whichever instance sees the failures', async () => {
    const username = freshUsername('both-instances');
    const ips = [freshIp(), freshIp(), freshIp()];
    for (let i = 0; i < 12; i++) {
      const app = i % 2 ? b : a;
      await call(app.baseUrl, 'POST', '/api/v1/auth/token', { headers: { 'x-forwarded-for': ips[i % 3] }, body: { username, password: 'wrong-password-1' } });
    }
    for (const app of [a, b]) await app.app.get(AuditRecorder).flush();
    const detectedOn = async (app: TestApp): Promise<Json[]> => {
      for (const each of [a, b]) await each.app.get(DetectionsService).idle();
      const reply = await call(app.baseUrl, 'GET', '/api/v1/alerts?limit=200', { headers: bearer(admin) });
      return (reply.body as Json[]).filter((alert) => alert.source === 'aurorasoc-auth' && String(alert.title).includes(username));
    };
    const deadline = Date.now() + 3000;
    while ((await detectedOn(a)).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    // Both instances saw every event over the bus and both crossed the threshold: one alert.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await detectedOn(b)).toHaveLength(1);
  }, 30_000);
});
