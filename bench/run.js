#!/usr/bin/env node
// npm run bench: builds, starts the production server on a fresh embedded database, and measures
// each scenario against GET /healthz in the same run, interleaved A B A B over three rounds
// (autocannon, 32 connections). Results are printed and written to bench/results.json.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');

const ROOT = path.resolve(__dirname, '..');
const DURATION = Number(process.env.BENCH_SECONDS || 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const ADMIN = { username: 'bench@aurora.local', password: 'bench-password-123' };

function startServer(port, env) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-bench-'));
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
    cwd: ROOT,
    stdio: 'ignore',
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'error',
      METRICS_PORT: '0',
      JWT_SECRET_KEY: 'bench-secret-0123456789-abcdefghijklmnop',
      AURORA_ADMIN_USERNAME: ADMIN.username,
      AURORA_ADMIN_PASSWORD: ADMIN.password,
      LOGIN_MAX_PER_IP: '1000000',
      LOGIN_MAX_FAILURES_PER_USER: '1000000',
      ...env,
    },
  });
  return { child, dataDir, url: `http://127.0.0.1:${port}` };
}

async function waitReady(url) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('server did not start');
}

async function post(url, pathName, body, headers = {}) {
  const reply = await fetch(url + pathName, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return reply.json();
}

function load(opts) {
  return new Promise((resolve, reject) =>
    autocannon({ connections: 32, duration: DURATION, ...opts }, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-if-needed.js')], { stdio: 'inherit' });
  const servers = [startServer(8701, {}), startServer(8702, { API_KEY_CACHE_TTL_SECONDS: '0' })];
  try {
    await Promise.all(servers.map((s) => waitReady(s.url)));
    const [main, uncached] = servers;
    const token = (await post(main.url, '/api/v1/auth/token', ADMIN)).access_token;
    const key = (await post(main.url, '/api/v1/auth/api-keys', { service_name: 'bench' }, { authorization: `Bearer ${token}` })).api_key;
    const token2 = (await post(uncached.url, '/api/v1/auth/token', ADMIN)).access_token;
    const key2 = (await post(uncached.url, '/api/v1/auth/api-keys', { service_name: 'bench' }, { authorization: `Bearer ${token2}` })).api_key;
    const scenarios = {
      'a healthz (baseline)': { url: `${main.url}/healthz` },
      'b me, Bearer JWT': { url: `${main.url}/api/v1/auth/me`, headers: { authorization: `Bearer ${token}` } },
      'c me, cookie': { url: `${main.url}/api/v1/auth/me`, headers: { cookie: `access_token=${token}` } },
      'd me, API key (warm cache)': { url: `${main.url}/api/v1/auth/me`, headers: { 'x-api-key': key } },
      'e me, API key (cache off)': { url: `${uncached.url}/api/v1/auth/me`, headers: { 'x-api-key': key2 } },
      'f logins': {
        url: `${main.url}/api/v1/auth/token`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(ADMIN),
        connections: 4,
      },
    };
    const results = {};
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, opts] of Object.entries(scenarios)) {
        if (!name.startsWith('a')) {
          const base = await load(scenarios['a healthz (baseline)']);
          (results['a healthz (baseline)'] ??= []).push(base);
        }
        const result = await load(opts);
        (results[name] ??= []).push(result);
        process.stderr.write(`round ${round} ${name}: ${Math.round(result.requests.average)} req/s, non-2xx ${result.non2xx}, errors ${result.errors}\n`);
      }
    }
    const baseline = median(results['a healthz (baseline)'].map((r) => r.requests.average));
    const summary = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, durationSeconds: DURATION, rounds: ROUNDS, scenarios: {} };
    for (const [name, runs] of Object.entries(results)) {
      const rps = median(runs.map((r) => r.requests.average));
      summary.scenarios[name] = {
        requestsPerSecond: Math.round(rps),
        ratioToBaseline: Number((rps / baseline).toFixed(2)),
        p99Ms: median(runs.map((r) => r.latency.p99)),
        non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
        errors: runs.reduce((n, r) => n + r.errors, 0),
      };
    }
    console.table(summary.scenarios);
    fs.writeFileSync(path.join(__dirname, 'results.json'), `${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    for (const s of servers) {
      s.child.kill('SIGTERM');
      setTimeout(() => fs.rmSync(s.dataDir, { recursive: true, force: true }), 3000).unref();
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
