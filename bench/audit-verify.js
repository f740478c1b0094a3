#!/usr/bin/env node
// node bench/audit-verify.js — what the audit hash chain costs (issue 18), on PostgreSQL (BENCH_DATABASE_URL or
// DATABASE_URL; a database of its own, dropped after). Not part of npm test. Boots two instances of the built app
// in this process on one database and reports, as JSON on stdout (progress on stderr):
//   - append: events/s written through AuditRecorder (batches of up to 500, chained by the database's trigger),
//     with one instance, then with both at once (they queue on the chain head's row lock);
//   - what a login costs: its latency (the audit write is off the request path), and the database time of
//     appending one event alone (a flush of a batch of one: the INSERT, the trigger, the head update);
//   - 1,000,000 events (AUDIT_BENCH_EVENTS) chained by INSERT … SELECT (rate), then verified: in process
//     (AuditVerifier, time and heap growth sampled every 50 ms) and by `npm run cli -- audit-verify` (time, run
//     with --max-old-space-size=100: it must not need memory in proportion to the chain).
//
// Run here (2 cores, PostgreSQL 127.0.0.1, 2026-12-02, node --expose-gc bench/audit-verify.js):
//   append through AuditRecorder: 5,400 events/s with one instance, 7,300 events/s with two at once (one chain);
//   a login: p50 48 ms, p99 415 ms (argon2 dominates; its audit event is written after the answer); one event
//   appended alone: p50 1.2 ms, p99 6.8 ms of database time; bulk INSERT … SELECT through the trigger: 56,000/s;
//   verify 1,000,000 events: 11.2 s in process (≈ 90,000 events/s), 15.1 s with the CLI under
//   --max-old-space-size=100 (exit 0). Before verify paged with "seq > n ORDER BY seq LIMIT" alone (no upper
//   bound in SQL), stale statistics after the bulk load made the same run take 121 s.
const { execFileSync, spawnSync } = require('node:child_process');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { DIST, ADMIN, ROOT, post, postgresServerUrl, createDatabase, median, percentile } = require('./lib');
const { startInProcess } = require('./query-count');

const EVENTS = Number(process.env.AUDIT_BENCH_EVENTS || 1_000_000);
const APPEND_EVENTS = Number(process.env.AUDIT_BENCH_APPEND || 60_000);
const LOGINS = 200;
const log = (line) => process.stderr.write(`${line}\n`);
const MiB = 2 ** 20;

