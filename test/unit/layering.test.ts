/**
 * The folders' boundaries (docs/architecture.md): core/ is pure; functions/, cli/ and slack-app/
 * build on core/ and adapters/ only; the Workflows emulator is its own package that imports
 * nothing of bootwarden and is reached only through its index.ts, by devstack/, bench/, test/ and,
 * lazily, the CLI's `workflows` command. Each rule, each way of writing an import and each source
 * extension is shown to fail on a file that breaks it, written to a temporary repository and read
 * by the same walker as the real one.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import {
  areaOf,
  CLI_EMULATOR_COMMAND,
  formatViolation,
  importsOf,
  sourceFiles,
  UNCHECKABLE,
  UNKNOWN_LOCATION,
  violations,
  type Area,
  type SourceFile,
  type Violation,
} from '../support/layering.js';
import { useTmpDirs } from '../support/tmp.js';

// A test that asserts nothing passes whatever the scanner does.
beforeEach(() => {
  expect.hasAssertions();
});

const tmpDir = useTmpDirs();

/** Writes the files into a fresh temporary repository and reads them back with the repository's walker. */
function writeRepository(files: Record<string, string>): { root: string; scanned: SourceFile[] } {
  const root = tmpDir();
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return { root, scanned: sourceFiles(root) };
}

const CORE_PURE = 'core/ imports only node: built-ins and core/ itself';
const FIRESTORE = '@google-cloud/firestore';

describe('the repository keeps its boundaries', () => {
  const files = sourceFiles(ROOT);

  // Lower bounds well under today's counts (core 19 files, the emulator's src/ 37, …): an empty or
  // truncated scan fails here rather than finding no violations. slack-app/ does not exist yet.
  const MIN_FILES: [Area, number][] = [
    ['core', 15],
    ['adapters', 4],
    ['functions', 4],
    ['cli', 10],
    ['devstack', 10],
    ['bench', 15],
    ['test', 30],
    ['emulator-src', 30],
    ['emulator-test', 10],
  ];

  it.each(MIN_FILES)('scans %s: at least %i files, and imports in them', (area, min) => {
    const inArea = files.filter((f) => areaOf(f.path) === area);
    expect(inArea.length).toBeGreaterThanOrEqual(min);
    // Nearly every module imports something: a scanner that finds nothing fails here.
    const withImports = inArea.filter((f) => importsOf(f.text, f.path).length > 0);
    expect(withImports.length).toBeGreaterThanOrEqual(Math.ceil(min / 2));
  });

  it('every scanned file is in a folder with rules', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(files.filter((f) => areaOf(f.path) === 'other').map((f) => f.path)).toEqual([]);
  });

  it('no file imports across a boundary', () => {
    expect(violations(files).map(formatViolation)).toEqual([]);
  });

  it('the CLI loads the emulator only lazily, from its workflows command', () => {
    const cliImports = files
      .filter((f) => areaOf(f.path) === 'cli')
      .flatMap((f) => importsOf(f.text, f.path).map((i) => ({ ...i, file: f.path })))
      .filter((i) => i.spec.startsWith('@bootwarden/'));
    expect(cliImports.filter((i) => !i.typeOnly).map((i) => [i.file, i.form, i.spec])).toEqual([
      [CLI_EMULATOR_COMMAND, 'import()', '@bootwarden/workflows-emulator'],
    ]);
  });
});

