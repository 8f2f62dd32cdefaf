/** `bootwarden history`: what happened to which VM, who approved, how long each step took. */
import { historyQuery, readHistory } from '../../core/history.js';
import { flag, parse, stringOption } from '../args.js';
import { EXIT, type CommandIo } from '../io.js';
import { openOperations, projectOf } from '../operations.js';

export const HISTORY_HELP = `Usage: bootwarden history [--instance <id>] [--fingerprint <hex>] [--since <time>] [--limit <n>]

The response workflow's executions (from the Workflows Executions API, found by the labels the
function sets), each with its outcome, who decided and how long it took, and the approvals'
audit trail in Firestore (groups opened, decisions, refusals, callbacks). Newest first. The same
lines as Slack's \`/bootwarden history\`.

Options:
  --instance <id>        one VM, by its numeric instance id
  --fingerprint <hex>    one measurement, by 16 to 64 hex digits of its fingerprint
  --since <time>         from this time on (2026-11-01 or 2026-11-01T10:00:00Z)
  --limit <n>            executions and audit records at most (default 20, at most 500)
  --project <id>         default: $GOOGLE_CLOUD_PROJECT
  --json                 machine-readable output
  -h, --help             show this help

Needs GOOGLE_CLOUD_PROJECT (or --project) and BOOTWARDEN_WORKFLOW_LOCATION; reads
BOOTWARDEN_WORKFLOW, BOOTWARDEN_COLLECTION_PREFIX, FIRESTORE_EMULATOR_HOST and, against the
local stack, BOOTWARDEN_WORKFLOWS_API_URL.
Exit status: 0 done, 1 failure (an API refused or is unavailable), 64 usage error.
`;

const OPTIONS = {
  instance: { type: 'string' },
  fingerprint: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
  project: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function historyCommand(args: string[], io: CommandIo): Promise<number> {
  const p = parse('history', args, OPTIONS);
  if (flag(p, 'help')) {
    io.stdout.write(HISTORY_HELP);
    return EXIT.ok;
  }
  if (p.positionals.length > 0) return usage(io, `history: unexpected argument ${JSON.stringify(p.positionals[0])}`);
  const options: { instance?: string; fingerprint?: string; since?: string; limit?: string } = {};
  for (const key of ['instance', 'fingerprint', 'since', 'limit'] as const) {
    const v = stringOption(p, key);
    if (v !== undefined) options[key] = v;
  }
  const query = historyQuery(options);
  const ops = openOperations('history', io, projectOf('history', io, stringOption(p, 'project')));
  try {
    const history = await readHistory({ executions: ops.executions('history'), audit: ops.approvals }, query);
    if (flag(p, 'json')) {
      io.stdout.write(`${JSON.stringify(history, null, 2)}\n`);
      return EXIT.ok;
    }
    io.stdout.write('Executions\n');
    for (const line of history.executions ?? []) io.stdout.write(`  ${line}\n`);
    if ((history.executions ?? []).length === 0) io.stdout.write('  none\n');
    io.stdout.write('Approvals\n');
    for (const line of history.approvals) io.stdout.write(`  ${line}\n`);
    if (history.approvals.length === 0) io.stdout.write('  none\n');
    return EXIT.ok;
  } finally {
    await ops.close();
  }
}

function usage(io: CommandIo, message: string): number {
  io.stderr.write(`bootwarden: ${message} (see \`bootwarden history --help\`)\n`);
  return EXIT.usage;
}
