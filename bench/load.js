#!/usr/bin/env node
// npm run bench:load: the load test of issue 7. Builds if needed, creates a PostgreSQL database,
// and drives 64 connections for 20 s of mixed traffic (JWT-bearer reads, cookie reads, API-key
// reads, alert writes, logins) first at one instance, then at two instances on separate ports
// sharing that database. Reports 2xx/4xx/5xx, socket errors and each server's RSS, sampled every
// second from /proc/<pid>/status. Targets: no 5xx, no socket errors, RSS level at the end.
//
// PostgreSQL: BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres
// (any database on the server: a fresh one is created next to it and dropped afterwards).
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');
const { Client } = require('pg');

const ROOT = path.resolve(__dirname, '..');
const SECONDS = Number(process.env.LOAD_SECONDS || 20);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS || 64);
/** Logins are argon2 work, capped at one per core on the server: a few connections keep them coming. */
const LOGIN_CONNECTIONS = Math.max(1, Math.round(CONNECTIONS / 8));
const ADMIN = { username: 'load-admin@aurora.local', password: 'load-admin-password-123' };
const ANALYST = { username: 'load-analyst@aurora.local', password: 'load-analyst-password-123' };
const SERVER_URL = process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

async function createDatabase() {
  const name = `aurora_load_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: SERVER_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: SERVER_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

function startServer(port, databaseUrl) {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'error',
      METRICS_PORT: '0',
      JWT_SECRET_KEY: 'load-secret-0123456789-abcdefghijklmnop',
      AURORA_ADMIN_USERNAME: ADMIN.username,
      AURORA_ADMIN_PASSWORD: ADMIN.password,
      LOGIN_MAX_PER_IP: '1000000',
      LOGIN_MAX_FAILURES_PER_USER: '1000000',
      ALLOWED_ORIGINS: `http://127.0.0.1:${port}`,
    },
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, port, url: `http://127.0.0.1:${port}` };
}