describe('each way of loading a module is checked', () => {
  // [what, file, text, line, spec, rule]: the one violation the file must produce.
  const rows: [string, string, string, number, string, string][] = [
    ['import … from', 'core/x.ts', "import { Firestore } from '@google-cloud/firestore';", 1, FIRESTORE, CORE_PURE],
    ['import * as', 'core/x.ts', "import * as bolt from '@slack/bolt';", 1, '@slack/bolt', CORE_PURE],
    ['a side-effect import', 'core/x.ts', "import '@google-cloud/firestore';", 1, FIRESTORE, CORE_PURE],
    // A type-only import of a cloud SDK still ties core/ to it: forbidden like any import.
    ['import type', 'core/x.ts', "import type { Firestore } from '@google-cloud/firestore';", 1, FIRESTORE, CORE_PURE],
    [
      'import { type … } (still loads the module)',
      'core/x.ts',
      "import { type Firestore } from '@google-cloud/firestore';",
      1,
      FIRESTORE,
      CORE_PURE,
    ],
    ['import x = require()', 'core/x.ts', "import bolt = require('@slack/bolt');", 1, '@slack/bolt', CORE_PURE],
    ['import type x = require()', 'core/x.ts', "import type bolt = require('@slack/bolt');", 1, '@slack/bolt', CORE_PURE],
    ['export { … } from', 'core/x.ts', "export { Firestore } from '@google-cloud/firestore';", 1, FIRESTORE, CORE_PURE],
    ['export * from', 'core/x.ts', "export * from '@google-cloud/firestore';", 1, FIRESTORE, CORE_PURE],
    ['export * as … from', 'core/x.ts', "export * as firestore from '@google-cloud/firestore';", 1, FIRESTORE, CORE_PURE],
    ['export type … from', 'core/x.ts', "export type { Firestore } from '@google-cloud/firestore';", 1, FIRESTORE, CORE_PURE],
    ['import()', 'core/x.ts', "const m = await import('@google-cloud/workflows');", 1, '@google-cloud/workflows', CORE_PURE],
    [
      'import() of a template literal',
      'core/x.ts',
      'const m = await import(`@google-cloud/workflows`);',
      1,
      '@google-cloud/workflows',
      CORE_PURE,
    ],
    [
      'import() with options',
      'core/x.ts',
      "const m = await import('@google-cloud/workflows', { with: {} });",
      1,
      '@google-cloud/workflows',
      CORE_PURE,
    ],
    ['typeof import() in a type', 'core/x.ts', "export type F = typeof import('@google-cloud/firestore');", 1, FIRESTORE, CORE_PURE],
    ['import().T in a type', 'core/x.ts', "export let f: import('@google-cloud/firestore').Firestore;", 1, FIRESTORE, CORE_PURE],
    ['require()', 'core/x.ts', "const sdk = require('googleapis');", 1, 'googleapis', CORE_PURE],
    [
      'createRequire(…)(…)',
      'core/x.ts',
      "import { createRequire } from 'node:module';\ncreateRequire(import.meta.url)('@google-cloud/firestore');",
      2,
      FIRESTORE,
      CORE_PURE,
    ],
    [
      'a name bound to createRequire(…)',
      'core/x.ts',
      "import { createRequire } from 'node:module';\nconst load = createRequire(import.meta.url);\nload('@slack/web-api');",
      3,
      '@slack/web-api',
      CORE_PURE,
    ],
    [
      'a name assigned createRequire(…) later',
      'core/x.ts',
      "import { createRequire } from 'node:module';\nlet load;\nload = createRequire(import.meta.url);\nload('@slack/web-api');",
      4,
      '@slack/web-api',
      CORE_PURE,
    ],
    [
      'an alias of createRequire',
      'core/x.ts',
      "import { createRequire as cr } from 'node:module';\nconst load = cr(import.meta.url);\n\nload('@google-cloud/compute');",
      4,
      '@google-cloud/compute',
      CORE_PURE,
    ],
    [
      'module.createRequire',
      'core/x.ts',
      "import module from 'node:module';\nmodule.createRequire(import.meta.url)('@google-cloud/compute');",
      2,
      '@google-cloud/compute',
      CORE_PURE,
    ],
    ['require.resolve', 'core/x.ts', "const p = require.resolve('@google-cloud/firestore');", 1, FIRESTORE, CORE_PURE],
    [
      'createRequire(…).resolve',
      'core/x.ts',
      "import { createRequire } from 'node:module';\nconst p = createRequire(import.meta.url).resolve('@google-cloud/firestore');",
      2,
      FIRESTORE,
      CORE_PURE,
    ],
    ['import.meta.resolve', 'core/x.ts', "const p = import.meta.resolve('@google-cloud/firestore');", 1, FIRESTORE, CORE_PURE],
    ['a bare built-in name', 'core/x.ts', "import fs from 'fs';", 1, 'fs', CORE_PURE],
    [
      'a deep path into a package',
      'core/x.ts',
      "import { v1 } from '@google-cloud/firestore/build/src/v1';",
      1,
      '@google-cloud/firestore/build/src/v1',
      CORE_PURE,
    ],
    [
      'an import after other code',
      'core/x.ts',
      "const a = 1;\n\nexport { a };\nimport '@google-cloud/firestore';",
      4,
      FIRESTORE,
      CORE_PURE,
    ],

    // Names computed at run time: in a checked folder, an import that cannot be checked is a violation.
    ['import() of a variable', 'core/x.ts', "const name = '@google-cloud/firestore';\nawait import(name);", 2, 'name', UNCHECKABLE],
    [
      'import() of a template with a substitution',
      'adapters/x.ts',
      "const v = 'firestore';\nawait import(`@google-cloud/${v}`);",
      2,
      '`@google-cloud/${v}`',
      UNCHECKABLE,
    ],
    ['import() without an argument', 'test/x.ts', 'await import();', 1, '', UNCHECKABLE],
    ['require() of an expression', 'functions/x.ts', "const sdk = require(process.env['SDK']!);", 1, "process.env['SDK']!", UNCHECKABLE],
    [
      'a bound require of a variable',
      'devstack/x.ts',
      "import { createRequire } from 'node:module';\nconst load = createRequire(import.meta.url);\nload(name);",
      3,
      'name',
      UNCHECKABLE,
    ],
    ['import.meta.resolve of a variable', 'bench/x.ts', 'import.meta.resolve(name);', 1, 'name', UNCHECKABLE],
    [
      'createRequire(…) handed to a function',
      'cli/x.ts',
      "import { createRequire } from 'node:module';\nuse(createRequire(import.meta.url));",
      2,
      'createRequire(import.meta.url)',
      UNCHECKABLE,
    ],
    [
      'createRequire(…) exported',
      'core/x.ts',
      "import { createRequire } from 'node:module';\nexport const load = createRequire(import.meta.url);",
      2,
      'createRequire(import.meta.url)',
      UNCHECKABLE,
    ],
    [
      'a bound require handed on',
      'packages/workflows-emulator/src/x.ts',
      "import { createRequire } from 'node:module';\nconst load = createRequire(import.meta.url);\nexport { load };",
      3,
      'load',
      UNCHECKABLE,
    ],
    ['an absolute path', 'core/x.ts', "import { a } from '/work/core/a.js';", 1, '/work/core/a.js', UNKNOWN_LOCATION],
    ['a file: URL', 'cli/x.ts', "const m = await import('file:///work/devstack/a.js');", 1, 'file:///work/devstack/a.js', UNKNOWN_LOCATION],
  ];

  it.each(rows)('%s', (_what, file, text, line, spec, rule) => {
    const { scanned } = writeRepository({ [file]: text });
    expect(scanned.map((f) => f.path)).toEqual([file]);
    expect(violations(scanned)).toEqual([{ file, line, spec, rule }]);
  });

  it('a file that does not parse is reported, with the imports still found in it', () => {
    const file = 'core/x.ts';
    const { scanned } = writeRepository({ [file]: "import { Firestore } from '@google-cloud/firestore';\nconst = ;" });
    expect(violations(scanned)).toEqual<Violation[]>([
      { file, line: 2, spec: '', rule: 'cannot be parsed (Variable declaration expected.), so it cannot be checked' },
      { file, line: 1, spec: FIRESTORE, rule: CORE_PURE },
    ]);
  });
});

