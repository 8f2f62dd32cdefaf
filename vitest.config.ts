import { defineConfig } from 'vitest/config';

// The emulator workspace is tested from its TypeScript source: the `bootwarden-source` export
// condition (also set for `tsc --noEmit` in tsconfig.json) points its entry points at src/.
const conditions = ['bootwarden-source'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/has-assertions.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    env: { METADATA_SERVER_DETECTION: 'none' },
    testTimeout: 30_000,
    pool: 'forks',
  },
});
