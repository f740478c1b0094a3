#!/usr/bin/env node
// npm test: unit specs, then e2e specs. With DATABASE_URL every e2e file runs against that
// PostgreSQL server (a fresh database per file). Without it, the e2e files run on the embedded
// database, except those named *.postgres.e2e-spec.ts, which need a server shared by several
// processes; they are listed, not silently dropped. Likewise the console's browser test when
// Chromium is missing, and *.redis.e2e-spec.ts when no Redis answers.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const jest = [path.join(root, 'node_modules', 'jest', 'bin', 'jest.js')];
const node = ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'];
const extra = process.argv.slice(2);

function run(args) {
  const result = spawnSync(process.execPath, [...node, ...jest, ...args, ...extra], { cwd: root, stdio: 'inherit', env: process.env });
  return result.status ?? 1;
}

let status = run(['--selectProjects', 'unit']);
const e2eArgs = ['--selectProjects', 'e2e', '--runInBand'];
const leftOut = [];
if (!process.env.DATABASE_URL) {
  const needServer = fs.readdirSync(path.join(root, 'test')).filter((name) => name.endsWith('.postgres.e2e-spec.ts'));
  if (needServer.length > 0) {
    process.stdout.write(`No DATABASE_URL: running on the embedded database, leaving out (they need a PostgreSQL server):\n  ${needServer.join('\n  ')}\n`);
    leftOut.push('\\.postgres\\.e2e-spec\\.ts$');
  }
}
// With DATABASE_URL (CI, a full setup) nothing is left out: a missing Redis or Chromium fails the
// run instead of quietly skipping what needs it. On a laptop without it they are left out, by name.
const fullRun = Boolean(process.env.DATABASE_URL);
// The console's browser test drives Debian's Chromium; .ci/run installs it, a laptop may lack it.
const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!fs.existsSync(chromium)) {
  if (fullRun) {
    process.stdout.write(`No Chromium at ${chromium}: with DATABASE_URL set every test runs (scripts/ensure-chromium.sh installs it)\n`);
    process.exit(1);
  }
  process.stdout.write(`No Chromium at ${chromium} (scripts/ensure-chromium.sh installs it): leaving out\n  console.e2e-spec.ts\n`);
  leftOut.push('console\\.e2e-spec\\.ts$');
}

/** True when a Redis server answers PING at TEST_REDIS_URL (default: this machine's). */
function redisAnswers(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname || '127.0.0.1', port: Number(port) || 6379 });
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

(async () => {
  const redisUrl = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
  if (!(await redisAnswers(redisUrl))) {
    if (fullRun) {
      process.stdout.write(`No Redis at ${redisUrl}: with DATABASE_URL set every test runs (start Redis or set TEST_REDIS_URL)\n`);
      process.exit(1);
    }
    const needRedis = fs.readdirSync(path.join(root, 'test')).filter((name) => name.endsWith('.redis.e2e-spec.ts'));
    process.stdout.write(`No Redis at ${redisUrl}: leaving out (they need one):\n  ${needRedis.join('\n  ')}\n`);
    leftOut.push('\\.redis\\.e2e-spec\\.ts$');
  }
  if (leftOut.length > 0) e2eArgs.push(`--testPathIgnorePatterns=${leftOut.join('|')}`);
  status = run(e2eArgs) || status;
  process.exit(status);
})();
