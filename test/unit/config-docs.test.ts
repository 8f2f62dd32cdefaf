/**
 * One configuration table: every environment variable the function, the CLI and the local stack
 * read is declared in core/config.ts, and docs/configuration.md shows exactly that table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, configurationTable } from '../../core/config.js';
import { TABLE_END, TABLE_START, withTable } from '../../devstack/docs.js';
import { bootwarden, ROOT } from '../support/cli.js';

/** Names read as `env['X']`, `env.X`, `process.env['X']` or `process.env.X` (assignments excluded). */
function variablesRead(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/\benv(?:\[\s*'([A-Z][A-Z0-9_]*)'\s*\]|\.([A-Z][A-Z0-9_]*))(?!\s*=[^=])/g)) names.add(m[1] ?? m[2] ?? '');
  for (const m of text.matchAll(/\bvalue\(env, '([A-Z][A-Z0-9_]*)'\)/g)) names.add(m[1] ?? '');
  return [...names].sort();
}

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

describe('configuration', () => {
  it('every variable read by core, adapters, the function, the CLI and the local stack is declared', () => {
    expect.hasAssertions();
    const read = new Set<string>();
    for (const dir of ['core', 'adapters', 'functions', 'cli', 'devstack'])
      for (const file of sources(dir)) for (const name of variablesRead(readFileSync(file, 'utf8'))) read.add(name);
    // Names built from a constant (`process.env[FIRESTORE_EMULATOR_ENV]`) are declared by hand here.
    read.add('BOOTWARDEN_FIRESTORE_EMULATOR');
    expect(read.size).toBeGreaterThan(10);
    // PATH is the system's, searched for gcloud's emulator: not bootwarden's to configure.
    expect([...read].filter((n) => !(n in CONFIG_VARIABLES) && n !== 'PATH')).toEqual([]);
  });

  it('the scan sees reads and skips writes', () => {
    expect.hasAssertions();
    expect(variablesRead("env['A_B'] ?? process.env.C; process.env['W'] = 'x'; if (env.D === '1') value(env, 'E')")).toEqual([
      'A_B',
      'C',
      'D',
      'E',
    ]);
  });

  it('docs/configuration.md holds the table generated from core/config.ts (npm run docs writes it)', () => {
    expect.hasAssertions();
    const text = readFileSync(path.join(ROOT, 'docs', 'configuration.md'), 'utf8');
    expect(text).toContain(TABLE_START);
    expect(text).toContain(TABLE_END);
    expect(withTable(text, configurationTable())).toBe(text);
    for (const name of Object.keys(CONFIG_VARIABLES)) expect(text).toContain(`| \`${name}\` |`);
  });

  it('no cell of the table is longer than 120 characters', () => {
    expect.hasAssertions();
    const cells = configurationTable()
      .split('\n')
      .flatMap((row) => row.split('|').map((c) => c.trim()));
    expect(cells.filter((c) => c.length > 120)).toEqual([]);
  });

  it('the CLI refuses a malformed variable in one line, naming it', async () => {
    expect.hasAssertions();
    const r = await bootwarden(['decide', '--baselines', 'examples/baselines', 'examples/entries/passed.json'], {
      env: { BOOTWARDEN_FIRESTORE_DATABASE: 'Not_A_Database' },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('bootwarden: BOOTWARDEN_FIRESTORE_DATABASE must be a Firestore database id, got "Not_A_Database"\n');
  });
});
