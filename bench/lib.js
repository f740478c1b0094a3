// Helpers shared by the bench scripts: start the built server on a fresh database (embedded, or a
// PostgreSQL database of its own), wait for it, call it, put load on it with autocannon, and count
// its SQL statements, GC pauses and event-loop delay (bench/server-probe.js) and its database's transactions.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const autocannon = require('autocannon');
const WebSocket = require('ws');

const ROOT = path.resolve(__dirname, '..');
const ALERTS_SOCKET = '/api/v1/ws/alerts';
/** The build to run: dist/ (what `npm run bench` builds), or a snapshot of it given in BENCH_DIST. */
const DIST = process.env.BENCH_DIST ? path.resolve(process.env.BENCH_DIST) : path.join(ROOT, 'dist');
const ADMIN = { username: 'bench@aurora.local', password: 'bench-password-123' };
const SERVER_ENV = {
  HOST: '127.0.0.1',
  LOG_LEVEL: 'error',
  METRICS_PORT: '0',
  JWT_SECRET_KEY: 'bench-secret-0123456789-abcdefghijklmnop',
  AURORA_ADMIN_USERNAME: ADMIN.username,
  AURORA_ADMIN_PASSWORD: ADMIN.password,
  LOGIN_MAX_PER_IP: '1000000',
  LOGIN_MAX_FAILURES_PER_USER: '1000000',
};

/**
 * Starts the built server on a fresh database: embedded in a temp DATA_DIR, unless env carries a
 * DATABASE_URL. With `probe`, bench/server-probe.js is loaded into it: `probe.reset()` starts a
 * window, `probe.read()` returns the SQL statements, GC pauses and event-loop delay since, and
 * `probe.heapStart(interval)` / `probe.heapStop(file)` sample its allocations. With `stdout`, the
 * server's stdout is piped to that function line by line (e.g. for --trace-gc).
 */
function startServer(port, env = {}, nodeArgs = [], { probe = false, stdout } = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-bench-'));
  const args = probe ? ['--require', path.join(__dirname, 'server-probe.js'), ...nodeArgs] : nodeArgs;
  const stdio = ['ignore', stdout ? 'pipe' : 'ignore', 'inherit'];
  if (probe) stdio.push('ipc');
  const child = spawn(process.execPath, [...args, path.join(DIST, 'src/main.js')], {
    cwd: ROOT,
    stdio,
    env: { PATH: process.env.PATH, ...SERVER_ENV, PORT: String(port), DATA_DIR: dataDir, ...env },
  });
  if (stdout) {
    let rest = '';
    child.stdout.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) stdout(line);
    });
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ask = (message, field) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server's probe did not answer ${JSON.stringify(message)}`)), 30000);
      const onMessage = (reply) => {
        if (reply && (field in reply || 'error' in reply)) {
          clearTimeout(timer);
          child.off('message', onMessage);
          if ('error' in reply) reject(new Error(reply.error));
          else resolve(reply);
        }
      };
      child.on('message', onMessage);
      child.send(message);
    });
  return {
    child,
    dataDir,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    probe: probe
      ? {
          reset: () => ask('reset', 'reset'),
          /** { seconds, queries, statements: { sql: count }, gc, eventLoopDelayMs } since the last reset. */
          read: () => ask('read', 'read'),
          heapStart: (samplingInterval = 4096) => ask({ heapStart: samplingInterval }, 'heapStarted'),
          heapStop: (file) => ask({ heapStop: file }, 'heapStopped'),
        }
      : null,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15000))]);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A bare baseline server (bench/bare-server.js: `express` or `http`) with the same shape as startServer's. */
function startBareServer(kind, port) {
  const child = spawn(process.execPath, [path.join(__dirname, 'bare-server.js'), kind, String(port)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    kind,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    },
  };
}

/** The PostgreSQL server to use for the scenarios that need one (BENCH_DATABASE_URL, else DATABASE_URL), or undefined. */
function postgresServerUrl() {
  return process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || undefined;
}

/** A fresh database on that server, as test/support/test-database.ts makes one; drop() removes it. */
async function createDatabase(serverUrl) {
  const { Client } = require('pg');
  const name = `aurora_bench_${Date.now().toString(36)}_${Math.random().toString(16).slice(2, 10)}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    /** Committed and rolled-back transactions of this database, as pg_stat_database has them now. */
    async transactions() {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query('SELECT pg_stat_clear_snapshot()');
        const { rows } = await client.query('SELECT xact_commit::int AS commit, xact_rollback::int AS rollback FROM pg_stat_database WHERE datname = $1', [
          name,
        ]);
        return rows[0];
      } finally {
        await client.end();
      }
    },
    async drop() {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

async function waitReady(url) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server at ${url} did not start`);
}

