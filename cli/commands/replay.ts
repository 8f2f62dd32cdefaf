import { guardDecision, MemoryStopSlots } from '../../core/blast-radius.js';
import { eventKeyOf } from '../../core/contracts.js';
import { decideWithStore, type DecisionPolicy } from '../../core/decide.js';
import { fingerprint } from '../../core/measurements.js';
import { BootwardenError } from '../../core/errors.js';
import { futureProblem, parseEnvelopeText } from '../../core/parse.js';
import type { BaselineStore } from '../../core/ports/baseline-store.port.js';
import { ReplayAggregator, type ReplayReport } from '../../core/replay.js';
import { openCliStore, STORE_HELP, STORE_OPTIONS, withStore } from '../stores.js';
import { flag, parse } from '../args.js';
import { bytes, count, shortFingerprint, table } from '../format.js';
import { EXIT, type CommandIo } from '../io.js';
import { Progress } from '../progress.js';
import { openInput, records } from '../records.js';
import { policyFrom, POLICY_OPTIONS, warnUnkeyedBaselines } from './shared.js';

export const REPLAY_HELP = `Usage: bootwarden replay --baselines <dir|file> [options] <export>

What bootwarden would have done with a real log export: counts per action, the instances that
would be stopped, and each unknown fingerprint with how many VMs reported it and which PCRs
differ from their policy. Nothing is stopped or relearned.

<export> is a file (or - for stdin) written by
  gcloud logging read --format=json 'logName:"compute.googleapis.com%2Fshielded_vm_integrity"'
(a JSON array) or JSON Lines, one entry per line. It is streamed: memory stays flat whatever
its size. Each entry is decided on its own: entries are not deduplicated and stale boots are not
dropped (the function does both).

The function's blast-radius guard is simulated on the entries' timestamps: beyond
BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT (default 3), BOOTWARDEN_MAX_STOPS_PER_PROJECT (10) or
BOOTWARDEN_MAX_STOPS (20) stops per BOOTWARDEN_STOP_WINDOW_SECONDS (3600), a VM is held: kept
running until an operator decides. The report counts the holds and the instances held.

Options:
${STORE_HELP}  --json                   the report as one JSON document on stdout
  --dry-run                decide as in dry-run mode (actions become "notify")
  --stop-on-early-boot     also stop VMs whose early-boot report fails
  --top <n>                rows to show per table (default 20; --json shows all)
  -h, --help               show this help

A progress bar is drawn on stderr when it is a terminal.
Exit status: 0 report written (rejected entries are counted in it), 1 unreadable input or
baselines, 64 usage error.
`;

export async function replayCommand(args: string[], io: CommandIo): Promise<number> {
  const p = parse('replay', args, { ...STORE_OPTIONS, json: { type: 'boolean' }, top: { type: 'string' }, ...POLICY_OPTIONS });
  if (flag(p, 'help')) {
    io.stdout.write(REPLAY_HELP);
    return EXIT.ok;
  }
  if (p.positionals.length !== 1)
    throw new BootwardenError('usage', 'replay: give exactly one export file, or - for stdin (see `bootwarden replay --help`)');
  const topText = typeof p.values['top'] === 'string' ? p.values['top'] : '20';
  const top = Number(topText);
  if (!Number.isInteger(top) || top < 1)
    throw new BootwardenError('usage', `replay: --top must be a whole number ≥ 1, got ${JSON.stringify(topText)}`);
  const policy: DecisionPolicy = policyFrom(p);
  return withStore(await openCliStore('replay', p, io), async (store) => {
    await warnUnkeyedBaselines(store, io);
    const source = await openInput(p.positionals[0] as string, io.stdin);

    const started = performance.now();
    const agg = new ReplayAggregator();
    // A fleet shares few fingerprints: read each baseline once, not once per entry.
    const cache = new Map<string, Promise<unknown>>();
    const once = <T>(key: string, read: () => Promise<T>): Promise<T> => {
      let hit = cache.get(key) as Promise<T> | undefined;
      if (hit === undefined) cache.set(key, (hit = read()));
      return hit;
    };
    const baselines: Pick<BaselineStore, 'get' | 'withMeasurements'> = {
      get: (id) => once(`id ${id}`, () => store.get(id)),
      withMeasurements: (ms) => once(`content ${fingerprint(ms)}`, () => store.withMeasurements(ms)),
    };
    const slots = new MemoryStopSlots();
    const progress = new Progress(io.stderr, source.size);
    let entries = 0;
    let bytesRead = 0;
    for await (const batch of records(source, (b) => {
      bytesRead = b;
      progress.update(b, entries);
    })) {
      for (const rec of batch) {
        entries++;
        if (rec.text === null) {
          if (rec.rejection !== null) agg.addRejection(rec.ordinal, rec.rejection);
          continue;
        }
        const parsed = parseEnvelopeText(rec.text, { depthChecked: true });
        if (!parsed.ok) {
          agg.addRejection(rec.ordinal, parsed.rejection);
          continue;
        }
        const { event } = parsed;
        // As the function would: an entry dated after this machine's clock was not logged yet.
        const future = futureProblem(event.entry.timestamp, io.now());
        if (future !== null) {
          agg.addRejection(rec.ordinal, future);
          continue;
        }
        const decision = await decideWithStore(event, baselines, policy);
        // The function's blast-radius guard, on the entries' own clock.
        const now = new Date(event.entry.timestamp);
        agg.addDecision(
          event,
          await guardDecision(slots, io.config.blastRadius, decision, { eventKey: eventKeyOf(event.entry), instance: event.instance, now }),
        );
      }
    }
    progress.done();
    const report = agg.report();
    const seconds = (performance.now() - started) / 1000;
    if (flag(p, 'json')) {
      io.stdout.write(`${JSON.stringify({ input: source.label, bytes: bytesRead, seconds: Number(seconds.toFixed(3)), ...report })}\n`);
    } else {
      io.stdout.write(render(source.label, bytesRead, seconds, report, top));
    }
    return EXIT.ok;
  });
}

