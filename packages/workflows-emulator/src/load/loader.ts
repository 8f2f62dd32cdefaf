/**
 * Loads a workflow YAML into a Program, strictly: what Google refuses at deploy time is refused
 * here at load time, with the file, line, step and construct named. Beyond the JSON schema's
 * structure this checks what the Workflows API checks: unknown functions, connectors and
 * subworkflows, undefined step names in `next`, duplicate step names, variables read outside the
 * scope that defines them (loop, `except` and parallel-branch variables), and assignments in a
 * parallel branch to a parent variable not listed in `shared`.
 *
 * Syntax reference: https://cloud.google.com/workflows/docs/reference/syntax
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isAlias, isMap, isScalar, isSeq, type Document, type Node as YamlNode } from 'yaml';
import { ExpressionSyntaxError, parseExpression, type Expr } from './expression-parser.js';
import type {
  Block,
  ForLoop,
  Origin,
  Param,
  Program,
  RetryPolicy,
  Step,
  Subworkflow,
  SwitchCondition,
  Target,
  Template,
} from './program.js';
import type { ConnectorTable, FunctionTable } from '../run/runtime.js';
import { NAMED_BACKOFFS, NAMED_RETRY_POLICIES } from '../stdlib/http.js';
import type { Value } from '../run/values.js';

export class WorkflowLoadError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly step?: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}${step === undefined ? '' : ` step '${step}'`}: ${message}`);
    this.name = 'WorkflowLoadError';
  }
}

export interface LoadOptions {
  readonly functions: FunctionTable;
  readonly connectors: ConnectorTable;
}

// Limits of the syntax (JSON schema in GoogleCloudPlatform/workflows-samples, and
// https://cloud.google.com/workflows/quotas).
const MAX_ASSIGNMENTS = 50;
const MAX_CONDITIONS = 50;
const MIN_BRANCHES = 2;
const MAX_BRANCHES = 10;
const MAX_SOURCE_BYTES = 128 * 1024;
/**
 * The longest `${...}` accepted, counted from `$` to the closing brace. The quotas page lists an
 * expression length limit (https://cloud.google.com/workflows/quotas#resource_limits, linked from
 * https://cloud.google.com/workflows/docs/reference/syntax/expressions); 400 is the number other
 * Workflows emulators enforce at deploy time, and the one this engine refuses beyond.
 */
export const MAX_EXPRESSION_LENGTH = 400;
const STEP_FIELDS = new Set([
  'assign',
  'call',
  'args',
  'result',
  'next',
  'switch',
  'for',
  'parallel',
  'raise',
  'try',
  'retry',
  'except',
  'return',
  'steps',
]);
/** Which fields may sit beside each main construct of a step. */
const COMPANIONS: Readonly<Record<string, readonly string[]>> = {
  assign: ['next'],
  call: ['args', 'result', 'next'],
  switch: ['next'],
  for: ['next'],
  parallel: ['next'],
  raise: [],
  return: [],
  try: ['retry', 'except', 'next'],
  steps: ['next'],
  next: [],
};
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A YAML node reduced to what the loader needs: values and line numbers. */
type Y =
  | { readonly k: 'map'; readonly entries: readonly (readonly [string, Y, number])[]; readonly line: number }
  | { readonly k: 'seq'; readonly items: readonly Y[]; readonly line: number }
  | { readonly k: 'scalar'; readonly v: string | bigint | number | boolean | null; readonly line: number };

