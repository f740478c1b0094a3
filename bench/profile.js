#!/usr/bin/env node
// node bench/profile.js [healthz|jwt|cookie|key|ws ...]: runs the built server under `node --cpu-prof`,
// loads one route per server for BENCH_SECONDS, and prints where the CPU went: self time by
// function and by package. The .cpuprofile files stay in bench/profiles/ (open them in Chrome
// DevTools or speedscope).
const fs = require('node:fs');
const path = require('node:path');
const { startServer, waitReady, credentials, load, handshakes, cpuSeconds } = require('./lib');

const DURATION = Number(process.env.BENCH_SECONDS || 8);
const OUT = path.join(__dirname, 'profiles');
const TOP = Number(process.env.PROFILE_TOP || 25);

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
  const server = startServer(port, {}, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
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
      console.log(`\nws: ${Math.round(shakes.perSecond)} handshakes/s, ${Math.round((cpu * 1e6) / (shakes.perSecond * DURATION))} µs CPU per handshake, p99 ${shakes.p99.toFixed(1)} ms`);
    } else {
      const url = name === 'healthz' ? `${server.url}/healthz` : `${server.url}/api/v1/auth/me`;
      await load({ url, headers }, 2);
      window.from = Number(process.hrtime.bigint() / 1000n);
      const result = await load({ url, headers }, DURATION, server);
      window.to = Number(process.hrtime.bigint() / 1000n);
      console.log(`\n${name}: ${Math.round(result.requests.average)} req/s, ${Math.round(result.cpuUsPerRequest)} µs CPU per request, non-2xx ${result.non2xx}`);
    }
  } finally {
    await server.stop();
  }
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written for ${name}`);
  report(name, JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')), window);
}

async function main() {
  const routes = process.argv.slice(2).length ? process.argv.slice(2) : ['healthz', 'jwt', 'key'];
  let port = 8720;
  for (const route of routes) await profileRoute(route, port++);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
