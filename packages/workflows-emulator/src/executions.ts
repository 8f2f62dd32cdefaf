/**
 * The local Workflows engine: deployed workflows and their executions, with the small API the
 * local ExecutionStarter and the CLI use (startExecution, getExecution, listExecutions, cancel).
 * Records mirror the Executions API resource (https://cloud.google.com/workflows/docs/reference/
 * executions/rest/v1/projects.locations.workflows.executions): state, argument and result as JSON
 * text, error {payload, context, stackTrace}, start/end times, labels, plus what the cloud shows
 * elsewhere: the steps taken and the billable step counts.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CancelledError, errorOrigins, Run, type Billing, type StepTaken } from './run/interpreter.js';
import type { Program } from './load/program.js';
import {
  LOCAL_SERVICE_ACCOUNT,
  systemClock,
  type CallbackHub,
  type Clock,
  type ConnectorTable,
  type FunctionTable,
  type LogRecord,
  type TokenSource,
} from './run/runtime.js';
import { encodeJson, errorMap, JsonSyntaxError, parseJson, WorkflowError, type Value } from './run/values.js';

/**
 * The execution argument's limit: "32 KB" of JSON text
 * (https://cloud.google.com/workflows/quotas#resource_limit).
 */
export const MAX_ARGUMENT_BYTES = 32 * 1024;

export type ExecutionState = 'ACTIVE' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export interface ExecutionRecord {
  /** projects/P/locations/L/workflows/W/executions/ID */
  readonly name: string;
  readonly workflowId: string;
  /** The revision of the workflow that runs it (`000001-a4d`), as `workflowRevisionId` says. */
  readonly workflowRevisionId: string;
  state: ExecutionState;
  /** The argument as JSON text, as given. */
  readonly argument: string | null;
  /** The result as JSON text when SUCCEEDED. */
  result?: string;
  /** When FAILED: payload = the error map as JSON text; context = where it was raised. */
  error?: { payload: string; context: string; stackTrace: { elements: { step: string; routine: string; position: { line: number } }[] } };
  readonly labels: Readonly<Record<string, string>>;
  readonly startTime: string;
  endTime?: string;
  /** Billable steps (https://cloud.google.com/workflows/pricing). */
  billing: Billing;
  /** The steps taken, in order (the first 10,000). */
  steps: readonly StepTaken[];
  stepsTruncated: boolean;
  /** The step running now (`status.currentSteps`), while ACTIVE. */
  currentStep?: StepTaken;
  logs: readonly LogRecord[];
}

