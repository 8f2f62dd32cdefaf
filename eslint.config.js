// One lint config for the repository. Type-aware rules catch floating promises; the layer rule
// keeps core/ free of cloud SDKs (ARCHITECTURE.md: core imports nothing cloud).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const CLOUD_SDKS = [
  {
    group: ['@google-cloud/*', '@google/*', 'googleapis', 'google-gax', '@slack/*'],
    message: 'core/ is pure domain code: cloud and Slack SDKs belong in adapters/.',
  },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.bench/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: CLOUD_SDKS }],
    },
  },
  {
    // Tests build broken inputs by editing JSON freely.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
