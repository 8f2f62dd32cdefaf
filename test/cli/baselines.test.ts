import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../core/measurements.js';
import { pubsubMessage, simpleEventEntry } from '../../devstack/entries.js';
import { bootwarden, jsonLines } from '../support/cli.js';
import { failedLateBoot, KERNEL_25, KERNEL_26, LINUX_VM } from '../support/fixtures.js';
import { useTmpDirs } from '../support/tmp.js';

const tmp = useTmpDirs();
const tutorialDoc = (ms: typeof KERNEL_25, extra: Record<string, unknown> = {}) => ({
  ...Object.fromEntries(ms.map((m) => [m.pcrNum, { hashAlgo: m.hashAlgo, pcrNum: m.pcrNum, value: m.value }])),
  ...extra,
});
const read = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe('bootwarden baselines', () => {
  it('add --from-entry promotes a late-boot report, and decide then relearns it', async () => {
    const dir = tmp();
    const store = path.join(dir, 'store');
    const entryFile = path.join(dir, 'entry.json');
    writeFileSync(entryFile, JSON.stringify(pubsubMessage(failedLateBoot())));
    const r = await bootwarden(['baselines', 'add', '--baselines', store, '--from-entry', entryFile, '--note', 'kernel 26']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const id = fingerprint(KERNEL_26);
    expect(r.stdout).toContain(`added baseline ${id}`);
    const doc = read(path.join(store, `${id}.json`));
    expect(doc['PCR_4']).toEqual({ hashAlgo: 'SHA256', pcrNum: 'PCR_4', value: KERNEL_26[1]?.value });
    expect(doc['bootwarden']).toMatchObject({
      fingerprint: id,
      addedBy: 'tester',
      note: 'kernel 26',
      sourceEntry: { instanceId: LINUX_VM.id },
    });

    const again = await bootwarden(['baselines', 'add', '--baselines', store, '--from-entry', entryFile]);
    expect([again.code, again.stdout]).toEqual([0, `baseline ${id} already exists; nothing changed\n`]);

    const decided = await bootwarden(['decide', '--json', '--baselines', store, entryFile]);
    expect(jsonLines(decided.stdout)).toMatchObject([{ action: 'relearn', baseline: id }]);
  });

  it('add refuses an entry that is not a late-boot report, naming its kind', async () => {
    const dir = tmp();
    const entryFile = path.join(dir, 'startup.json');
    writeFileSync(entryFile, JSON.stringify(simpleEventEntry('startupEvent', { instance: LINUX_VM, bootCounter: 1 })));
    const r = await bootwarden(['baselines', 'add', '--baselines', path.join(dir, 's'), '--from-entry', entryFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is a startupEvent; baselines come from a lateBootReportEvent');
  });

  it('list, show and remove', async () => {
    const dir = tmp();
    const id = fingerprint(KERNEL_26);
    writeFileSync(path.join(dir, 'baseline1.json'), JSON.stringify(tutorialDoc(KERNEL_26)));
    const list = await bootwarden(['baselines', 'list', '--json', '--baselines', dir]);
    expect(list.code).toBe(0);
    expect(jsonLines(list.stdout)).toEqual([
      { id: 'baseline1', valid: true, fingerprint: id, keyedByFingerprint: false, pcrs: ['PCR_0', 'PCR_4', 'PCR_7'], metadata: null },
    ]);
    const table = await bootwarden(['baselines', 'list', '--baselines', dir]);
    expect(table.stdout).toMatch(/baseline1\s+\w{12}\s+PCR_0\/SHA256 PCR_4\/SHA256 PCR_7\/SHA256\s+no: run import/);
    const show = await bootwarden(['baselines', 'show', 'baseline1', '--baselines', dir]);
    expect(show.stdout).toContain(`fingerprint: ${id}  (id is not the fingerprint`);
    const removed = await bootwarden(['baselines', 'remove', 'baseline1', '--baselines', dir]);
    expect([removed.code, removed.stdout]).toEqual([0, 'removed baseline baseline1\n']);
    const missing = await bootwarden(['baselines', 'remove', 'baseline1', '--baselines', dir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`bootwarden: no baseline baseline1 in ${dir}\n`);
  });

  it('import re-keys tutorial documents without losing any, and leaves invalid ones in place', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'baseline1.json'), JSON.stringify(tutorialDoc(KERNEL_25, { description: 'golden image v1' })));
    writeFileSync(path.join(dir, 'baseline2.json'), JSON.stringify(tutorialDoc(KERNEL_26)));
    writeFileSync(path.join(dir, 'baseline2-copy.json'), JSON.stringify(tutorialDoc(KERNEL_26, { owner: 'sre' })));
    writeFileSync(path.join(dir, 'broken.json'), JSON.stringify({ PCR_0: { hashAlgo: 'SHA256', pcrNum: 'PCR_0', value: 'nope' } }));

    const dry = await bootwarden(['baselines', 'import', '--dry-run', '--json', '--baselines', dir]);
    expect(jsonLines(dry.stdout).map((s) => s['outcome'])).toEqual(['would-rekey', 'would-rekey', 'would-rekey', 'invalid']);
    expect(readdirSync(dir)).toHaveLength(4);

    const r = await bootwarden(['baselines', 'import', '--json', '--baselines', dir]);
    expect(r.code).toBe(2);
    expect(jsonLines(r.stdout).map((s) => [s['from'], s['outcome']])).toEqual([
      ['baseline1', 'rekeyed'],
      ['baseline2', 'rekeyed'],
      ['baseline2-copy', 'merged-into-existing'],
      ['broken', 'invalid'],
    ]);
    const id25 = fingerprint(KERNEL_25);
    const id26 = fingerprint(KERNEL_26);
    expect(readdirSync(dir).sort()).toEqual(['broken.json', `${id25}.json`, `${id26}.json`].sort());
    expect(read(path.join(dir, `${id25}.json`))).toMatchObject({
      description: 'golden image v1',
      bootwarden: { importedFrom: ['baseline1'] },
    });
    expect(read(path.join(dir, `${id26}.json`))).toMatchObject({
      owner: 'sre',
      bootwarden: { importedFrom: ['baseline2', 'baseline2-copy'] },
    });

    const again = await bootwarden(['baselines', 'import', '--baselines', dir]);
    expect(again.stdout).toMatch(/broken\s+-\s+invalid/);
  });

  it('import --keep-originals keeps the tutorial documents', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'baseline1.json'), JSON.stringify(tutorialDoc(KERNEL_25)));
    const r = await bootwarden(['baselines', 'import', '--keep-originals', '--baselines', dir]);
    expect(r.code).toBe(0);
    expect(existsSync(path.join(dir, 'baseline1.json'))).toBe(true);
    expect(existsSync(path.join(dir, `${fingerprint(KERNEL_25)}.json`))).toBe(true);
  });

  it('works on a single JSON file store', async () => {
    const dir = tmp();
    const file = path.join(dir, 'baselines.json');
    writeFileSync(file, JSON.stringify({ baseline1: tutorialDoc(KERNEL_25) }));
    expect((await bootwarden(['baselines', 'import', '--baselines', file])).code).toBe(0);
    expect(Object.keys(read(file))).toEqual([fingerprint(KERNEL_25)]);
  });

  it.each([
    [['baselines'], 64, 'Usage: bootwarden baselines'],
    [['baselines', 'frobnicate', '--baselines', '.'], 64, 'unknown subcommand "frobnicate"'],
    [['baselines', 'show', '--baselines', '.'], 64, 'give exactly one document id'],
    [['baselines', 'show', '../etc/passwd', '--baselines', '.'], 64, 'must be 1-200 characters'],
    [['baselines', 'add', '--baselines', '.'], 64, '--from-entry <logentry.json> is required'],
  ])('%j exits %i with a clear message', async (args, code, message) => {
    const r = await bootwarden(args);
    expect(r.code).toBe(code);
    expect(r.stdout + r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('bootwarden', () => {
  it.each([
    [['--help'], 0, 'Usage: bootwarden <command>'],
    [[], 64, 'Usage: bootwarden <command>'],
    [['decide', '--help'], 0, 'Usage: bootwarden decide'],
    [['replay', '-h'], 0, 'Usage: bootwarden replay'],
    [['baselines', 'list', '--help'], 0, 'Usage: bootwarden baselines'],
    [['launch'], 64, 'unknown command "launch"'],
  ])('%j exits %i', async (args, code, text) => {
    const r = await bootwarden(args);
    expect(r.code).toBe(code);
    expect(r.stdout + r.stderr).toContain(text);
  });

  it('a directory given as input is rejected, not a crash', async () => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'b'));
    const r = await bootwarden(['decide', '--json', '--baselines', path.join(dir, 'b'), dir]);
    expect(r.code).toBe(2);
    expect(jsonLines(r.stdout)).toMatchObject([{ action: 'reject', error: { code: 'unreadable_input' } }]);
  });
});