/** Refusals of the API itself (not execution failures): bad argument, unknown workflow. */
export class EngineError extends Error {
  constructor(
    readonly code: 'invalid_argument' | 'not_found' | 'failed_precondition',
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

const LABEL = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

export interface EngineOptions {
  readonly projectId?: string;
  readonly location?: string;
  readonly functions: FunctionTable;
  readonly connectors: ConnectorTable;
  readonly clock?: Clock;
  readonly callbacks?: CallbackHub;
  readonly tokens?: TokenSource;
  /** A directory where each execution is written as JSON (start and end), for `history`. */
  readonly directory?: string;
  /** sys.log records, as they happen. */
  readonly onLog?: (execution: string, record: LogRecord) => void;
}

interface Deployment {
  readonly program: Program;
  /** Counts the workflow's deploys: revision 1, 2, … */
  readonly number: number;
  readonly revision: string;
  readonly env: ReadonlyMap<string, string>;
}

interface Live {
  readonly record: ExecutionRecord;
  readonly abort: AbortController;
  readonly done: Promise<ExecutionRecord>;
}

const unavailableCallbacks: CallbackHub = {
  create: () =>
    Promise.reject(
      new WorkflowError(errorMap('SystemError', 'callbacks are not available: the engine was started without a callback endpoint server')),
    ),
  await: () =>
    Promise.reject(
      new WorkflowError(errorMap('SystemError', 'callbacks are not available: the engine was started without a callback endpoint server')),
    ),
};

const unavailableTokens: TokenSource = {
  token: () => Promise.reject(new WorkflowError(errorMap('AuthError', 'no token source: the engine was started without one'))),
};

export class WorkflowEngine {
  readonly projectId: string;
  readonly location: string;
  private readonly deployments = new Map<string, Deployment>();
  private readonly executions = new Map<string, Live>();
  private readonly writes = new Map<string, Promise<void>>();
  private readonly clock: Clock;
  /** Who waits for an execution to enter a step (see `reached`). */
  private readonly stepWaiters = new Map<string, { step: string; resolve: () => void; reject: (e: Error) => void }[]>();

  constructor(private readonly options: EngineOptions) {
    this.projectId = options.projectId ?? 'local-project';
    this.location = options.location ?? 'us-central1';
    this.clock = options.clock ?? systemClock;
  }

  /** Deploys (or replaces) a workflow; `env` is its user-defined environment variables. */
  deploy(workflowId: string, program: Program, env: Readonly<Record<string, string>> = {}): void {
    if (!LABEL.test(workflowId))
      throw new EngineError('invalid_argument', `'${workflowId}' is not a valid workflow id (lowercase letters, digits, - and _)`);
    for (const key of Object.keys(env)) {
      // https://cloud.google.com/workflows/docs/use-environment-variables
      if (key === '' || key.startsWith('GOOGLE_') || key.startsWith('WORKFLOWS_')) {
        throw new EngineError(
          'invalid_argument',
          `environment variable ${JSON.stringify(key)}: names may not be empty or start with GOOGLE_ or WORKFLOWS_`,
        );
      }
    }
    // Each deploy of a workflow is a new revision: a six-digit sequence number and three
    // hexadecimal characters, as Google's revision ids read (`000001-a4d`).
    const number = (this.deployments.get(workflowId)?.number ?? 0) + 1;
    const revision = `${String(number).padStart(6, '0')}-${randomUUID().slice(0, 3)}`;
    this.deployments.set(workflowId, { program, number, revision, env: new Map(Object.entries(env)) });
  }

  private workflowName(workflowId: string): string {
    return `projects/${this.projectId}/locations/${this.location}/workflows/${workflowId}`;
  }

  /** Starts an execution and returns its record at once (state ACTIVE); `wait` gives the end. */
  startExecution(
    workflowId: string,
    request: { argument?: string | null; labels?: Readonly<Record<string, string>> } = {},
  ): ExecutionRecord {
    const deployment = this.deployments.get(workflowId);
    if (deployment === undefined) throw new EngineError('not_found', `workflow '${workflowId}' is not deployed in the local engine`);
    const argumentText = request.argument ?? null;
    let argument: Value = null;
    if (argumentText !== null) {
      if (Buffer.byteLength(argumentText) > MAX_ARGUMENT_BYTES) {
        throw new EngineError(
          'invalid_argument',
          `the argument is ${Buffer.byteLength(argumentText)} bytes; at most ${MAX_ARGUMENT_BYTES} are accepted`,
        );
      }
      try {
        argument = parseJson(argumentText);
      } catch (e) {
        if (e instanceof JsonSyntaxError) throw new EngineError('invalid_argument', `the argument is not valid JSON: ${e.message}`);
        throw e;
      }
    }
    const labels = request.labels ?? {};
    for (const [k, v] of Object.entries(labels)) {
      if (!LABEL.test(k) || !LABEL_VALUE.test(v))
        throw new EngineError('invalid_argument', `label ${k}=${v} is not valid (lowercase, at most 63 characters)`);
    }
    const id = randomUUID();
    const name = `${this.workflowName(workflowId)}/executions/${id}`;
    const abort = new AbortController();
    const env = new Map(deployment.env);
    env.set('GOOGLE_CLOUD_PROJECT_ID', this.projectId);
    env.set('GOOGLE_CLOUD_PROJECT_NUMBER', '000000000000');
    env.set('GOOGLE_CLOUD_LOCATION', this.location);
    env.set('GOOGLE_CLOUD_WORKFLOW_ID', workflowId);
    env.set('GOOGLE_CLOUD_WORKFLOW_REVISION_ID', deployment.revision);
    env.set('GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID', id);
    env.set('GOOGLE_CLOUD_SERVICE_ACCOUNT_NAME', LOCAL_SERVICE_ACCOUNT);
    const record: ExecutionRecord = {
      name,
      workflowId,
      workflowRevisionId: deployment.revision,
      state: 'ACTIVE',
      argument: argumentText,
      labels: { ...labels },
      startTime: new Date(this.clock.now()).toISOString(),
      billing: { internal: 0, external: 0, polls: 0 },
      steps: [],
      stepsTruncated: false,
      logs: [],
    };
    const run = new Run(deployment.program, {
      functions: this.options.functions,
      connectors: this.options.connectors,
      context: {
        execution: { id, name, workflowId, projectId: this.projectId, location: this.location },
        clock: this.clock,
        signal: abort.signal,
        env,
        callbacks: this.options.callbacks ?? unavailableCallbacks,
        tokens: this.options.tokens ?? unavailableTokens,
      },
      onLog: (r) => this.options.onLog?.(name, r),
      onStep: (s) => {
        record.currentStep = s;
        const waiters = this.stepWaiters.get(name) ?? [];
        for (const w of waiters.filter((w) => w.step === s.step)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      },
    });
    record.billing = run.billing;
    record.steps = run.steps;
    record.logs = run.logs;
    const done = this.drive(record, run, argument);
    this.executions.set(name, { record, abort, done });
    void this.persist(record);
    return record;
  }

  private async drive(record: ExecutionRecord, run: Run, argument: Value): Promise<ExecutionRecord> {
    await Promise.resolve();
    try {
      const result = await run.run(argument);
      record.result = encodeJson(result);
      record.state = 'SUCCEEDED';
    } catch (e) {
      if (e instanceof CancelledError) record.state = 'CANCELLED';
      else {
        record.state = 'FAILED';
        record.error = describeError(e);
      }
    }
    this.options.callbacks?.release?.(record.name.slice(record.name.lastIndexOf('/') + 1));
    record.stepsTruncated = run.stepsTruncated;
    record.endTime = new Date(this.clock.now()).toISOString();
    delete record.currentStep;
    for (const w of this.stepWaiters.get(record.name) ?? [])
      w.reject(new EngineError('failed_precondition', `execution ${record.name} ended (${record.state}) before step '${w.step}'`));
    this.stepWaiters.delete(record.name);
    await this.persist(record);
    return record;
  }

  /** Writes the record; writes of one execution are serialised so the last state always wins. */
  private persist(record: ExecutionRecord): Promise<void> {
    const dir = this.options.directory;
    if (dir === undefined) return Promise.resolve();
    const previous = this.writes.get(record.name) ?? Promise.resolve();
    const write = previous.then(async () => {
      const id = record.name.slice(record.name.lastIndexOf('/') + 1);
      const folder = join(dir, record.workflowId);
      await mkdir(folder, { recursive: true });
      const file = join(folder, `${id}.json`);
      await writeFile(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
      await rename(`${file}.tmp`, file);
    });
    // A failed write (disk full, directory removed) must not break the execution; the error is logged.
    const settled = write.catch((e: unknown) => {
      process.stderr.write(
        `bootwarden local engine: cannot record execution ${record.name} in ${dir}: ${e instanceof Error ? e.message : String(e)}\n`,
      );
    });
    this.writes.set(record.name, settled);
    return settled;
  }

  getExecution(name: string): ExecutionRecord {
    const live = this.executions.get(name);
    if (live === undefined) throw new EngineError('not_found', `no execution ${name}`);
    return live.record;
  }

  /**
   * Resolves when the execution is in `step` (now, or once it enters it); rejects if the execution
   * ends first. For tests and tools that must act while an execution waits, without polling.
   */
  reached(name: string, step: string): Promise<void> {
    const live = this.executions.get(name);
    if (live === undefined) return Promise.reject(new EngineError('not_found', `no execution ${name}`));
    if (live.record.currentStep?.step === step) return Promise.resolve();
    if (live.record.state !== 'ACTIVE')
      return Promise.reject(new EngineError('failed_precondition', `execution ${name} has already ended (${live.record.state})`));
    return new Promise((resolve, reject) => {
      const waiters = this.stepWaiters.get(name) ?? [];
      waiters.push({ step, resolve, reject });
      this.stepWaiters.set(name, waiters);
    });
  }

  /** Resolves when the execution has ended (and its record is written). */
  wait(name: string): Promise<ExecutionRecord> {
    const live = this.executions.get(name);
    if (live === undefined) return Promise.reject(new EngineError('not_found', `no execution ${name}`));
    return live.done;
  }

  listExecutions(filter: ExecutionFilter = {}): ExecutionRecord[] {
    return filterExecutions(
      [...this.executions.values()].map((l) => l.record),
      filter,
    );
  }

  cancel(name: string): void {
    const live = this.executions.get(name);
    if (live === undefined) throw new EngineError('not_found', `no execution ${name}`);
    if (live.record.state !== 'ACTIVE')
      throw new EngineError('failed_precondition', `execution ${name} has already ended (${live.record.state})`);
    live.abort.abort(new CancelledError());
  }

  /** Cancels what still runs and waits for every record to be written. */
  async close(): Promise<void> {
    for (const live of this.executions.values()) if (live.record.state === 'ACTIVE') live.abort.abort(new CancelledError());
    await Promise.all([...this.executions.values()].map((l) => l.done));
  }
}

export interface ExecutionFilter {
  readonly workflowId?: string;
  readonly state?: ExecutionState;
  /** Every label given must match. */
  readonly labels?: Readonly<Record<string, string>>;
}

export function filterExecutions(records: readonly ExecutionRecord[], filter: ExecutionFilter): ExecutionRecord[] {
  return records
    .filter(
      (r) =>
        (filter.workflowId === undefined || r.workflowId === filter.workflowId) &&
        (filter.state === undefined || r.state === filter.state) &&
        Object.entries(filter.labels ?? {}).every(([k, v]) => r.labels[k] === v),
    )
    .sort((a, b) => (a.startTime < b.startTime ? 1 : a.startTime > b.startTime ? -1 : 0));
}

/** Reads the executions an engine wrote to `directory` (for `bootwarden workflows history`). */
export async function readExecutions(directory: string): Promise<ExecutionRecord[]> {
  const out: ExecutionRecord[] = [];
  let workflows: string[];
  try {
    workflows = await readdir(directory);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  for (const w of workflows) {
    let files: string[];
    try {
      files = await readdir(join(directory, w));
    } catch {
      continue;
    }
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(await readFile(join(directory, w, f), 'utf8')) as ExecutionRecord);
      } catch {
        // A record being written (or damaged) is skipped, not fatal for a listing.
      }
    }
  }
  return out;
}

function describeError(e: unknown): NonNullable<ExecutionRecord['error']> {
  const value: Value =
    e instanceof WorkflowError
      ? e.value
      : errorMap('SystemError', `internal error of the local engine: ${e instanceof Error ? e.message : String(e)}`);
  const origin = e instanceof Error ? errorOrigins.get(e) : undefined;
  const message = e instanceof Error ? e.message : String(e);
  return {
    payload: encodeJson(value, { lenient: true }),
    context: origin === undefined ? message : `in step "${origin.step}", routine "${origin.subworkflow}", line: ${origin.line}: ${message}`,
    stackTrace: {
      elements: origin === undefined ? [] : [{ step: origin.step, routine: origin.subworkflow, position: { line: origin.line } }],
    },
  };
}
