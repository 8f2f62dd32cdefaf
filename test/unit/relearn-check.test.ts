import { describe, expect, it } from 'vitest';
import { newBaseline } from '../../core/baseline.js';
import { ingest, type IngestDeps } from '../../core/ingest.js';
import type { JsonObject, JsonValue } from '../../core/json.js';
import { fingerprint, type Measurement } from '../../core/measurements.js';
import { relearnRecordFrom } from '../../core/relearn-check.js';
import { bootReportEntry } from '../../devstack/entries.js';
import { KERNEL_25, KERNEL_26, LINUX_VM, TAMPERED } from '../support/fixtures.js';
import { INGEST_SETTINGS, memoryPorts, RecordingLogger } from '../support/memory-ports.js';

/** The `relearned` field as the workflow writes it (read back as JSON). */
function written(ms: readonly Measurement[], bootCounter = '7', fp = fingerprint(ms)): JsonObject {
  const pcrs: JsonObject = {};
  for (const m of ms) pcrs[m.pcrNum] = { hashAlgo: m.hashAlgo, pcrNum: m.pcrNum, value: m.value };
  return {
    fingerprint: fp,
    bootCounter,
    eventKey: 'e'.repeat(64),
    execution: 'projects/p/locations/l/workflows/w/executions/x',
    at: '2026-11-29T00:00:01.000Z',
    pcrs,
  };
}

describe('relearnRecordFrom', () => {
  it('reads what the workflow wrote', () => {
    expect(relearnRecordFrom(written(KERNEL_26))).toMatchObject({
      fingerprint: fingerprint(KERNEL_26),
      bootCounter: '7',
      eventKey: 'e'.repeat(64),
      at: '2026-11-29T00:00:01.000Z',
      execution: 'projects/p/locations/l/workflows/w/executions/x',
      measurements: expect.arrayContaining(
        KERNEL_26.map((m) => expect.objectContaining({ pcrNum: m.pcrNum, value: m.value }) as unknown),
      ) as unknown,
    });
  });

  it('the audit fields are optional: what is checked is the fingerprint, the boot and the PCRs', () => {
    const bare = written(KERNEL_26);
    for (const k of ['eventKey', 'execution', 'at']) delete bare[k];
    expect(relearnRecordFrom(bare)).toMatchObject({ eventKey: '', execution: '', at: '', bootCounter: '7' });
  });

  it.each([
    ['nothing relearned yet', undefined, null],
    ['null', null, null],
    ['not a map', 'x', 'the relearned field is not a map'],
    ['no fingerprint', { ...written(KERNEL_26), fingerprint: 7 }, 'relearned.fingerprint is not a fingerprint'],
    ['a boot counter that is not one', { ...written(KERNEL_26), bootCounter: '-1' }, 'relearned.bootCounter is not a boot counter'],
    ['no PCRs', { ...written(KERNEL_26), pcrs: {} }, 'baseline relearned.pcrs has no PCR_n fields'],
    [
      'PCRs of another fingerprint',
      written(KERNEL_26, '7', fingerprint(TAMPERED)),
      'relearned.pcrs are not the measurements of relearned.fingerprint',
    ],
  ] as [string, JsonValue | undefined, string | null][])('%s → %s', (_name, raw, expected) => {
    expect(relearnRecordFrom(raw)).toBe(expected);
  });
});