async function post(url, pathName, body, headers = {}) {
  const reply = await fetch(url + pathName, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (!reply.ok) throw new Error(`POST ${pathName}: ${reply.status} ${await reply.text()}`);
  return reply.json();
}

/** An admin token and an API key (all permissions of the key role) on this server. */
async function credentials(url) {
  const token = (await post(url, '/api/v1/auth/token', ADMIN)).access_token;
  const key = (await post(url, '/api/v1/auth/api-keys', { service_name: 'bench' }, { authorization: `Bearer ${token}` })).api_key;
  return { token, key };
}

/** A key with a per-key rate limit far above what the bench sends, so every answer is a 200 that paid for the limit. */
async function rateLimitedKey(url, token) {
  const body = { service_name: 'bench-limited', rate_limit: { limit: 1_000_000, window_seconds: 60 } };
  return (await post(url, '/api/v1/auth/api-keys', body, { authorization: `Bearer ${token}` })).api_key;
}

/** The Redis URL the rate-limited-key scenario uses, if a Redis server answers there; else null. */
async function reachableRedisUrl() {
  const url = process.env.BENCH_REDIS_URL || process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const { hostname, port } = new URL(url);
  const net = require('node:net');
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 6379), timeout: 1000 });
    socket.once('connect', () => (socket.end(), resolve(url)));
    socket.once('error', () => resolve(null));
    socket.once('timeout', () => (socket.destroy(), resolve(null)));
  });
}

/** `count` users of the given role (password ADMIN.password), made by the admin: `[{ username, password }]`. */
async function createUsers(url, token, count, prefix = 'bench-user', role = 'viewer') {
  const users = Array.from({ length: count }, (_, i) => ({ username: `${prefix}-${i}@aurora.local`, password: ADMIN.password }));
  for (let i = 0; i < users.length; i += 4) {
    await Promise.all(users.slice(i, i + 4).map((user) => post(url, '/api/v1/users', { ...user, role }, { authorization: `Bearer ${token}` })));
  }
  return users;
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc; null elsewhere. */
function cpuSeconds(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
const CLOCK_TICKS = 100;

/**
 * autocannon for `duration` seconds. Given the server, the result also carries the server's CPU
 * time per answered request: unlike req/s it hardly moves when other processes share the cores.
 */
async function load(opts, duration, server) {
  const before = server ? cpuSeconds(server.child.pid) : null;
  const result = await new Promise((resolve, reject) =>
    autocannon({ connections: 32, duration, ...opts }, (error, outcome) => (error ? reject(error) : resolve(outcome))),
  );
  const after = server ? cpuSeconds(server.child.pid) : null;
  if (before !== null && after !== null && result.requests.total > 0) result.cpuUsPerRequest = ((after - before) * 1e6) / result.requests.total;
  return result;
}

/** Opens and drops WebSocket handshakes back to back on `concurrency` loops for `seconds`. */
async function handshakes(wsUrl, headers, seconds, concurrency) {
  const latencies = [];
  let refused = 0;
  const end = performance.now() + seconds * 1000;
  const once = () =>
    new Promise((resolve) => {
      const started = performance.now();
      const socket = new WebSocket(wsUrl + ALERTS_SOCKET, { headers });
      socket.once('open', () => {
        latencies.push(performance.now() - started);
        socket.terminate();
        resolve();
      });
      socket.once('unexpected-response', () => {
        refused++;
        socket.terminate();
        resolve();
      });
      socket.once('error', () => {
        refused++;
        resolve();
      });
    });
  const loop = async () => {
    while (performance.now() < end) await once();
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - began) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), refused };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

module.exports = {
  ROOT,
  DIST,
  ADMIN,
  ALERTS_SOCKET,
  handshakes,
  startServer,
  startBareServer,
  postgresServerUrl,
  createDatabase,
  createUsers,
  waitReady,
  post,
  credentials,
  rateLimitedKey,
  reachableRedisUrl,
  load,
  cpuSeconds,
  median,
  percentile,
};