describe('every source extension is scanned', () => {
  // [file, text]: each breaks core/'s rule on line 1 by importing Firestore.
  const rows: [string, string][] = [
    ['core/x.ts', "import { Firestore } from '@google-cloud/firestore';"],
    ['core/x.tsx', "import { Firestore } from '@google-cloud/firestore';\nexport const View = () => <div />;"],
    ['core/x.mts', "import { Firestore } from '@google-cloud/firestore';"],
    ['core/x.cts', "import firestore = require('@google-cloud/firestore');"],
    ['core/x.d.ts', "import type { Firestore } from '@google-cloud/firestore';\nexport declare const f: Firestore;"],
    ['core/x.js', "import { Firestore } from '@google-cloud/firestore';"],
    ['core/x.jsx', "import { Firestore } from '@google-cloud/firestore';\nexport const View = () => <div />;"],
    ['core/x.mjs', "export { Firestore } from '@google-cloud/firestore';"],
    ['core/x.cjs', "const { Firestore } = require('@google-cloud/firestore');"],
    ['core/deep/er/x.mjs', "import '@google-cloud/firestore';"],
  ];

  it.each(rows)('%s', (file, text) => {
    const { scanned } = writeRepository({ [file]: text });
    expect(scanned.map((f) => f.path)).toEqual([file]);
    expect(violations(scanned)).toEqual([{ file, line: 1, spec: FIRESTORE, rule: CORE_PURE }]);
  });

  it('reads a symlinked file', () => {
    const { root } = writeRepository({ 'elsewhere/x.ts': "import '@google-cloud/firestore';" });
    mkdirSync(path.join(root, 'core'));
    symlinkSync(path.join(root, 'elsewhere', 'x.ts'), path.join(root, 'core', 'x.ts'));
    expect(violations(sourceFiles(root))).toEqual([{ file: 'core/x.ts', line: 1, spec: FIRESTORE, rule: CORE_PURE }]);
  });

  it('skips dependencies, build output and files that are not source', () => {
    const bad = "import '@google-cloud/firestore';";
    const { scanned } = writeRepository({
      'core/node_modules/x/index.js': bad,
      'core/dist/x.js': bad,
      'dist/core/x.js': bad,
      'packages/workflows-emulator/dist/x.js': bad,
      'packages/workflows-emulator/node_modules/x/index.js': bad,
      '.deploy/function/core/x.js': bad,
      'core/.deploy/x.js': bad,
      'core/x.json': bad,
      'core/x.md': bad,
      'core/x.ts.orig': bad,
      'core-extra/x.ts': bad,
      'core/kept.ts': "import { a } from './a.js';",
    });
    expect(scanned.map((f) => f.path)).toEqual(['core/kept.ts']);
  });
});