async function waitReady(url) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not become ready`);
}

async function stopServer(server) {
  server.child.kill('SIGTERM');
  const { code } = await server.exited;
  return code;
}

async function request(url, method, pathName, body, headers = {}) {
  const reply = await fetch(url + pathName, { method, headers: { 'content-type': 'application/json', ...headers }, body: body && JSON.stringify(body) });
  const text = await reply.text();
  if (!reply.ok) throw new Error(`${method} ${pathName}: ${reply.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** The credentials the traffic uses, created once through the API. */
async function credentials(url) {
  const admin = await request(url, 'POST', '/api/v1/auth/token', ADMIN);
  const adminAuth = { authorization: `Bearer ${admin.access_token}` };
  await request(url, 'POST', '/api/v1/users', { ...ANALYST, role: 'analyst' }, adminAuth);
  const analyst = await request(url, 'POST', '/api/v1/auth/token', ANALYST);
  const key = await request(url, 'POST', '/api/v1/auth/api-keys', { service_name: 'load-test' }, adminAuth);
  return { jwt: analyst.access_token, apiKey: key.api_key };
}

function readRssKiB(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

function runAutocannon(options) {
  return new Promise((resolve, reject) => {
    autocannon({ duration: SECONDS, ...options }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/** Each connection cycles through the reads and writes; a few other connections only log in. */
function trafficFor(server, creds, connections) {
  const alertBody = JSON.stringify({ title: 'load: suspicious process', severity: 'medium', source: 'load-test' });
  const mix = {
    url: server.url,
    connections: connections - Math.max(1, Math.round((connections * LOGIN_CONNECTIONS) / CONNECTIONS)),
    requests: [
      { method: 'GET', path: '/api/v1/alerts?limit=20', headers: { authorization: `Bearer ${creds.jwt}` } },
      { method: 'GET', path: '/api/v1/auth/me', headers: { cookie: `access_token=${creds.jwt}` } },
      { method: 'GET', path: '/api/v1/alerts?limit=20', headers: { 'x-api-key': creds.apiKey } },
      { method: 'POST', path: '/api/v1/alerts', headers: { 'x-api-key': creds.apiKey, 'content-type': 'application/json' }, body: alertBody },
      { method: 'GET', path: '/api/v1/auth/me', headers: { 'x-api-key': creds.apiKey } },
    ],
  };
  const logins = {
    url: server.url,
    connections: Math.max(1, Math.round((connections * LOGIN_CONNECTIONS) / CONNECTIONS)),
    requests: [{ method: 'POST', path: '/api/v1/auth/token', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ANALYST) }],
  };
  return [mix, logins];
}

const mean = (values) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);
const mib = (kib) => Math.round((kib / 1024) * 10) / 10;

async function scenario(label, servers, creds) {
  const perServer = Math.floor(CONNECTIONS / servers.length);
  const runs = servers.flatMap((server) => trafficFor(server, creds, perServer));
  const samples = servers.map(() => []);
  const sampler = setInterval(() => servers.forEach((server, i) => samples[i].push(readRssKiB(server.child.pid))), 1000);
  const results = await Promise.all(runs.map(runAutocannon));
  clearInterval(sampler);
  const sum = (field) => results.reduce((n, r) => n + (r[field] ?? 0), 0);
  const rss = servers.map((server, i) => {
    const series = samples[i].filter((v) => v !== null);
    return {
      port: server.port,
      firstFiveSecondsMiB: mib(mean(series.slice(0, 5))),
      lastFiveSecondsMiB: mib(mean(series.slice(-5))),
      maxMiB: mib(Math.max(...series)),
      seriesMiB: series.map(mib),
    };
  });
  return {
    scenario: label,
    connections: runs.reduce((n, r) => n + r.connections, 0),
    seconds: SECONDS,
    requests: sum('2xx') + sum('3xx') + sum('4xx') + sum('5xx'),
    requestsPerSecond: Math.round(results.reduce((n, r) => n + r.requests.average, 0)),
    '2xx': sum('2xx'),
    '4xx': sum('4xx'),
    '5xx': sum('5xx'),
    socketErrors: sum('errors'),
    timeouts: sum('timeouts'),
    latencyMs: results.map((r, i) => ({ traffic: i % 2 === 0 ? 'mix' : 'login', p50: r.latency.p50, p99: r.latency.p99 })),
    rss,
  };
}

function print(result) {
  console.log(`\n== ${result.scenario}: ${result.connections} connections, ${result.seconds} s ==`);
  console.log(
    `requests ${result.requests} (${result.requestsPerSecond}/s)  2xx ${result['2xx']}  4xx ${result['4xx']}  5xx ${result['5xx']}  socket errors ${result.socketErrors}  timeouts ${result.timeouts}`,
  );
  for (const l of result.latencyMs) console.log(`  latency ${l.traffic}: p50 ${l.p50} ms, p99 ${l.p99} ms`);
  for (const r of result.rss)
    console.log(
      `  RSS :${r.port}: first 5 s ${r.firstFiveSecondsMiB} MiB, last 5 s ${r.lastFiveSecondsMiB} MiB, max ${r.maxMiB} MiB  [${r.seriesMiB.join(' ')}]`,
    );
}

async function main() {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-if-needed.js')], { stdio: 'inherit' });
  const db = await createDatabase();
  const machine = {
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadAverageBefore: os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' '),
  };
  console.log(`machine: ${JSON.stringify(machine)}`);
  const results = [];
  const exitCodes = [];
  try {
    const one = startServer(8711, db.url);
    await waitReady(one.url);
    const creds = await credentials(one.url);
    results.push(await scenario('one instance', [one], creds));
    print(results[0]);
    exitCodes.push(await stopServer(one));

    const two = [startServer(8712, db.url), startServer(8713, db.url)];
    await Promise.all(two.map((s) => waitReady(s.url)));
    results.push(await scenario('two instances, one database', two, creds));
    print(results[1]);
    for (const s of two) exitCodes.push(await stopServer(s));
  } finally {
    await db.drop();
  }
  const failed = results.some((r) => r['5xx'] > 0 || r.socketErrors > 0) || exitCodes.some((code) => code !== 0);
  fs.writeFileSync(path.join(__dirname, 'load-results.json'), `${JSON.stringify({ date: new Date().toISOString(), machine, results, exitCodes }, null, 2)}\n`);
  console.log(`\nexit codes after SIGTERM: ${exitCodes.join(', ')}; results in bench/load-results.json`);
  process.exit(failed ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
