/**
 * The repository's boundary rules as data, and a scanner that finds every way a file can load
 * another: `import … from`, `export … from`, side-effect `import 'x'`, `import x = require('x')`,
 * `require('x')` (also through `createRequire`) and `import('x')`. Pure: files in, violations out,
 * so that a test can show that each rule fails on a file that breaks it.
 */
import path from 'node:path';

export interface SourceFile {
  /** Path from the repository root, with `/`. */
  readonly path: string;
  readonly text: string;
}

export interface FoundImport {
  readonly spec: string;
  /** `import('x')`: loaded when the code runs, not when the module loads. */
  readonly dynamic: boolean;
  /** `import type` / `export type`: erased at compile time, loads nothing. */
  readonly typeOnly: boolean;
  readonly line: number;
}

/** Source files the scanner reads: TypeScript and JavaScript of every module flavour. */
export const SOURCE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const;

const STATIC = /(^|[\n;])\s*(import|export)(\s+type)?\b([^'";]*?)\bfrom\s*['"]([^'"]+)['"]/g;
const SIDE_EFFECT = /(^|[\n;])\s*import\s*['"]([^'"]+)['"]/g;
const IMPORT_EQUALS = /(^|[\n;])\s*import\s+(type\s+)?[\w$]+\s*=\s*require\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
const REQUIRE = /(?<![\w$.])require\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
const DYNAMIC = /(?<![\w$.])import\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
const CREATE_REQUIRE = /(?<![\w$.])createRequire\s*\(/g;

function lineAt(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

export function importsOf(text: string): FoundImport[] {
  const found: FoundImport[] = [];
  const add = (spec: string, index: number, dynamic: boolean, typeOnly: boolean): void => {
    found.push({ spec, dynamic, typeOnly, line: lineAt(text, index) });
  };
  for (const m of text.matchAll(STATIC)) {
    // `import { type A, type B } from` is erased too.
    const names = m[4] ?? '';
    const allTypes = /^\s*\{\s*(type\s+[\w$]+\s*(as\s+[\w$]+\s*)?,?\s*)+\}\s*$/.test(names);
    add(m[5] ?? '', m.index, false, m[3] !== undefined || allTypes);
  }
  for (const m of text.matchAll(SIDE_EFFECT)) add(m[2] ?? '', m.index, false, false);
  for (const m of text.matchAll(IMPORT_EQUALS)) add(m[3] ?? '', m.index, false, m[2] !== undefined);
  for (const m of text.matchAll(REQUIRE)) {
    // `import x = require('y')` is counted above already.
    const before = text.slice(Math.max(0, m.index - 200), m.index);
    if (!/import\s+(type\s+)?[\w$]+\s*=\s*$/.test(before)) add(m[1] ?? '', m.index, false, false);
  }
  for (const m of text.matchAll(DYNAMIC)) add(m[1] ?? '', m.index, true, false);
  // A require made at run time can load anything: it is itself a use of `node:module`'s loader.
  for (const m of text.matchAll(CREATE_REQUIRE)) add('node:module#createRequire', m.index, false, false);
  return found;
}

export const EMULATOR_PACKAGE = '@bootwarden/workflows-emulator';
const EMULATOR_DIR = 'packages/workflows-emulator';

/** The area a repository path belongs to. */
export type Area =
  'core' | 'adapters' | 'functions' | 'cli' | 'slack-app' | 'devstack' | 'bench' | 'test' | 'emulator-src' | 'emulator-test' | 'other';

export function areaOf(file: string): Area {
  if (file.startsWith(`${EMULATOR_DIR}/src/`)) return 'emulator-src';
  if (file.startsWith(`${EMULATOR_DIR}/`)) return 'emulator-test';
  const top = file.split('/')[0] ?? '';
  const areas: readonly Area[] = ['core', 'adapters', 'functions', 'cli', 'slack-app', 'devstack', 'bench', 'test'];
  return (areas as readonly string[]).includes(top) && file.includes('/') ? (top as Area) : 'other';
}

/** What an import points at: an area of the repository, the emulator's public API, a package or a built-in. */
type Target = { kind: 'area'; area: Area; path: string } | { kind: 'emulator' } | { kind: 'node' } | { kind: 'package'; name: string };

function targetOf(file: string, spec: string): Target {
  if (spec.startsWith('.')) {
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    return { kind: 'area', area: areaOf(resolved), path: resolved };
  }
  if (spec.startsWith('node:')) return { kind: 'node' };
  if (spec === EMULATOR_PACKAGE || spec === `${EMULATOR_PACKAGE}/testing`) return { kind: 'emulator' };
  const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);
  return { kind: 'package', name };
}

/** The areas each area may import (relative paths), and whether it may use npm packages. */
const RULES: Record<Area, { readonly areas: readonly Area[]; readonly packages: boolean; readonly emulator: 'yes' | 'no' | 'lazy' }> = {
  core: { areas: ['core'], packages: false, emulator: 'no' },
  adapters: { areas: ['core', 'adapters'], packages: true, emulator: 'no' },
  functions: { areas: ['core', 'adapters', 'functions'], packages: true, emulator: 'no' },
  cli: { areas: ['core', 'adapters', 'cli'], packages: true, emulator: 'lazy' },
  'slack-app': { areas: ['core', 'adapters', 'slack-app'], packages: true, emulator: 'no' },
  devstack: { areas: ['core', 'adapters', 'functions', 'devstack'], packages: true, emulator: 'yes' },
  bench: { areas: ['core', 'adapters', 'functions', 'cli', 'devstack', 'bench'], packages: true, emulator: 'yes' },
  test: {
    areas: ['core', 'adapters', 'functions', 'cli', 'slack-app', 'devstack', 'bench', 'test', 'emulator-test'],
    packages: true,
    emulator: 'yes',
  },
  'emulator-src': { areas: ['emulator-src'], packages: true, emulator: 'no' },
  'emulator-test': { areas: ['emulator-src', 'emulator-test'], packages: true, emulator: 'no' },
  other: { areas: [], packages: true, emulator: 'yes' },
};

/** The one CLI module that may load the emulator, and only lazily (`import()`). */
export const CLI_EMULATOR_COMMAND = 'cli/commands/workflows.ts';

export function violations(files: readonly SourceFile[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    const area = areaOf(file.path);
    const rule = RULES[area];
    for (const imp of importsOf(file.text)) {
      const where = `${file.path}:${imp.line} imports ${imp.spec}`;
      const target = targetOf(file.path, imp.spec);
      if (imp.typeOnly && target.kind !== 'area') continue; // erased: loads nothing at run time
      if (target.kind === 'node') {
        if (area === 'core' && imp.spec === 'node:module#createRequire') out.push(`${where}: core/ may not load modules at run time`);
        continue;
      }
      if (target.kind === 'emulator') {
        if (rule.emulator === 'no') out.push(`${where}: ${area} may not use the Workflows emulator`);
        else if (rule.emulator === 'lazy' && !(file.path === CLI_EMULATOR_COMMAND && (imp.dynamic || imp.typeOnly)))
          out.push(`${where}: only ${CLI_EMULATOR_COMMAND} may load the emulator, and only with import()`);
        continue;
      }
      if (target.kind === 'package') {
        if (target.name === '@bootwarden/workflows-emulator' || target.name.startsWith('@bootwarden/'))
          out.push(`${where}: import the emulator as ${EMULATOR_PACKAGE} (its index.ts), nothing deeper`);
        else if (!rule.packages) out.push(`${where}: ${area}/ imports only node: built-ins and ${area}/ itself`);
        continue;
      }
      if (target.area === 'emulator-src' && !area.startsWith('emulator'))
        out.push(`${where}: reach the emulator through ${EMULATOR_PACKAGE}, never its src/ files`);
      else if (!rule.areas.includes(target.area))
        out.push(`${where}: ${area} may not import ${target.area === 'other' ? target.path : `${target.area}/`}`);
    }
  }
  return out;
}