describe('each rule can fail', () => {
  // [what, file, text, spec, rule]: the one violation, on line 1.
  const rows: [string, string, string, string, string][] = [
    // Containment is by path segments: core-extra/ is not core/, workflows-emulator-x/ not the emulator.
    [
      'a sibling folder whose name starts with core',
      'core/x.ts',
      "import { y } from '../core-extra/y.js';",
      '../core-extra/y.js',
      'core may not import core-extra/y.js',
    ],
    [
      'core-extra from deeper in core',
      'core/a/x.ts',
      "import { y } from '../../core-extra/y.js';",
      '../../core-extra/y.js',
      'core may not import core-extra/y.js',
    ],
    ['a path out of the repository', 'core/x.ts', "import { y } from '../../y.js';", '../../y.js', 'core may not import ../y.js'],
    [
      'a sibling of the emulator package',
      'packages/workflows-emulator/src/x.ts',
      "import { y } from '../../workflows-emulator-x/y.js';",
      '../../workflows-emulator-x/y.js',
      'emulator-src may not import packages/workflows-emulator-x/y.js',
    ],
    [
      'adapters from core, type-only',
      'core/ports/x.port.ts',
      "import type { A } from '../../adapters/gcp/a.js';",
      '../../adapters/gcp/a.js',
      'core may not import adapters/',
    ],
    [
      'adapters from an .mjs file in core',
      'core/x.mjs',
      "export { a } from '../adapters/a.js';",
      '../adapters/a.js',
      'core may not import adapters/',
    ],
    [
      'devstack from functions',
      'functions/x.ts',
      "import { a } from '../devstack/a.js';",
      '../devstack/a.js',
      'functions may not import devstack/',
    ],
    ['test from cli', 'cli/x.ts', "import { a } from '../test/support/a.js';", '../test/support/a.js', 'cli may not import test/'],
    ['bench from slack-app', 'slack-app/app.ts', "import { a } from '../bench/a.js';", '../bench/a.js', 'slack-app may not import bench/'],
    [
      'functions from adapters',
      'adapters/gcp/x.ts',
      "import { a } from '../../functions/a.js';",
      '../../functions/a.js',
      'adapters may not import functions/',
    ],
    ['test from bench', 'bench/x.ts', "import { a } from '../test/support/a.js';", '../test/support/a.js', 'bench may not import test/'],
    [
      'the emulator in functions',
      'functions/x.ts',
      "const e = await import('@bootwarden/workflows-emulator');",
      '@bootwarden/workflows-emulator',
      'functions may not use the Workflows emulator',
    ],
    [
      'the emulator in adapters, type-only',
      'adapters/x.ts',
      "import type { ExecutionRecord } from '@bootwarden/workflows-emulator';",
      '@bootwarden/workflows-emulator',
      'adapters may not use the Workflows emulator',
    ],
    [
      'the emulator in core',
      'core/x.ts',
      "export * from '@bootwarden/workflows-emulator/testing';",
      '@bootwarden/workflows-emulator/testing',
      'core may not use the Workflows emulator',
    ],
    [
      'the emulator loaded eagerly by the CLI',
      CLI_EMULATOR_COMMAND,
      "import { startLocalEngine } from '@bootwarden/workflows-emulator';",
      '@bootwarden/workflows-emulator',
      'only cli/commands/workflows.ts may load the emulator, and only with import()',
    ],
    [
      'the emulator required by the CLI',
      CLI_EMULATOR_COMMAND,
      "const e = require('@bootwarden/workflows-emulator');",
      '@bootwarden/workflows-emulator',
      'only cli/commands/workflows.ts may load the emulator, and only with import()',
    ],
    [
      'the emulator loaded by another CLI command',
      'cli/commands/decide.ts',
      "const e = await import('@bootwarden/workflows-emulator');",
      '@bootwarden/workflows-emulator',
      'only cli/commands/workflows.ts may load the emulator, and only with import()',
    ],
    [
      "the emulator's types in another CLI command",
      'cli/commands/decide.ts',
      "import type { ExecutionRecord } from '@bootwarden/workflows-emulator';",
      '@bootwarden/workflows-emulator',
      'only cli/commands/workflows.ts may load the emulator, and only with import()',
    ],
    [
      "the emulator's src files from devstack",
      'devstack/x.ts',
      "import { Run } from '../packages/workflows-emulator/src/run/interpreter.js';",
      '../packages/workflows-emulator/src/run/interpreter.js',
      'reach the emulator through @bootwarden/workflows-emulator, never its src/ files',
    ],
    [
      "the emulator's src folder from test",
      'test/x.test.ts',
      "import * as emulator from '../packages/workflows-emulator/src';",
      '../packages/workflows-emulator/src',
      'reach the emulator through @bootwarden/workflows-emulator, never its src/ files',
    ],
    [
      'a deep package path',
      'bench/x.ts',
      "import { Run } from '@bootwarden/workflows-emulator/src/run/interpreter.js';",
      '@bootwarden/workflows-emulator/src/run/interpreter.js',
      'import the emulator as @bootwarden/workflows-emulator (its index.ts), nothing deeper',
    ],
    [
      'bootwarden from the emulator',
      'packages/workflows-emulator/src/x.ts',
      "import { a } from '../../../core/a.js';",
      '../../../core/a.js',
      'emulator-src may not import core/',
    ],
    [
      'the devstack from the emulator',
      'packages/workflows-emulator/src/connectors/x.ts',
      "import { a } from '../../../../devstack/a.js';",
      '../../../../devstack/a.js',
      'emulator-src may not import devstack/',
    ],
    [
      'the emulator by its own name from its src',
      'packages/workflows-emulator/src/x.ts',
      "import { a } from '@bootwarden/workflows-emulator';",
      '@bootwarden/workflows-emulator',
      'emulator-src may not use the Workflows emulator',
    ],
    [
      "bootwarden from the emulator's tests",
      'packages/workflows-emulator/test/unit/x.test.ts',
      "import { a } from '../../../../core/a.js';",
      '../../../../core/a.js',
      'emulator-test may not import core/',
    ],
  ];

  it.each(rows)('%s', (_what, file, text, spec, rule) => {
    const { scanned } = writeRepository({ [file]: text });
    expect(scanned.map((f) => f.path)).toEqual([file]);
    expect(violations(scanned)).toEqual([{ file, line: 1, spec, rule }]);
  });
});

