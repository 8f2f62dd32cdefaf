import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baselineToDocument, newBaseline } from '../../core/baseline.js';
import { fingerprint } from '../../core/measurements.js';
import { bootReportEntry, eventarcBody, pubsubMessage, simpleEventEntry } from '../../devstack/entries.js';
import { bootwarden, jsonLines } from '../support/cli.js';
import { edited, failedLateBoot, KERNEL_25, KERNEL_26, LINUX_VM, TAMPERED } from '../support/fixtures.js';
import { useTmpDirs } from '../support/tmp.js';

const tmp = useTmpDirs();
const ROW_KEYS = ['action', 'baseline', 'error', 'eventKind', 'fingerprint', 'input', 'instance', 'reason'];

/** A directory store with kernel 26 known-good, plus inputs written to files. */
function workspace(
  inputs: Record<string, unknown>,
  extraDocs: Record<string, unknown> = {},
  opts: { keyedBaseline?: boolean } = {},
): { dir: string; baselines: string; files: string[] } {
  const dir = tmp();
  const baselines = path.join(dir, 'baselines');
  mkdirSync(baselines);
  const b = newBaseline(KERNEL_26, { addedBy: 'alice', addedAt: '2026-11-01T00:00:00Z', sourceEntry: null, note: null });
  if (opts.keyedBaseline !== false) writeFileSync(path.join(baselines, `${b.id}.json`), JSON.stringify(baselineToDocument(b)));
  for (const [id, doc] of Object.entries(extraDocs)) writeFileSync(path.join(baselines, `${id}.json`), JSON.stringify(doc));
  const files = Object.entries(inputs).map(([name, value]) => {
    const file = path.join(dir, name);
    writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
    return file;
  });
  return { dir, baselines, files };
}

const unknownEntry = bootReportEntry('lateBootReportEvent', { instance: LINUX_VM, bootCounter: 8, actual: TAMPERED, policy: KERNEL_26 });

