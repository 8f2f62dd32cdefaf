import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function files(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? '',
  );
}

describe('architecture', () => {
  it('core/ imports only node built-ins and core/ itself: no cloud or Slack SDK', () => {
    const offenders: string[] = [];
    for (const file of files('core')) {
      for (const spec of imports(file)) {
        const inCore = spec.startsWith('.') && path.resolve(path.dirname(file), spec).startsWith(path.join(root, 'core'));
        if (!spec.startsWith('node:') && !inCore) offenders.push(`${path.relative(root, file)} imports ${spec}`);
      }
    }
    expect(files('core').length).toBeGreaterThan(5);
    expect(offenders).toEqual([]);
  });

  it('the import scanner sees a cloud SDK import (the check above can fail)', () => {
    expect(imports('/dev/null')).toEqual([]);
    const sample = path.join(root, 'test', 'fixtures', 'core-violation.sample.ts.txt');
    expect(imports(sample)).toContain('@google-cloud/firestore');
  });
});
