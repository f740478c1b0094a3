#!/usr/bin/env node
// npm run bench: builds, starts the production server on fresh embedded databases, and measures
// what authentication costs against GET /healthz in the same run, interleaved A B A B over
// BENCH_ROUNDS rounds (autocannon, 32 connections, BENCH_SECONDS each): throughput and p99, each as
// a ratio to the baseline run just before it. Scenarios (a)-(i) of issue 8, then the database
// queries per request of (b)-(e), counted in-process; the API-key cache under an expiring entry
// (bench/stampede.js, issue 13); the memory and lookup cost of 100,000 live sessions
// (bench/sessions-memory.js, issue 14); (l) a warm API key with a per-key rate limit counted in Redis
// (issue 17's "(j)"; the letter was taken), on a server with REDIS_URL, when a Redis server answers;
// (x) a bare Express 5 app and (y) a bare node:http server (bench/bare-server.js) at the start of every
// round, each scenario's req/s also given as a ratio to (x) (issue 20); (m) the JWT route with
// WEB_CONCURRENCY 1 and 2 (bench/workers.js, PostgreSQL and Redis). Writes bench/results.json and the generated part of
// bench/RESULTS.md. The stampede and the sessions bench use a PostgreSQL database of their own when
// BENCH_DATABASE_URL or DATABASE_URL names a server, else an embedded one.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const WebSocket = require('ws');
const {
  ROOT,
  ALERTS_SOCKET,
  startServer,
  startBareServer,
  waitReady,
  post,
  credentials,
  rateLimitedKey,
  reachableRedisUrl,
  createUsers,
  load,
  handshakes,
  median,
  percentile,
} = require('./lib');
const { countQueriesPerRequest } = require('./query-count');
const { stampede } = require('./stampede');
const { workersScaling } = require('./workers');

