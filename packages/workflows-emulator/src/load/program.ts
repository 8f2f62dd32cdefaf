/**
 * The loaded form of a workflow: what the loader checks and the interpreter runs. Every node keeps
 * its step name and line so errors can say where they come from.
 */
import type { Expr } from './expression-parser.js';
import type { Value } from '../run/values.js';

/**
 * A YAML value with `${...}` expressions in it. Constants are folded at load time; a list or map
 * holding expressions becomes one list/map expression.
 */
export type Template = { readonly t: 'const'; readonly v: Value } | { readonly t: 'expr'; readonly e: Expr; readonly src: string };

/** Where a step is: for messages ("file.yaml:12 step 'stop_vm'"). */
export interface Origin {
  readonly file: string;
  readonly line: number;
  readonly step: string;
  /** The subworkflow the step belongs to. */
  readonly subworkflow: string;
}

/** An assignment target: a variable, then `.key` and `[index]` accessors. */
export interface Target {
  readonly variable: string;
  readonly path: readonly ({ readonly key: string } | { readonly index: Expr })[];
  readonly src: string;
}

export interface Block {
  readonly steps: readonly Step[];
  /** Step name → position, for `next` jumps within this list. */
  readonly positions: ReadonlyMap<string, number>;
}

interface StepBase {
  readonly name: string;
  readonly origin: Origin;
  /** A step name, `end`, `break` or `continue`. */
  readonly next?: string;
  /** The single step written inside `try:`: billed and listed as the try step, not again. */
  readonly inline?: boolean;
}

export interface AssignStep extends StepBase {
  readonly kind: 'assign';
  readonly assignments: readonly { readonly target: Target; readonly value: Template }[];
}

export interface CallStep extends StepBase {
  readonly kind: 'call';
  readonly callee: string;
  readonly calleeKind: 'stdlib' | 'connector' | 'subworkflow';
  readonly args: readonly (readonly [string, Template])[];
  readonly result?: string;
}

export interface SwitchCondition {
  readonly condition: Template;
  readonly body?: Step;
  readonly next?: string;
}

export interface SwitchStep extends StepBase {
  readonly kind: 'switch';
  readonly conditions: readonly SwitchCondition[];
}

export interface ForLoop {
  readonly value: string;
  readonly index?: string;
  readonly in?: Template;
  readonly range?: Template;
  readonly body: Block;
}

export interface ForStep extends StepBase {
  readonly kind: 'for';
  readonly loop: ForLoop;
}

export interface ParallelStep extends StepBase {
  readonly kind: 'parallel';
  readonly shared: readonly string[];
  readonly concurrencyLimit?: Template;
  readonly branches?: readonly { readonly name: string; readonly body: Block }[];
  readonly loop?: ForLoop;
}

export interface RaiseStep extends StepBase {
  readonly kind: 'raise';
  readonly value: Template;
}

export interface ReturnStep extends StepBase {
  readonly kind: 'return';
  readonly value: Template;
}

export type RetryPolicy =
  | { readonly kind: 'named'; readonly name: string }
  | {
      readonly kind: 'custom';
      /** A subworkflow name or a stdlib predicate function name. */
      readonly predicate: string;
      readonly maxRetries: Template;
      readonly initialDelay: Template;
      readonly maxDelay: Template;
      readonly multiplier: Template;
    };

export interface TryStep extends StepBase {
  readonly kind: 'try';
  readonly body: Block;
  readonly retry?: RetryPolicy;
  readonly except?: { readonly as?: string; readonly body: Block };
}

export interface StepsStep extends StepBase {
  readonly kind: 'steps';
  readonly body: Block;
}

export interface NextStep extends StepBase {
  readonly kind: 'next';
}

export type Step = AssignStep | CallStep | SwitchStep | ForStep | ParallelStep | RaiseStep | ReturnStep | TryStep | StepsStep | NextStep;

export interface Param {
  readonly name: string;
  readonly default?: Template;
}

export interface Subworkflow {
  readonly name: string;
  readonly params: readonly Param[];
  readonly body: Block;
  readonly line: number;
}

export interface Program {
  readonly file: string;
  /**
   * What loads but will not run here, e.g. a call to a connector the engine does not emulate:
   * Google deploys it, so loading must not refuse it; a run that reaches it fails.
   */
  readonly warnings: readonly string[];
  readonly main: Subworkflow;
  readonly subworkflows: ReadonlyMap<string, Subworkflow>;
}
