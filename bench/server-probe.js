// Loaded into a bench server with `node --require bench/server-probe.js` (lib.js startServer(…,
// { probe: true })); the app itself is not changed. Over the IPC channel it answers:
//   'reset'   — starts a new window;
//   'read'    — what happened since: SQL statements TypeORM sent (counted as
//               test/support/query-counter.ts does, by wrapping QueryRunner.query on the runner's
//               prototype), GC pauses by kind (PerformanceObserver), and the event loop's delay;
//   { heapStart: interval } / { heapStop: file } — V8's sampling heap profiler over the window,
//               *including* objects already collected (what --heap-prof leaves out), written to file.
const fs = require('node:fs');
const inspector = require('node:inspector');
const { PerformanceObserver, monitorEventLoopDelay, constants } = require('node:perf_hooks');
const { DataSource } = require('typeorm');

let statements = new Map();
let total = 0;
const patched = new WeakSet();
const originalCreate = DataSource.prototype.createQueryRunner;
DataSource.prototype.createQueryRunner = function (...args) {
  const runner = originalCreate.apply(this, args);
  const prototype = Object.getPrototypeOf(runner);
  if (!patched.has(prototype)) {
    patched.add(prototype);
    const original = prototype.query;
    prototype.query = function (sql, ...rest) {
      total++;
      const key = String(sql).replace(/\s+/g, ' ').trim().slice(0, 100);
      statements.set(key, (statements.get(key) ?? 0) + 1);
      return original.call(this, sql, ...rest);
    };
  }
  return runner;
};

const GC_KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'markCompact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakCallbacks',
};
let gc = {};
let pauses = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = GC_KINDS[entry.detail?.kind ?? entry.kind] ?? 'other';
    const slot = (gc[kind] ??= { count: 0, ms: 0, maxMs: 0 });
    slot.count++;
    slot.ms += entry.duration;
    slot.maxMs = Math.max(slot.maxMs, entry.duration);
    pauses.push(entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
let windowStart = process.hrtime.bigint();

let session;
const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));

async function answer(message) {
  if (message === 'reset') {
    statements = new Map();
    total = 0;
    gc = {};
    pauses = [];
    loopDelay.reset();
    windowStart = process.hrtime.bigint();
    return { reset: true };
  }
  if (message === 'read') {
    const sorted = [...pauses].sort((a, b) => a - b);
    const at = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : 0);
    return {
      read: true,
      seconds: Number(process.hrtime.bigint() - windowStart) / 1e9,
      queries: total,
      statements: Object.fromEntries(statements),
      gc: { ...gc, pauseP50Ms: at(50), pauseP99Ms: at(99), pauseMaxMs: at(100), pauseTotalMs: pauses.reduce((n, x) => n + x, 0) },
      eventLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6, mean: loopDelay.mean / 1e6 },
    };
  }
  if (message && message.heapStart) {
    session = new inspector.Session();
    session.connect();
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', {
      samplingInterval: message.heapStart,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return { heapStarted: true };
  }
  if (message && message.heapStop) {
    const { profile } = await post('HeapProfiler.stopSampling');
    fs.writeFileSync(message.heapStop, JSON.stringify(profile));
    session.disconnect();
    return { heapStopped: message.heapStop };
  }
  return { unknown: true };
}

if (process.send) {
  process.on('message', (message) =>
    answer(message).then(
      (reply) => process.send(reply),
      (error) => process.send({ error: String(error) }),
    ),
  );
  // The channel must not keep the server alive after SIGTERM.
  process.channel?.unref();
}