export async function loadWorkflowFile(file: string, options: LoadOptions): Promise<Program> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new WorkflowLoadError(`cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, file);
  }
  return loadWorkflow(text, file, options);
}

export function loadWorkflow(source: string, file: string, options: LoadOptions): Program {
  if (Buffer.byteLength(source) > MAX_SOURCE_BYTES) {
    throw new WorkflowLoadError(`the source is larger than the ${MAX_SOURCE_BYTES / 1024} KB Workflows accepts`, file);
  }
  const lines = new LineCounter();
  const doc = parseDocument(source, { intAsBigInt: true, lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const firstError = doc.errors[0];
  if (firstError !== undefined) {
    throw new WorkflowLoadError(`not valid YAML: ${firstError.message.split('\n')[0] ?? ''}`, file, lines.linePos(firstError.pos[0]).line);
  }
  const root = reduce(doc, doc.contents, lines, file);
  return new Loader(file, options).program(root);
}

function reduce(doc: Document, node: YamlNode | null, lines: LineCounter, file: string): Y {
  const line = (n: YamlNode | null): number => (n?.range ? lines.linePos(n.range[0]).line : 1);
  if (node === null) return { k: 'scalar', v: null, line: 1 };
  if (isAlias(node)) return reduce(doc, node.resolve(doc) as YamlNode, lines, file);
  if (isMap(node)) {
    return {
      k: 'map',
      line: line(node),
      entries: node.items.map((pair) => {
        const key = pair.key as YamlNode | null;
        const keyValue = isScalar(key) ? key.value : undefined;
        if (typeof keyValue !== 'string' && typeof keyValue !== 'bigint' && typeof keyValue !== 'number' && typeof keyValue !== 'boolean') {
          throw new WorkflowLoadError('a map key must be a plain scalar', file, line(key));
        }
        return [String(keyValue), reduce(doc, pair.value as YamlNode | null, lines, file), line(key)] as const;
      }),
    };
  }
  if (isSeq(node))
    return { k: 'seq', line: line(node), items: node.items.map((item) => reduce(doc, item as YamlNode | null, lines, file)) };
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || typeof v === 'string' || typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') {
      return { k: 'scalar', v, line: line(node) };
    }
  }
  throw new WorkflowLoadError('unsupported YAML value (tags and binary scalars are not part of the Workflows syntax)', file, line(node));
}

// ---------------------------------------------------------------------------------------------
// Scope analysis (https://cloud.google.com/workflows/docs/reference/syntax/variables,
// .../iteration, .../parallel-steps, .../catching-errors)

interface Scope {
  readonly kind: 'subworkflow' | 'for' | 'except' | 'branch';
  readonly parent?: Scope;
  /** The step that opened the scope. */
  readonly step: string;
  /** Variables defined here: params, loop variables, `as`, and first assignments. */
  readonly defs: Set<string>;
  /** Variables the scope itself binds: params, loop `value`/`index`, except `as`. */
  readonly bound: Set<string>;
  readonly shared?: ReadonlySet<string>;
}

interface Read {
  readonly name: string;
  readonly scope: Scope;
  readonly origin: Origin;
  readonly line: number;
}

interface Assignment {
  readonly name: string;
  readonly scope: Scope;
  readonly line: number;
  readonly origin: Origin;
}

/** A list of steps being compiled: its names, for `next`; `barrier` marks a loop or branch body. */
interface JumpScope {
  readonly names: ReadonlySet<string>;
  readonly barrier?: 'for' | 'parallel-for' | 'branch';
}

/**
 * Modules of Google's standard library the engine does not emulate; Google deploys workflows that
 * call them (its own samples do), so they load with a warning. `gke`: the Kubernetes API module.
 */
const NOT_EMULATED_MODULES: readonly string[] = ['gke.'];

class Loader {
  private subworkflowNames = new Set<string>();
  private current = '';
  private stepNames = new Set<string>();
  private scopes: Scope[] = [];
  private reads: Read[] = [];
  private assignments: Assignment[] = [];
  private allScopes: Scope[] = [];
  private jumps: JumpScope[] = [];
  /** Every call, checked once all subworkflows are known: named `args` of call steps, a count in expressions. */
  private warnings: string[] = [];
  private calls: {
    name: string;
    line: number;
    /** The line naming the callee (`line` is that of its arguments, for errors about them). */
    calleeLine: number;
    origin: Origin;
    inExpression: boolean;
    args: readonly string[] | number;
  }[] = [];

  constructor(
    private readonly file: string,
    private readonly options: LoadOptions,
  ) {}

  private fail(message: string, line?: number, step?: string): never {
    throw new WorkflowLoadError(message, this.file, line, step);
  }

  program(root: Y): Program {
    const subworkflows = new Map<string, Subworkflow>();
    if (root.k === 'seq') {
      subworkflows.set('main', this.subworkflow('main', { k: 'map', line: root.line, entries: [['steps', root, root.line]] }));
    } else if (root.k === 'map') {
      for (const [name] of root.entries) this.subworkflowNames.add(name);
      if (!this.subworkflowNames.has('main')) this.fail("a workflow with subworkflows needs a 'main' subworkflow", root.line);
      for (const [name, body, line] of root.entries) {
        if (!IDENTIFIER.test(name)) this.fail(`'${name}' is not a valid subworkflow name`, line);
        if (this.options.functions.has(name)) this.fail(`subworkflow '${name}' has the name of a standard library function`, line);
        subworkflows.set(name, this.subworkflow(name, body));
      }
    } else {
      this.fail('a workflow is a list of steps, or a map of subworkflows with a main', root.line);
    }
    for (const c of this.calls) this.checkCallee(c.name, c.line, c.calleeLine, c.origin, c.inExpression, c.args, subworkflows);
    return { file: this.file, warnings: this.warnings, main: subworkflows.get('main') as Subworkflow, subworkflows };
  }

  private subworkflow(name: string, y: Y): Subworkflow {
    if (y.k !== 'map') this.fail(`subworkflow '${name}' must be a map with 'steps' (and optional 'params')`, y.line);
    this.current = name;
    this.stepNames = new Set();
    this.reads = [];
    this.assignments = [];
    this.allScopes = [];
    const scope = this.openScope('subworkflow', name);
    let params: Param[] = [];
    let steps: Y | undefined;
    for (const [key, value, line] of y.entries) {
      if (key === 'params') params = this.params(value, name);
      else if (key === 'steps') steps = value;
      else this.fail(`unsupported subworkflow field '${key}' (expected params, steps)`, line);
    }
    for (const p of params) this.bind(scope, p.name);
    if (steps === undefined) this.fail(`subworkflow '${name}' has no steps`, y.line);
    const body = this.block(steps, undefined);
    this.scopes.pop();
    this.checkScopes();
    return { name, params, body, line: y.line };
  }

  private params(y: Y, subworkflow: string): Param[] {
    if (y.k !== 'seq') this.fail(`params of '${subworkflow}' must be a list`, y.line);
    const seen = new Set<string>();
    return y.items.map((item) => {
      let param: Param;
      if (item.k === 'scalar' && typeof item.v === 'string') param = { name: item.v };
      else if (item.k === 'map' && item.entries.length === 1) {
        const [name, value] = item.entries[0] as readonly [string, Y, number];
        param = { name, default: this.template(value, this.origin(subworkflow, item.line)) };
      } else return this.fail(`a parameter is a name or {name: default}`, item.line);
      if (!IDENTIFIER.test(param.name)) this.fail(`'${param.name}' is not a valid parameter name`, item.line);
      if (seen.has(param.name)) this.fail(`parameter '${param.name}' is listed twice`, item.line);
      seen.add(param.name);
      return param;
    });
  }

  private origin(step: string, line: number): Origin {
    return { file: this.file, line, step, subworkflow: this.current };
  }

  private openScope(kind: Scope['kind'], step: string, shared?: ReadonlySet<string>): Scope {
    const parent = this.scopes[this.scopes.length - 1];
    const scope: Scope = {
      kind,
      step,
      defs: new Set(),
      bound: new Set(),
      ...(parent ? { parent } : {}),
      ...(shared ? { shared } : {}),
    };
    this.scopes.push(scope);
    this.allScopes.push(scope);
    return scope;
  }

  private get scope(): Scope {
    return this.scopes[this.scopes.length - 1] as Scope;
  }

  private bind(scope: Scope, name: string): void {
    scope.defs.add(name);
    scope.bound.add(name);
  }

  private block(y: Y, barrier: JumpScope['barrier']): Block {
    if (y.k !== 'seq' || y.items.length === 0) this.fail('steps must be a non-empty list of steps', y.line);
    const names: string[] = [];
    for (const item of y.items) {
      if (item.k !== 'map' || item.entries.length !== 1) this.fail('each step is a map with exactly one key: the step name', item.line);
      const [name, , line] = item.entries[0] as readonly [string, Y, number];
      if (this.stepNames.has(name)) this.fail(`duplicate step name '${name}' in subworkflow '${this.current}'`, line, name);
      if (name === 'end' || name === 'break' || name === 'continue') this.fail(`'${name}' is reserved and cannot name a step`, line, name);
      this.stepNames.add(name);
      names.push(name);
    }
    this.jumps.push({ names: new Set(names), ...(barrier ? { barrier } : {}) });
    const steps = y.items.map((item) => {
      const [name, body, line] = (item as Extract<Y, { k: 'map' }>).entries[0] as readonly [string, Y, number];
      return this.step(name, body, line);
    });
    this.jumps.pop();
    return { steps, positions: new Map(names.map((n, i) => [n, i])) };
  }

  private checkNext(target: string, line: number, step: string): string {
    if (target === 'end') return target;
    const innermost = [...this.jumps].reverse().find((j) => j.barrier !== undefined)?.barrier;
    if (target === 'break' || target === 'continue') {
      if (innermost === undefined || innermost === 'branch') this.fail(`'next: ${target}' is only allowed inside a for loop`, line, step);
      if (target === 'break' && innermost === 'parallel-for') this.fail(`'next: break' is not allowed in a parallel for loop`, line, step);
      return target;
    }
    for (let i = this.jumps.length - 1; i >= 0; i--) {
      const j = this.jumps[i] as JumpScope;
      if (j.names.has(target)) return target;
      if (j.barrier !== undefined) {
        const outside = this.jumps.slice(0, i).some((k) => k.names.has(target));
        if (outside) {
          const what = j.barrier === 'branch' ? 'a parallel branch' : 'a for loop';
          this.fail(`'next: ${target}' jumps out of ${what}; use break, continue or return`, line, step);
        }
        break;
      }
    }
    return this.fail(
      `'next: ${target}' names no step in this list of steps or an enclosing one (a jump cannot enter a nested block)`,
      line,
      step,
    );
  }

  private step(name: string, y: Y, line: number): Step {
    if (y.k !== 'map') this.fail('a step is a map of fields (assign, call, switch, ...)', line, name);
    return this.stepFields(name, new Map(y.entries.map(([k, v, l]) => [k, [v, l] as const])), line);
  }

  private stepFields(name: string, fields: ReadonlyMap<string, readonly [Y, number]>, line: number): Step {
    for (const [key, [, l]] of fields) {
      if (!STEP_FIELDS.has(key)) this.fail(`unsupported construct '${key}'`, l, name);
    }
    const main = ['assign', 'call', 'switch', 'for', 'parallel', 'raise', 'return', 'try', 'steps'].filter((k) => fields.has(k));
    if (main.length > 1) this.fail(`a step can have only one of ${main.join(', ')}`, line, name);
    const kind = main[0] ?? (fields.has('next') ? 'next' : undefined);
    if (kind === undefined) this.fail(`the step does nothing (fields: ${[...fields.keys()].join(', ') || 'none'})`, line, name);
    for (const key of fields.keys()) {
      if (key !== kind && !(COMPANIONS[kind] ?? []).includes(key))
        this.fail(`'${key}' cannot be used with '${kind}'`, (fields.get(key) as readonly [Y, number])[1], name);
    }
    const origin = this.origin(name, line);
    const nextField = fields.get('next');
    const next = nextField === undefined ? undefined : this.checkNext(this.nameOf(nextField[0], 'next', name), nextField[1], name);
    const base = { name, origin, ...(next === undefined ? {} : { next }) };
    const field = (key: string): Y => (fields.get(key) as readonly [Y, number])[0];
    switch (kind) {
      case 'assign':
        return { ...base, kind, assignments: this.assign(field('assign'), origin) };
      case 'call':
        return this.call(base, fields, origin);
      case 'switch':
        return { ...base, kind, conditions: this.switch(field('switch'), origin) };
      case 'for':
        return { ...base, kind, loop: this.forLoop(field('for'), origin, 'for') };
      case 'parallel':
        return this.parallel(base, field('parallel'), origin);
      case 'raise':
        return { ...base, kind, value: this.template(field('raise'), origin) };
      case 'return':
        return { ...base, kind, value: this.template(field('return'), origin) };
      case 'try':
        return this.try(base, fields, origin);
      case 'steps':
        return { ...base, kind, body: this.block(field('steps'), undefined) };
      default:
        return { ...base, kind: 'next' };
    }
  }

  private nameOf(y: Y, what: string, step: string): string {
    if (y.k !== 'scalar' || typeof y.v !== 'string' || y.v === '') this.fail(`'${what}' must be a name`, y.line, step);
    return y.v;
  }

  private assign(y: Y, origin: Origin): { target: Target; value: Template }[] {
    if (y.k !== 'seq' || y.items.length === 0) this.fail("'assign' must be a non-empty list of {variable: value}", y.line, origin.step);
    if (y.items.length > MAX_ASSIGNMENTS)
      this.fail(`'assign' has ${y.items.length} assignments; at most ${MAX_ASSIGNMENTS} are allowed`, y.line, origin.step);
    return y.items.map((item) => {
      if (item.k !== 'map' || item.entries.length !== 1)
        this.fail('each assignment is a map with one key: {variable: value}', item.line, origin.step);
      const [targetText, value, line] = item.entries[0] as readonly [string, Y, number];
      const at = { ...origin, line };
      const compiled = this.template(value, at);
      const target = this.target(targetText, at);
      this.recordAssignment(target.variable, at);
      return { target, value: compiled };
    });
  }

  private recordAssignment(name: string, origin: Origin): void {
    this.assignments.push({ name, scope: this.scope, line: origin.line, origin });
    this.scope.defs.add(name);
  }

  private target(text: string, origin: Origin): Target {
    let expr: Expr;
    try {
      expr = parseExpression(text);
    } catch (e) {
      return this.fail(`'${text}' is not an assignment target: ${(e as Error).message}`, origin.line, origin.step);
    }
    const path: Target['path'][number][] = [];
    let e = expr;
    for (;;) {
      if (e.type === 'member') {
        path.unshift({ key: e.property });
        e = e.object;
      } else if (e.type === 'index') {
        this.expressionReads(e.index, origin);
        path.unshift({ index: e.index });
        e = e.object;
      } else break;
    }
    if (e.type !== 'var') this.fail(`'${text}' is not an assignment target (a variable, then .key or [index])`, origin.line, origin.step);
    if (path.length > 0) this.reads.push({ name: e.name, scope: this.scope, origin, line: origin.line });
    return { variable: e.name, path, src: text };
  }

  private call(
    base: { name: string; origin: Origin; next?: string },
    fields: ReadonlyMap<string, readonly [Y, number]>,
    origin: Origin,
  ): Step {
    const [calleeY] = fields.get('call') as readonly [Y, number];
    const callee = this.nameOf(calleeY, 'call', base.name);
    const calleeKind = this.subworkflowNames.has(callee) ? 'subworkflow' : callee.startsWith('googleapis.') ? 'connector' : 'stdlib';
    const argsField = fields.get('args');
    const args: [string, Template][] = [];
    if (argsField !== undefined) {
      const [a] = argsField;
      if (a.k !== 'map') this.fail("'args' must be a map of argument names to values", a.line, base.name);
      for (const [k, v, l] of a.entries) args.push([k, this.template(v, { ...origin, line: l })]);
    }
    this.calls.push({
      name: callee,
      line: argsField?.[1] ?? calleeY.line,
      calleeLine: calleeY.line,
      origin,
      inExpression: false,
      args: args.map(([k]) => k),
    });
    this.checkArgs(
      callee,
      calleeKind,
      args.map(([k]) => k),
      argsField?.[1] ?? origin.line,
      origin,
    );
    const resultField = fields.get('result');
    const result = resultField === undefined ? undefined : this.nameOf(resultField[0], 'result', base.name);
    if (result !== undefined) {
      if (!IDENTIFIER.test(result)) this.fail(`'result: ${result}' must be a variable name`, resultField?.[1], base.name);
      this.recordAssignment(result, origin);
    }
    return { ...base, kind: 'call', callee, calleeKind, args, ...(result === undefined ? {} : { result }) };
  }

  private checkArgs(
    callee: string,
    kind: 'stdlib' | 'connector' | 'subworkflow',
    names: readonly string[],
    line: number,
    origin: Origin,
  ): void {
    let params: readonly string[] | undefined;
    let required: readonly string[] = [];
    if (kind === 'stdlib') {
      const f = this.options.functions.get(callee);
      if (f) {
        params = f.params;
        required = f.params.slice(0, f.required);
      }
    } else if (kind === 'connector') {
      const c = this.options.connectors.get(callee);
      if (c) {
        params = [...c.params, 'connector_params'];
        required = c.required;
      }
    }
    // Subworkflow parameters are checked once every subworkflow is known (checkCallee).
    if (params === undefined) return;
    for (const n of names) {
      if (!params.includes(n)) this.fail(`${callee} has no argument '${n}' (it takes ${params.join(', ') || 'none'})`, line, origin.step);
    }
    for (const r of required) {
      if (!names.includes(r)) this.fail(`${callee} needs the argument '${r}'`, line, origin.step);
    }
  }

  private checkCallee(
    name: string,
    line: number,
    calleeLine: number,
    origin: Origin,
    inExpression: boolean,
    args: readonly string[] | number,
    subworkflows: ReadonlyMap<string, Subworkflow>,
  ): void {
    const sub = subworkflows.get(name);
    if (sub !== undefined) {
      const names = sub.params.map((p) => p.name);
      const required = sub.params.filter((p) => p.default === undefined).map((p) => p.name);
      if (typeof args === 'number') {
        if (args > names.length || args < required.length) {
          const takes = required.length === names.length ? `${names.length}` : `${required.length} to ${names.length}`;
          this.fail(`subworkflow '${name}' takes ${takes} argument${takes === '1' ? '' : 's'}, got ${args}`, line, origin.step);
        }
        return;
      }
      for (const a of args)
        if (!names.includes(a))
          this.fail(`subworkflow '${name}' has no parameter '${a}' (it takes ${names.join(', ') || 'none'})`, line, origin.step);
      for (const r of required) if (!args.includes(r)) this.fail(`subworkflow '${name}' needs the argument '${r}'`, line, origin.step);
      return;
    }
    if (name.startsWith('googleapis.')) {
      // Google deploys any of its connectors (some, like Secret Manager's accessString, also in
      // expressions); the engine emulates a few. The others load with a warning (a run that
      // reaches them fails with NotEmulatedError), never a load error.
      if (!this.options.connectors.has(name)) {
        this.warnings.push(
          `${this.file}:${calleeLine}: step '${origin.step}': connector ${name} is not emulated locally (the local engine implements: ${[...this.options.connectors.keys()].join(', ')}); a run that reaches it fails`,
        );
        return;
      }
      if (inExpression) this.fail(`connector ${name} can only be called from a call step`, line, origin.step);
      return;
    }
    if (NOT_EMULATED_MODULES.some((prefix) => name.startsWith(prefix))) {
      this.warnings.push(
        `${this.file}:${calleeLine}: step '${origin.step}': ${name} (a module of Google's standard library) is not emulated locally; a run that reaches it fails`,
      );
      return;
    }
    const f = this.options.functions.get(name);
    if (f === undefined) this.fail(`unknown function or subworkflow '${name}'`, line, origin.step);
    if (inExpression && f.callOnly) this.fail(`${name} can only be used in a call step, not in an expression`, line, origin.step);
  }

  private switch(y: Y, origin: Origin): SwitchCondition[] {
    if (y.k !== 'seq' || y.items.length === 0) this.fail("'switch' must be a non-empty list of conditions", y.line, origin.step);
    if (y.items.length > MAX_CONDITIONS)
      this.fail(`'switch' has ${y.items.length} conditions; at most ${MAX_CONDITIONS} are allowed`, y.line, origin.step);
    return y.items.map((item) => {
      if (item.k !== 'map') this.fail('each switch entry is a map with a condition', item.line, origin.step);
      const fields = new Map(item.entries.map(([k, v, l]) => [k, [v, l] as const]));
      const cond = fields.get('condition');
      if (cond === undefined) this.fail("a switch entry needs 'condition'", item.line, origin.step);
      fields.delete('condition');
      const condition = this.template(cond[0], { ...origin, line: cond[1] });
      const nextField = fields.get('next');
      const onlyNext = fields.size === 1 && nextField !== undefined;
      const next =
        nextField === undefined ? undefined : this.checkNext(this.nameOf(nextField[0], 'next', origin.step), nextField[1], origin.step);
      if (onlyNext || fields.size === 0) return { condition, ...(next === undefined ? {} : { next }) };
      fields.delete('next');
      // An embedded step: its fields sit in the condition (https://cloud.google.com/workflows/docs/reference/syntax/conditions).
      // Billed and reported as the switch step itself; steps nested under `steps:` count on their own.
      const body = { ...this.stepFields(origin.step, fields, item.line), inline: true };
      return { condition, body, ...(next === undefined ? {} : { next }) };
    });
  }

  private forLoop(y: Y, origin: Origin, barrier: 'for' | 'parallel-for'): ForLoop {
    if (y.k !== 'map') this.fail("'for' must be a map with value, in or range, and steps", y.line, origin.step);
    const fields = new Map(y.entries.map(([k, v, l]) => [k, [v, l] as const]));
    for (const [k, [, l]] of fields) {
      if (!['value', 'index', 'in', 'range', 'steps'].includes(k)) this.fail(`unsupported 'for' field '${k}'`, l, origin.step);
    }
    const valueField = fields.get('value');
    const stepsField = fields.get('steps');
    if (valueField === undefined || stepsField === undefined) this.fail("'for' needs 'value' and 'steps'", y.line, origin.step);
    const inField = fields.get('in');
    const rangeField = fields.get('range');
    if ((inField === undefined) === (rangeField === undefined))
      this.fail("'for' needs exactly one of 'in' and 'range'", y.line, origin.step);
    const value = this.nameOf(valueField[0], 'value', origin.step);
    const indexField = fields.get('index');
    const index = indexField === undefined ? undefined : this.nameOf(indexField[0], 'index', origin.step);
    if (rangeField !== undefined && index !== undefined) this.fail("'index' cannot be used with 'range'", indexField?.[1], origin.step);
    for (const v of [value, index]) {
      if (v !== undefined && !IDENTIFIER.test(v)) this.fail(`'${v}' is not a valid loop variable name`, y.line, origin.step);
    }
    const source = inField ?? rangeField;
    const collection = this.template((source as readonly [Y, number])[0], origin);
    const rangeLength =
      collection.t === 'const'
        ? Array.isArray(collection.v)
          ? collection.v.length
          : -1
        : collection.e.type === 'list'
          ? collection.e.items.length
          : 2;
    if (rangeField !== undefined && rangeLength !== 2) {
      this.fail("'range' must be a list of two numbers [start, end]", rangeField[1], origin.step);
    }
    const scope = this.openScope('for', origin.step);
    this.bind(scope, value);
    if (index !== undefined) this.bind(scope, index);
    const body = this.block(stepsField[0], barrier);
    this.scopes.pop();
    return { value, ...(index === undefined ? {} : { index }), ...(inField ? { in: collection } : { range: collection }), body };
  }

  private parallel(base: { name: string; origin: Origin; next?: string }, y: Y, origin: Origin): Step {
    if (y.k !== 'map') this.fail("'parallel' must be a map with branches or for", y.line, origin.step);
    const fields = new Map(y.entries.map(([k, v, l]) => [k, [v, l] as const]));
    for (const [k, [, l]] of fields) {
      if (!['exception_policy', 'shared', 'concurrency_limit', 'branches', 'for'].includes(k))
        this.fail(`unsupported 'parallel' field '${k}'`, l, origin.step);
    }
    const policy = fields.get('exception_policy');
    if (policy !== undefined && !(policy[0].k === 'scalar' && policy[0].v === 'continueAll')) {
      this.fail("'exception_policy' supports only continueAll", policy[1], origin.step);
    }
    const sharedField = fields.get('shared');
    const shared: string[] = [];
    if (sharedField !== undefined) {
      const [s] = sharedField;
      if (s.k !== 'seq') this.fail("'shared' must be a list of variable names", s.line, origin.step);
      for (const item of s.items) shared.push(this.nameOf(item, 'shared', origin.step));
      for (const name of shared) this.reads.push({ name, scope: this.scope, origin, line: s.line });
    }
    const limitField = fields.get('concurrency_limit');
    const concurrencyLimit = limitField === undefined ? undefined : this.template(limitField[0], origin);
    const branchesField = fields.get('branches');
    const forField = fields.get('for');
    if ((branchesField === undefined) === (forField === undefined))
      this.fail("'parallel' needs exactly one of 'branches' and 'for'", y.line, origin.step);
    const sharedSet = new Set(shared);
    if (forField !== undefined) {
      this.openScope('branch', origin.step, sharedSet);
      const loop = this.forLoop(forField[0], origin, 'parallel-for');
      this.scopes.pop();
      return { ...base, kind: 'parallel', shared, ...(concurrencyLimit ? { concurrencyLimit } : {}), loop };
    }
    const [b] = branchesField as readonly [Y, number];
    if (b.k !== 'seq') this.fail("'branches' must be a list of branches", b.line, origin.step);
    if (b.items.length < MIN_BRANCHES || b.items.length > MAX_BRANCHES) {
      this.fail(`'branches' needs ${MIN_BRANCHES} to ${MAX_BRANCHES} branches (found ${b.items.length})`, b.line, origin.step);
    }
    const branches = b.items.map((item) => {
      if (item.k !== 'map' || item.entries.length !== 1) this.fail('each branch is {name: {steps: [...]}}', item.line, origin.step);
      const [name, body, line] = item.entries[0] as readonly [string, Y, number];
      if (this.stepNames.has(name)) this.fail(`duplicate step name '${name}' in subworkflow '${this.current}'`, line, name);
      this.stepNames.add(name);
      if (body.k !== 'map' || body.entries.length !== 1 || body.entries[0]?.[0] !== 'steps')
        this.fail(`branch '${name}' must contain only 'steps'`, line, name);
      this.openScope('branch', name, sharedSet);
      const block = this.block(body.entries[0][1], 'branch');
      this.scopes.pop();
      return { name, body: block };
    });
    return { ...base, kind: 'parallel', shared, ...(concurrencyLimit ? { concurrencyLimit } : {}), branches };
  }

  private try(
    base: { name: string; origin: Origin; next?: string },
    fields: ReadonlyMap<string, readonly [Y, number]>,
    origin: Origin,
  ): Step {
    const [t] = fields.get('try') as readonly [Y, number];
    let body: Block;
    if (t.k === 'seq') body = this.block(t, undefined);
    else if (t.k === 'map') {
      // `try:` holds a single step's fields: commonly just `steps:`, else one call or assignment,
      // which is the try step itself (billed once, as the try step).
      const only = t.entries.length === 1 ? t.entries[0] : undefined;
      if (only !== undefined && only[0] === 'steps') body = this.block(only[1], undefined);
      else if (t.entries.some(([k]) => k === 'for'))
        // Known issue (https://cloud.google.com/workflows/docs/issues): Google refuses the deploy.
        return this.fail(
          "'for' placed directly after 'try' does not deploy on Google (known issue: \"loop step name should not be empty\"): put the loop in a named step under try: steps:",
          t.line,
          base.name,
        );
      else {
        const inner = this.stepFields(base.name, new Map(t.entries.map(([k, v, l]) => [k, [v, l] as const])), t.line);
        body = { steps: [{ ...inner, inline: true }], positions: new Map() };
      }
    } else return this.fail("'try' must hold a step or a list of steps", t.line, base.name);
    const retryField = fields.get('retry');
    const retry = retryField === undefined ? undefined : this.retry(retryField[0], origin);
    const exceptField = fields.get('except');
    let except: { as?: string; body: Block } | undefined;
    if (exceptField !== undefined) {
      const [e] = exceptField;
      if (e.k !== 'map') this.fail("'except' must be a map with 'as' and 'steps'", e.line, base.name);
      const ef = new Map(e.entries.map(([k, v, l]) => [k, [v, l] as const]));
      for (const [k, [, l]] of ef) if (k !== 'as' && k !== 'steps') this.fail(`unsupported 'except' field '${k}'`, l, base.name);
      const asField = ef.get('as');
      const as = asField === undefined ? undefined : this.nameOf(asField[0], 'as', base.name);
      const stepsField = ef.get('steps');
      if (stepsField === undefined) this.fail("'except' needs 'steps'", e.line, base.name);
      const scope = this.openScope('except', base.name);
      if (as !== undefined) this.bind(scope, as);
      const exceptBody = this.block(stepsField[0], undefined);
      this.scopes.pop();
      except = { ...(as === undefined ? {} : { as }), body: exceptBody };
    }
    if (retry === undefined && except === undefined) this.fail("'try' needs 'retry' or 'except'", origin.line, base.name);
    return { ...base, kind: 'try', body, ...(retry ? { retry } : {}), ...(except ? { except } : {}) };
  }

  private retry(y: Y, origin: Origin): RetryPolicy {
    if (y.k === 'scalar' && typeof y.v === 'string') {
      const name = /^\$\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}$/.exec(y.v)?.[1];
      if (name === undefined || !NAMED_RETRY_POLICIES.has(name)) {
        this.fail(
          `unknown retry policy ${y.v} (known: ${[...NAMED_RETRY_POLICIES.keys()].map((n) => `\${${n}}`).join(', ')})`,
          y.line,
          origin.step,
        );
      }
      return { kind: 'named', name };
    }
    if (y.k !== 'map')
      this.fail(
        "'retry' must be a policy like ${http.default_retry} or a map with predicate, max_retries and backoff",
        y.line,
        origin.step,
      );
    const f = new Map(y.entries.map(([k, v, l]) => [k, [v, l] as const]));
    for (const [k, [, l]] of f)
      if (!['predicate', 'max_retries', 'backoff'].includes(k)) this.fail(`unsupported 'retry' field '${k}'`, l, origin.step);
    const p = f.get('predicate');
    const mr = f.get('max_retries');
    const b = f.get('backoff');
    if (p === undefined || mr === undefined || b === undefined)
      this.fail("a custom 'retry' needs predicate, max_retries and backoff", y.line, origin.step);
    const predicate =
      p[0].k === 'scalar' && typeof p[0].v === 'string' ? /^\$\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}$/.exec(p[0].v)?.[1] : undefined;
    if (predicate === undefined) this.fail("'predicate' must be ${subworkflow_name} or ${http.default_retry_predicate}", p[1], origin.step);
    if (!this.subworkflowNames.has(predicate) && !this.options.functions.has(predicate))
      this.fail(`unknown retry predicate '${predicate}'`, p[1], origin.step);
    const namedBackoff =
      b[0].k === 'scalar' && typeof b[0].v === 'string' ? /^\$\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}$/.exec(b[0].v)?.[1] : undefined;
    const known = namedBackoff === undefined ? undefined : NAMED_BACKOFFS.get(namedBackoff);
    if (known !== undefined) {
      // backoff: ${retry.default_backoff}
      const constant = (v: number): Template => ({ t: 'const', v: Number.isInteger(v) ? BigInt(v) : v });
      return {
        kind: 'custom',
        predicate,
        maxRetries: this.template(mr[0], origin),
        initialDelay: constant(known.initialDelay),
        maxDelay: constant(known.maxDelay),
        multiplier: constant(known.multiplier),
      };
    }
    if (b[0].k !== 'map')
      this.fail("'backoff' must be a map with initial_delay, max_delay and multiplier, or ${retry.default_backoff}", b[1], origin.step);
    const bf = new Map(b[0].entries.map(([k, v, l]) => [k, [v, l] as const]));
    for (const [k, [, l]] of bf)
      if (!['initial_delay', 'max_delay', 'multiplier'].includes(k)) this.fail(`unsupported 'backoff' field '${k}'`, l, origin.step);
    const backoff = (k: string): Template => {
      const v = bf.get(k);
      if (v === undefined) return this.fail(`'backoff' needs '${k}'`, b[1], origin.step);
      return this.template(v[0], origin);
    };
    return {
      kind: 'custom',
      predicate,
      maxRetries: this.template(mr[0], origin),
      initialDelay: backoff('initial_delay'),
      maxDelay: backoff('max_delay'),
      multiplier: backoff('multiplier'),
    };
  }

  // -- values and expressions -----------------------------------------------------------------

  template(y: Y, origin: Origin): Template {
    if (y.k === 'scalar') {
      if (typeof y.v === 'string') return this.stringTemplate(y.v, { ...origin, line: y.line });
      return { t: 'const', v: y.v };
    }
    const asExpr = (t: Template): Expr => (t.t === 'expr' ? t.e : { type: 'value', value: t.v });
    if (y.k === 'seq') {
      const items = y.items.map((i) => this.template(i, origin));
      if (items.every((i) => i.t === 'const')) return { t: 'const', v: items.map((i) => (i as { v: Value }).v) };
      return { t: 'expr', e: { type: 'list', items: items.map(asExpr) }, src: '[...]' };
    }
    const entries = y.entries.map(([k, v, l]) => [this.stringTemplate(k, { ...origin, line: l }), this.template(v, origin)] as const);
    if (entries.every(([k, v]) => k.t === 'const' && v.t === 'const')) {
      return { t: 'const', v: new Map(entries.map(([k, v]) => [(k as { v: string }).v, (v as { v: Value }).v])) };
    }
    return { t: 'expr', e: { type: 'map', entries: entries.map(([k, v]) => [asExpr(k), asExpr(v)] as const) }, src: '{...}' };
  }

  private stringTemplate(s: string, origin: Origin): Template {
    const trimmed = s.trim();
    if (trimmed.startsWith('${') && trimmed.endsWith('}') && matchingBrace(trimmed) === trimmed.length - 1) {
      if (trimmed.length > MAX_EXPRESSION_LENGTH) {
        this.fail(
          `an expression of ${trimmed.length} characters; Workflows accepts at most ${MAX_EXPRESSION_LENGTH}: split it into steps or a subworkflow (${trimmed.slice(0, 40)}...)`,
          origin.line,
          origin.step,
        );
      }
      const src = trimmed.slice(2, -1);
      let e: Expr;
      try {
        e = parseExpression(src);
      } catch (err) {
        if (err instanceof ExpressionSyntaxError) this.fail(`invalid expression: ${err.message}`, origin.line, origin.step);
        throw err;
      }
      this.expressionReads(e, origin);
      return { t: 'expr', e, src };
    }
    if (s.includes('${')) {
      this.fail(
        `'${s}' mixes text and an expression: an expression must be the whole value (use "\${"text" + ...}")`,
        origin.line,
        origin.step,
      );
    }
    return { t: 'const', v: s };
  }

  private expressionReads(e: Expr, origin: Origin): void {
    switch (e.type) {
      case 'var':
        this.reads.push({ name: e.name, scope: this.scope, origin, line: origin.line });
        return;
      case 'member':
        return this.expressionReads(e.object, origin);
      case 'index':
        this.expressionReads(e.object, origin);
        return this.expressionReads(e.index, origin);
      case 'call':
        this.calls.push({ name: e.callee, line: origin.line, calleeLine: origin.line, origin, inExpression: true, args: e.args.length });
        for (const a of e.args) this.expressionReads(a, origin);
        return;
      case 'unary':
        return this.expressionReads(e.operand, origin);
      case 'binary':
        this.expressionReads(e.left, origin);
        return this.expressionReads(e.right, origin);
      case 'list':
        for (const item of e.items) this.expressionReads(item, origin);
        return;
      case 'map':
        // The expression reference lists no map literal (every Google example builds maps in YAML).
        return this.fail(
          'a map literal inside ${} is not a documented expression element (the local engine refuses it): build the map in an assign step, as a YAML map',
          origin.line,
          origin.step,
        );
      case 'literal':
      case 'value':
        return;
    }
  }

  private checkScopes(): void {
    const visible = (name: string, scope: Scope | undefined): boolean => {
      for (let s = scope; s !== undefined; s = s.parent) if (s.defs.has(name)) return true;
      return false;
    };
    for (const r of this.reads) {
      if (visible(r.name, r.scope)) continue;
      const owner = this.allScopes.find((s) => s.defs.has(r.name));
      if (owner !== undefined) {
        const what =
          owner.kind === 'for'
            ? 'for loop'
            : owner.kind === 'except'
              ? 'except block'
              : owner.kind === 'branch'
                ? 'parallel branch'
                : 'subworkflow';
        this.fail(`variable '${r.name}' is read outside the ${what} '${owner.step}' that defines it`, r.line, r.origin.step);
      }
      this.fail(`variable '${r.name}' is never assigned in subworkflow '${this.current}'`, r.line, r.origin.step);
    }
    // A parallel branch may assign a parent variable only when it is listed in `shared`.
    for (const a of this.assignments) {
      for (let s: Scope | undefined = a.scope; s !== undefined; s = s.parent) {
        if (s.kind !== 'branch') continue;
        if (s.shared?.has(a.name)) break;
        const declaredBelow = (() => {
          for (let t: Scope | undefined = a.scope; t !== undefined && t !== s.parent; t = t.parent) {
            if (t.bound.has(a.name)) return true;
          }
          return false;
        })();
        if (!declaredBelow && visible(a.name, s.parent)) {
          this.fail(
            `assignment to '${a.name}' in a parallel branch: it belongs to the parent scope and is not listed in 'shared'`,
            a.line,
            a.origin.step,
          );
        }
      }
    }
  }
}

/** Index of the brace closing the `${` at the start of `s`, skipping strings. */
function matchingBrace(s: string): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (quote !== undefined) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}
