/**
 * Workflows limits the length of an expression (https://cloud.google.com/workflows/quotas#resource_limits,
 * linked from https://cloud.google.com/workflows/docs/reference/syntax/expressions); the local
 * engine refuses one over MAX_EXPRESSION_LENGTH at load. Every expression of the workflows this
 * repository deploys stays well under it: a quarter of the limit is kept free, so that a small
 * edit cannot reach it unnoticed. The expressions are found in the YAML itself, not by the engine.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadLocalWorkflow, MAX_EXPRESSION_LENGTH } from '@bootwarden/workflows-emulator';
import { ROOT } from '../support/cli.js';

const MARGIN = 0.75;

/** Every whole-value `${...}` of a YAML text, with its length (from `$` to the closing brace) and line. */
function expressions(text: string): { length: number; line: number }[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const out: { length: number; line: number }[] = [];
  const walk = (n: unknown): void => {
    if (isScalar(n)) {
      const v = typeof n.value === 'string' ? n.value.trim() : '';
      if (v.startsWith('${')) out.push({ length: v.length, line: lines.linePos(n.range?.[0] ?? 0).line });
    } else if (isMap(n)) {
      for (const p of n.items) {
        walk(p.key);
        walk(p.value);
      }
    } else if (isSeq(n)) {
      for (const i of n.items) walk(i);
    }
  };
  walk(doc.contents);
  return out;
}

describe(`expression length (at most ${MAX_EXPRESSION_LENGTH} characters on Workflows)`, () => {
  it('finds expressions as the engine counts them (a scan of a known text)', () => {
    expect(expressions('- a:\n    assign:\n      - x: ${1 + 2}\n      - m:\n          ${"k"}: "${y}"\n')).toEqual([
      { length: 8, line: 3 },
      { length: 6, line: 5 },
      { length: 4, line: 5 },
    ]);
  });

  it.each(['workflows/integrity-response.workflows.yaml', 'examples/workflows/retry-and-callback.workflows.yaml'])(
    '%s: its longest expression is under three quarters of the limit, and it loads',
    async (file) => {
      const found = expressions(readFileSync(path.join(ROOT, file), 'utf8'));
      expect(found.length).toBeGreaterThan(10);
      const longest = found.reduce((a, b) => (b.length > a.length ? b : a));
      expect(longest.length, `the longest expression is ${longest.length} characters, at line ${longest.line}`).toBeLessThanOrEqual(
        MAX_EXPRESSION_LENGTH * MARGIN,
      );
      await expect(loadLocalWorkflow(path.join(ROOT, file))).resolves.toBeDefined();
    },
  );
});
