#!/usr/bin/env node
// node bench/compare-builds.js <name>=<build> ... — CPU µs per request of several builds of the
// server (and of the bare baselines), interleaved round by round, each server pinned to the last
// core and the load generator (this process) to the first, so that neither steals the other's
// core. A <build> is a copy of dist/ (cp -r dist /tmp/before), or `express`, `nest` or `http`
// (bench/bare-server.js's baselines). BENCH_ROUTES (healthz,jwt,cookie,key), BENCH_ROUNDS (4), BENCH_SECONDS (3).
// Pinned, the rounds of one build agree within a few per cent on this 2-core machine, where
// unpinned rounds moved by up to ±100 µs: small cuts can be told from noise (bench/RESULTS.md).
// Embedded databases: /me needs none once warm. Needs taskset (util-linux); runs unpinned without it.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { waitReady, credentials, load, median } = require('./lib');

const ROOT = path.resolve(__dirname, '..');
const ROUTES = (process.env.BENCH_ROUTES || 'healthz,jwt,cookie,key').split(',');
const ROUNDS = Number(process.env.BENCH_ROUNDS || 4);
const SECONDS = Number(process.env.BENCH_SECONDS || 3);
const SERVER_CORE = String(os.cpus().length - 1);
const CAN_PIN = spawnSync('taskset', ['-p', String(process.pid)]).status === 0;
const ENV = {
  HOST: '127.0.0.1',
  LOG_LEVEL: 'error',
  METRICS_PORT: '0',
  JWT_SECRET_KEY: 'bench-secret-0123456789-abcdefghijklmnop',
  AURORA_ADMIN_USERNAME: 'bench@aurora.local',
  AURORA_ADMIN_PASSWORD: 'bench-password-123',
  LOGIN_MAX_PER_IP: '1000000',
  LOGIN_MAX_FAILURES_PER_USER: '1000000',
};

function start(name, build, port) {
  const bare = build === 'express' || build === 'http' || build === 'nest';
  const script = bare ? [path.join(__dirname, 'bare-server.js'), build, String(port)] : [path.join(path.resolve(build), 'src/main.js')];
  const command = CAN_PIN ? ['taskset', '-c', SERVER_CORE, process.execPath] : [process.execPath];
  const child = spawn(command[0], [...command.slice(1), ...script], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { PATH: process.env.PATH, ...ENV, PORT: String(port), DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-compare-')) },
  });
  return { name, bare, child, url: `http://127.0.0.1:${port}` };
}

function requestFor(server, route) {
  const headers = {};
  if (route === 'jwt') headers.authorization = `Bearer ${server.credentials.token}`;
  if (route === 'cookie') headers.cookie = `access_token=${server.credentials.token}`;
  if (route === 'key') headers['x-api-key'] = server.credentials.key;
  return { url: server.url + (route === 'healthz' ? '/healthz' : '/api/v1/auth/me'), headers };
}

async function main() {
  const builds = process.argv.slice(2).map((arg) => arg.split('='));
  if (builds.length === 0 || builds.some(([name, build]) => !name || !build)) {
    process.stderr.write('usage: node bench/compare-builds.js <name>=<dist copy|express|nest|http> ...\n');
    process.exit(2);
  }
  if (CAN_PIN) spawnSync('taskset', ['-p', '-c', '0', String(process.pid)]);
  const basePort = 4300 + Math.floor(Math.random() * 400) * 4;
  const servers = builds.map(([name, build], i) => start(name, build, basePort + i));
  try {
    for (const server of servers) {
      await waitReady(server.url);
      if (!server.bare) server.credentials = await credentials(server.url);
    }
    const results = new Map();
    // Round 0 only warms every build and route up (V8 optimises the hot path over the first seconds).
    for (let round = -1; round < ROUNDS; round++) {
      // Alternate the order, so that neither end of a round is always the same build.
      const order = round % 2 !== 0 ? [...servers].reverse() : servers;
      for (const route of ROUTES) {
        for (const server of order.filter((s) => route === 'healthz' || !s.bare)) {
          const request = requestFor(server, route);
          await load({ ...request, duration: 1 }, 1, server);
          const outcome = await load(request, SECONDS, server);
          if (round < 0) continue;
          if (outcome.non2xx) throw new Error(`${server.name} answered ${outcome.non2xx} non-2xx on ${route}`);
          const key = `${route} ${server.name}`;
          results.set(key, [...(results.get(key) ?? []), Math.round(outcome.cpuUsPerRequest)]);
        }
      }
    }
    console.log(
      `A warm-up round, then ${ROUNDS} interleaved rounds of ${SECONDS} s, 32 connections; ${CAN_PIN ? `servers on core ${SERVER_CORE}, load on core 0` : 'not pinned (no taskset)'}`,
    );
    console.log('| route | build | CPU µs/request (median) | per round |\n|---|---|---:|---|');
    for (const [key, values] of results) console.log(`| ${key.replace(' ', ' | ')} | ${median(values)} | ${values.join(', ')} |`);
  } finally {
    for (const server of servers) server.child.kill('SIGKILL');
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
