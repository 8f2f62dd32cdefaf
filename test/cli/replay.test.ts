import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baselineToDocument, newBaseline } from '../../core/baseline.js';
import type { InstanceRef } from '../../core/event.js';
import type { JsonObject } from '../../core/json.js';
import { fingerprint } from '../../core/measurements.js';
import { bootReportEntry, simpleEventEntry } from '../../devstack/entries.js';
import { bootwarden } from '../support/cli.js';
import { KERNEL_25, KERNEL_26, TAMPERED } from '../support/fixtures.js';
import { useTmpDirs } from '../support/tmp.js';

const tmp = useTmpDirs();
const vm = (n: number): InstanceRef => ({
  id: String(5_000_000_000_000_000_000n + BigInt(n)),
  project: 'acme-prod',
  zone: 'us-central1-a',
});

/** 40 VMs update their kernel (known-good), 3 boot something unknown, everyone logs a startup, plus 2 broken lines. */
function fleetExport(): JsonObject[] {
  const out: JsonObject[] = [];
  for (let i = 0; i < 40; i++) {
    out.push(simpleEventEntry('startupEvent', { instance: vm(i), bootCounter: 2 }));
    out.push(bootReportEntry('lateBootReportEvent', { instance: vm(i), bootCounter: 2, actual: KERNEL_26, policy: KERNEL_25 }));
  }
  for (let i = 0; i < 3; i++) {
    out.push(
      bootReportEntry('lateBootReportEvent', {
        instance: vm(i),
        bootCounter: 3,
        actual: TAMPERED,
        policy: KERNEL_26,
        timestamp: `2026-11-1${i}T00:00:00Z`,
      }),
    );
  }
  return out;
}

function setup(): { dir: string; baselines: string } {
  const dir = tmp();
  const baselines = path.join(dir, 'baselines');
  mkdirSync(baselines);
  const b = newBaseline(KERNEL_26, { addedBy: 'a', addedAt: 'b', sourceEntry: null, note: null });
  writeFileSync(path.join(baselines, `${b.id}.json`), JSON.stringify(baselineToDocument(b)));
  return { dir, baselines };
}

interface Report {
  entries: number;
  actions: Record<string, number>;
  rejectedByCode: Record<string, number>;
  stoppedInstances: { instance: InstanceRef; stops: number }[];
  unknownFingerprints: { fingerprint: string; instances: number; reports: number; pcrs: unknown[] }[];
}

