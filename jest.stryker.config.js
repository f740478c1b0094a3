// The jest configuration that `npm run test:mutation` (stryker.config.mjs) runs: the settings of the
// 'unit' project of jest.config.js, flattened, with one change to the transform.
// - Only the unit specs: the e2e specs need databases and take minutes per run, far too slow to
//   repeat for every mutant. Flattened (no `projects`) because Stryker's jest runner sets its own
//   test environment on the top-level config for per-test coverage.
// - .swcrc without decoratorMetadata: that metadata exists for Nest's dependency injection, which no
//   unit spec uses (they construct services with fakes), and emitting it makes every service file
//   load its constructor's types at run time (TypeORM, Nest, the database layer): 6 s instead of
//   under 1 s for one run of credential-resolver.spec.ts, paid again for every mutant.
const fs = require('node:fs');
const path = require('node:path');
const base = require('./jest.config.js');

const unit = base.projects.find((project) => project.displayName === 'unit');
if (!unit) throw new Error("jest.config.js has no project named 'unit'");

const swcrc = JSON.parse(fs.readFileSync(path.join(__dirname, '.swcrc'), 'utf8'));
delete swcrc.$schema;
const swc = { ...swcrc, swcrc: false, jsc: { ...swcrc.jsc, transform: { ...swcrc.jsc.transform, decoratorMetadata: false } } };

module.exports = {
  ...unit,
  rootDir: __dirname,
  testTimeout: base.testTimeout,
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', swc] },
  // A transform cache of its own: the same file names, compiled differently from `npm test`'s.
  cacheDirectory: path.join(__dirname, 'node_modules', '.cache', 'jest-stryker'),
};
