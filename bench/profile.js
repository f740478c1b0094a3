#!/usr/bin/env node
// node bench/profile.js [--cpu|--gc|--heap] [healthz|jwt|cookie|key|ws ...]: loads one route per
// server (32 connections, BENCH_SECONDS) and prints, for the load window only:
//   --cpu  (default) the server under `node --cpu-prof`: self time by function and by package
//          (.cpuprofile files in bench/profiles/, for Chrome DevTools or speedscope);
//   --gc   the server under `--trace-gc-nvp` with bench/server-probe.js, no profiler: latency
//          (p50/p99/max), bytes allocated per request, GC pauses by kind (count per 1,000 requests,
//          total, p99, max) and the event loop's delay — what makes the p99 of one route differ from
//          another's;
//   --heap V8's sampling heap profiler over the window, counting objects already collected (what
//          `--heap-prof` leaves out): which functions and packages allocate, in bytes per request
//          (.heapprofile files in bench/profiles/).
// PROFILE_ROUNDS (1) repeats each route, interleaved, and --gc gives the median of the rounds;
// PROFILE_NODE_ARGS adds flags to the server's node (e.g. '--max-semi-space-size=64').
const fs = require('node:fs');
const path = require('node:path');
const { startServer, waitReady, credentials, load, handshakes, cpuSeconds, median } = require('./lib');

const DURATION = Number(process.env.BENCH_SECONDS || 8);
const OUT = path.join(__dirname, 'profiles');
const TOP = Number(process.env.PROFILE_TOP || 25);
const ROUNDS = Number(process.env.PROFILE_ROUNDS || 1);
/** Extra flags for the server's node, e.g. PROFILE_NODE_ARGS='--max-semi-space-size=64'. */
const NODE_ARGS = (process.env.PROFILE_NODE_ARGS || '').split(' ').filter(Boolean);

/**
 * Self time per node of a .cpuprofile, in µs, counting only samples inside the window (µs of the
 * monotonic clock, which V8's profile timestamps and process.hrtime share): start-up is left out.
 */
function selfTimes(profile, window) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < window.from || at > window.to) continue;
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  return [...self].map(([id, us]) => ({ node: byId.get(id), us }));
}

function packageOf(url) {
  if (!url) return '(native / V8)';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1];
  if (url.startsWith('node:')) return 'node core';
  if (url.includes('/dist/src/')) return `app: ${url.split('/dist/src/')[1].split('/')[0]}`;
  return url;
}

function report(name, profile, window) {
  const entries = selfTimes(profile, window);
  const total = entries.reduce((n, e) => n + e.us, 0);
  const idle = entries.filter((e) => e.node.callFrame.functionName === '(idle)').reduce((n, e) => n + e.us, 0);
  const busy = total - idle;
  const byFunction = new Map();
  const byPackage = new Map();
  for (const { node, us } of entries) {
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') continue;
    const fn = `${frame.functionName || '(anonymous)'} ${frame.url ? `${packageOf(frame.url)}:${path.basename(frame.url)}:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byPackage.set(packageOf(frame.url), (byPackage.get(packageOf(frame.url)) ?? 0) + us);
  }
  const pct = (us) => `${((100 * us) / busy).toFixed(1)}%`.padStart(6);
  console.log(`\n=== ${name}: busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s sampled`);
  console.log('--- self time by package');
  for (const [pkg, us] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(us)}  ${pkg}`);
  console.log('--- self time by function');
  for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${pct(us)}  ${fn}`);
}