describe('bootwarden replay', () => {
  it('reports what would happen to a gcloud JSON export', async () => {
    const { dir, baselines } = setup();
    const file = path.join(dir, 'export.json');
    writeFileSync(file, JSON.stringify(fleetExport(), null, 2));
    const r = await bootwarden(['replay', '--json', '--baselines', baselines, file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.entries).toBe(83);
    expect(report.actions).toEqual({ ignore: 40, relearn: 40, stop: 3, hold: 0, notify: 0, reject: 0 });
    expect(report.stoppedInstances.map((s) => s.instance.id)).toEqual([vm(0).id, vm(1).id, vm(2).id]);
    expect(report.unknownFingerprints).toEqual([
      expect.objectContaining({
        fingerprint: fingerprint(TAMPERED),
        instances: 3,
        reports: 3,
        pcrs: [{ pcrNum: 'PCR_4', changed: 3, added: 0, removed: 0 }],
      }),
    ]);
  });

  it("relearns against a tutorial user's documents (baseline1) as the function would", async () => {
    const dir = tmp();
    const baselines = path.join(dir, 'baselines');
    mkdirSync(baselines);
    writeFileSync(path.join(baselines, 'baseline1.json'), JSON.stringify(Object.fromEntries(KERNEL_26.map((m) => [m.pcrNum, m]))));
    const file = path.join(dir, 'export.json');
    writeFileSync(file, JSON.stringify(fleetExport()));
    const r = await bootwarden(['replay', '--json', '--baselines', baselines, file]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Report).actions).toEqual({ ignore: 40, relearn: 40, stop: 3, hold: 0, notify: 0, reject: 0 });
    expect(r.stderr).toContain('1 baseline document(s) in');
  });

  it("rejects as the function would: an entry dated after the machine's clock, a timestamp naming no instant; lastSeen by instant", async () => {
    const { dir, baselines } = setup();
    const file = path.join(dir, 'export.json');
    const unknown = (n: number, timestamp: string): JsonObject =>
      bootReportEntry('lateBootReportEvent', { instance: vm(n), bootCounter: 3, actual: TAMPERED, policy: KERNEL_26, timestamp });
    const month13 = unknown(9, '2026-11-01T00:00:00Z');
    month13['timestamp'] = '2099-13-01T00:00:00Z';
    writeFileSync(
      file,
      JSON.stringify([
        unknown(7, '2099-01-01T00:00:00.000000001Z'),
        month13,
        // 10:30+02:00 is 08:30Z: the earlier of the two, though later as text.
        unknown(8, '2026-11-01T09:00:00Z'),
        unknown(8, '2026-11-01T10:30:00+02:00'),
      ]),
    );
    const r = await bootwarden(['replay', '--json', '--baselines', baselines, file]);
    const report = JSON.parse(r.stdout) as Report & { unknownFingerprints: { firstSeen: string; lastSeen: string }[] };
    expect(report.rejectedByCode).toEqual({ invalid_timestamp: 1, timestamp_in_future: 1 });
    expect(report.actions).toMatchObject({ stop: 2, reject: 2 });
    expect(report.unknownFingerprints).toEqual([
      expect.objectContaining({ firstSeen: '2026-11-01T10:30:00+02:00', lastSeen: '2026-11-01T09:00:00Z' }),
    ]);
  });

  it('reads JSON Lines from stdin and counts broken lines as rejected', async () => {
    const { baselines } = setup();
    const lines = fleetExport().map((e) => JSON.stringify(e));
    lines.splice(5, 0, '{"broken": ', JSON.stringify({ insertId: 'x', logName: 'projects/acme-prod/logs/syslog' }));
    const r = await bootwarden(['replay', '--json', '--baselines', baselines, '-'], { stdin: lines.join('\n') + '\n' });
    const report = JSON.parse(r.stdout) as Report;
    expect(report.entries).toBe(85);
    expect(report.actions['reject']).toBe(2);
    expect(report.rejectedByCode).toEqual({ invalid_json: 1, wrong_log_name: 1 });
  });

  it('prints readable tables without --json', async () => {
    const { dir, baselines } = setup();
    const file = path.join(dir, 'export.jsonl');
    writeFileSync(
      file,
      fleetExport()
        .map((e) => JSON.stringify(e))
        .join('\n'),
    );
    const r = await bootwarden(['replay', '--baselines', baselines, '--top', '2', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Replayed 83 entries/);
    expect(r.stdout).toMatch(/relearn\s+40/);
    expect(r.stdout).toMatch(/Instances that would be stopped: 3/);
    expect(r.stdout).toContain('… 1 more (use --top or --json)');
    expect(r.stdout).toMatch(new RegExp(`${fingerprint(TAMPERED).slice(0, 12)}\\s+3\\s+3\\s+0\\s+PCR_4 changed \\(3\\)`));
  });

  describe("a rollout: the blast-radius guard, simulated on the entries' timestamps", () => {
    /** 12 VMs report one unknown kernel within an hour, newest first as `gcloud logging read` writes them; 2 more the next hour. */
    function rollout(): string {
      const entries = Array.from({ length: 14 }, (_, i) =>
        bootReportEntry('lateBootReportEvent', {
          instance: vm(100 + i),
          bootCounter: 9,
          actual: TAMPERED,
          policy: KERNEL_26,
          timestamp: i < 12 ? `2026-11-20T10:${String(59 - i * 4).padStart(2, '0')}:07.123456789Z` : `2026-11-20T11:0${i - 12}:00.5Z`,
          insertId: `rollout-${i}`,
        }),
      );
      const file = path.join(tmp(), 'rollout.json');
      writeFileSync(file, JSON.stringify(entries.reverse()));
      return file;
    }

    it('3 stops per fingerprint and hour by default: the rest would be held', async () => {
      const r = await bootwarden(['replay', '--json', '--baselines', setup().baselines, rollout()]);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as Report & { heldInstances: number; unknownFingerprints: { held: number }[] };
      expect(report.actions).toEqual({ ignore: 0, relearn: 0, stop: 5, hold: 9, notify: 0, reject: 0 });
      expect([report.stoppedInstances.length, report.heldInstances]).toEqual([5, 9]);
      expect(report.unknownFingerprints[0]).toMatchObject({ instances: 14, reports: 14, held: 9 });
    });

    it('with the limits of the deployment (BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT=5), as a table', async () => {
      const r = await bootwarden(['replay', '--baselines', setup().baselines, rollout()], {
        env: { BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT: '5' },
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/stop\s+7\n/);
      expect(r.stdout).toMatch(/hold \(blast-radius guard\)\s+7\n/);
      expect(r.stdout).toContain('Instances that would be held (kept running by the blast-radius guard): 7\n');
    });

    it('a limit that is not a number is named', async () => {
      const r = await bootwarden(['replay', '--baselines', setup().baselines, rollout()], { env: { BOOTWARDEN_MAX_STOPS: 'lots' } });
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe('bootwarden: BOOTWARDEN_MAX_STOPS must be a whole number from 0 to 500, got "lots"');
    });
  });

  it.each([
    [[], 'give exactly one export file'],
    [['--top', 'x', 'f'], '--top must be a whole number'],
    [['/nonexistent-export.json'], 'cannot read /nonexistent-export.json'],
  ])('replay %j fails with one clear line', async (args, message) => {
    const r = await bootwarden(['replay', '--baselines', setup().baselines, ...args]);
    expect(r.code === 1 || r.code === 64).toBe(true);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
