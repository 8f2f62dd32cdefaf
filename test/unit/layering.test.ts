/**
 * The folders' boundaries (docs/architecture.md): core/ is pure; functions/, cli/ and slack-app/
 * build on core/ and adapters/ only; the Workflows emulator is its own package that imports
 * nothing of bootwarden and is reached only through its index.ts, by devstack/, bench/, test/ and,
 * lazily, the CLI's `workflows` command. Each rule is shown to fail on a file that breaks it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { areaOf, importsOf, SOURCE_EXTENSIONS, violations, type SourceFile } from '../support/layering.js';

const SCANNED = ['core', 'adapters', 'functions', 'cli', 'slack-app', 'devstack', 'bench', 'test', 'packages'];

function repositoryFiles(): SourceFile[] {
  const out: SourceFile[] = [];
  for (const dir of SCANNED) {
    let entries;
    try {
      entries = readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true });
    } catch {
      continue; // a folder that does not exist yet (slack-app/)
    }
    for (const e of entries) {
      const full = path.join(e.parentPath, e.name);
      const rel = path.relative(ROOT, full).split(path.sep).join('/');
      if (!e.isFile() || /(^|\/)(node_modules|dist)\//.test(rel)) continue;
      if (!SOURCE_EXTENSIONS.some((x) => e.name.endsWith(x)) || e.name.endsWith('.d.ts')) continue;
      out.push({ path: rel, text: readFileSync(full, 'utf8') });
    }
  }
  return out;
}

describe('the repository keeps its boundaries', () => {
  it('no file imports across a boundary', () => {
    expect.hasAssertions();
    const files = repositoryFiles();
    // The scan sees every area, so an empty result is not an empty scan.
    const areas = new Set(files.map((f) => areaOf(f.path)));
    for (const a of ['core', 'adapters', 'functions', 'cli', 'devstack', 'bench', 'test', 'emulator-src', 'emulator-test'])
      expect(areas, a).toContain(a);
    expect(files.filter((f) => areaOf(f.path) === 'core').length).toBeGreaterThan(10);
    expect(violations(files)).toEqual([]);
  });

  it('the CLI loads the emulator only lazily, from its workflows command', () => {
    expect.hasAssertions();
    const cliImports = repositoryFiles()
      .filter((f) => f.path.startsWith('cli/'))
      .flatMap((f) => importsOf(f.text).map((i) => ({ ...i, file: f.path })))
      .filter((i) => i.spec.startsWith('@bootwarden/'));
    expect(cliImports.length).toBeGreaterThan(0);
    expect(cliImports.filter((i) => !i.typeOnly).every((i) => i.dynamic && i.file === 'cli/commands/workflows.ts')).toBe(true);
  });
});

describe('each rule can fail', () => {
  const rows: [string, string, string, RegExp][] = [
    ['a cloud SDK in core', 'core/x.ts', "import { Firestore } from '@google-cloud/firestore';", /core\/ imports only node: built-ins/],
    ['a side-effect import in core', 'core/x.ts', "import '@google-cloud/firestore';", /core\/ imports only node: built-ins/],
    ['import = require in core', 'core/x.ts', "import fs = require('@slack/bolt');", /core\/ imports only node: built-ins/],
    [
      'createRequire in core',
      'core/x.ts',
      "import { createRequire } from 'node:module';\nconst r = createRequire(import.meta.url);\nr('x');",
      /may not load modules at run time/,
    ],
    ['require() in core', 'core/x.ts', "const sdk = require('googleapis');", /core\/ imports only node: built-ins/],
    ['a dynamic import in core', 'core/x.ts', "const m = await import('@google-cloud/workflows');", /core\/ imports only node: built-ins/],
    ['a bare built-in name in core', 'core/x.ts', "import fs from 'fs';", /core\/ imports only node: built-ins/],
    [
      'a sibling folder whose name starts with core',
      'core/x.ts',
      "import { y } from '../core-extra/y.js';",
      /core may not import core-extra\/y.js/,
    ],
    ['adapters from core', 'core/ports/x.port.ts', "import type { A } from '../../adapters/gcp/a.js';", /core may not import adapters\//],
    ['an .mjs file in core', 'core/x.mjs', "export { a } from '../adapters/a.js';", /core may not import adapters\//],
    ['a .js file in core', 'core/x.js', "import x from '@google-cloud/compute';", /core\/ imports only node: built-ins/],
    ['devstack from functions', 'functions/x.ts', "import { a } from '../devstack/a.js';", /functions may not import devstack\//],
    ['test from cli', 'cli/x.ts', "import { a } from '../test/support/a.js';", /cli may not import test\//],
    ['bench from slack-app', 'slack-app/app.ts', "import { a } from '../bench/a.js';", /slack-app may not import bench\//],
    ['functions from adapters', 'adapters/gcp/x.ts', "import { a } from '../../functions/a.js';", /adapters may not import functions\//],
    [
      'the emulator in functions',
      'functions/x.ts',
      "const e = await import('@bootwarden/workflows-emulator');",
      /functions may not use the Workflows emulator/,
    ],
    [
      'the emulator in adapters',
      'adapters/x.ts',
      "import { startLocalEngine } from '@bootwarden/workflows-emulator';",
      /adapters may not use/,
    ],
    [
      'the emulator loaded eagerly by the CLI',
      'cli/commands/workflows.ts',
      "import { startLocalEngine } from '@bootwarden/workflows-emulator';",
      /only cli\/commands\/workflows.ts may load the emulator, and only with import\(\)/,
    ],
    [
      'the emulator loaded by another CLI command',
      'cli/commands/decide.ts',
      "const e = await import('@bootwarden/workflows-emulator');",
      /only cli\/commands\/workflows.ts may load the emulator/,
    ],
    [
      "the emulator's src files from devstack",
      'devstack/x.ts',
      "import { Run } from '../packages/workflows-emulator/src/run/interpreter.js';",
      /reach the emulator through @bootwarden\/workflows-emulator/,
    ],
    ['a deep package path', 'bench/x.ts', "import { Run } from '@bootwarden/workflows-emulator/src/run/interpreter.js';", /nothing deeper/],
    [
      'bootwarden from the emulator',
      'packages/workflows-emulator/src/x.ts',
      "import { a } from '../../../core/a.js';",
      /emulator-src may not import core\//,
    ],
    [
      'the devstack from the emulator',
      'packages/workflows-emulator/src/connectors/x.ts',
      "import { a } from '../../../../devstack/a.js';",
      /emulator-src may not import devstack\//,
    ],
    [
      "bootwarden from the emulator's tests",
      'packages/workflows-emulator/test/unit/x.test.ts',
      "import { a } from '../../../../core/a.js';",
      /emulator-test may not import core\//,
    ],
  ];

  it.each(rows)('%s', (_what, file, text, expected) => {
    expect.hasAssertions();
    const found = violations([{ path: file, text }]);
    expect(found.length).toBe(1);
    expect(found[0]).toMatch(expected);
  });

  it('allowed imports pass: type-only imports are erased, and lazy emulator use from the workflows command', () => {
    expect.hasAssertions();
    expect(
      violations([
        { path: 'cli/commands/workflows.ts', text: "import type { ExecutionRecord } from '@bootwarden/workflows-emulator';" },
        { path: 'cli/commands/workflows.ts', text: "const e = await import('@bootwarden/workflows-emulator');" },
        { path: 'core/x.ts', text: "import { createHash } from 'node:crypto';\nimport { a } from './ports/a.port.js';" },
        { path: 'devstack/x.ts', text: "import { RecordingComputeFleet } from '@bootwarden/workflows-emulator/testing';" },
        { path: 'test/x.test.ts', text: "import { useEngine } from '../packages/workflows-emulator/test/support/runs.js';" },
        { path: 'packages/workflows-emulator/src/x.ts', text: "import { parse } from 'yaml';\nimport { a } from './run/a.js';" },
      ]),
    ).toEqual([]);
  });

  it('finds imports written every way a module can be loaded', () => {
    expect.hasAssertions();
    const text = [
      "import a from 'a';",
      "import { type B, type C } from 'bc';",
      "export * from 'star';",
      "export type { D } from 'd';",
      "import 'side';",
      "import e = require('e');",
      "const f = require('f');",
      "const g = await import('g');",
      'import {',
      '  h,',
      '  i,',
      "} from 'hi';",
    ].join('\n');
    expect(importsOf(text).map((i) => [i.spec, i.dynamic, i.typeOnly])).toEqual([
      ['a', false, false],
      ['bc', false, true],
      ['star', false, false],
      ['d', false, true],
      ['hi', false, false],
      ['side', false, false],
      ['e', false, false],
      ['f', false, false],
      ['g', true, false],
    ]);
  });
});
