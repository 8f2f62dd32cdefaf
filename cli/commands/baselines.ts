import { readFile } from 'node:fs/promises';
import { baselineToDocument, isKeyedByFingerprint, newBaseline, validateBaselineId, type Baseline } from '../../core/baseline.js';
import { BootwardenError } from '../../core/errors.js';
import type { BootReportEvent } from '../../core/event.js';
import { parseEnvelopeText } from '../../core/parse.js';
import type { StoredBaseline } from '../../core/ports/baseline-store.port.js';
import { openCliStore, STORE_HELP, STORE_OPTIONS, withStore, type CliBaselineStore } from '../stores.js';
import { flag, parse, stringOption } from '../args.js';
import { shortFingerprint, table } from '../format.js';
import { EXIT, type CommandIo } from '../io.js';

export const BASELINES_HELP = `Usage: bootwarden baselines <subcommand> [--store dir|firestore] [--baselines <dir|file>] [options]

Manage known-good baselines (the known_good_measurements collection): in Firestore, or in a
local store (a directory of JSON documents, or one JSON file mapping id to document).
Documents keep the tutorial's shape (PCR_n: {hashAlgo, pcrNum, value}); bootwarden's metadata
is under the field "bootwarden". A baseline is found by its fingerprint, so its id must be the
fingerprint: \`add\` does that, \`import\` re-keys documents made by hand (ids like baseline1).

Subcommands:
  list                        every document: id, fingerprint, PCRs, whether it can match
  show <id>                   one document and its fingerprint
  add --from-entry <file>     promote the actualMeasurements of a late-boot report (a LogEntry,
                              Pub/Sub message or Eventarc event) to a baseline
        [--note <text>] [--added-by <name>]   (default added-by: $USER)
  remove <id>                 delete one document
  import [--dry-run] [--keep-originals]
                              re-key documents whose id is not their fingerprint; the original
                              is removed only after its re-keyed copy is written

Options:
${STORE_HELP}                            (add creates a missing directory)
  --json                      machine-readable output
  -h, --help                  show this help

Exit status: 0 done, 1 failure (not found, unreadable), 2 invalid documents found (list,
import), 64 usage error.
`;

const OPTIONS = {
  ...STORE_OPTIONS,
  json: { type: 'boolean' },
  'from-entry': { type: 'string' },
  note: { type: 'string' },
  'added-by': { type: 'string' },
  'dry-run': { type: 'boolean' },
  'keep-originals': { type: 'boolean' },
} as const;

function pcrList(b: Baseline): string {
  return b.measurements.map((m) => `${m.pcrNum}/${m.hashAlgo}`).join(' ');
}

async function collect(store: CliBaselineStore): Promise<StoredBaseline[]> {
  const all: StoredBaseline[] = [];
  for await (const s of store.list()) all.push(s);
  return all;
}

function oneId(sub: string, positionals: string[]): string {
  const id = positionals[0];
  if (id === undefined || positionals.length !== 1) throw new BootwardenError('usage', `baselines ${sub}: give exactly one document id`);
  const problem = validateBaselineId(id);
  if (problem !== null) throw new BootwardenError('usage', `baselines ${sub}: ${problem}`);
  return id;
}

async function list(store: CliBaselineStore, io: CommandIo, json: boolean): Promise<number> {
  const all = await collect(store);
  const invalid = all.filter((s) => 'invalid' in s).length;
  if (json) {
    for (const s of all) {
      io.stdout.write(
        `${JSON.stringify(
          'invalid' in s
            ? { id: s.id, valid: false, error: s.invalid }
            : {
                id: s.id,
                valid: true,
                fingerprint: s.baseline.fingerprint,
                keyedByFingerprint: isKeyedByFingerprint(s.baseline),
                pcrs: s.baseline.measurements.map((m) => m.pcrNum),
                metadata: s.baseline.metadata,
              },
        )}\n`,
      );
    }
  } else {
    io.stdout.write(
      table(
        ['ID', 'FINGERPRINT', 'PCRS', 'MATCHABLE', 'ADDED BY', 'NOTE'],
        all.map((s) =>
          'invalid' in s
            ? [s.id, '-', '-', 'no: invalid', '-', `${s.invalid.code}: ${s.invalid.message}`]
            : [
                s.id.length > 20 ? shortFingerprint(s.id) : s.id,
                shortFingerprint(s.baseline.fingerprint),
                pcrList(s.baseline),
                isKeyedByFingerprint(s.baseline) ? 'yes' : 'no: run import',
                s.baseline.metadata?.addedBy || '-',
                s.baseline.metadata?.note ?? '-',
              ],
        ),
      ),
    );
    io.stdout.write(`${all.length} document(s)${invalid > 0 ? `, ${invalid} invalid` : ''}\n`);
  }
  return invalid > 0 ? EXIT.rejected : EXIT.ok;
}

