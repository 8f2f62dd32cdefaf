/**
 * `npm run docs`: writes the generated parts of docs/ from the code they describe. Today: the
 * configuration table of docs/configuration.md, from CONFIG_VARIABLES in core/config.ts
 * (test/unit/config-docs.test.ts fails when the two disagree).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configurationTable } from '../core/config.js';

export const TABLE_START = '<!-- configuration table: generated from core/config.ts by `npm run docs` -->';
export const TABLE_END = '<!-- end of configuration table -->';

/** `text` with the part between the markers replaced by `table`. */
export function withTable(text: string, table: string): string {
  const start = text.indexOf(TABLE_START);
  const end = text.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`docs/configuration.md lacks the markers ${TABLE_START} … ${TABLE_END}`);
  return `${text.slice(0, start + TABLE_START.length)}\n\n${table}\n${text.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'configuration.md');
  writeFileSync(file, withTable(readFileSync(file, 'utf8'), configurationTable()));
  process.stdout.write(`${path.basename(file)}: configuration table written\n`);
}
