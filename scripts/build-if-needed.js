#!/usr/bin/env node
// `npm start` builds first when dist/ is missing or older than any source file.
const fs = require('node:fs');
const path = require('node:path');
const { execSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const entry = path.join(root, 'dist', 'src', 'main.js');

function newestSourceTime(dir) {
  let newest = 0;
  for (const item of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, item.name);
    if (item.isDirectory()) newest = Math.max(newest, newestSourceTime(full));
    else if (item.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

const builtAt = fs.existsSync(entry) ? fs.statSync(entry).mtimeMs : 0;
const sourcesAt = Math.max(newestSourceTime(path.join(root, 'src')), fs.statSync(path.join(root, 'ormconfig.ts')).mtimeMs);
if (builtAt < sourcesAt) {
  process.stderr.write('building (dist/ is missing or older than src/)...\n');
  execSync('npx nest build', { cwd: root, stdio: 'inherit' });
}
