// One lint config for the repository. Type-aware rules catch floating promises; the boundary
// rules below are the editor-time half of test/unit/layering.test.ts (docs/architecture.md).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const CLOUD_SDKS = [
  {
    group: ['@google-cloud/*', '@google/*', 'googleapis', 'google-gax', '@slack/*'],
    message: 'core/ is pure domain code: cloud and Slack SDKs belong in adapters/.',
  },
];

/** Relative imports into these top-level folders, from anywhere below. */
const folders = (names, message) => ({ group: names.flatMap((n) => [`**/${n}`, `**/${n}/**`]), message });
const EMULATOR = {
  group: ['@bootwarden/*', '**/packages/**'],
  message: 'The Workflows emulator is for devstack/, bench/, test/ and (lazily) the CLI workflows command.',
};
const boundary = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['**/dist/', '**/node_modules/', 'coverage/', '.bench/', '.deploy/', '.stryker-tmp/', 'reports/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '*.mjs', 'bin/*.js', 'deploy/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['core/**'],
    rules: boundary([
      ...CLOUD_SDKS,
      folders(['adapters', 'functions', 'cli', 'slack-app', 'devstack', 'bench', 'test'], 'core/ imports only core/.'),
      EMULATOR,
    ]),
  },
  {
    files: ['adapters/**'],
    rules: boundary([folders(['functions', 'cli', 'slack-app', 'devstack', 'bench', 'test'], 'adapters/ build on core/ only.'), EMULATOR]),
  },
  {
    files: ['functions/**'],
    rules: boundary([
      folders(['cli', 'slack-app', 'devstack', 'bench', 'test'], 'The function builds on core/ and adapters/ only.'),
      EMULATOR,
    ]),
  },
  {
    files: ['slack-app/**'],
    rules: boundary([
      folders(['cli', 'functions', 'devstack', 'bench', 'test'], 'The Slack app builds on core/ and adapters/ only.'),
      EMULATOR,
    ]),
  },
  {
    files: ['cli/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            folders(['functions', 'slack-app', 'devstack', 'bench', 'test'], 'The CLI builds on core/ and adapters/ only.'),
            { ...EMULATOR, allowTypeImports: true, message: 'Load the emulator with import() in cli/commands/workflows.ts only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/workflows-emulator/src/**'],
    rules: boundary([
      folders(
        ['core', 'adapters', 'functions', 'cli', 'slack-app', 'devstack', 'bench', 'test'],
        'The emulator imports nothing of bootwarden.',
      ),
      { group: ['@bootwarden/*'], message: 'The emulator imports nothing of bootwarden.' },
    ]),
  },
  {
    // Tests build broken inputs by editing JSON freely.
    files: ['test/**/*.ts', 'packages/*/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
