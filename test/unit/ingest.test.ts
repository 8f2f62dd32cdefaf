import { describe, expect, it } from 'vitest';
import { newBaseline } from '../../core/baseline.js';
import { MAX_ARGUMENT_BYTES } from '../../core/contracts.js';
import { BootwardenError } from '../../core/errors.js';
import { KNOWN_EVENT_KINDS } from '../../core/event.js';
import { ingest, type IngestDeps, type IngestSettings } from '../../core/ingest.js';
import type { JsonObject } from '../../core/json.js';
import { fingerprint } from '../../core/measurements.js';
import { bootReportEntry, eventarcBody, simpleEventEntry } from '../../devstack/entries.js';
import { edited, failedLateBoot, KERNEL_25, KERNEL_26, LINUX_VM, TAMPERED } from '../support/fixtures.js';
import {
  MemoryBaselines,
  MemoryInstances,
  MemoryLedger,
  MemoryRejected,
  RecordingLogger,
  RecordingStarter,
} from '../support/memory-ports.js';

const SETTINGS: IngestSettings = {
  dryRun: false,
  stopOnEarlyBootFailure: false,
  allowedProjects: null,
  claimLeaseMs: 60_000,
  waitForOwnerMs: 1_000,
  pollMs: 100,
  collections: { baselines: 'known_good_measurements', events: 'bootwarden_events', instances: 'bootwarden_instances' },
};

/** Ports as in-memory fakes; a fake clock that `sleep` advances (never the current date). */
function world(settings: Partial<IngestSettings> = {}) {
  let clock = Date.parse('2026-11-29T00:00:00Z');
  const parts = {
    baselines: new MemoryBaselines(newBaseline(KERNEL_26, { addedBy: 'a', addedAt: 'b', sourceEntry: null, note: null })),
    ledger: new MemoryLedger(),
    instances: new MemoryInstances(),
    rejected: new MemoryRejected(),
    starter: new RecordingStarter(),
    logger: new RecordingLogger(),
  };
  const deps: IngestDeps = {
    ...parts,
    now: () => new Date(clock),
    sleep: (ms) => {
      clock += ms;
      return new Promise((r) => setImmediate(r));
    },
  };
  return {
    ...parts,
    deps,
    settings: { ...SETTINGS, ...settings },
    advance: (ms: number) => (clock += ms),
    run: (input: JsonObject | string) => ingest(input, deps, { ...SETTINGS, ...settings }),
  };
}

const unknownEntry = (bootCounter: number | string = 7): JsonObject =>
  bootReportEntry('lateBootReportEvent', { instance: LINUX_VM, bootCounter, actual: TAMPERED, policy: KERNEL_26 });