describe('allowed imports are not reported', () => {
  // [what, file, text]: scanned, and no violation.
  const rows: [string, string, string][] = [
    [
      'built-ins and core/ from core',
      'core/x.ts',
      "import { createHash } from 'node:crypto';\nimport { a } from './ports/a.port.js';\nexport * from '../core/b.js';",
    ],
    ["core/'s own folder, by its index", 'core/a/x.ts', "import * as core from '..';"],
    ['type-only imports within core', 'core/x.ts', "import type { A } from './a.js';\nexport type { B } from './b.js';"],
    [
      'a built-in through createRequire in core',
      'core/x.ts',
      "import { createRequire } from 'node:module';\ncreateRequire(import.meta.url)('node:fs');",
    ],
    [
      'imports only in strings and comments',
      'core/x.ts',
      "// import '@google-cloud/firestore';\nconst s = \"require('@slack/bolt')\";\n/* import('@slack/bolt') */\nconst t = `import x = require('googleapis')`;",
    ],
    ['a method named require', 'core/x.ts', "const o = { require: (s: string) => s };\no.require('@slack/bolt');"],
    [
      'cloud SDKs in adapters',
      'adapters/gcp/x.ts',
      "import type { Firestore } from '@google-cloud/firestore';\nconst w = await import('@google-cloud/workflows');",
    ],
    [
      "the emulator's types and a lazy import from the workflows command",
      CLI_EMULATOR_COMMAND,
      "import type * as E from '@bootwarden/workflows-emulator';\nimport type { ExecutionRecord } from '@bootwarden/workflows-emulator';\nconst e = (): Promise<typeof E> => import('@bootwarden/workflows-emulator');",
    ],
    ['core and adapters from the CLI', 'cli/x.ts', "import { a } from '../core/a.js';\nimport { b } from '../adapters/local/b.js';"],
    [
      "the emulator's testing entry from devstack",
      'devstack/x.ts',
      "import { RecordingComputeFleet } from '@bootwarden/workflows-emulator/testing';",
    ],
    [
      'a package through createRequire in devstack',
      'devstack/x.ts',
      "import { createRequire } from 'node:module';\nconst p = createRequire(import.meta.url).resolve('@google-cloud/functions-framework');",
    ],
    [
      "the emulator's test support from test",
      'test/x.test.ts',
      "import { useEngine } from '../packages/workflows-emulator/test/support/runs.js';",
    ],
    [
      'packages and its own files in the emulator',
      'packages/workflows-emulator/src/x.ts',
      "import { parse } from 'yaml';\nimport { a } from './run/a.js';",
    ],
    ["the emulator's src from its tests", 'packages/workflows-emulator/test/x.test.ts', "import { a } from '../src/a.js';"],
  ];

  it.each(rows)('%s', (_what, file, text) => {
    const { scanned } = writeRepository({ [file]: text });
    expect(scanned.map((f) => f.path)).toEqual([file]);
    expect(violations(scanned)).toEqual([]);
  });

  it('a file outside the checked folders has no rules', () => {
    expect(areaOf('core-extra/x.ts')).toBe('other');
    expect(violations([{ path: 'core-extra/x.ts', text: "import '@google-cloud/firestore';" }])).toEqual([]);
  });
});

