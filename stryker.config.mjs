// Mutation testing of the core and the function's handler: `npm run test:mutation`
// (incremental: only mutants in changed code or covered by changed tests are run again).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  checkers: ['typescript'],
  // The checker compiles each mutant with what the mutated files need, not the whole repository.
  tsconfigFile: 'tsconfig.mutation.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: ['core/**/*.ts', '!core/ports/**', 'functions/handler.ts', 'functions/wiring.ts'],
  coverageAnalysis: 'perTest',
  // Static mutants (module-level constants: the configuration table, reason codes) would each rerun
  // the whole suite; their behaviour is pinned by table tests, see docs/development.md.
  ignoreStatic: true,
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  concurrency: 2,
  thresholds: { high: 90, low: 85, break: 85 },
  tempDirName: '.stryker-tmp',
};