const DURATION = Number(process.env.BENCH_SECONDS || 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const FAN_OUT_SOCKETS = Number(process.env.BENCH_SOCKETS || 1000);
const FAN_OUT_ALERTS = 20;
const HANDSHAKE_CONCURRENCY = 16;
const LOGIN_CONNECTIONS = 8;
const LOGIN_FLOOD_CONNECTIONS = 32;
/** Authenticated routes' p99 may be at most this many times the /healthz p99 of the same round (issue 13). */
const P99_TARGET = 1.2;
/** Where results.json and RESULTS.md are written (a trial run can keep them out of bench/). */
const OUT_DIR = process.env.BENCH_RESULTS_DIR ? path.resolve(process.env.BENCH_RESULTS_DIR) : __dirname;

const log = (line) => process.stderr.write(`${line}\n`);
const round1 = (n) => Math.round(n * 10) / 10;

/** Opens `count` alert sockets, creates alerts one at a time, and times each delivery to each socket. */
async function fanOut(server, token, count, alerts) {
  const headers = { authorization: `Bearer ${token}` };
  const sockets = [];
  let pending = null;
  const open = () =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(server.wsUrl + ALERTS_SOCKET, { headers });
      // Only the arrival time is taken in the handler, so 1,000 handlers in a row add little to the last one.
      socket.on('message', (data) => pending?.arrivals.push([performance.now(), data]));
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`fan-out handshake refused: ${res.statusCode}`)));
      socket.once('error', reject);
    });
  for (let i = 0; i < count; i += 50) sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, open))));
  const deliveries = [];
  const perAlertP99 = [];
  const postRoundTrips = [];
  let lost = 0;
  try {
    for (let n = 0; n < alerts; n++) {
      const title = `bench-fan-out-${n}-${Date.now()}`;
      pending = { arrivals: [] };
      const sentAt = performance.now();
      await post(server.url, '/api/v1/alerts', { title, severity: 'high', source: 'bench' }, headers);
      postRoundTrips.push(performance.now() - sentAt);
      const deadline = performance.now() + 5000;
      while (pending.arrivals.length < count && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const mine = pending.arrivals.filter(([, data]) => data.toString().includes(title)).map(([at]) => at - sentAt);
      lost += count - mine.length;
      mine.sort((a, b) => a - b);
      perAlertP99.push(percentile(mine, 99));
      deliveries.push(...mine);
      pending = null;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    for (const socket of sockets) socket.terminate();
  }
  deliveries.sort((a, b) => a - b);
  return {
    sockets: sockets.length,
    alerts,
    p50: percentile(deliveries, 50),
    p99: percentile(deliveries, 99),
    max: deliveries[deliveries.length - 1],
    medianAlertP99: median(perAlertP99),
    medianPostRoundTrip: median(postRoundTrips),
    lost,
  };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: `${cpus.length} × ${cpus[0]?.model ?? 'unknown'}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverageBefore: os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' '),
    busiestProcessesBefore: busiestProcesses(),
  };
}

/** The few processes using the most CPU (ps's lifetime average), to say what else the machine was doing. */
function busiestProcesses() {
  try {
    return execFileSync('ps', ['-eo', 'pcpu=,args=', '--sort=-pcpu'])
      .toString()
      .split('\n')
      .filter((line) => line.trim() && !line.includes('ps -eo'))
      .slice(0, 4)
      .map((line) => line.trim().replace(/\s+/, '% ').slice(0, 110));
  } catch {
    return [];
  }
}

/** Which build was measured: BENCH_BUILD_LABEL, else the commit of this tree and whether src/ had uncommitted changes. */
function buildLabel() {
  if (process.env.BENCH_BUILD_LABEL) return process.env.BENCH_BUILD_LABEL;
  try {
    const head = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).toString().trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src']).toString().trim() ? ' with uncommitted src/ changes' : '';
    return `${process.env.BENCH_DIST ? `BENCH_DIST=${process.env.BENCH_DIST}` : 'dist/'} of ${head}${dirty}`;
  } catch {
    return process.env.BENCH_DIST ? `BENCH_DIST=${process.env.BENCH_DIST}` : 'dist/';
  }
}

/**
 * The ratio to (a) is the median of each round's ratio to the baseline run just before it: paired
 * runs cancel most of the drift of a shared machine. The CPU ratio (the server's CPU time per
 * request of the baseline over the scenario's) moves even less with other load.
 */
function summarize(runs) {
  const rps = median(runs.map((r) => r.requests.average));
  const p99Ratios = runs.filter((r) => r.baselineP99).map((r) => r.latency.p99 / r.baselineP99);
  const cpuRatios = runs.filter((r) => r.cpuUsPerRequest && r.baselineCpuUs).map((r) => r.baselineCpuUs / r.cpuUsPerRequest);
  const expressRatios = runs.filter((r) => r.express).map((r) => r.requests.average / r.express);
  const expressCpuRatios = runs.filter((r) => r.cpuUsPerRequest && r.expressCpuUs).map((r) => r.expressCpuUs / r.cpuUsPerRequest);
  return {
    requestsPerSecond: Math.round(rps),
    ratioToExpress: expressRatios.length ? Number(median(expressRatios).toFixed(2)) : null,
    expressRatiosPerRound: expressRatios.map((x) => Number(x.toFixed(2))),
    cpuRatioToExpress: expressCpuRatios.length ? Number(median(expressCpuRatios).toFixed(2)) : null,
    ratioToBaseline: Number(median(runs.map((r) => r.requests.average / r.baseline)).toFixed(2)),
    ratiosPerRound: runs.map((r) => Number((r.requests.average / r.baseline).toFixed(2))),
    cpuUsPerRequest: Math.round(median(runs.map((r) => r.cpuUsPerRequest ?? NaN))),
    cpuRatioToBaseline: cpuRatios.length ? Number(median(cpuRatios).toFixed(2)) : null,
    p50Ms: median(runs.map((r) => r.latency.p50)),
    p99Ms: median(runs.map((r) => r.latency.p99)),
    p99RatioToBaseline: p99Ratios.length ? Number(median(p99Ratios).toFixed(2)) : null,
    p99RatiosPerRound: p99Ratios.map((x) => Number(x.toFixed(2))),
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
  };
}

async function main() {
  if (!process.env.BENCH_DIST) execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-if-needed.js')], { stdio: 'inherit' });
  const summary = { date: new Date().toISOString(), build: buildLabel(), machine: machine(), durationSeconds: DURATION, rounds: ROUNDS, scenarios: {} };
  const redisUrl = await reachableRedisUrl();
  if (!redisUrl) log('no Redis server answers (BENCH_REDIS_URL / REDIS_URL / 127.0.0.1:6379): scenario (l) is left out');
  const servers = [startServer(8701, {}), startServer(8702, { API_KEY_CACHE_TTL_SECONDS: '0' })];
  if (redisUrl) servers.push(startServer(8703, { REDIS_URL: redisUrl }));
  const [main, uncached, withRedis] = servers;
  // Issue 20's baselines: the limit a pipeline can reach on this machine, in the same rounds.
  const bare = { express: startBareServer('express', 8711), http: startBareServer('http', 8712) };
  try {
    await Promise.all([...servers, ...Object.values(bare)].map((s) => waitReady(s.url)));
    const { token, key } = await credentials(main.url);
    const { key: uncachedKey } = await credentials(uncached.url);
    const limitedKey = withRedis ? await rateLimitedKey(withRedis.url, (await credentials(withRedis.url)).token) : null;
    // One account per login connection: a password check per account runs at most twice at once
    // (MAX_CHECKS_IN_FLIGHT_PER_ACCOUNT), so a flood of one account's logins would measure 429s.
    const loginUsers = await createUsers(main.url, token, LOGIN_FLOOD_CONNECTIONS, 'bench-login');
    const logins = (connections) => {
      let next = 0;
      return {
        url: `${main.url}/api/v1/auth/token`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(loginUsers[0]),
        connections,
        setupClient: (client) => client.setBody(JSON.stringify(loginUsers[next++ % loginUsers.length])),
      };
    };

    const baselineOpts = { url: `${main.url}/healthz` };
    const jwtOpts = { url: `${main.url}/api/v1/auth/me`, headers: { authorization: `Bearer ${token}` } };
    const throughput = {
      'b me, Bearer JWT': jwtOpts,
      'c me, cookie': { url: `${main.url}/api/v1/auth/me`, headers: { cookie: `access_token=${token}` } },
      'd me, API key (warm cache)': { url: `${main.url}/api/v1/auth/me`, headers: { 'x-api-key': key } },
      'e me, API key (cache off)': { url: `${uncached.url}/api/v1/auth/me`, headers: { 'x-api-key': uncachedKey } },
      'f logins': logins(LOGIN_CONNECTIONS),
    };
    if (withRedis) throughput[LIMITED] = { url: `${withRedis.url}/api/v1/auth/me`, headers: { 'x-api-key': limitedKey } };
    const paced = { ...jwtOpts, connections: 8, overallRate: 200 };
    const results = { a: [], x: [], y: [] };
    const g = { saturated: [], paced: [] };
    const h = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Each round starts with the bare baselines; every run of the round is compared with them.
      const bareExpress = await load({ url: `${bare.express.url}/healthz` }, DURATION, bare.express);
      const bareHttp = await load({ url: `${bare.http.url}/healthz` }, DURATION, bare.http);
      const toExpress = (result) => Object.assign(result, { express: bareExpress.requests.average, expressCpuUs: bareExpress.cpuUsPerRequest });
      results.x.push(toExpress(bareExpress));
      results.y.push(toExpress(bareHttp));
      log(`round ${round} bare: Express ${Math.round(bareExpress.requests.average)} req/s, node:http ${Math.round(bareHttp.requests.average)} req/s`);
      for (const [name, opts] of Object.entries(throughput)) {
        const server = servers.find((candidate) => opts.url.startsWith(`${candidate.url}/`));
        const base = await load({ ...baselineOpts, url: `${server.url}/healthz` }, DURATION, server);
        results.a.push(toExpress(base));
        const result = toExpress(await load(opts, DURATION, server));
        result.baseline = base.requests.average;
        result.baselineCpuUs = base.cpuUsPerRequest;
        result.baselineP99 = base.latency.p99;
        (results[name] ??= []).push(result);
        log(
          `round ${round} ${name}: ${Math.round(result.requests.average)} req/s (baseline ${Math.round(base.requests.average)}), ` +
            `p99 ${result.latency.p99} ms (baseline ${base.latency.p99} ms), non-2xx ${result.non2xx}`,
        );
      }
      // (g): the JWT route alone, then the same load while a login flood keeps every hash slot busy.
      for (const [variant, opts] of [
        ['saturated', jwtOpts],
        ['paced', paced],
      ]) {
        const alone = await load(opts, DURATION);
        const flood = load({ ...logins(LOGIN_FLOOD_CONNECTIONS), duration: DURATION + 2 }, DURATION + 2);
        await new Promise((r) => setTimeout(r, 1000));
        const during = await load(opts, DURATION);
        const floodResult = await flood;
        g[variant].push({
          alone: alone.latency.p99,
          during: during.latency.p99,
          aloneRps: alone.requests.average,
          duringRps: during.requests.average,
          logins: floodResult.requests.average,
          loginNon2xx: floodResult.non2xx,
        });
        log(
          `round ${round} g ${variant}: p99 ${alone.latency.p99} ms alone, ${during.latency.p99} ms during ${Math.round(floodResult.requests.average)} logins/s`,
        );
      }
      const base = toExpress(await load(baselineOpts, DURATION, main));
      results.a.push(base);
      const shakes = await handshakes(main.wsUrl, { authorization: `Bearer ${token}` }, DURATION, HANDSHAKE_CONCURRENCY);
      shakes.baseline = base.requests.average;
      h.push(shakes);
      log(`round ${round} h: ${Math.round(shakes.perSecond)} handshakes/s, p99 ${round1(shakes.p99)} ms, refused ${shakes.refused}`);
    }

    summary.scenarios['a healthz (baseline)'] = summarize(results.a.map((r) => ({ ...r, baseline: r.requests.average, baselineCpuUs: r.cpuUsPerRequest })));
    delete summary.scenarios['a healthz (baseline)'].ratiosPerRound;
    // (a) runs before every scenario: the median says it, the per-round list would be one per run.
    delete summary.scenarios['a healthz (baseline)'].expressRatiosPerRound;
    summary.scenarios[BARE_EXPRESS] = summarize(results.x.map((r) => ({ ...r, baseline: r.requests.average, baselineCpuUs: r.cpuUsPerRequest })));
    summary.scenarios[BARE_HTTP] = summarize(results.y.map((r) => ({ ...r, baseline: r.requests.average, baselineCpuUs: r.cpuUsPerRequest })));
    for (const name of [BARE_EXPRESS, BARE_HTTP]) {
      delete summary.scenarios[name].ratiosPerRound;
      Object.assign(summary.scenarios[name], { ratioToBaseline: null, cpuRatioToBaseline: null });
    }
    for (const name of Object.keys(throughput)) summary.scenarios[name] = summarize(results[name]);
    for (const variant of ['saturated', 'paced']) {
      const runs = g[variant];
      summary.scenarios[`g me, Bearer JWT during login flood (${variant === 'saturated' ? '32 connections' : '200 req/s'})`] = {
        p99AloneMs: median(runs.map((r) => r.alone)),
        p99DuringFloodMs: median(runs.map((r) => r.during)),
        p99Ratio: Number(median(runs.map((r) => r.during / r.alone)).toFixed(2)),
        ratiosPerRound: runs.map((r) => Number((r.during / r.alone).toFixed(2))),
        requestsPerSecondAlone: Math.round(median(runs.map((r) => r.aloneRps))),
        requestsPerSecondDuringFlood: Math.round(median(runs.map((r) => r.duringRps))),
        floodLoginsPerSecond: Math.round(median(runs.map((r) => r.logins))),
        floodRefused: runs.reduce((n, r) => n + r.loginNon2xx, 0),
      };
    }
    const hps = median(h.map((r) => r.perSecond));
    summary.scenarios['h WebSocket handshakes'] = {
      handshakesPerSecond: Math.round(hps),
      ratioToBaseline: Number(median(h.map((r) => r.perSecond / r.baseline)).toFixed(2)),
      p50Ms: round1(median(h.map((r) => r.p50))),
      p99Ms: round1(median(h.map((r) => r.p99))),
      refused: h.reduce((n, r) => n + r.refused, 0),
    };
    const fan = await fanOut(main, token, FAN_OUT_SOCKETS, FAN_OUT_ALERTS);
    log(`i: ${fan.sockets} sockets, delivery p50 ${round1(fan.p50)} ms, p99 ${round1(fan.p99)} ms, lost ${fan.lost}`);
    summary.scenarios[`i fan-out of one alert to ${fan.sockets} sockets`] = {
      deliveryP50Ms: round1(fan.p50),
      deliveryP99Ms: round1(fan.p99),
      deliveryMaxMs: round1(fan.max),
      medianPerAlertP99Ms: round1(fan.medianAlertP99),
      medianAlertPostRoundTripMs: round1(fan.medianPostRoundTrip),
      alerts: fan.alerts,
      lost: fan.lost,
    };
  } finally {
    await Promise.all([...servers, ...Object.values(bare)].map((s) => s.stop()));
  }
  log('counting database queries per request in-process...');
  summary.queriesPerRequest = await countQueriesPerRequest();
  log('API key with a 5 s cache TTL under 32 connections (stampede)...');
  summary.keyCacheStampede = await stampede({ log });
  log('WEB_CONCURRENCY 1 and 2 on PostgreSQL and Redis (bench/workers.js)...');
  summary.workers = await workersScaling({ log });
  log('100,000 live sessions (bench/sessions-memory.js)...');
  summary.sessionsMemory = sessionsMemory();
  summary.machine.loadAverageAfter = os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
  summary.machine.busiestProcessesAfter = busiestProcesses();
  console.log(JSON.stringify(summary.scenarios, null, 2));
  console.table(summary.queriesPerRequest);
  fs.writeFileSync(path.join(OUT_DIR, 'results.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeResultsMarkdown(summary);
}

const LIMITED = 'l me, API key with a rate limit (Redis)';
const BARE_EXPRESS = 'x bare Express 5 (same JSON)';
const BARE_HTTP = 'y bare node:http (same JSON)';
/** Issue 13: ≥ 0.85 × /healthz and p99 ≤ 1.2 × its p99; issue 20: ≥ 0.7 × bare Express. */
const authTarget = (s) => s.ratioToBaseline >= 0.85 && s.p99RatioToBaseline <= P99_TARGET && s.ratioToExpress >= 0.7;
const TARGETS = {
  'a healthz (baseline)': (s) => s.ratioToExpress >= 0.8,
  'b me, Bearer JWT': authTarget,
  'c me, cookie': authTarget,
  'd me, API key (warm cache)': authTarget,
  'f logins': (s) => s.requestsPerSecond >= 40,
  [LIMITED]: (s) => s.ratioToBaseline >= 0.75,
};
const TARGET_TEXT = {
  a: '≥ 0.8 × bare Express',
  b: `≥ 0.85 × (a), ≥ 0.7 × bare Express, p99 ≤ ${P99_TARGET} × (a), 0 queries`,
  f: '≥ 40/s',
  l: '≥ 0.75 × its (a), 0 queries',
};

const mark = (ok) => (ok === undefined ? '' : ok ? 'met' : '**missed**');

/** Replaces the generated block of bench/RESULTS.md (between the markers), keeping the notes around it. */
function writeResultsMarkdown(summary) {
  const s = summary.scenarios;
  const q = summary.queriesPerRequest;
  const rows = [];
  rows.push(
    '| scenario | req/s | ratio to (a) | per round | ratio to bare Express | per round | p50 ms | p99 ms | p99 ratio to (a) | per round | CPU µs/request | CPU ratio to (a) | CPU ratio to bare Express | DB queries/request | target |',
  );
  rows.push('|---|---:|---:|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---|');
  const names = [
    BARE_HTTP,
    BARE_EXPRESS,
    'a healthz (baseline)',
    'b me, Bearer JWT',
    'c me, cookie',
    'd me, API key (warm cache)',
    'e me, API key (cache off)',
    'f logins',
    LIMITED,
  ];
  for (const name of names.filter((candidate) => s[candidate])) {
    const r = s[name];
    const letter = name[0];
    const target = TARGET_TEXT[letter] ?? (['c', 'd'].includes(letter) ? TARGET_TEXT.b : '');
    const ok = TARGETS[name] ? TARGETS[name](r) && (q[letter] === undefined || q[letter].queriesPerRequest === 0 || letter === 'f') : undefined;
    rows.push(
      `| ${name} | ${r.requestsPerSecond} | ${r.ratioToBaseline ?? ''} | ${r.ratiosPerRound?.join(', ') ?? ''} | ${r.ratioToExpress ?? ''} | ${r.expressRatiosPerRound?.join(', ') ?? ''} | ` +
        `${r.p50Ms} | ${r.p99Ms} | ${r.p99RatioToBaseline ?? ''} | ${r.p99RatiosPerRound?.join(', ') ?? ''} | ` +
        `${r.cpuUsPerRequest} | ${r.cpuRatioToBaseline ?? ''} | ${r.cpuRatioToExpress ?? ''} | ${q[letter]?.queriesPerRequest ?? ''} | ${target} ${mark(ok)} |`,
    );
  }
  const gLines = Object.entries(s)
    .filter(([name]) => name.startsWith('g '))
    .map(
      ([name, r]) =>
        `| ${name} | ${r.requestsPerSecondAlone} → ${r.requestsPerSecondDuringFlood} | ${r.p99AloneMs} | ${r.p99DuringFloodMs} | **${r.p99Ratio}** (${r.ratiosPerRound.join(', ')}) | ${r.floodLoginsPerSecond} logins/s, ${r.floodRefused} refused | ≤ 2 × ${mark(r.p99Ratio <= 2)} |`,
    );
  const h = s['h WebSocket handshakes'];
  const iName = Object.keys(s).find((name) => name.startsWith('i '));
  const i = s[iName];
  const st = summary.keyCacheStampede;
  const sm = summary.sessionsMemory;
  const ct = sm.lookup.checkAndTouchNs;
  const rb = sm.lookup.resolverBearerNs;
  const md = [
    '<!-- bench:begin (generated by `npm run bench`; edit outside these markers) -->',
    `Run of ${summary.date}: ${summary.machine.cpu}, ${summary.machine.memoryGiB} GiB, ${summary.machine.os}, Node ${summary.machine.node}.`,
    `Build: ${summary.build}.`,
    `Load average (1/5/15 min) before: ${summary.machine.loadAverageBefore}; after: ${summary.machine.loadAverageAfter}. ` +
      `Busiest processes before: ${summary.machine.busiestProcessesBefore.map((p) => `\`${p}\``).join('; ') || 'n/a'}.`,
    `${summary.rounds} interleaved rounds of ${summary.durationSeconds} s, autocannon with 32 connections unless said otherwise; medians over rounds.`,
    '',
    ...rows,
    '',
    '| (g) JWT route during a login flood | req/s alone → during | p99 alone ms | p99 during ms | p99 ratio (per round) | flood | target |',
    '|---|---|---:|---:|---|---|---|',
    ...gLines,
    '',
    '| (h) WebSocket handshakes | per second | p50 ms | p99 ms | refused | target |',
    '|---|---:|---:|---:|---:|---|',
    `| Bearer JWT, ${HANDSHAKE_CONCURRENCY} concurrent, open then drop | ${h.handshakesPerSecond} | ${h.p50Ms} | ${h.p99Ms} | ${h.refused} | ≥ 500/s ${mark(h.handshakesPerSecond >= 500)} |`,
    '',
    '| (i) fan-out | delivery p50 ms | delivery p99 ms | max ms | median per-alert p99 ms | POST round trip ms | lost | target |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    `| ${iName.slice(2)}, ${i.alerts} alerts, from POST sent to frame received | ${i.deliveryP50Ms} | ${i.deliveryP99Ms} | ${i.deliveryMaxMs} | ${i.medianPerAlertP99Ms} | ${i.medianAlertPostRoundTripMs} | ${i.lost} | p99 ≤ 50 ms ${mark(i.deliveryP99Ms <= 50)} |`,
    '',
    `| (j) API key, cache TTL ${st.ttlSeconds} s, ${st.connections} connections, ${st.seconds} s (${st.database}) | req/s | key lookups | per expiry (${st.expiries} expiries) | SQL statements | DB transactions (pg_stat_database) | p99 ms | /healthz p99 ms | p99 ratio | non-2xx | target |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    `| one key, every request | ${st.requestsPerSecond} | ${st.keyLookups} | ${st.keyLookupsPerExpiry} | ${st.statements} | ${st.transactions ? `${st.transactions.committed}${st.transactions.statementsWhileSettling ? ` (${st.transactions.statementsWhileSettling} of them background writes)` : ''}` : 'n/a (embedded)'} | ${st.p99Ms} | ${st.healthzP99Ms} | ${st.p99RatioToHealthz} | ${st.non2xx} | ≈ 1 lookup per expiry, not ≈ ${st.connections} ${mark(st.keyLookupsPerExpiry <= 2)} |`,
    '',
    ...workersLines(summary.workers),
    `| (k) live sessions in memory (${sm.database}) | ${sm.sessions.small} sessions | ${sm.sessions.large.toLocaleString('en')} sessions | ${sm.sessions.small} again |`,
    '|---|---:|---:|---:|',
    `| LiveSessions.check + touch, ns per call (wall / CPU), the same ${sm.sessions.small} ids | ${ct[`${sm.sessions.small} sessions`].wallNs} / ${ct[`${sm.sessions.small} sessions`].cpuNs} | ${ct[`${sm.sessions.large} sessions, the same ${sm.sessions.small} ids`].wallNs} / ${ct[`${sm.sessions.large} sessions, the same ${sm.sessions.small} ids`].cpuNs} | ${ct[`${sm.sessions.small} sessions again`].wallNs} / ${ct[`${sm.sessions.small} sessions again`].cpuNs} |`,
    `| the same, every id in random order | | ${ct[`${sm.sessions.large} sessions, every id in random order`].wallNs} / ${ct[`${sm.sessions.large} sessions, every id in random order`].cpuNs} | |`,
    `| check only, every id in random order | | ${ct[`${sm.sessions.large} sessions, every id in random order, check only`].wallNs} / ${ct[`${sm.sessions.large} sessions, every id in random order, check only`].cpuNs} | |`,
    `| CredentialResolver.resolve (Bearer JWT, whole check), ns per call (wall / CPU) | ${rb[`${sm.sessions.small} sessions`].wallNs} / ${rb[`${sm.sessions.small} sessions`].cpuNs} | ${rb[`${sm.sessions.large} sessions`].wallNs} / ${rb[`${sm.sessions.large} sessions`].cpuNs} | ${rb[`${sm.sessions.small} sessions again`].wallNs} / ${rb[`${sm.sessions.small} sessions again`].cpuNs} |`,
    '',
    `Memory of ${sm.sessions.large.toLocaleString('en')} live sessions (${sm.sessions.users} users; forced GC before and after): heap ${sm.memory.heapUsedMiB.before} → ${sm.memory.heapUsedMiB.afterThreeReloads} MiB, ` +
      `**${sm.memory.heapBytesPerSession} bytes of heap per session** (${sm.memory.heapBytesPerSessionFirstReload} after the first reload); ` +
      `RSS ${sm.memory.rssMiB.before} → ${sm.memory.rssMiB.afterFirstReload} MiB after the first reload (${sm.memory.rssBytesPerSessionFirstReload} bytes per session), ${sm.memory.rssMiB.afterThreeReloads} MiB after three (${sm.memory.rssBytesPerSession} bytes per session). ` +
      `reload() of ${sm.sessions.large.toLocaleString('en')}: ${sm.reload.wallMs.join(', ')} ms (CPU ${sm.reload.cpuMs.join(', ')} ms), holding the event loop up to ${sm.reload.loopBlockedMaxMs.join(', ')} ms at a stretch; ` +
      `the same rows by a raw query into a Map (no entity hydration): ${sm.reload.rawQueryIntoMapWallMs.join(', ')} ms, loop held up to ${sm.reload.rawQueryIntoMapLoopBlockedMaxMs.join(', ')} ms. ` +
      `One last-seen batch of ${sm.lastSeenFlush.sessionsTouched?.toLocaleString('en')} touched sessions: ${sm.lastSeenFlush.ms} ms.`,
    '<!-- bench:end -->',
  ].join('\n');
  const file = path.join(OUT_DIR, 'RESULTS.md');
  const previous = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n\n<!-- bench:begin --><!-- bench:end -->\n';
  const replaced = previous.replace(/<!-- bench:begin[\s\S]*?<!-- bench:end -->/, () => md);
  fs.writeFileSync(file, replaced === previous && !previous.includes('<!-- bench:begin') ? `${previous}\n${md}\n` : replaced);
}

