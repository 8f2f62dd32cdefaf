/**
 * The `bootwarden` command. `run` never exits the process and never throws for expected failures:
 * it returns the exit status, having written a one-line error to stderr.
 */
import { loadCliConfig } from '../core/config.js';
import { BootwardenError } from '../core/errors.js';
import { EXIT, type CommandIo, type Io } from './io.js';

export const HELP = `Usage: bootwarden <command> [options]

Automated, human-approved response to Shielded VM integrity failures.

Commands:
  decide      decide what to do with integrity events (log entries, Pub/Sub messages,
              Eventarc events, exports), without doing it
  replay      what bootwarden would have done with a whole log export
  baselines   list, show, add, remove and import known-good baselines
  workflows   validate and run workflow YAML in the local Workflows engine; execution history
  history     what the response workflow did to which VM, who approved, how long it took
  instances   the VMs of a zone with their integrity status (stopped, held, pending, relearned)
  relearn     relearn one VM's integrity policy, with the response workflow's checks

Run \`bootwarden <command> --help\` for a command's options.
Environment variables: see docs/configuration.md. BOOTWARDEN_DEBUG=1 shows the stack trace
of an internal error.
`;

type Command = (args: string[], io: CommandIo) => Promise<number>;

/** Each command's module is loaded when it runs: `--help` and `decide` never load what `workflows` needs. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  decide: async () => (await import('./commands/decide.js')).decideCommand,
  replay: async () => (await import('./commands/replay.js')).replayCommand,
  baselines: async () => (await import('./commands/baselines.js')).baselinesCommand,
  workflows: async () => (await import('./commands/workflows.js')).workflowsCommand,
  history: async () => (await import('./commands/history.js')).historyCommand,
  instances: async () => (await import('./commands/instances.js')).instancesCommand,
  relearn: async () => (await import('./commands/instances.js')).relearnCommand,
};

export async function run(argv: string[], io: Io): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(HELP);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  let debug = false;
  const handler = Object.prototype.hasOwnProperty.call(COMMANDS, command) ? COMMANDS[command] : undefined;
  try {
    if (handler === undefined) {
      throw new BootwardenError(
        'usage',
        `unknown command ${JSON.stringify(command)}; expected decide, replay, baselines, workflows, history, instances or relearn (see \`bootwarden --help\`)`,
      );
    }
    // The environment is read once, here, and validated: commands see only the configuration.
    const config = loadCliConfig(io.env);
    debug = config.debug;
    const runCommand = await handler();
    return await runCommand(args, { stdout: io.stdout, stderr: io.stderr, stdin: io.stdin, now: () => io.now(), config });
  } catch (e) {
    if (e instanceof BootwardenError) {
      io.stderr.write(`bootwarden: ${e.message}\n`);
      return e.code === 'usage' ? EXIT.usage : EXIT.failure;
    }
    const message = e instanceof Error ? e.message : String(e);
    io.stderr.write(`bootwarden: internal error: ${message} (please report it; BOOTWARDEN_DEBUG=1 shows the stack)\n`);
    if (debug && e instanceof Error && e.stack !== undefined) io.stderr.write(`${e.stack}\n`);
    return EXIT.internal;
  }
}

/** Process entry: wires the real streams and sets the exit code. */
export async function main(): Promise<void> {
  // A closed pipe (`bootwarden replay … | head`) is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  process.exitCode = await run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    now: () => new Date(),
  });
}