describe('bootwarden decide', () => {
  it("rejects as the function would: an entry dated after the machine's clock (2099), a timestamp naming no instant", async () => {
    const w = workspace({
      'future.json': failedLateBoot({ timestamp: '2099-01-01T00:00:00.000000001Z' }),
      'month13.json': edited(failedLateBoot(), (e) => (e.timestamp = '2099-13-01T00:00:00Z')),
      'offset24.json': edited(failedLateBoot(), (e) => (e.timestamp = '2026-11-01T10:00:00Z'.replace('Z', '+24:00'))),
    });
    const r = await bootwarden(['decide', '--json', '--baselines', w.baselines, ...w.files]);
    expect(r.code).toBe(2);
    expect(jsonLines(r.stdout).map((x) => [path.basename(String(x['input'])), x['action'], (x['error'] as { code: string }).code])).toEqual(
      [
        ['future.json', 'reject', 'timestamp_in_future'],
        ['month13.json', 'reject', 'invalid_timestamp'],
        ['offset24.json', 'reject', 'invalid_timestamp'],
      ],
    );
  });

  it('decides every input form and prints one JSON object per input', async () => {
    const w = workspace({
      'known.logentry.json': failedLateBoot(),
      'unknown.pubsub.json': pubsubMessage(unknownEntry),
      'known.eventarc.json': eventarcBody(failedLateBoot()),
      'startup.json': simpleEventEntry('startupEvent', { instance: LINUX_VM, bootCounter: 7 }),
    });
    const r = await bootwarden(['decide', '--json', '--baselines', w.baselines, ...w.files]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = jsonLines(r.stdout);
    expect(rows.map((x) => [path.basename(String(x['input'])), x['action']])).toEqual([
      ['known.logentry.json', 'relearn'],
      ['unknown.pubsub.json', 'stop'],
      ['known.eventarc.json', 'relearn'],
      ['startup.json', 'ignore'],
    ]);
    for (const row of rows) expect(Object.keys(row)).toEqual(expect.arrayContaining(ROW_KEYS));
    expect(rows[0]).toMatchObject({
      eventKind: 'lateBootReportEvent',
      instance: LINUX_VM,
      fingerprint: fingerprint(KERNEL_26),
      baseline: fingerprint(KERNEL_26),
      error: null,
    });
    expect(rows[1]).toMatchObject({
      fingerprint: fingerprint(TAMPERED),
      baseline: null,
      diff: { changed: ['PCR_4'], added: [], removed: [] },
    });
    expect(rows[3]).toMatchObject({ fingerprint: null, baseline: null, eventKind: 'startupEvent' });
  });

  it('rejects bad input with a code and exit 2, and still decides the others', async () => {
    const w = workspace({
      'bad.json': edited(failedLateBoot(), (e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[0].pcrNum = '')),
      'good.json': failedLateBoot(),
    });
    const r = await bootwarden(['decide', '--json', '--baselines', w.baselines, ...w.files, path.join(w.dir, 'missing.json')]);
    expect(r.code).toBe(2);
    const rows = jsonLines(r.stdout);
    expect(rows.map((x) => x['action'])).toEqual(['reject', 'relearn', 'reject']);
    expect(rows[0]).toMatchObject({
      eventKind: null,
      instance: null,
      error: { code: 'invalid_field', field: 'jsonPayload.lateBootReportEvent.actualMeasurements[0].pcrNum' },
    });
    expect(rows[2]).toMatchObject({ error: { code: 'unreadable_input' } });
    expect(String((rows[2]?.['error'] as { message: string }).message)).toContain('missing.json');
  });

  it('reads stdin for -', async () => {
    const w = workspace({});
    const r = await bootwarden(['decide', '--json', '--baselines', w.baselines, '-'], {
      stdin: JSON.stringify(eventarcBody(unknownEntry)),
    });
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)).toMatchObject([{ input: 'stdin', action: 'stop' }]);
  });

  it('decides each entry of an export, numbering them', async () => {
    const w = workspace({ 'export.json': [failedLateBoot(), unknownEntry, { nonsense: true }] });
    const r = await bootwarden(['decide', '--json', '--baselines', w.baselines, ...w.files]);
    expect(r.code).toBe(2);
    expect(jsonLines(r.stdout).map((x) => [String(x['input']).split('#')[1], x['action']])).toEqual([
      ['1', 'relearn'],
      ['2', 'stop'],
      ['3', 'reject'],
    ]);
  });

  it('dry-run turns actions into notifications', async () => {
    const w = workspace({ 'a.json': failedLateBoot(), 'b.json': unknownEntry });
    const r = await bootwarden(['decide', '--json', '--dry-run', '--baselines', w.baselines, ...w.files]);
    expect(jsonLines(r.stdout)).toMatchObject([
      { action: 'notify', intendedAction: 'relearn' },
      { action: 'notify', intendedAction: 'stop' },
    ]);
  });

  it('--stop-on-early-boot stops on a failed early-boot report', async () => {
    const w = workspace({
      'early.json': bootReportEntry('earlyBootReportEvent', { instance: LINUX_VM, bootCounter: 3, actual: KERNEL_26, policy: KERNEL_25 }),
    });
    const without = jsonLines((await bootwarden(['decide', '--json', '--baselines', w.baselines, ...w.files])).stdout);
    const withFlag = jsonLines(
      (await bootwarden(['decide', '--json', '--stop-on-early-boot', '--baselines', w.baselines, ...w.files])).stdout,
    );
    expect([without[0]?.['action'], withFlag[0]?.['action']]).toEqual(['ignore', 'stop']);
  });

  it('accepts a single JSON file of id → document as the store', async () => {
    const dir = tmp();
    const file = path.join(dir, 'baselines.json');
    const b = newBaseline(KERNEL_26, { addedBy: 'a', addedAt: 'b', sourceEntry: null, note: null });
    writeFileSync(file, JSON.stringify({ [b.id]: baselineToDocument(b) }));
    const r = await bootwarden(['decide', '--json', '--baselines', file, '-'], { stdin: JSON.stringify(failedLateBoot()) });
    expect(jsonLines(r.stdout)).toMatchObject([{ action: 'relearn', baseline: b.id }]);
  });

  it('a tutorial-made document (baseline1, console fields) matches whatever its id, with a warning to re-key it', async () => {
    const tutorialDoc = Object.fromEntries(KERNEL_26.map((m) => [m.pcrNum, m]));
    const w = workspace(
      { 'known.json': failedLateBoot(), 'unknown.json': unknownEntry },
      { baseline1: tutorialDoc },
      { keyedBaseline: false },
    );
    const r = await bootwarden(['decide', '--json', '--baselines', w.baselines, ...w.files]);
    expect(jsonLines(r.stdout).map((l) => [l['action'], l['baseline']])).toEqual([
      ['relearn', 'baseline1'],
      ['stop', null],
    ]);
    expect(r.stderr).toBe(
      `bootwarden: warning: 1 baseline document(s) in ${w.baselines} are not keyed by fingerprint (baseline1): they still match, found by their PCR values at one extra read per decision; \`bootwarden baselines import --baselines ${w.baselines}\` re-keys them\n`,
    );
  });

  it('prints a readable table without --json', async () => {
    const w = workspace({ 'a.json': failedLateBoot(), 'b.json': '{oops' });
    const r = await bootwarden(['decide', '--baselines', w.baselines, ...w.files]);
    expect(r.code).toBe(2);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^INPUT\s+ACTION\s+EVENT\s+INSTANCE\s+FINGERPRINT\s+BASELINE\s+REASON$/);
    expect(lines[1]).toMatch(/a\.json\s+relearn\s+lateBootReportEvent\s+acme-prod\/us-central1-a\/4356841712468193571/);
    expect(lines[2]).toMatch(/b\.json\s+reject\s+.*invalid_json: input is not JSON/);
  });

  it.each([
    [['decide', 'x.json'], 'decide: --baselines <dir|file> is required'],
    [['decide', '--baselines', '/nonexistent-bw', 'x.json'], 'baselines /nonexistent-bw does not exist'],
    [['decide', '--bogus'], "decide: Unknown option '--bogus'"],
    [['decide', '--baselines', '.'], 'give at least one input file'],
  ])('%j fails with one clear line and no stack trace', async (args, message) => {
    const r = await bootwarden(args);
    expect(r.code === 64 || r.code === 1).toBe(true);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('uses BOOTWARDEN_BASELINES when --baselines is not given', async () => {
    const w = workspace({ 'a.json': failedLateBoot() });
    const r = await bootwarden(['decide', '--json', ...w.files], { env: { BOOTWARDEN_BASELINES: w.baselines } });
    expect(jsonLines(r.stdout)).toMatchObject([{ action: 'relearn' }]);
  });
});