describe('ingest checks passing late-boot reports against the last relearn', () => {
  function world(relearned?: JsonValue) {
    const parts = {
      ...memoryPorts(newBaseline(KERNEL_26, { addedBy: 'a', addedAt: 'b', sourceEntry: null, note: null })),
      logger: new RecordingLogger(),
    };
    if (relearned !== undefined) parts.instances.relearned.set(`${LINUX_VM.project}/${LINUX_VM.zone}/${LINUX_VM.id}`, relearned);
    const deps: IngestDeps = { ...parts, now: () => new Date('2026-11-29T00:00:00Z'), sleep: () => Promise.resolve() };
    return { ...parts, run: (entry: JsonObject) => ingest(entry, deps, INGEST_SETTINGS) };
  }
  const passing = (bootCounter: number, ms: readonly Measurement[]) =>
    bootReportEntry('lateBootReportEvent', {
      instance: LINUX_VM,
      bootCounter,
      actual: ms,
      policy: ms,
      timestamp: '2026-11-28T23:59:00.123456789Z',
    });

  it('a failed report, or a passing early-boot report, never reads the record (one read less per event)', async () => {
    const w = world(written(KERNEL_26));
    await w.run(bootReportEntry('lateBootReportEvent', { instance: LINUX_VM, bootCounter: 8, actual: TAMPERED, policy: KERNEL_26 }));
    await w.run(bootReportEntry('earlyBootReportEvent', { instance: LINUX_VM, bootCounter: 9, actual: TAMPERED, policy: TAMPERED }));
    expect(w.instances.relearnRecords).toBe(0);
  });

  it('the relearned measurements on a later boot: verified (INFO), ignored', async () => {
    const w = world(written(KERNEL_26));
    const r = await w.run(passing(8, KERNEL_26));
    expect(r).toMatchObject({ status: 'decided', decision: { action: 'ignore', reasonCode: 'policy_passed' } });
    expect(w.instances.relearnRecords).toBe(1);
    expect(w.starter.started).toEqual([]);
    expect(w.logger.lines.map((l) => [l.severity, l.message])).toContainEqual([
      'INFO',
      `relearn verified: instance ${LINUX_VM.id} booted with the measurements relearned at boot 7`,
    ]);
    expect(w.logger.lines.find((l) => l.message.startsWith('relearn verified'))?.fields).toMatchObject({
      instanceId: LINUX_VM.id,
      project: LINUX_VM.project,
      bootCounter: '8',
      relearn: { fingerprint: fingerprint(KERNEL_26), bootCounter: '7', eventKey: 'e'.repeat(64) },
    });
  });

  it('unknown measurements on a later boot: a stop (relearn_mismatch) whose diff is taken against what was relearned', async () => {
    const w = world(written(KERNEL_26));
    const r = await w.run(passing(8, TAMPERED));
    expect(r).toMatchObject({
      status: 'decided',
      decision: { action: 'stop', intendedAction: 'stop', reasonCode: 'relearn_mismatch', baselineId: null },
    });
    const { argument } = w.starter.started[0]!;
    expect(argument.decision.reason).toBe(
      `boot 8 passed its integrity policy with measurements ${fingerprint(TAMPERED).slice(0, 12)}…, not the ${fingerprint(KERNEL_26).slice(0, 12)}… relearned at boot 7 (PCR_4 changed): the relearn blessed a boot nobody approved`,
    );
    expect(argument.diff?.changed.map((c) => [c.pcrNum, c.from.value, c.to.value])).toEqual([
      ['PCR_4', KERNEL_26.find((m) => m.pcrNum === 'PCR_4')!.value, TAMPERED.find((m) => m.pcrNum === 'PCR_4')!.value],
    ]);
    // Approving it promotes the measurements it booted with.
    expect(argument.promotion).not.toBeNull();
    const alarm = w.logger.lines.find((l) => l.severity === 'ERROR');
    expect(alarm?.message).toBe(`relearn mismatch on instance ${LINUX_VM.id}: ${argument.decision.reason}`);
    expect(alarm?.fields).toMatchObject({
      code: 'relearn_mismatch',
      instanceId: LINUX_VM.id,
      relearn: { bootCounter: '7', execution: 'projects/p/locations/l/workflows/w/executions/x' },
    });
  });

  it('the mismatch goes through the blast-radius guard like any stop', async () => {
    const w = world(written(KERNEL_26));
    const r = await ingest(
      passing(8, TAMPERED),
      { ...w, now: () => new Date('2026-11-29T00:00:00Z'), sleep: () => Promise.resolve() },
      {
        ...INGEST_SETTINGS,
        blastRadius: { ...INGEST_SETTINGS.blastRadius, perFingerprint: 0 },
      },
    );
    expect(r).toMatchObject({ status: 'decided', decision: { action: 'hold', intendedAction: 'stop', reasonCode: 'relearn_mismatch' } });
  });

  it('another known-good baseline on a later boot: a warning, ignored', async () => {
    const w = world(written(KERNEL_25));
    const r = await w.run(passing(8, KERNEL_26));
    expect(r).toMatchObject({ status: 'decided', decision: { action: 'ignore', reasonCode: 'policy_passed' } });
    expect(w.starter.started).toEqual([]);
    expect(w.logger.lines.find((l) => l.severity === 'WARNING')?.message).toMatch(/they are known-good baseline [0-9a-f]{64}$/);
    expect(w.logger.lines.find((l) => l.severity === 'WARNING')?.fields).toMatchObject({
      instanceId: LINUX_VM.id,
      relearn: { fingerprint: fingerprint(KERNEL_25) },
    });
  });

  it('in dry-run a mismatch is a notify naming what would be done, and another known-good baseline stays a plain ignore', async () => {
    const dry = { ...INGEST_SETTINGS, dryRun: true };
    const w = world(written(KERNEL_26));
    const deps = { ...w, now: () => new Date('2026-11-29T00:00:00Z'), sleep: () => Promise.resolve() };
    expect(await ingest(passing(8, TAMPERED), deps, dry)).toMatchObject({
      decision: {
        action: 'notify',
        intendedAction: 'stop',
        reasonCode: 'relearn_mismatch',
        dryRun: true,
        reason: expect.stringMatching(/^dry-run, would stop: boot 8 passed/) as unknown,
      },
    });
    const v = world(written(KERNEL_25));
    const vdeps = { ...v, now: () => new Date('2026-11-29T00:00:00Z'), sleep: () => Promise.resolve() };
    expect(await ingest(passing(8, KERNEL_26), vdeps, dry)).toMatchObject({ decision: { action: 'ignore', dryRun: false } });
  });

  // A counter is a claim: a forged report of boot 106 after the relearn must not make the genuine
  // boot 8 with a rootkit skip the check (it is stale against 106, and still checked).
  it.each([
    ['the relearned boot', '8', []],
    ['an earlier boot', '9', []],
    ['a stale boot (a forged boot 106 was recorded)', '7', [106]],
  ])('a passing report of %s is checked all the same: relearn_mismatch stop', async (_, relearnedBoot, forged) => {
    const w = world(written(KERNEL_26, relearnedBoot));
    for (const boot of forged) await w.run(passing(boot, KERNEL_26));
    expect(await w.run(passing(8, TAMPERED))).toMatchObject({
      status: 'decided',
      decision: { action: 'stop', reasonCode: 'relearn_mismatch', fingerprint: fingerprint(TAMPERED) },
    });
    expect(w.starter.started.map((s) => s.labels['action'])).toEqual(['stop']);
  });

  it('a record that cannot be read: an ERROR naming why, the report is decided as before', async () => {
    const w = world({ fingerprint: 'x' });
    expect(await w.run(passing(8, TAMPERED))).toMatchObject({ decision: { action: 'ignore', reasonCode: 'policy_passed' } });
    expect(w.logger.lines.find((l) => l.severity === 'ERROR')?.message).toBe(
      `cannot check the last relearn of instance ${LINUX_VM.id}: relearned.fingerprint is not a fingerprint`,
    );
  });
});
