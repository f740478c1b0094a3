// Mutation testing (`npm run test:mutation`; not part of `npm test`). docs/testing.md says how long a
// run takes, the score, and which surviving mutants were judged harmless and why.

// The TypeScript checker drops mutants that do not compile before any test runs. It works with
// TypeScript 6, but on two cores it takes one of the two workers and type-checks for seconds per
// mutant: a run takes about three times as long. STRYKER_TYPECHECK=1 turns it on.
const typeCheck = process.env.STRYKER_TYPECHECK === '1';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['src/auth/**/*.ts', '!src/auth/**/*.spec.ts', 'src/api-keys/api-key-cache.ts', 'src/api-keys/api-key-format.ts', 'src/access/permissions.ts'],
  testRunner: 'jest',
  jest: {
    projectType: 'custom',
    // The unit project only (src/**/*.spec.ts): the e2e specs need databases and are far too slow.
    configFile: 'jest.stryker.config.js',
    enableFindRelatedTests: true,
  },
  // As in scripts/run-tests.js: jest runs with VM modules (NestJS 12 ships ESM).
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'],
  coverageAnalysis: 'perTest',
  ...(typeCheck ? { checkers: ['typescript'], tsconfigFile: 'tsconfig.json', typescriptChecker: { prioritizePerformanceOverAccuracy: true } } : {}),
  concurrency: 2,
  timeoutMS: 10_000,
  thresholds: { high: 90, low: 85, break: 80 },
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
