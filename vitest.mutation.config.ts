import { defineConfig } from 'vitest/config';

// The tests StrykerJS runs against each mutant of core/ and the function's handler: the in-process
// unit tests. The CLI and integration tests run dist/ in child processes, which a mutant never
// reaches, and need the Firestore emulator; they stay in `npm test`. So do the tests that read
// source files as text (layering, documentation, configuration table): Stryker instruments the
// sources they read.
const conditions = ['bootwarden-source'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['test/unit/**/*.test.ts'],
    exclude: [
      'test/unit/firestore-emulator.test.ts',
      'test/unit/config-docs.test.ts',
      'test/unit/deploy-names.test.ts',
      'test/unit/docs.test.ts',
      'test/unit/layering.test.ts',
    ],
    env: { METADATA_SERVER_DETECTION: 'none' },
    setupFiles: ['test/support/has-assertions.ts'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
