#!/usr/bin/env node
// node bench/workers.js: what WEB_CONCURRENCY buys (issue 20). Starts the built server twice on
// PostgreSQL (a database of its own on BENCH_DATABASE_URL / DATABASE_URL) and Redis
// (BENCH_REDIS_URL / REDIS_URL / 127.0.0.1:6379) — once with 1 worker, once with 2 — and loads
// GET /api/v1/auth/me with a Bearer JWT on each in turn (WORKERS_ROUNDS rounds, BENCH_SECONDS
// each, 32 connections). Reports req/s, p99, the servers' CPU per request (primary and workers
// summed) and the CPU the load generator itself took: it runs on the same cores.
const { startServer, waitReady, credentials, load, cpuSeconds, postgresServerUrl, createDatabase, reachableRedisUrl, median } = require('./lib');
const { execFileSync } = require('node:child_process');

const DURATION = Number(process.env.BENCH_SECONDS || 5);
const ROUNDS = Number(process.env.WORKERS_ROUNDS || process.env.BENCH_ROUNDS || 3);

/** CPU seconds of a process and its children (a cluster's primary and its workers). */
function treeCpuSeconds(pid) {
  let children = [];
  try {
    children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)])
      .toString()
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0);
  } catch {}
  return [pid, ...children].reduce((sum, p) => sum + (cpuSeconds(p) ?? 0), 0);
}

async function workersScaling({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const serverUrl = postgresServerUrl();
  const redisUrl = await reachableRedisUrl();
  if (!serverUrl || !redisUrl) return { skipped: 'needs PostgreSQL (DATABASE_URL) and Redis' };
  const setups = [];
  try {
    for (const [i, workers] of [1, 2].entries()) {
      const db = await createDatabase(serverUrl);
      const server = startServer(8721 + i, { DATABASE_URL: db.url, REDIS_URL: redisUrl, WEB_CONCURRENCY: String(workers) });
      setups.push({ workers, db, server });
    }
    for (const setup of setups) {
      await waitReady(setup.server.url);
      // Both workers up: the primary starts the second once the first listens.
      await new Promise((r) => setTimeout(r, 3000));
      setup.token = (await credentials(setup.server.url)).token;
      setup.runs = [];
    }
    for (let round = 1; round <= ROUNDS; round++) {
      for (const setup of setups) {
        const cpuBefore = treeCpuSeconds(setup.server.child.pid);
        const ownBefore = process.cpuUsage();
        const run = await load({ url: `${setup.server.url}/api/v1/auth/me`, headers: { authorization: `Bearer ${setup.token}` } }, DURATION);
        const own = process.cpuUsage(ownBefore);
        const cpu = treeCpuSeconds(setup.server.child.pid) - cpuBefore;
        setup.runs.push({
          rps: run.requests.average,
          p99: run.latency.p99,
          cpuUsPerRequest: (cpu * 1e6) / run.requests.total,
          serverCores: cpu / DURATION,
          loadGeneratorCores: (own.user + own.system) / 1e6 / DURATION,
          non2xx: run.non2xx,
        });
        log(
          `workers ${setup.workers} round ${round}: ${Math.round(run.requests.average)} req/s, p99 ${run.latency.p99} ms, server ${(cpu / DURATION).toFixed(2)} cores`,
        );
      }
    }
  } finally {
    for (const setup of setups) {
      await setup.server.stop();
      await setup.db.drop();
    }
  }
  const summary = {};
  for (const setup of setups) {
    summary[`${setup.workers} worker${setup.workers > 1 ? 's' : ''}`] = {
      requestsPerSecond: Math.round(median(setup.runs.map((r) => r.rps))),
      p99Ms: median(setup.runs.map((r) => r.p99)),
      cpuUsPerRequest: Math.round(median(setup.runs.map((r) => r.cpuUsPerRequest))),
      serverCores: Number(median(setup.runs.map((r) => r.serverCores)).toFixed(2)),
      loadGeneratorCores: Number(median(setup.runs.map((r) => r.loadGeneratorCores)).toFixed(2)),
      non2xx: setup.runs.reduce((n, r) => n + r.non2xx, 0),
    };
  }
  const [one, two] = setups;
  summary.ratio = Number(median(one.runs.map((r, i) => two.runs[i].rps / r.rps)).toFixed(2));
  summary.ratiosPerRound = one.runs.map((r, i) => Number((two.runs[i].rps / r.rps).toFixed(2)));
  return summary;
}

module.exports = { workersScaling };

if (require.main === module) {
  workersScaling().then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