describe('ingest', () => {
  it('known-good: starts one relearn execution with the contract as argument', async () => {
    const w = world();
    const r = await w.run(eventarcBody(failedLateBoot(), 'm1'));
    expect(r).toMatchObject({ status: 'decided', decision: { action: 'relearn' } });
    expect(w.starter.started).toHaveLength(1);
    const { argument, labels } = w.starter.started[0]!;
    // Known answers, computed outside bootwarden: sha256 of logName, insertId and timestamp (one per
    // line) for the event key; for a requestId, the UUID made of sha256("bootwarden-request\n" +
    // eventKey + "\n" + action) (version 8, RFC 9562 variant).
    const eventKey = '0e6da089bddaf525f71bd1bb8a53ee69bb78809bfb6a7e84d8e3e7aac2836e1f';
    expect(argument).toMatchObject({
      version: 1,
      eventKey,
      messageId: 'm1',
      instance: LINUX_VM,
      bootCounter: '7',
      decision: { action: 'relearn', reasonCode: 'known_good', dryRun: false },
      fingerprint: fingerprint(KERNEL_26),
      baselineId: fingerprint(KERNEL_26),
      requestId: 'eb2a80a7-2f0a-86bb-b201-17e0ec8e1030',
      startRequestId: 'fc95e540-27d7-8c0f-bb13-7970b46e76f1',
      // The workflow writes its audit record to the event's ledger document, and treats the
      // event as stale when the next boot of the VM is recorded.
      documents: {
        event: `bootwarden_events/${eventKey}`,
        nextBoot: `bootwarden_instances/${LINUX_VM.project}:${LINUX_VM.zone}:${LINUX_VM.id}/boots/00000000000000000008`,
      },
      baselineDocument: null,
    });
    expect(labels).toEqual({
      app: 'bootwarden',
      event: eventKey.slice(0, 63),
      'instance-id': LINUX_VM.id,
      action: 'relearn',
      fingerprint: fingerprint(KERNEL_26).slice(0, 16),
    });
    expect(w.ledger.events.get(eventKey)).toMatchObject({ state: 'done', outcome: 'decided', executionName: w.starter.started[0]!.name });
    expect(w.baselines.gets).toEqual([fingerprint(KERNEL_26)]);
  });

  it('unknown: starts a stop execution carrying the Firestore-ready baseline to promote', async () => {
    const w = world();
    await w.run(unknownEntry());
    const { argument } = w.starter.started[0]!;
    expect(argument.decision.action).toBe('stop');
    expect(argument.baselineDocument).toMatchObject({
      collection: 'known_good_measurements',
      documentId: fingerprint(TAMPERED),
      fields: { PCR_4: { mapValue: { fields: { pcrNum: { stringValue: 'PCR_4' }, hashAlgo: { stringValue: 'SHA256' } } } } },
    });
    expect(argument.diff?.changed.map((c) => c.pcrNum)).toEqual(['PCR_4']);
    expect(Buffer.byteLength(JSON.stringify(argument))).toBeLessThan(MAX_ARGUMENT_BYTES);
  });

  it('dry-run starts a notify execution', async () => {
    const w = world({ dryRun: true });
    await w.run(unknownEntry());
    expect(w.starter.started[0]?.labels['action']).toBe('notify-stop');
    expect(w.starter.started[0]?.argument.decision).toMatchObject({ action: 'notify', intendedAction: 'stop', dryRun: true });
  });

  it.each([...KNOWN_EVENT_KINDS.filter((k) => !k.endsWith('BootReportEvent')), 'someFutureEvent'])('%s starts nothing', async (kind) => {
    const w = world();
    const r = await w.run(simpleEventEntry(kind, { instance: LINUX_VM, bootCounter: 3 }));
    expect(r).toMatchObject({ status: 'decided', decision: { action: 'ignore' } });
    expect(w.starter.started).toEqual([]);
  });

  it('a report that passes starts nothing', async () => {
    const w = world();
    await w.run(bootReportEntry('lateBootReportEvent', { instance: LINUX_VM, bootCounter: 3, actual: KERNEL_25, policy: KERNEL_25 }));
    expect(w.starter.started).toEqual([]);
  });

  it('a redelivered message starts one execution', async () => {
    const w = world();
    const body = eventarcBody(unknownEntry(), 'm1');
    expect((await w.run(body)).status).toBe('decided');
    expect(await w.run(body)).toMatchObject({ status: 'duplicate', executionName: w.starter.started[0]?.name });
    expect(w.starter.started).toHaveLength(1);
    expect([...w.ledger.deliveries.keys()]).toEqual(['m1']);
  });

  it('the same log entry in two messages starts one execution', async () => {
    const w = world();
    await w.run(eventarcBody(unknownEntry(), 'm1'));
    expect((await w.run(eventarcBody(unknownEntry(), 'm2'))).status).toBe('duplicate');
    expect(w.starter.started).toHaveLength(1);
    expect([...w.ledger.deliveries.keys()]).toEqual(['m1', 'm2']);
  });

  it('50 concurrent deliveries of one message start one execution', async () => {
    const w = world({ pollMs: 5, waitForOwnerMs: 5_000 });
    const body = eventarcBody(unknownEntry(), 'm1');
    const results = await Promise.all(Array.from({ length: 50 }, () => w.run(body)));
    expect(results.filter((r) => r.status === 'decided')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'duplicate')).toHaveLength(49);
    expect(w.starter.started).toHaveLength(1);
  });

  it('drops a stale report: the VM has booted again since', async () => {
    const w = world();
    await w.run(simpleEventEntry('startupEvent', { instance: LINUX_VM, bootCounter: 9 }));
    const r = await w.run(unknownEntry(8));
    expect(r).toEqual({ status: 'stale', eventKey: expect.any(String), bootCounter: '8', latestBoot: '9' });
    expect(w.starter.started).toEqual([]);
  });

  it.each([
    ['10', '9'],
    ['100', '99'],
    ['18446744073709551615', '18446744073709551614'],
  ])('boot %s after boot %s is not stale: boot counters compare as numbers, not text', async (later, earlier) => {
    const w = world();
    await w.run(simpleEventEntry('startupEvent', { instance: LINUX_VM, bootCounter: earlier }));
    const r = await w.run(unknownEntry(later));
    expect(r).toMatchObject({ status: 'decided', decision: { action: 'stop' } });
    expect(w.starter.started).toHaveLength(1);
  });

  it.each([
    ['9', '10'],
    ['99', '100'],
    ['18446744073709551614', '18446744073709551615'],
  ])('boot %s after boot %s is stale: boot counters compare as numbers, not text', async (earlier, later) => {
    const w = world();
    await w.run(simpleEventEntry('startupEvent', { instance: LINUX_VM, bootCounter: later }));
    const r = await w.run(unknownEntry(earlier));
    expect(r).toEqual({ status: 'stale', eventKey: expect.any(String), bootCounter: earlier, latestBoot: later });
    expect(w.starter.started).toEqual([]);
  });

  it('Firestore down: throws a retryable error, and the redelivery succeeds once', async () => {
    const w = world();
    w.ledger.down = true;
    const body = eventarcBody(unknownEntry(), 'm1');
    await expect(w.run(body)).rejects.toMatchObject({ code: 'store_unavailable', retryable: true });
    w.ledger.down = false;
    expect((await w.run(body)).status).toBe('decided');
    expect((await w.run(body)).status).toBe('duplicate');
    expect(w.starter.started).toHaveLength(1);
  });

  it('Workflows down after the claim: redelivery waits for the lease, then takes over and starts once', async () => {
    const w = world();
    const body = eventarcBody(unknownEntry(), 'm1');
    w.starter.failNext = new BootwardenError('store_unavailable', 'Workflows 503', { retryable: true });
    await expect(w.run(body)).rejects.toMatchObject({ retryable: true });
    // Within the lease: the claim may still be alive, so ask for redelivery later.
    await expect(w.run(body)).rejects.toMatchObject({ code: 'event_in_progress', retryable: true });
    w.advance(SETTINGS.claimLeaseMs);
    expect((await w.run(body)).status).toBe('decided');
    expect(w.starter.lookups).toHaveLength(1);
    expect(w.starter.started).toHaveLength(1);
  });

  it('a crash after the execution started: the successor adopts it instead of starting another', async () => {
    const w = world();
    const body = eventarcBody(unknownEntry(), 'm1');
    const complete = w.ledger.completeEvent.bind(w.ledger);
    w.ledger.completeEvent = () => Promise.reject(new BootwardenError('store_unavailable', 'lost', { retryable: true }));
    await expect(w.run(body)).rejects.toMatchObject({ retryable: true });
    w.ledger.completeEvent = complete;
    w.advance(SETTINGS.claimLeaseMs + 1);
    const r = await w.run(body);
    expect(r).toMatchObject({ status: 'decided', executionName: w.starter.started[0]?.name });
    expect(w.starter.started).toHaveLength(1);
  });

  it.each([
    ['not JSON', '{"message": '],
    ['bad base64', JSON.stringify({ message: { messageId: 'm9', data: '!!!!' }, subscription: 's' })],
    [
      'wrong @type',
      JSON.stringify(
        eventarcBody(
          edited(failedLateBoot(), (e) => (e.jsonPayload['@type'] = 'x')),
          'm9',
        ),
      ),
    ],
    [
      'duplicate PCR',
      JSON.stringify(
        eventarcBody(
          edited(failedLateBoot(), (e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[1].pcrNum = 'PCR_0')),
          'm9',
        ),
      ),
    ],
  ])('bad input (%s) is recorded once, logged, acknowledged, and starts nothing', async (_name, text) => {
    const w = world();
    const r = await w.run(text);
    const again = await w.run(text);
    expect(r.status).toBe('rejected');
    expect(again.status).toBe('rejected');
    expect(w.rejected.records.size).toBe(1);
    const [record] = [...w.rejected.records.values()];
    expect(record?.raw).toBe(text);
    expect(w.logger.lines.filter((l) => l.severity === 'ERROR')[0]?.fields).toHaveProperty('code');
    expect(w.starter.started).toEqual([]);
  });

  it('keeps at most 16 KiB of a rejected payload', async () => {
    const w = world();
    await w.run(JSON.stringify({ nonsense: 'x'.repeat(100_000) }));
    const [record] = [...w.rejected.records.values()];
    expect(record).toMatchObject({ truncated: true, rawBytes: 100_015 });
    expect(record?.raw.length).toBe(16 * 1024);
  });

  it('rejects events of projects that are not allowed', async () => {
    const w = world({ allowedProjects: ['other-project'] });
    const r = await w.run(unknownEntry());
    expect(r).toMatchObject({ status: 'rejected', rejection: { code: 'project_not_allowed' } });
    expect(w.starter.started).toEqual([]);
  });
});
