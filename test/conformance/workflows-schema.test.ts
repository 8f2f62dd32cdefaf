/**
 * Every `*.workflows.yaml` of the repository against Google's published JSON Schema for Workflows
 * (third_party/workflows-samples, Apache-2.0; draft-07, with its formats), in addition to the
 * local engine's strict load.
 *
 * The one accepted exception: the schema types a few call arguments as numbers or booleans only
 * (`timeout` of events.await_callback, for instance), where Workflows evaluates a whole-value
 * `${…}` expression as it does for any argument. Such a value is accepted and listed; any other
 * schema error fails the test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

/** ajv-formats is CommonJS with `exports.default`: the plugin is the default import or its `default`. */
const formatsPlugin = formats as unknown as ((ajv: Ajv) => Ajv) | { default: (ajv: Ajv) => Ajv };
const addFormats = typeof formatsPlugin === 'function' ? formatsPlugin : formatsPlugin.default;

const SCHEMA = path.join(ROOT, 'third_party', 'workflows-samples', 'workflows.schema.json');

function workflowFiles(): string[] {
  const out: string[] = [];
  for (const dir of ['workflows', 'examples']) {
    for (const e of readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith('.workflows.yaml')) out.push(path.relative(ROOT, path.join(e.parentPath, e.name)));
    }
  }
  return out.sort();
}

/** The value an error points at (`instancePath` is a JSON pointer into the document). */
function valueAt(doc: unknown, pointer: string): unknown {
  let cur = doc;
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[key] : undefined;
  }
  return cur;
}

const WHOLE_EXPRESSION = /^\$\{[\s\S]*\}$/;

/** A `type` error on a whole-value expression where the schema wants a number, an integer or a boolean. */
function isExpressionForScalar(doc: unknown, e: ErrorObject): boolean {
  if (e.keyword !== 'type') return false;
  const wanted = String((e.params as { type?: unknown }).type);
  const value = valueAt(doc, e.instancePath);
  return /^(number|integer|boolean)(,|$)/.test(wanted) && typeof value === 'string' && WHOLE_EXPRESSION.test(value.trim());
}

/** Schema errors, less the accepted exception; `oneOf`/`anyOf` summaries whose branches were accepted are dropped too. */
let compiled: ValidateFunction | undefined;

/** The schema, compiled once for the file. */
function validator(): ValidateFunction {
  if (compiled === undefined) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    compiled = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')) as object);
  }
  return compiled;
}

function schemaErrors(doc: unknown): { errors: string[]; accepted: string[] } {
  const validate = validator();
  if (validate(doc)) return { errors: [], accepted: [] };
  const all = validate.errors ?? [];
  const accepted = all.filter((e) => isExpressionForScalar(doc, e));
  const acceptedPaths = new Set(accepted.map((e) => e.instancePath));
  // The schema wraps some steps in oneOf/anyOf: a failed branch repeats errors of other shapes.
  // The document is valid when, re-checked with each accepted value replaced by a number, it passes.
  const patched = structuredClone(doc) as Record<string, unknown>;
  for (const p of acceptedPaths) {
    const parts = p.split('/').slice(1);
    const last = parts.pop();
    const parent = valueAt(patched, parts.length === 0 ? '' : `/${parts.join('/')}`) as Record<string, unknown>;
    if (last !== undefined) parent[last] = 1;
  }
  const stillValid = validate(patched);
  const errors = stillValid ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
  return { errors, accepted: [...acceptedPaths].sort() };
}

describe("Google's JSON Schema for Workflows", () => {
  const files = workflowFiles();

  it('finds the deployed workflow and the examples', () => {
    expect.hasAssertions();
    expect(files).toContain(path.join('workflows', 'integrity-response.workflows.yaml'));
    expect(files.length).toBeGreaterThan(1);
  });

  it.each(files)('%s validates (whole-value expressions for numeric arguments accepted)', (file) => {
    expect.hasAssertions();
    const doc = parse(readFileSync(path.join(ROOT, file), 'utf8')) as unknown;
    const { errors, accepted } = schemaErrors(doc);
    expect(errors).toEqual([]);
    // Only numeric or boolean arguments are ever accepted, and only as whole-value expressions.
    for (const p of accepted) expect(String(valueAt(doc, p)).trim()).toMatch(WHOLE_EXPRESSION);
  });

  it('the check can fail: an unknown step field, and a non-expression string for a numeric argument', () => {
    expect.hasAssertions();
    expect(schemaErrors([{ a: { frobnicate: 1 } }]).errors).not.toEqual([]);
    const wait = (timeout: unknown): unknown => [
      { cb: { call: 'events.create_callback_endpoint', args: { http_callback_method: 'POST' }, result: 'c' } },
      { w: { call: 'events.await_callback', args: { callback: '${c}', timeout } } },
    ];
    expect(schemaErrors(wait(60)).errors).toEqual([]);
    const expression = schemaErrors(wait('${deadline - sys.now()}'));
    expect(expression.errors).toEqual([]);
    expect(schemaErrors(wait('sixty')).errors).not.toEqual([]);
  });
});
