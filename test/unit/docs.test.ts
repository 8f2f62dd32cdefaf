/**
 * The README and docs/ stay readable and true to the repository: the README is short, table cells
 * are short, every relative link points at a file of this repository, and nothing links outside
 * it but public web pages.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

const DOCS = [
  'README.md',
  'packages/workflows-emulator/README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const text = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

describe('documentation', () => {
  it('the README is at most 12 KB', () => {
    expect.hasAssertions();
    expect(Buffer.byteLength(text('README.md'))).toBeLessThanOrEqual(12 * 1024);
  });

  it.each(DOCS)('%s: no table cell is longer than 120 characters', (file) => {
    expect.hasAssertions();
    const cells = text(file)
      .split('\n')
      .filter((l) => l.trimStart().startsWith('|'))
      .flatMap((l) => l.split(/(?<!\\)\|/).map((c) => c.trim()));
    expect(cells.filter((c) => c.length > 120)).toEqual([]);
  });

  it.each(DOCS)('%s: relative links resolve inside the repository; other links are public https pages', (file) => {
    expect.hasAssertions();
    const links = [...text(file).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '');
    const broken = links.filter((link) => {
      if (link.startsWith('https://')) return false;
      if (link.startsWith('#')) return false;
      const target = path.resolve(path.dirname(path.join(ROOT, file)), link.split('#')[0] ?? '');
      return !target.startsWith(`${ROOT}${path.sep}`) || !existsSync(target);
    });
    expect(broken).toEqual([]);
    expect(text(file)).not.toMatch(/\.\.\/shared\//);
  });
});