async function show(store: CliBaselineStore, io: CommandIo, id: string, json: boolean): Promise<number> {
  const s = await store.get(id);
  if (s === null) throw new BootwardenError('not_found', `no baseline ${id} in ${store.location}`);
  if ('invalid' in s) {
    io.stdout.write(
      json ? `${JSON.stringify({ id, valid: false, error: s.invalid })}\n` : `${id}: invalid: ${s.invalid.code}: ${s.invalid.message}\n`,
    );
    return EXIT.rejected;
  }
  const b = s.baseline;
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ id, valid: true, fingerprint: b.fingerprint, keyedByFingerprint: isKeyedByFingerprint(b), document: baselineToDocument(b) })}\n`,
    );
  } else {
    io.stdout.write(
      `id:          ${id}\nfingerprint: ${b.fingerprint}${isKeyedByFingerprint(b) ? '' : '  (id is not the fingerprint: run `bootwarden baselines import`)'}\n`,
    );
    if (b.metadata !== null) {
      io.stdout.write(`added by:    ${b.metadata.addedBy || '-'} at ${b.metadata.addedAt || '-'}\n`);
      if (b.metadata.sourceEntry !== null)
        io.stdout.write(
          `from entry:  ${b.metadata.sourceEntry.insertId} (instance ${b.metadata.sourceEntry.instanceId}, ${b.metadata.sourceEntry.timestamp})\n`,
        );
      if (b.metadata.importedFrom.length > 0) io.stdout.write(`imported:    ${b.metadata.importedFrom.join(', ')}\n`);
      if (b.metadata.note !== null) io.stdout.write(`note:        ${b.metadata.note}\n`);
    }
    io.stdout.write(
      table(
        ['PCR', 'HASH', 'VALUE'],
        b.measurements.map((m) => [m.pcrNum, m.hashAlgo, m.value]),
      ),
    );
  }
  return EXIT.ok;
}

async function lateBootEventFrom(file: string): Promise<BootReportEvent> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new BootwardenError('io_error', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  const parsed = parseEnvelopeText(text);
  if (!parsed.ok) throw new BootwardenError('invalid_input', `${file}: ${parsed.rejection.code}: ${parsed.rejection.message}`);
  const event = parsed.event;
  if (event.kind !== 'lateBootReportEvent') {
    throw new BootwardenError(
      'invalid_input',
      `${file} is a ${event.kind}; baselines come from a lateBootReportEvent (its actualMeasurements)`,
    );
  }
  return event;
}

async function add(store: CliBaselineStore, io: CommandIo, p: ReturnType<typeof parse>): Promise<number> {
  const from = stringOption(p, 'from-entry');
  if (from === undefined) throw new BootwardenError('usage', 'baselines add: --from-entry <logentry.json> is required');
  if (p.positionals.length > 0) throw new BootwardenError('usage', `baselines add: unexpected argument ${p.positionals[0] ?? ''}`);
  const event = await lateBootEventFrom(from);
  const baseline = newBaseline(event.report.actualMeasurements, {
    addedBy: stringOption(p, 'added-by') ?? io.config.operator,
    addedAt: io.now().toISOString(),
    sourceEntry: { ...event.entry, instanceId: event.instance.id },
    note: stringOption(p, 'note') ?? null,
  });
  const created = await store.create(baseline);
  if (flag(p, 'json')) {
    io.stdout.write(`${JSON.stringify({ id: baseline.id, created, pcrs: baseline.measurements.map((m) => m.pcrNum) })}\n`);
  } else if (created) {
    io.stdout.write(`added baseline ${baseline.id} (${pcrList(baseline)}) from ${from}\n`);
  } else {
    io.stdout.write(`baseline ${baseline.id} already exists; nothing changed\n`);
  }
  return EXIT.ok;
}

async function remove(store: CliBaselineStore, io: CommandIo, id: string, json: boolean): Promise<number> {
  if (!(await store.remove(id))) throw new BootwardenError('not_found', `no baseline ${id} in ${store.location}`);
  io.stdout.write(json ? `${JSON.stringify({ id, removed: true })}\n` : `removed baseline ${id}\n`);
  return EXIT.ok;
}

interface ImportStep {
  from: string;
  to: string | null;
  outcome: 'rekeyed' | 'merged-into-existing' | 'invalid' | 'would-rekey' | 'would-merge';
  message: string;
}

async function importDocs(store: CliBaselineStore, io: CommandIo, p: ReturnType<typeof parse>): Promise<number> {
  const dryRun = flag(p, 'dry-run');
  const keep = flag(p, 'keep-originals');
  const steps: ImportStep[] = [];
  for (const s of await collect(store)) {
    if ('invalid' in s) {
      steps.push({ from: s.id, to: null, outcome: 'invalid', message: `left in place: ${s.invalid.code}: ${s.invalid.message}` });
      continue;
    }
    const old = s.baseline;
    if (isKeyedByFingerprint(old)) continue;
    const existing = await store.get(old.fingerprint);
    const existingBaseline = existing !== null && 'baseline' in existing ? existing.baseline : null;
    if (existing !== null && existingBaseline === null) {
      steps.push({
        from: old.id,
        to: old.fingerprint,
        outcome: 'invalid',
        message: `left in place: the document at its fingerprint ${old.fingerprint} is invalid`,
      });
      continue;
    }
    if (dryRun) {
      steps.push({
        from: old.id,
        to: old.fingerprint,
        outcome: existingBaseline ? 'would-merge' : 'would-rekey',
        message: existingBaseline ? 'same PCRs as an existing baseline' : '',
      });
      continue;
    }
    if (existingBaseline !== null) {
      const md = existingBaseline.metadata;
      const importedFrom = [...new Set([...(md?.importedFrom ?? []), old.id, ...(old.metadata?.importedFrom ?? [])])];
      await store.save({
        ...existingBaseline,
        extraFields: { ...old.extraFields, ...existingBaseline.extraFields },
        metadata: {
          fingerprint: existingBaseline.fingerprint,
          addedBy: md?.addedBy || old.metadata?.addedBy || 'import',
          addedAt: md?.addedAt || old.metadata?.addedAt || io.now().toISOString(),
          sourceEntry: md?.sourceEntry ?? old.metadata?.sourceEntry ?? null,
          importedFrom,
          note: md?.note ?? old.metadata?.note ?? null,
        },
      });
      steps.push({
        from: old.id,
        to: old.fingerprint,
        outcome: 'merged-into-existing',
        message: 'same PCRs as an existing baseline; recorded as importedFrom',
      });
    } else {
      const rekeyed = newBaseline(
        old.measurements,
        {
          addedBy: old.metadata?.addedBy || stringOption(p, 'added-by') || io.config.operator,
          addedAt: old.metadata?.addedAt || io.now().toISOString(),
          sourceEntry: old.metadata?.sourceEntry ?? null,
          note: old.metadata?.note ?? null,
          importedFrom: [...(old.metadata?.importedFrom ?? []), old.id],
        },
        old.extraFields,
      );
      if (!(await store.create(rekeyed)))
        throw new BootwardenError('already_exists', `baseline ${rekeyed.id} appeared while importing ${old.id}; run import again`);
      steps.push({ from: old.id, to: rekeyed.id, outcome: 'rekeyed', message: '' });
    }
    if (!keep) await store.remove(old.id);
  }
  if (flag(p, 'json')) {
    for (const s of steps) io.stdout.write(`${JSON.stringify(s)}\n`);
  } else if (steps.length === 0) {
    io.stdout.write('nothing to import: every document is keyed by its fingerprint\n');
  } else {
    io.stdout.write(
      table(
        ['FROM', 'TO', 'OUTCOME', 'NOTE'],
        steps.map((s) => [s.from, s.to ?? '-', s.outcome, s.message]),
      ),
    );
    if (!dryRun && !keep) io.stdout.write('originals of re-keyed documents were removed\n');
  }
  return steps.some((s) => s.outcome === 'invalid') ? EXIT.rejected : EXIT.ok;
}

export async function baselinesCommand(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(BASELINES_HELP);
    return sub === undefined ? EXIT.usage : EXIT.ok;
  }
  const p = parse(`baselines ${sub}`, rest, OPTIONS);
  if (flag(p, 'help')) {
    io.stdout.write(BASELINES_HELP);
    return EXIT.ok;
  }
  const json = flag(p, 'json');
  const open = (createIfMissing = false): Promise<CliBaselineStore> => openCliStore(`baselines ${sub}`, p, io, { createIfMissing });
  switch (sub) {
    case 'list':
      return withStore(await open(), (s) => list(s, io, json));
    case 'show': {
      const id = oneId(sub, p.positionals);
      return withStore(await open(), (s) => show(s, io, id, json));
    }
    case 'add':
      return withStore(await open(true), (s) => add(s, io, p));
    case 'remove': {
      const id = oneId(sub, p.positionals);
      return withStore(await open(), (s) => remove(s, io, id, json));
    }
    case 'import':
      return withStore(await open(), (s) => importDocs(s, io, p));
    default:
      throw new BootwardenError(
        'usage',
        `baselines: unknown subcommand ${JSON.stringify(sub)}; expected list, show, add, remove or import`,
      );
  }
}