/** (m): the JWT route with 1 and 2 workers (bench/workers.js), or why it was left out. */
function workersLines(w) {
  if (!w || w.skipped) return [`(m) WEB_CONCURRENCY 1 vs 2: left out (${w?.skipped ?? 'not run'}).`, ''];
  const row = (name) => {
    const r = w[name];
    return `| ${name} | ${r.requestsPerSecond} | ${r.p99Ms} | ${r.cpuUsPerRequest} | ${r.serverCores} | ${r.loadGeneratorCores} | ${r.non2xx} |`;
  };
  return [
    '| (m) `/me` with a Bearer JWT, PostgreSQL + Redis | req/s | p99 ms | CPU µs/request (all processes) | server cores busy | load generator cores busy | non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|',
    row('1 worker'),
    row('2 workers'),
    `| **2 workers ÷ 1** | **${w.ratio}** (${w.ratiosPerRound.join(', ')}) | | | | | target ≥ 1.7 ${mark(w.ratio >= 1.7)} |`,
    '',
  ];
}

/** bench/sessions-memory.js in a process of its own (it needs --expose-gc and a clean heap). */
function sessionsMemory() {
  const out = execFileSync(process.execPath, ['--expose-gc', path.join(__dirname, 'sessions-memory.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 2 ** 20,
  });
  return JSON.parse(out.toString());
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
