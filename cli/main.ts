/**
 * The `bootwarden` command. `run` never exits the process and never throws for expected failures:
 * it returns the exit status, having written a one-line error to stderr.
 */
import { BootwardenError } from '../core/errors.js';
import { baselinesCommand } from './commands/baselines.js';
import { decideCommand } from './commands/decide.js';
import { replayCommand } from './commands/replay.js';
import { workflowsCommand } from './commands/workflows.js';
import { EXIT, type Io } from './io.js';

export const HELP = `Usage: bootwarden <command> [options]

Automated, human-approved response to Shielded VM integrity failures.

Commands:
  decide      decide what to do with integrity events (log entries, Pub/Sub messages,
              Eventarc events, exports), without doing it
  replay      what bootwarden would have done with a whole log export
  baselines   list, show, add, remove and import known-good baselines
  workflows   validate and run workflow YAML in the local Workflows engine; execution history

Run \`bootwarden <command> --help\` for a command's options.
Set BOOTWARDEN_DEBUG=1 to see stack traces of internal errors.
`;

const COMMANDS: Record<string, (args: string[], io: Io) => Promise<number>> = {
  decide: decideCommand,
  replay: replayCommand,
  baselines: baselinesCommand,
  workflows: workflowsCommand,
};

export async function run(argv: string[], io: Io): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(HELP);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  const handler = Object.prototype.hasOwnProperty.call(COMMANDS, command) ? COMMANDS[command] : undefined;
  try {
    if (handler === undefined) {
      throw new BootwardenError(
        'usage',
        `unknown command ${JSON.stringify(command)}; expected decide, replay, baselines or workflows (see \`bootwarden --help\`)`,
      );
    }
    return await handler(args, io);
  } catch (e) {
    if (e instanceof BootwardenError) {
      io.stderr.write(`bootwarden: ${e.message}\n`);
      return e.code === 'usage' ? EXIT.usage : EXIT.failure;
    }
    const message = e instanceof Error ? e.message : String(e);
    io.stderr.write(`bootwarden: internal error: ${message} (please report it; BOOTWARDEN_DEBUG=1 shows the stack)\n`);
    if (io.env['BOOTWARDEN_DEBUG'] === '1' && e instanceof Error && e.stack !== undefined) io.stderr.write(`${e.stack}\n`);
    return EXIT.internal;
  }
}

/** Process entry: wires the real streams and sets the exit code. */
export async function main(): Promise<void> {
  // Against the emulator there is no metadata server to ask for a project or credentials.
  if (process.env['FIRESTORE_EMULATOR_HOST']) process.env['METADATA_SERVER_DETECTION'] ??= 'none';
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