describe('areas are decided by path segments', () => {
  const rows: [string, Area][] = [
    ['core/x.ts', 'core'],
    ['core/a/b/x.ts', 'core'],
    ['core-extra/x.ts', 'other'],
    ['corex.ts', 'other'],
    ['core', 'other'],
    ['adapters/gcp/x.ts', 'adapters'],
    ['packages/workflows-emulator/src/x.ts', 'emulator-src'],
    ['packages/workflows-emulator/src-extra/x.ts', 'emulator-test'],
    ['packages/workflows-emulator/test/x.test.ts', 'emulator-test'],
    ['packages/workflows-emulator-x/src/x.ts', 'other'],
    ['packages/other/src/x.ts', 'other'],
    ['test/unit/x.test.ts', 'test'],
    ['vitest.config.ts', 'other'],
  ];

  it.each(rows)('%s is in %s', (file, area) => {
    expect(areaOf(file)).toBe(area);
  });
});

describe('the scanner', () => {
  it('finds imports written every way a module can be loaded, in source order', () => {
    const text = [
      "import a from 'a';",
      "import { type B, type C } from 'bc';",
      "import type { D } from 'd';",
      "export * from 'star';",
      "export type { E } from 'e';",
      "import 'side';",
      "import f = require('f');",
      "const g = require('g');",
      "const h = await import('h');",
      'import {',
      '  i,',
      '  j,',
      "} from 'ij';",
      "type K = typeof import('k');",
      "const l = import.meta.resolve('l');",
      'const m = await import(name);',
    ].join('\n');
    expect(importsOf(text).map((i) => [i.line, i.form, i.spec, i.computed, i.typeOnly])).toEqual([
      [1, 'import', 'a', false, false],
      [2, 'import', 'bc', false, false], // compiles to `import {} from 'bc'` (verbatimModuleSyntax)
      [3, 'import', 'd', false, true],
      [4, 'export-from', 'star', false, false],
      [5, 'export-from', 'e', false, true],
      [6, 'side-effect', 'side', false, false],
      [7, 'import-equals', 'f', false, false],
      [8, 'require()', 'g', false, false],
      [9, 'import()', 'h', false, false],
      [10, 'import', 'ij', false, false],
      [14, 'import-type', 'k', false, true],
      [15, 'resolve', 'l', false, false],
      [16, 'import()', 'name', true, false],
    ]);
  });
});
