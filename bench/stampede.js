#!/usr/bin/env node
// node bench/stampede.js: what an expiring API-key cache entry costs under load (issue 13). Starts
// the built server with API_KEY_CACHE_TTL_SECONDS=5 (STAMPEDE_TTL_SECONDS) on a fresh database (a
// PostgreSQL database of its own when BENCH_DATABASE_URL or DATABASE_URL names a server, else
// embedded), loads GET /healthz, then GET /api/v1/auth/me with one API key, 32 connections, 20 s
// each (STAMPEDE_SECONDS), and counts the SQL statements the server sent during the key run
// (bench/server-probe.js) and, on PostgreSQL, the database's committed transactions
// (pg_stat_database.xact_commit). Without coalescing, every request in flight when the entry
// expires misses and queries (≈ 32 per expiry); with it, ≈ 1 lookup per expiry or fewer.
const { startServer, waitReady, credentials, load, postgresServerUrl, createDatabase } = require('./lib');

const TTL = Number(process.env.STAMPEDE_TTL_SECONDS || 5);
const SECONDS = Number(process.env.STAMPEDE_SECONDS || 20);
const CONNECTIONS = 32;
/** PostgreSQL backends report their counters at most every 1 s while busy and 10 s after going idle. */
const STATS_SETTLE_MS = 11_000;
const KEY_LOOKUP = /FROM "api_keys" k WHERE k\."key_hash"/;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function stampede({ port = 8703, serverUrl = postgresServerUrl(), log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const db = serverUrl ? await createDatabase(serverUrl) : null;
  const env = { API_KEY_CACHE_TTL_SECONDS: String(TTL), ...(db ? { DATABASE_URL: db.url } : {}) };
  const server = startServer(port, env, [], { probe: true });
  try {
    await waitReady(server.url);
    const { key } = await credentials(server.url);
    // Also lets PostgreSQL's counters of the set-up settle (no query is made by /healthz).
    const base = await load({ url: `${server.url}/healthz`, connections: CONNECTIONS }, SECONDS, server);
    if (db) await sleep(Math.max(0, STATS_SETTLE_MS - SECONDS * 1000));
    await server.probe.reset();
    const before = db ? await db.transactions() : null;
    const run = await load({ url: `${server.url}/api/v1/auth/me`, headers: { 'x-api-key': key }, connections: CONNECTIONS }, SECONDS, server);
    const counted = await server.probe.read();
    let transactions = null;
    if (db) {
      await sleep(STATS_SETTLE_MS);
      const after = await db.transactions();
      const afterCount = await server.probe.read();
      transactions = {
        committed: after.commit - before.commit,
        rolledBack: after.rollback - before.rollback,
        // Statements the server sent in the settling wait (background batches), included in `committed`.
        statementsWhileSettling: afterCount.queries - counted.queries,
      };
    }
    const keyLookups = Object.entries(counted.statements)
      .filter(([sql]) => KEY_LOOKUP.test(sql))
      .reduce((n, [, count]) => n + count, 0);
    const expiries = SECONDS / TTL;
    const result = {
      database: db ? 'PostgreSQL (own database)' : 'embedded (PGlite)',
      ttlSeconds: TTL,
      seconds: SECONDS,
      connections: CONNECTIONS,
      requests: run.requests.total,
      requestsPerSecond: Math.round(run.requests.average),
      non2xx: run.non2xx,
      errors: run.errors,
      p50Ms: run.latency.p50,
      p99Ms: run.latency.p99,
      maxMs: run.latency.max,
      healthzP99Ms: base.latency.p99,
      healthzRequestsPerSecond: Math.round(base.requests.average),
      p99RatioToHealthz: Number((run.latency.p99 / base.latency.p99).toFixed(2)),
      cpuUsPerRequest: Math.round(run.cpuUsPerRequest),
      statements: counted.queries,
      keyLookups,
      expiries,
      keyLookupsPerExpiry: Number((keyLookups / expiries).toFixed(2)),
      statementsByText: counted.statements,
      gc: counted.gc,
      eventLoopDelayMs: counted.eventLoopDelayMs,
      transactions,
    };
    log(
      `stampede (${result.database}, TTL ${TTL} s, ${CONNECTIONS} connections, ${SECONDS} s): ${result.requests} requests, ${keyLookups} key lookups ` +
        `(${result.keyLookupsPerExpiry} per expiry), ${counted.queries} statements${transactions ? `, ${transactions.committed} transactions` : ''}, ` +
        `p99 ${run.latency.p99} ms (healthz ${base.latency.p99} ms), non-2xx ${run.non2xx}`,
    );
    return result;
  } finally {
    await server.stop();
    if (db) await db.drop();
  }
}

module.exports = { stampede };

if (require.main === module) {
  stampede().then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
