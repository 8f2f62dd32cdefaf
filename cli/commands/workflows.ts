/**
 * `bootwarden workflows validate | run | history`: the local Workflows engine from the command
 * line. The engine is its own workspace package (packages/workflows-emulator), a development tool:
 * it is loaded only when one of these subcommands runs, so that the other commands stay light.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { BootwardenError } from '../../core/errors.js';
import type * as EmulatorModule from '@bootwarden/workflows-emulator';
import type { ExecutionRecord, ExecutionState } from '@bootwarden/workflows-emulator';
import { flag, parse, stringOption, type Parsed } from '../args.js';
import { table } from '../format.js';
import { EXIT, type CommandIo } from '../io.js';

export const WORKFLOWS_HELP = `Usage: bootwarden workflows <validate|run|history> [options]

The local Cloud Workflows engine: runs a workflow YAML exactly as it is deployed.

  validate <file.yaml>     load the file strictly, as Google does at deploy time
                           (unknown functions or steps, scope errors, ...); a connector the
                           engine does not emulate is a warning on stderr, not an error
  run <file.yaml>          run it to the end and print {"state","result","error","steps"};
                           sys.log lines go to stderr
      --argument <json>    the execution argument (at most 32 KB of JSON)
      --env KEY=VALUE      a user-defined environment variable (repeatable), read with
                           sys.get_env
  history                  list recorded executions, newest first
      --workflow <id>      only this workflow (the file name without .workflows.yaml)
      --state <state>      ACTIVE, SUCCEEDED, FAILED or CANCELLED
      --label KEY=VALUE    only executions with this label (repeatable)
      --json               one JSON object per execution
  --executions <dir>       where executions are recorded (default: .bootwarden/executions,
                           or BOOTWARDEN_EXECUTIONS_DIR)
  -h, --help               show this help

Connectors run against local services: Firestore when FIRESTORE_EMULATOR_HOST is set; Compute
when a simulated fleet is wired in (not from this command). A connector without its service
fails the execution with an error naming it.

Exit status: validate 0 valid, 2 invalid. run 0 whatever the execution's state, 2 when the
file cannot be loaded. 64 usage error.
`;

const OPTIONS = {
  argument: { type: 'string' },
  env: { type: 'string', multiple: true },
  workflow: { type: 'string' },
  state: { type: 'string' },
  label: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  executions: { type: 'string' },
} as const;

const emulator = (): Promise<typeof EmulatorModule> => import('@bootwarden/workflows-emulator');

const STATES: readonly ExecutionState[] = ['ACTIVE', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

function pairs(command: string, option: string, p: Parsed): Record<string, string> {
  const raw = p.values[option] as unknown;
  const list = Array.isArray(raw) ? (raw as string[]) : [];
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new BootwardenError('usage', `${command}: --${option} ${JSON.stringify(item)} must be KEY=VALUE`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function executionsDir(p: Parsed, io: CommandIo): string {
  return stringOption(p, 'executions') ?? io.config.executionsDir;
}

/** The workflow id a file deploys as: `integrity-response.workflows.yaml` → `integrity-response`. */
export function workflowIdOf(file: string): string {
  const id = basename(file)
    .replace(/\.workflows\.ya?ml$|\.ya?ml$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-')
    .replace(/^[^a-z]+/, '');
  return id === '' ? 'workflow' : id.slice(0, 63);
}

export async function workflowsCommand(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(WORKFLOWS_HELP);
    return sub === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = `workflows ${sub}`;
  const p = parse(command, rest, OPTIONS);
  if (flag(p, 'help')) {
    io.stdout.write(WORKFLOWS_HELP);
    return EXIT.ok;
  }
  switch (sub) {
    case 'validate':
      return validate(command, p, io);
    case 'run':
      return runWorkflow(command, p, io);
    case 'history':
      return history(command, p, io);
    default:
      throw new BootwardenError('usage', `unknown workflows command ${JSON.stringify(sub)}; expected validate, run or history`);
  }
}

function onlyFile(command: string, p: Parsed): string {
  if (p.positionals.length !== 1)
    throw new BootwardenError('usage', `${command}: expected one workflow file (see \`bootwarden workflows --help\`)`);
  return p.positionals[0] as string;
}

async function validate(command: string, p: Parsed, io: CommandIo): Promise<number> {
  const file = onlyFile(command, p);
  const { loadLocalWorkflow, WorkflowLoadError } = await emulator();
  try {
    const program = await loadLocalWorkflow(file);
    for (const w of program.warnings) io.stderr.write(`bootwarden: warning: ${w}\n`);
    io.stdout.write(`${file}: valid (${program.subworkflows.size} subworkflow${program.subworkflows.size === 1 ? '' : 's'})\n`);
    return EXIT.ok;
  } catch (e) {
    if (!(e instanceof WorkflowLoadError)) throw e;
    io.stderr.write(`bootwarden: ${e.message}\n`);
    return EXIT.rejected;
  }
}

async function runWorkflow(command: string, p: Parsed, io: CommandIo): Promise<number> {
  const file = onlyFile(command, p);
  const argument = stringOption(p, 'argument');
  const { CLOUD_PLATFORM_SCOPE, encodeJson, loadLocalWorkflow, parseJson, startLocalEngine, WorkflowLoadError } = await emulator();
  if (argument !== undefined) {
    try {
      parseJson(argument);
    } catch (e) {
      throw new BootwardenError('usage', `${command}: --argument is not valid JSON: ${(e as Error).message}`);
    }
  }
  const env = pairs(command, 'env', p);
  let program;
  try {
    program = await loadLocalWorkflow(file);
  } catch (e) {
    if (!(e instanceof WorkflowLoadError)) throw e;
    io.stderr.write(`bootwarden: ${e.message}\n`);
    return EXIT.rejected;
  }
  const local = await startLocalEngine({
    directory: executionsDir(p, io),
    env: { FIRESTORE_EMULATOR_HOST: io.config.firestoreEmulatorHost ?? undefined },
    ...(io.config.project === null ? {} : { projectId: io.config.project }),
    // sys.log lines go to stderr as they happen, so stdout stays one JSON document.
    onLog: (_execution, record) => void io.stderr.write(`${record.severity} ${encodeJson(record.payload, { lenient: true })}\n`),
  });
  if ((await readFile(file, 'utf8')).includes('events.create_callback_endpoint')) {
    // Callback requests need an OAuth2 token, as in the cloud: hand the operator one that works here.
    const token = await local.tokens.token('OAuth2', CLOUD_PLATFORM_SCOPE);
    io.stderr.write(`bootwarden: callbacks are served on ${local.callbacks.url}; send them with -H 'Authorization: Bearer ${token}'\n`);
  }
  const onSignal = (): void => {
    for (const r of local.engine.listExecutions({ state: 'ACTIVE' })) local.engine.cancel(r.name);
  };
  process.once('SIGINT', onSignal);
  try {
    const id = workflowIdOf(file);
    let started: ExecutionRecord;
    try {
      local.engine.deploy(id, program, env);
      started = local.engine.startExecution(id, { argument: argument ?? null });
    } catch (e) {
      throw new BootwardenError('usage', `${command}: ${(e as Error).message}`);
    }
    const done = await local.engine.wait(started.name);
    io.stdout.write(`${JSON.stringify(summary(done), null, 2)}\n`);
    return EXIT.ok;
  } finally {
    process.removeListener('SIGINT', onSignal);
    await local.close();
  }
}

/** What `run` prints: the outcome and the billable steps. */
export function summary(r: ExecutionRecord): Record<string, unknown> {
  return {
    state: r.state,
    result: r.result === undefined ? null : JSON.parse(r.result),
    error: r.error === undefined ? null : { ...(JSON.parse(r.error.payload) as object), context: r.error.context },
    steps: {
      total: r.billing.internal + r.billing.external,
      internal: r.billing.internal,
      external: r.billing.external,
      polls: r.billing.polls ?? 0,
    },
    execution: r.name,
  };
}

async function history(command: string, p: Parsed, io: CommandIo): Promise<number> {
  if (p.positionals.length > 0) throw new BootwardenError('usage', `${command}: takes no file (see \`bootwarden workflows --help\`)`);
  const state = stringOption(p, 'state');
  if (state !== undefined && !STATES.includes(state as ExecutionState)) {
    throw new BootwardenError('usage', `${command}: --state must be one of ${STATES.join(', ')}`);
  }
  const workflowId = stringOption(p, 'workflow');
  const { filterExecutions, readExecutions } = await emulator();
  const records = filterExecutions(await readExecutions(executionsDir(p, io)), {
    ...(workflowId === undefined ? {} : { workflowId }),
    ...(state === undefined ? {} : { state: state as ExecutionState }),
    labels: pairs(command, 'label', p),
  });
  if (flag(p, 'json')) {
    for (const r of records)
      io.stdout.write(`${JSON.stringify({ ...summary(r), startTime: r.startTime, endTime: r.endTime ?? null, labels: r.labels })}\n`);
    return EXIT.ok;
  }
  if (records.length === 0) {
    io.stdout.write(`no executions recorded in ${executionsDir(p, io)}\n`);
    return EXIT.ok;
  }
  io.stdout.write(
    table(
      ['started', 'workflow', 'state', 'steps', 'labels', 'execution'],
      records.map((r) => [
        r.startTime,
        r.workflowId,
        r.state,
        String(r.billing.internal + r.billing.external),
        Object.entries(r.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
        r.name.slice(r.name.lastIndexOf('/') + 1),
      ]),
    ),
  );
  return EXIT.ok;
}