async function appendRate(instances, total) {
  const { AuditRecorder } = require(path.join(DIST, 'src/audit/audit-recorder'));
  const recorders = instances.map((instance) => instance.app.get(AuditRecorder));
  const started = performance.now();
  await Promise.all(
    recorders.map(async (recorder, which) => {
      const mine = Math.floor(total / recorders.length);
      for (let i = 0; i < mine; i++) {
        recorder.record({ type: 'bench.append', outcome: 'success', actor: `bench-${which}-${i}`, reason: null });
        // Give the flush a turn now and then, as requests do; the queue holds at most 10,000.
        if (i % 2000 === 1999) await recorder.flush();
      }
      await recorder.flush();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { events: total, seconds: +seconds.toFixed(2), events_per_second: Math.round(total / seconds) };
}

async function main() {
  const serverUrl = postgresServerUrl();
  if (!serverUrl) throw new Error('set BENCH_DATABASE_URL or DATABASE_URL to a PostgreSQL server');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-if-needed.js')], { cwd: ROOT, stdio: 'inherit' });
  const db = await createDatabase(serverUrl);
  const result = { events: EVENTS };
  let a;
  let b;
  try {
    a = await startInProcess({ DATABASE_URL: db.url });
    b = await startInProcess({ DATABASE_URL: db.url });
    const { AuditRecorder } = require(path.join(DIST, 'src/audit/audit-recorder'));
    const { AuditVerifier } = require(path.join(DIST, 'src/audit/audit-verifier'));
    const { DataSource } = require('typeorm');

    log('append: one instance, then two at once');
    result.append_one_instance = await appendRate([a], APPEND_EVENTS / 2);
    result.append_two_instances = await appendRate([a, b], APPEND_EVENTS);

    log(`logins: ${LOGINS}, and ${LOGINS} appends of one event`);
    const latencies = [];
    for (let i = 0; i < LOGINS; i++) {
      const started = performance.now();
      await post(a.url, '/api/v1/auth/token', { username: ADMIN.username, password: ADMIN.password });
      latencies.push(performance.now() - started);
    }
    const recorder = a.app.get(AuditRecorder);
    await recorder.flush();
    const appends = [];
    for (let i = 0; i < LOGINS; i++) {
      recorder.record({ type: 'bench.single', outcome: 'success', actor: 'one', reason: null });
      const started = performance.now();
      await recorder.flush();
      appends.push(performance.now() - started);
    }
    latencies.sort((x, y) => x - y);
    appends.sort((x, y) => x - y);
    result.login_ms = { p50: +median(latencies).toFixed(2), p99: +percentile(latencies, 99).toFixed(2) };
    result.append_one_event_ms = { p50: +median(appends).toFixed(2), p99: +percentile(appends, 99).toFixed(2) };

    const dataSource = a.app.get(DataSource);
    const [{ n: already }] = await dataSource.query(`SELECT count(*)::int AS n FROM "audit_events"`);
    const missing = Math.max(0, EVENTS - already);
    log(`inserting ${missing} events through the chain trigger`);
    const insertStarted = performance.now();
    for (let done = 0; done < missing; done += 20_000) {
      const n = Math.min(20_000, missing - done);
      await dataSource.query(
        `INSERT INTO "audit_events" ("type", "outcome", "actor", "ip", "user_agent", "reason", "request_id", "created_at")
         SELECT 'bench.bulk', CASE WHEN i % 3 = 0 THEN 'failure' ELSE 'success' END, 'user-' || (i % 5000) || '@bench.test',
                '10.0.' || (i / 256 % 256) || '.' || (i % 256), 'bench/1.0 (a user agent of realistic length, event ' || i || ')',
                CASE WHEN i % 3 = 0 THEN 'wrong_password' END, 'req-' || i, now()
           FROM generate_series(1, $1::int) AS i`,
        [n],
      );
      if (done % 200_000 === 0) log(`  ${done + n}`);
    }
    const insertSeconds = (performance.now() - insertStarted) / 1000;
    result.bulk_insert = { events: missing, seconds: +insertSeconds.toFixed(1), events_per_second: Math.round(missing / insertSeconds) };

    if (process.env.AUDIT_BENCH_NO_VERIFY) return;
    log('verify in process');
    global.gc?.();
    const baseline = process.memoryUsage();
    let peakHeap = 0;
    let peakRss = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed - baseline.heapUsed);
      peakRss = Math.max(peakRss, m.rss - baseline.rss);
    }, 50);
    const verifyStarted = performance.now();
    const answer = await a.app.get(AuditVerifier).verify();
    const verifySeconds = (performance.now() - verifyStarted) / 1000;
    clearInterval(sampler);
    result.verify_in_process = {
      ok: answer.ok,
      checked: answer.checked,
      seconds: +verifySeconds.toFixed(1),
      events_per_second: Math.round(answer.checked / verifySeconds),
      peak_heap_growth_mib: +(peakHeap / MiB).toFixed(1),
      peak_rss_growth_mib: +(peakRss / MiB).toFixed(1),
    };

    log('verify with the CLI');
    const cliStarted = performance.now();
    // With the old generation capped at 100 MiB: verification must not need memory in proportion to the chain.
    const cli = spawnSync(process.execPath, ['--max-old-space-size=100', path.join(DIST, 'src/cli.js'), 'audit-verify'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, DATABASE_URL: db.url, JWT_SECRET_KEY: 'bench-secret-0123456789-abcdefghijklmnop', METRICS_PORT: '0' },
      encoding: 'utf8',
    });
    result.verify_cli = {
      max_old_space_mib: 100,
      exit: cli.status,
      seconds: +((performance.now() - cliStarted) / 1000).toFixed(1),
      answer: JSON.parse(cli.stdout || 'null'),
    };
  } finally {
    await a?.close();
    await b?.close();
    if (process.env.AUDIT_BENCH_KEEP) log(`kept the database: ${db.url}`);
    else await db.drop();
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
