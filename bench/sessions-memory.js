#!/usr/bin/env node
// node --expose-gc bench/sessions-memory.js (it re-runs itself with --expose-gc if needed): what the
// in-memory live sessions (src/sessions/live-sessions.ts) cost (issue 14, item 6). Boots the built
// app in this process on a fresh database (a PostgreSQL database of its own when BENCH_DATABASE_URL
// or DATABASE_URL names a server, else embedded PGlite), puts SESSIONS_COUNT (100,000) live
// sessions of a few users straight into the table (INSERT … SELECT generate_series), loads them
// with LiveSessions.reload(), and reports:
//   - heap and RSS growth per session (after forced GCs), and how long reload() takes;
//   - the cost of LiveSessions.check(sid) + touch(sid) — the warm request's session check — with
//     100 and with 100,000 live sessions (a Map: it should not move), and of the whole credential
//     check of a Bearer JWT (CredentialResolver.resolve) at both sizes;
//   - one last-seen batch (LiveSessions.flush) after every session was touched.
// Prints JSON on stdout; progress on stderr.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const v8 = require('node:v8');
const { performance, monitorEventLoopDelay } = require('node:perf_hooks');

if (typeof global.gc !== 'function') {
  const child = spawnSync(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}

const { DIST, ADMIN, post, createUsers, postgresServerUrl, createDatabase, median } = require('./lib');
const { startInProcess } = require('./query-count');

const SESSIONS = Number(process.env.SESSIONS_COUNT || 100_000);
const SMALL = 100;
const USERS = 4;
const CALLS = Number(process.env.SESSIONS_CALLS || 200_000);
const ROUNDS = 5;

const log = (line) => process.stderr.write(`${line}\n`);
const MiB = 2 ** 20;

function settledMemory() {
  for (let i = 0; i < 4; i++) global.gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers, heapTotal: m.heapTotal };
}

/** ns per call of `fn(id)` over `ids` in turn: wall and CPU (user + system) time, median of ROUNDS. */
async function perCall(ids, fn) {
  for (let i = 0; i < 100_000; i++) await fn(ids[i % ids.length]);
  const wall = [];
  const cpu = [];
  for (let round = 0; round < ROUNDS; round++) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < CALLS; i++) await fn(ids[i % ids.length]);
    wall.push(((performance.now() - start) * 1e6) / CALLS);
    const used = process.cpuUsage(cpuStart);
    cpu.push(((used.user + used.system) * 1e3) / CALLS);
  }
  return { wallNs: Math.round(median(wall)), cpuNs: Math.round(median(cpu)), wallNsPerRound: wall.map(Math.round) };
}