function more(shown: number, total: number): string {
  return total > shown ? `  … ${count(total - shown)} more (use --top or --json)\n` : '';
}

function render(label: string, bytesRead: number, seconds: number, r: ReplayReport, top: number): string {
  const a = r.actions;
  const rejectedDetail = Object.entries(r.rejectedByCode)
    .map(([code, n]) => `${code} ${count(n)}`)
    .join(', ');
  let out = `Replayed ${count(r.entries)} entries (${bytes(bytesRead)}) from ${label} in ${seconds.toFixed(1)} s\n\n`;
  out += table(
    ['ACTION', 'ENTRIES'],
    [
      ['relearn', count(a.relearn)],
      ['stop', count(a.stop)],
      ['hold (blast-radius guard)', count(a.hold)],
      ['notify (dry-run)', count(a.notify)],
      ['ignore', count(a.ignore)],
      ['rejected', count(a.reject) + (rejectedDetail === '' ? '' : `  (${rejectedDetail})`)],
    ],
  );
  for (const s of r.sampleRejections.slice(0, 3)) out += `  entry #${s.ordinal}: ${s.code}: ${s.message}\n`;
  out += `\nInstances that would be stopped: ${count(r.stoppedInstances.length)}\n`;
  if (r.stoppedInstances.length > 0) {
    out += table(
      ['PROJECT', 'ZONE', 'INSTANCE', 'STOPS', 'LAST FINGERPRINT', 'LAST SEEN'],
      r.stoppedInstances
        .slice(0, top)
        .map((s) => [s.instance.project, s.instance.zone, s.instance.id, count(s.stops), shortFingerprint(s.lastFingerprint), s.lastSeen]),
    );
    out += more(top, r.stoppedInstances.length);
  }
  out += `Instances that would be held (kept running by the blast-radius guard): ${count(r.heldInstances)}\n`;
  out += `\nUnknown fingerprints: ${count(r.unknownFingerprints.length)}\n`;
  if (r.unknownFingerprints.length > 0) {
    out += table(
      ['FINGERPRINT', 'VMS', 'REPORTS', 'HELD', 'PCRS THAT DIFFER FROM POLICY (reports)', 'FIRST SEEN', 'LAST SEEN'],
      r.unknownFingerprints
        .slice(0, top)
        .map((u) => [
          shortFingerprint(u.fingerprint),
          count(u.instances),
          count(u.reports),
          count(u.held),
          u.pcrs
            .map((c) =>
              [
                c.changed ? `${c.pcrNum} changed (${c.changed})` : '',
                c.added ? `${c.pcrNum} added (${c.added})` : '',
                c.removed ? `${c.pcrNum} removed (${c.removed})` : '',
              ]
                .filter(Boolean)
                .join(', '),
            )
            .join(', ') || 'none',
          u.firstSeen,
          u.lastSeen,
        ]),
    );
    out += more(top, r.unknownFingerprints.length);
  }
  return out;
}