async function profileRoute(name, port) {
  const dir = path.join(OUT, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const server = startServer(port, {}, [...NODE_ARGS, '--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const window = {};
  try {
    await waitReady(server.url);
    const { token, key } = await credentials(server.url);
    const headers = { jwt: { authorization: `Bearer ${token}` }, cookie: { cookie: `access_token=${token}` }, key: { 'x-api-key': key }, healthz: {} }[name];
    if (name === 'ws') {
      const bearer = { authorization: `Bearer ${token}` };
      await handshakes(server.wsUrl, bearer, 2, 16);
      window.from = Number(process.hrtime.bigint() / 1000n);
      const cpuBefore = cpuSeconds(server.child.pid);
      const shakes = await handshakes(server.wsUrl, bearer, DURATION, 16);
      const cpu = cpuSeconds(server.child.pid) - cpuBefore;
      window.to = Number(process.hrtime.bigint() / 1000n);
      console.log(
        `\nws: ${Math.round(shakes.perSecond)} handshakes/s, ${Math.round((cpu * 1e6) / (shakes.perSecond * DURATION))} µs CPU per handshake, p99 ${shakes.p99.toFixed(1)} ms`,
      );
    } else {
      const url = name === 'healthz' ? `${server.url}/healthz` : `${server.url}/api/v1/auth/me`;
      await load({ url, headers }, 2);
      window.from = Number(process.hrtime.bigint() / 1000n);
      const result = await load({ url, headers }, DURATION, server);
      window.to = Number(process.hrtime.bigint() / 1000n);
      console.log(
        `\n${name}: ${Math.round(result.requests.average)} req/s, ${Math.round(result.cpuUsPerRequest)} µs CPU per request, non-2xx ${result.non2xx}`,
      );
    }
  } finally {
    await server.stop();
  }
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written for ${name}`);
  report(name, JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')), window);
}

const HEADERS = (token, key) => ({
  jwt: { authorization: `Bearer ${token}` },
  cookie: { cookie: `access_token=${token}` },
  key: { 'x-api-key': key },
  healthz: {},
});
const urlOf = (server, name) => (name === 'healthz' ? `${server.url}/healthz` : `${server.url}/api/v1/auth/me`);

/**
 * One server under --trace-gc-nvp with the probe, every route in turn on it (healthz first, as in
 * npm run bench): latency, allocation and GC per route, in the same process and heap.
 */
async function gcRound(routes, port) {
  const events = [];
  let recording = false;
  const server = startServer(port, {}, [...NODE_ARGS, '--trace-gc-nvp'], {
    probe: true,
    stdout: (line) => {
      if (!recording) return;
      const fields = Object.fromEntries([...line.matchAll(/(\w[\w.]*)=([\w.]+)/g)].map((m) => [m[1], m[2]]));
      if (fields.gc)
        events.push({ kind: fields.gc, pause: Number(fields.pause), allocated: Number(fields.allocated ?? 0), promoted: Number(fields.promoted ?? 0) });
    },
  });
  const rows = {};
  try {
    await waitReady(server.url);
    const { token, key } = await credentials(server.url);
    const headers = HEADERS(token, key);
    for (const name of routes) await load({ url: urlOf(server, name), headers: headers[name] }, 2);
    for (const name of routes) {
      events.length = 0;
      await server.probe.reset();
      recording = true;
      const result = await load({ url: urlOf(server, name), headers: headers[name] }, DURATION, server);
      const probe = await server.probe.read();
      recording = false;
      const requests = result.requests.total;
      const scavenges = events.filter((e) => e.kind === 's');
      const majors = events.filter((e) => e.kind !== 's');
      const allocated = events.reduce((n, e) => n + e.allocated, 0);
      rows[name] = {
        'req/s': Math.round(result.requests.average),
        'p50 ms': result.latency.p50,
        'p99 ms': result.latency.p99,
        'max ms': result.latency.max,
        'CPU µs/req': Math.round(result.cpuUsPerRequest),
        'KB alloc/req': Number((allocated / requests / 1024).toFixed(1)),
        'scavenges/1k req': Number(((1000 * scavenges.length) / requests).toFixed(2)),
        'scavenge ms (mean)': Number((scavenges.reduce((n, e) => n + e.pause, 0) / Math.max(1, scavenges.length)).toFixed(2)),
        'major GCs': majors.length,
        'major max ms': Number(Math.max(0, ...majors.map((e) => e.pause)).toFixed(1)),
        'GC pause % of time': Number(((100 * events.reduce((n, e) => n + e.pause, 0)) / (probe.seconds * 1000)).toFixed(1)),
        'GC pause max ms': Number(Math.max(0, ...events.map((e) => e.pause)).toFixed(1)),
        'loop delay p99 ms': Number(probe.eventLoopDelayMs.p99.toFixed(1)),
        'loop delay max ms': Number(probe.eventLoopDelayMs.max.toFixed(1)),
        queries: probe.queries,
      };
    }
  } finally {
    await server.stop();
  }
  return rows;
}

async function gcReport(routes) {
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    rounds.push(await gcRound(routes, 8720 + round));
    process.stderr.write(`gc round ${round + 1}: ${routes.map((r) => `${r} p99 ${rounds[round][r]['p99 ms']} ms`).join(', ')}\n`);
  }
  const table = {};
  for (const name of routes) {
    table[name] = {};
    for (const column of Object.keys(rounds[0][name])) table[name][column] = median(rounds.map((r) => r[name][column]));
    table[name]['p99 per round'] = rounds.map((r) => r[name]['p99 ms']).join(', ');
  }
  console.log(`\n--- GC and latency, median of ${ROUNDS} round(s) of ${DURATION} s per route, 32 connections`);
  console.table(table);
  return table;
}

/** Allocation by function and package over the load window (sampling heap profiler, collected objects included). */
async function heapReport(name, port) {
  const dir = path.join(OUT, name);
  fs.mkdirSync(dir, { recursive: true });
  const server = startServer(port, {}, NODE_ARGS, { probe: true });
  let requests;
  const file = path.join(dir, `${name}.heapprofile`);
  try {
    await waitReady(server.url);
    const { token, key } = await credentials(server.url);
    const opts = { url: urlOf(server, name), headers: HEADERS(token, key)[name] };
    await load(opts, 2);
    await server.probe.heapStart(8192);
    const result = await load(opts, DURATION, server);
    await server.probe.heapStop(file);
    requests = result.requests.total;
    console.log(`\n${name}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms (under the heap sampler)`);
  } finally {
    await server.stop();
  }
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byFunction = new Map();
  const byPackage = new Map();
  let total = 0;
  const walk = (node) => {
    const bytes = node.selfSize;
    if (bytes) {
      const frame = node.callFrame;
      const fn = `${frame.functionName || '(anonymous)'} ${frame.url ? `${packageOf(frame.url)}:${path.basename(frame.url)}:${frame.lineNumber + 1}` : ''}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + bytes);
      byPackage.set(packageOf(frame.url), (byPackage.get(packageOf(frame.url)) ?? 0) + bytes);
      total += bytes;
    }
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  const perRequest = (bytes) => `${(bytes / requests).toFixed(0).padStart(6)} B/req ${((100 * bytes) / total).toFixed(1).padStart(5)}%`;
  console.log(`=== ${name}: ${(total / requests / 1024).toFixed(1)} KB sampled per request`);
  console.log('--- allocation by package');
  for (const [pkg, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${perRequest(bytes)}  ${pkg}`);
  console.log('--- allocation by function');
  for (const [fn, bytes] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${perRequest(bytes)}  ${fn}`);
}

async function main() {
  const args = process.argv.slice(2);
  const mode = args.find((a) => a.startsWith('--')) ?? '--cpu';
  const given = args.filter((a) => !a.startsWith('--'));
  if (mode === '--gc') return gcReport(given.length ? given : ['healthz', 'jwt', 'cookie', 'key']);
  const routes = given.length ? given : ['healthz', 'jwt', 'key'];
  let port = 8720;
  for (const route of routes) await (mode === '--heap' ? heapReport(route, port++) : profileRoute(route, port++));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
