import { decideWithStore, type Decision, type DecisionPolicy } from '../../core/decide.js';
import { BootwardenError, rejection, type Rejection } from '../../core/errors.js';
import type { IntegrityEvent } from '../../core/event.js';
import { futureProblem, parseEnvelopeText } from '../../core/parse.js';
import { openCliStore, STORE_HELP, STORE_OPTIONS, withStore } from '../stores.js';
import { flag, parse } from '../args.js';
import { shortFingerprint, table } from '../format.js';
import { EXIT, type CommandIo } from '../io.js';
import { openInput, records } from '../records.js';
import { policyFrom, POLICY_OPTIONS, warnUnkeyedBaselines } from './shared.js';

export const DECIDE_HELP = `Usage: bootwarden decide --baselines <dir|file> [options] <input>...

Decide what bootwarden does with each integrity event, without doing it.

An input is a file (or - for stdin) holding a Cloud Logging LogEntry, a Pub/Sub message whose
data is the base64 LogEntry, an Eventarc messagePublished event, or a log export (a JSON array
as written by \`gcloud logging read --format=json\`, or JSON Lines). For large exports use
\`bootwarden replay\`.

Options:
${STORE_HELP}  --json                   one JSON object per entry on stdout, instead of a table
  --dry-run                notify only: actions become "notify"
  --stop-on-early-boot     also stop VMs whose early-boot report fails
  -h, --help               show this help

Exit status: 0 every input decided, 2 some input rejected (the others are still decided),
1 baselines or inputs could not be read, 64 usage error.
`;

export interface DecideRow {
  input: string;
  action: Decision['action'] | 'reject';
  intendedAction: Decision['intendedAction'];
  reasonCode: string | null;
  reason: string;
  eventKind: string | null;
  instance: { id: string; project: string; zone: string } | null;
  bootCounter: string | null;
  fingerprint: string | null;
  baseline: string | null;
  diff: { changed: string[]; added: string[]; removed: string[] } | null;
  error: { code: string; message: string; field: string | null } | null;
}

function decidedRow(input: string, event: IntegrityEvent, d: Decision): DecideRow {
  return {
    input,
    action: d.action,
    intendedAction: d.intendedAction,
    reasonCode: d.reasonCode,
    reason: d.reason,
    eventKind: event.kind,
    instance: { ...event.instance },
    bootCounter: event.bootCounter,
    fingerprint: d.fingerprint,
    baseline: d.baselineId,
    diff:
      d.diff === null
        ? null
        : {
            changed: d.diff.changed.map((c) => c.pcrNum),
            added: d.diff.added.map((m) => m.pcrNum),
            removed: d.diff.removed.map((m) => m.pcrNum),
          },
    error: null,
  };
}

function rejectedRow(input: string, r: Rejection): DecideRow {
  return {
    input,
    action: 'reject',
    intendedAction: null,
    reasonCode: null,
    reason: `rejected: ${r.message}`,
    eventKind: null,
    instance: null,
    bootCounter: null,
    fingerprint: null,
    baseline: null,
    diff: null,
    error: { code: r.code, message: r.message, field: r.field },
  };
}

export async function decideCommand(args: string[], io: CommandIo): Promise<number> {
  const p = parse('decide', args, { ...STORE_OPTIONS, json: { type: 'boolean' }, ...POLICY_OPTIONS });
  if (flag(p, 'help')) {
    io.stdout.write(DECIDE_HELP);
    return EXIT.ok;
  }
  if (p.positionals.length === 0)
    throw new BootwardenError('usage', 'decide: give at least one input file, or - for stdin (see `bootwarden decide --help`)');
  const policy: DecisionPolicy = policyFrom(p);
  return withStore(await openCliStore('decide', p, io), async (store) => {
    await warnUnkeyedBaselines(store, io);
    const json = flag(p, 'json');
    const rows: DecideRow[] = [];
    let rejected = false;
    for (const input of p.positionals) {
      const inputRows: DecideRow[] = [];
      try {
        const source = await openInput(input, io.stdin);
        for await (const batch of records(source)) {
          for (const rec of batch) {
            const label = `${source.label}#${rec.ordinal}`;
            if (rec.text === null) {
              inputRows.push(rejectedRow(label, rec.rejection ?? rejection('invalid_json', 'unreadable entry')));
              continue;
            }
            const parsed = parseEnvelopeText(rec.text, { depthChecked: true });
            if (!parsed.ok) {
              inputRows.push(rejectedRow(label, parsed.rejection));
              continue;
            }
            // As the function would: an entry dated after this machine's clock was not logged yet.
            const future = futureProblem(parsed.event.entry.timestamp, io.now());
            inputRows.push(
              future === null
                ? decidedRow(label, parsed.event, await decideWithStore(parsed.event, store, policy))
                : rejectedRow(label, future),
            );
          }
        }
        if (inputRows.length === 0)
          inputRows.push(rejectedRow(`${source.label}#0`, rejection('missing_field', `${source.label} holds no entry`)));
        if (inputRows.length === 1 && inputRows[0] !== undefined) inputRows[0].input = source.label;
      } catch (e) {
        if (!(e instanceof BootwardenError) || e.code !== 'io_error') throw e;
        inputRows.push(rejectedRow(input === '-' ? 'stdin' : input, rejection('unreadable_input', e.message)));
      }
      for (const row of inputRows) {
        if (row.action === 'reject') rejected = true;
        if (json) io.stdout.write(`${JSON.stringify(row)}\n`);
        else rows.push(row);
      }
    }
    if (!json) {
      io.stdout.write(
        table(
          ['INPUT', 'ACTION', 'EVENT', 'INSTANCE', 'FINGERPRINT', 'BASELINE', 'REASON'],
          rows.map((r) => [
            r.input,
            r.action === 'notify' ? `notify(${r.intendedAction ?? ''})` : r.action,
            r.eventKind ?? '-',
            r.instance === null ? '-' : `${r.instance.project}/${r.instance.zone}/${r.instance.id}`,
            shortFingerprint(r.fingerprint),
            r.baseline === null ? '-' : shortFingerprint(r.baseline),
            r.error === null ? r.reason : `${r.error.code}: ${r.error.message}`,
          ]),
        ),
      );
    }
    return rejected ? EXIT.rejected : EXIT.ok;
  });
}