function shuffled(values) {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function main() {
  const { DataSource } = require('typeorm');
  const { LiveSessions } = require(path.join(DIST, 'src/sessions/live-sessions'));
  const { CredentialResolver } = require(path.join(DIST, 'src/auth/credential-resolver'));
  const serverUrl = postgresServerUrl();
  const db = serverUrl ? await createDatabase(serverUrl) : null;
  const server = await startInProcess(db ? { DATABASE_URL: db.url } : {});
  try {
    const token = (await post(server.url, '/api/v1/auth/token', ADMIN)).access_token;
    await createUsers(server.url, token, USERS - 1, 'bench-sessions');
    const dataSource = server.app.get(DataSource);
    const live = server.app.get(LiveSessions);
    const resolver = server.app.get(CredentialResolver);
    const insert = (count) =>
      dataSource.query(
        `INSERT INTO "sessions" ("user_id", "expires_at", "ip", "user_agent", "auth_methods")
         SELECT u.ids[1 + g % array_length(u.ids, 1)], now() + interval '1 day',
                '10.' || (g % 200) || '.' || (g / 200 % 200) || '.' || (g % 250), 'Mozilla/5.0 (X11; Linux x86_64) bench/' || g, '{pwd}'
           FROM generate_series(1, $1::int) AS g, (SELECT array_agg("id" ORDER BY "id") AS ids FROM "users") AS u`,
        [count],
      );
    const liveIds = async () => (await dataSource.query(`SELECT "id" FROM "sessions" WHERE "ended_at" IS NULL`)).map((row) => row.id);
    const bearer = { headers: { authorization: `Bearer ${token}` } };
    const checkAndTouch = async (id) => {
      const state = await live.check(id);
      if (!state.live) throw new Error(`session ${id} is not live: ${state.why}`);
      live.touch(id);
    };
    const resolve = async () => {
      const result = await resolver.resolve(bearer);
      if (!result.ok) throw new Error(`token refused: ${result.reason}`);
    };

    // 100 live sessions (the admin's sign-in and 99 more).
    await insert(SMALL - (await liveIds()).length);
    await live.reload();
    const smallIds = await liveIds();
    if (live.size !== SMALL) throw new Error(`expected ${SMALL} live sessions, have ${live.size}`);
    log(`${live.size} live sessions: measuring check + touch...`);
    const small = {
      sessions: live.size,
      checkAndTouch: await perCall(smallIds, checkAndTouch),
      resolverBearer: await perCall([null], resolve),
    };
    await live.flush();
    const before = settledMemory();

    // 100,000 live sessions.
    const insertStart = performance.now();
    await insert(SESSIONS - SMALL);
    const insertMs = performance.now() - insertStart;
    const beforeReload = settledMemory();
    const reloads = [];
    let firstReload;
    // How long reload() holds the event loop at a stretch (what requests wait during a resync).
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    for (let i = 0; i < 3; i++) {
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      loopDelay.reset();
      loopDelay.enable();
      await live.reload();
      loopDelay.disable();
      const used = process.cpuUsage(cpuStart);
      reloads.push({ wallMs: performance.now() - start, cpuMs: (used.user + used.system) / 1e3, loopBlockedMaxMs: loopDelay.max / 1e6 });
      if (i === 0) firstReload = { ...settledMemory(), rssPeakAfter: process.memoryUsage().rss };
    }
    if (live.size !== SESSIONS) throw new Error(`expected ${SESSIONS} live sessions, have ${live.size}`);
    const after = settledMemory();
    const added = SESSIONS - SMALL;
    log(
      `${live.size} live sessions (insert ${Math.round(insertMs)} ms, reloads ${reloads.map((r) => Math.round(r.wallMs)).join(', ')} ms): measuring check + touch...`,
    );
    const allIds = shuffled(await liveIds());
    // The same rows read without TypeORM's entity hydration (what loadLive() could do instead).
    const rawReads = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      loopDelay.reset();
      loopDelay.enable();
      const rows = await dataSource.query(
        `SELECT "id", "user_id", "expires_at", "last_seen_at" FROM "sessions" WHERE "ended_at" IS NULL AND "expires_at" > now()`,
      );
      const map = new Map();
      for (const row of rows)
        map.set(row.id, { userId: row.user_id, expiresAt: new Date(row.expires_at).getTime(), lastSeen: new Date(row.last_seen_at).getTime() });
      loopDelay.disable();
      rawReads.push({ wallMs: performance.now() - start, loopBlockedMaxMs: loopDelay.max / 1e6, size: map.size });
    }
    const large = {
      sessions: live.size,
      checkOnlyAllShuffled: await perCall(allIds, (id) => live.check(id)),
      checkAndTouch: await perCall(smallIds, checkAndTouch),
      checkAndTouchAllShuffled: await perCall(allIds, checkAndTouch),
      resolverBearer: await perCall([null], resolve),
    };
    const touched = live['seenSinceFlush']?.size;
    const flushStart = performance.now();
    await live.flush();
    const flushMs = performance.now() - flushStart;
    const afterFlush = settledMemory();

    // Back to the same 100 (the others ended in the table, then a reload), so that an order effect
    // (JIT warm-up, a machine busier at the start) cannot pass for a size effect.
    await dataSource.query(`UPDATE "sessions" SET "ended_at" = now(), "end_reason" = 'bench' WHERE NOT ("id" = ANY($1::uuid[]))`, [smallIds]);
    await live.reload();
    if (live.size !== SMALL) throw new Error(`expected ${SMALL} live sessions again, have ${live.size}`);
    log(`${live.size} live sessions again: measuring check + touch...`);
    const smallAgain = {
      checkAndTouch: await perCall(smallIds, checkAndTouch),
      resolverBearer: await perCall([null], resolve),
    };
    const heap = v8.getHeapStatistics();
    const perSession = (field, from, to = after) => Math.round((to[field] - from[field]) / added);
    const result = {
      database: db ? 'PostgreSQL (own database)' : 'embedded (PGlite, in this process)',
      node: process.version,
      sessions: { small: SMALL, large: SESSIONS, users: USERS },
      insertMs: Math.round(insertMs),
      reload: {
        wallMs: reloads.map((r) => Math.round(r.wallMs)),
        cpuMs: reloads.map((r) => Math.round(r.cpuMs)),
        medianWallMs: Math.round(median(reloads.map((r) => r.wallMs))),
        loopBlockedMaxMs: reloads.map((r) => Math.round(r.loopBlockedMaxMs)),
        rawQueryIntoMapWallMs: rawReads.map((r) => Math.round(r.wallMs)),
        rawQueryIntoMapLoopBlockedMaxMs: rawReads.map((r) => Math.round(r.loopBlockedMaxMs)),
      },
      memory: {
        heapUsedMiB: {
          before: +(beforeReload.heapUsed / MiB).toFixed(1),
          afterFirstReload: +(firstReload.heapUsed / MiB).toFixed(1),
          afterThreeReloads: +(after.heapUsed / MiB).toFixed(1),
        },
        rssMiB: {
          before: +(beforeReload.rss / MiB).toFixed(1),
          afterFirstReload: +(firstReload.rss / MiB).toFixed(1),
          afterThreeReloads: +(after.rss / MiB).toFixed(1),
        },
        heapBytesPerSession: perSession('heapUsed', beforeReload),
        heapBytesPerSessionFirstReload: perSession('heapUsed', beforeReload, firstReload),
        rssBytesPerSession: perSession('rss', beforeReload),
        rssBytesPerSessionFirstReload: perSession('rss', beforeReload, firstReload),
        externalBytesPerSession: perSession('external', beforeReload),
        heapBytesPerSessionSinceSmall: Math.round((after.heapUsed - before.heapUsed) / added),
        heapLimitMiB: Math.round(heap.heap_size_limit / MiB),
      },
      lookup: {
        checkAndTouchNs: {
          [`${SMALL} sessions`]: small.checkAndTouch,
          [`${SESSIONS} sessions, the same ${SMALL} ids`]: large.checkAndTouch,
          [`${SESSIONS} sessions, every id in random order`]: large.checkAndTouchAllShuffled,
          [`${SESSIONS} sessions, every id in random order, check only`]: large.checkOnlyAllShuffled,
          [`${SMALL} sessions again`]: smallAgain.checkAndTouch,
        },
        resolverBearerNs: {
          [`${SMALL} sessions`]: small.resolverBearer,
          [`${SESSIONS} sessions`]: large.resolverBearer,
          [`${SMALL} sessions again`]: smallAgain.resolverBearer,
        },
        callsPerRound: CALLS,
        rounds: ROUNDS,
      },
      lastSeenFlush: { sessionsTouched: touched, ms: Math.round(flushMs), heapUsedMiBAfter: +(afterFlush.heapUsed / MiB).toFixed(1) },
    };
    log(JSON.stringify(result.memory));
    return result;
  } finally {
    await server.close();
    if (db) await db.drop();
  }
}

module.exports = { main };

if (require.main === module) {
  main().then(
    (result) => {
      console.log(JSON.stringify(result, null, 2));
      process.exit(0);
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
