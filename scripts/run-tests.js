#!/usr/bin/env node
// npm test: unit specs, then e2e specs. With DATABASE_URL every e2e file runs against that
// PostgreSQL server (a fresh database per file). Without it, the e2e files run on the embedded
// database, except those named *.postgres.e2e-spec.ts, which need a server shared by several
// processes; they are listed, not silently dropped.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
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
if (!process.env.DATABASE_URL) {
  const needServer = fs.readdirSync(path.join(root, 'test')).filter((name) => name.endsWith('.postgres.e2e-spec.ts'));
  if (needServer.length > 0) {
    process.stdout.write(`No DATABASE_URL: running on the embedded database, leaving out (they need a PostgreSQL server):\n  ${needServer.join('\n  ')}\n`);
    e2eArgs.push('--testPathIgnorePatterns', '\\.postgres\\.e2e-spec\\.ts$');
  }
}
status = run(e2eArgs) || status;
process.exit(status);
