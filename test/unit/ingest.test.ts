import { describe, expect, it } from 'vitest';
import { newBaseline } from '../../core/baseline.js';
import { computeRequestId, MAX_ARGUMENT_BYTES } from '../../core/contracts.js';
import { BootwardenError } from '../../core/errors.js';
import { KNOWN_EVENT_KINDS } from '../../core/event.js';
import { ingest, type IngestDeps, type IngestSettings } from '../../core/ingest.js';
import type { JsonObject } from '../../core/json.js';
import { fingerprint } from '../../core/measurements.js';
import { bootReportEntry, eventarcBody, measure, simpleEventEntry } from '../../devstack/entries.js';
import { edited, failedLateBoot, KERNEL_25, KERNEL_26, LINUX_VM, TAMPERED } from '../support/fixtures.js';
import { INGEST_SETTINGS, memoryPorts, RecordingLogger } from '../support/memory-ports.js';

/** Ports as in-memory fakes; a fake clock that `sleep` advances (never the current date). */
function world(settings: Partial<IngestSettings> = {}) {
  let clock = Date.parse('2026-11-29T00:00:00Z');
  const parts = {
    ...memoryPorts(newBaseline(KERNEL_26, { addedBy: 'a', addedAt: 'b', sourceEntry: null, note: null })),
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
    settings: { ...INGEST_SETTINGS, ...settings },
    advance: (ms: number) => (clock += ms),
    run: (input: JsonObject | string) => ingest(input, deps, { ...INGEST_SETTINGS, ...settings }),
  };
}

/** A passing early-boot report: the VM booted (boots are recorded from boot reports only). */
const earlyBoot = (bootCounter: number | string): JsonObject =>
  bootReportEntry('earlyBootReportEvent', { instance: LINUX_VM, bootCounter, actual: KERNEL_26, policy: KERNEL_26 });

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
      // The workflow finds the documents in its own configuration, and refuses other collections;
      // it treats the event as stale when the VM's next boot is recorded.
      collections: { prefix: 'bootwarden_', baselines: 'known_good_measurements' },
      nextBoot: '00000000000000000008',
      promotion: null,
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
    expect(argument.fingerprint).toBe(fingerprint(TAMPERED));
    expect(argument.pcrFields).toMatchObject({
      PCR_4: { mapValue: { fields: { pcrNum: { stringValue: 'PCR_4' }, hashAlgo: { stringValue: 'SHA256' } } } },
    });
    expect(argument.promotion?.metadata).toMatchObject({ mapValue: { fields: { fingerprint: { stringValue: fingerprint(TAMPERED) } } } });
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
    // The VM's last decision stays the one on its last boot report (a stop is not hidden by its shutdown).
    expect(w.instances.decisions).toEqual([]);
  });

  it("a boot report's decision is the VM's last decision", async () => {
    const w = world();
    await w.run(bootReportEntry('lateBootReportEvent', { instance: LINUX_VM, bootCounter: 3, actual: KERNEL_25, policy: KERNEL_25 }));
    expect(w.instances.decisions.map((d) => [d.instance.id, d.summary.action, d.summary.bootCounter])).toEqual([
      [LINUX_VM.id, 'ignore', '3'],
    ]);
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

  it('drops a stale known-good report (never relearned): the VM has booted again since', async () => {
    const w = world();
    await w.run(earlyBoot(9));
    const r = await w.run(failedLateBoot({ bootCounter: 8 }));
    expect(r).toEqual({ status: 'stale', eventKey: expect.any(String), bootCounter: '8', latestBoot: '9' });
    expect(w.starter.started).toEqual([]);
  });

  it.each([
    ['10', '9'],
    ['100', '99'],
    ['18446744073709551615', '18446744073709551614'],
  ])('boot %s after boot %s is not stale: boot counters compare as numbers, not text', async (later, earlier) => {
    const w = world();
    await w.run(earlyBoot(earlier));
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
    await w.run(earlyBoot(later));
    const r = await w.run(failedLateBoot({ bootCounter: earlier }));
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
    w.advance(INGEST_SETTINGS.claimLeaseMs);
    expect((await w.run(body)).status).toBe('decided');
    // The lookup covers every execution since the first claim (the world's clock at the first run).
    expect(w.starter.lookups).toEqual([{ label: expect.any(String) as string, startedSince: '2026-11-29T00:00:00.000Z' }]);
    expect(w.starter.started).toHaveLength(1);
  });

  it('a second takeover still looks up executions from the first claim on, not from its predecessor', async () => {
    const w = world();
    const body = eventarcBody(unknownEntry(), 'm1');
    const complete = w.ledger.completeEvent.bind(w.ledger);
    w.ledger.completeEvent = () => Promise.reject(new BootwardenError('store_unavailable', 'lost', { retryable: true }));
    await expect(w.run(body)).rejects.toMatchObject({ retryable: true });
    w.advance(INGEST_SETTINGS.claimLeaseMs + 1);
    await expect(w.run(body)).rejects.toMatchObject({ retryable: true });
    w.ledger.completeEvent = complete;
    w.advance(INGEST_SETTINGS.claimLeaseMs + 1);
    expect(await w.run(body)).toMatchObject({ status: 'decided', executionName: w.starter.started[0]?.name });
    expect(w.starter.lookups.map((l) => l.startedSince)).toEqual(['2026-11-29T00:00:00.000Z', '2026-11-29T00:00:00.000Z']);
    expect(w.starter.started).toHaveLength(1);
  });

  it('a crash after the execution started: the successor adopts it instead of starting another', async () => {
    const w = world();
    const body = eventarcBody(unknownEntry(), 'm1');
    const complete = w.ledger.completeEvent.bind(w.ledger);
    w.ledger.completeEvent = () => Promise.reject(new BootwardenError('store_unavailable', 'lost', { retryable: true }));
    await expect(w.run(body)).rejects.toMatchObject({ retryable: true });
    w.ledger.completeEvent = complete;
    w.advance(INGEST_SETTINGS.claimLeaseMs + 1);
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

  describe("only the log sink's events are acted on", () => {
    const TOPIC = 'projects/acme-sec/topics/shielded-vm-integrity';
    const SINK = { type: 'google.cloud.pubsub.topic.v1.messagePublished', source: `//pubsub.googleapis.com/${TOPIC}` };
    it.each([
      [
        'another CloudEvent type',
        { ...SINK, type: 'google.cloud.storage.object.v1.finalized' },
        TOPIC,
        'unexpected_event_type',
        'the CloudEvent type is "google.cloud.storage.object.v1.finalized", not google.cloud.pubsub.topic.v1.messagePublished',
      ],
      [
        'an empty type',
        { ...SINK, type: '' },
        null,
        'unexpected_event_type',
        'the CloudEvent type is "", not google.cloud.pubsub.topic.v1.messagePublished',
      ],
      [
        'another topic',
        { ...SINK, source: '//pubsub.googleapis.com/projects/attacker/topics/forged' },
        TOPIC,
        'unexpected_source',
        `the CloudEvent source is "//pubsub.googleapis.com/projects/attacker/topics/forged", not the log sink's topic //pubsub.googleapis.com/${TOPIC} (BOOTWARDEN_SOURCE_TOPIC)`,
      ],
    ])('%s: rejected with a code, recorded, nothing started', async (_what, ce, topic, code, message) => {
      const w = world({ sourceTopic: topic });
      const r = await ingest(eventarcBody(failedLateBoot(), 'm-src'), w.deps, w.settings, ce);
      expect(r).toEqual({
        status: 'rejected',
        rejection: { code, message, field: code === 'unexpected_event_type' ? 'ce-type' : 'ce-source' },
        context: expect.objectContaining({ messageId: 'm-src', instanceId: LINUX_VM.id }) as unknown,
        recordId: 'msg-633eb8a90bbfa481113bc55f01dcd2bead3fd148efa9eabcc7a2adc6aab6c34e',
      });
      expect(w.starter.started).toEqual([]);
      expect([...w.rejected.records.keys()]).toEqual(['msg-633eb8a90bbfa481113bc55f01dcd2bead3fd148efa9eabcc7a2adc6aab6c34e']);
    });

    it.each([
      ["the sink's topic", TOPIC],
      ['any topic when none is configured', null],
    ])('%s: acted on', async (_what, topic) => {
      const w = world({ sourceTopic: topic });
      const r = await ingest(eventarcBody(failedLateBoot(), 'm-ok'), w.deps, w.settings, SINK);
      expect(r).toMatchObject({ status: 'decided', decision: { action: 'relearn' } });
    });
  });

  it('rejects events of projects that are not allowed', async () => {
    const w = world({ allowedProjects: ['other-project'] });
    const r = await w.run(unknownEntry());
    expect(r).toMatchObject({ status: 'rejected', rejection: { code: 'project_not_allowed' } });
    expect(w.starter.started).toEqual([]);
  });
});

describe('what the platform does not vouch for (issue 14)', () => {
  it('a forged startupEvent at boot 2^64-1 records no boot: the genuine failed report after it is still stopped', async () => {
    const w = world();
    const forged = await w.run(simpleEventEntry('startupEvent', { instance: LINUX_VM, bootCounter: '18446744073709551615' }));
    expect(forged).toMatchObject({ status: 'decided', decision: { action: 'ignore' } });
    expect(w.instances.boots.size).toBe(0);
    expect(await w.run(unknownEntry(8))).toMatchObject({ status: 'decided', decision: { action: 'stop' } });
  });

  it('a failed report 101 boots after the last recorded is stopped, not recorded as a boot, and alerted on', async () => {
    const w = world();
    await w.run(earlyBoot(7));
    const r = await w.run(eventarcBody(unknownEntry(108), 'm-jump'));
    expect(r).toMatchObject({ status: 'decided', decision: { action: 'stop', reasonCode: 'unknown_measurements' } });
    expect([...(w.instances.boots.values().next().value ?? [])]).toEqual(['7']);
    const anomaly = { kind: 'jump', bootCounter: '108', latestBoot: '7', eventKey: r.status === 'decided' ? r.eventKey : '' };
    expect(w.instances.anomalies.map((a) => a.anomaly)).toEqual([{ ...anomaly, at: '2026-11-29T00:00:00.000Z' }]);
    expect(w.ledger.events.get(anomaly.eventKey)).toMatchObject({ outcome: 'decided', counterAnomaly: anomaly });
    expect(w.logger.lines.filter((l) => l.severity === 'ERROR').map((l) => l.fields?.['alert'])).toEqual(['possible_forged_entry']);
    expect(w.starter.started.map((s) => s.labels['action'])).toEqual(['stop']);
  });

  it('a known-good report 101 boots after the last recorded is rejected (never relearned) and not recorded; 100 after is a boot', async () => {
    const w = world();
    await w.run(earlyBoot(7));
    const r = await w.run(eventarcBody(failedLateBoot({ bootCounter: 108 }), 'm-jump'));
    expect(r).toMatchObject({
      status: 'rejected',
      rejection: {
        code: 'implausible_boot_counter',
        message: `bootCounter 108 is more than 100 boots after the last one recorded for instance ${LINUX_VM.id} (7): not recorded (BOOTWARDEN_MAX_BOOT_COUNTER_JUMP)`,
        field: 'jsonPayload.bootCounter',
      },
    });
    expect([...(w.instances.boots.values().next().value ?? [])]).toEqual(['7']);
    expect(w.logger.lines.filter((l) => l.severity === 'ERROR').map((l) => l.fields?.['alert'] ?? l.fields?.['code'])).toEqual([
      'possible_forged_entry',
      'implausible_boot_counter',
    ]);
    expect(w.starter.started).toEqual([]);
    expect(await w.run(failedLateBoot({ bootCounter: 107 }))).toMatchObject({ status: 'decided', decision: { action: 'relearn' } });
  });

  it('an entry logged in the future (more than 60 s ahead of the clock) is rejected', async () => {
    const w = world();
    // The world's clock: 2026-11-29T00:00:00Z.
    const ahead = (timestamp: string) =>
      bootReportEntry('lateBootReportEvent', { instance: LINUX_VM, bootCounter: 7, actual: TAMPERED, policy: KERNEL_26, timestamp });
    expect(await w.run(ahead('2026-11-29T00:01:00Z'))).toMatchObject({ status: 'decided' });
    expect(await w.run(ahead('2026-11-29T00:01:00.001Z'))).toMatchObject({
      status: 'rejected',
      rejection: {
        code: 'timestamp_in_future',
        message: 'timestamp 2026-11-29T00:01:00.001Z is in the future (now 2026-11-29T00:00:00.000Z)',
      },
    });
  });
});

describe("a genuine failure is never silenced by another entry's counters", () => {
  // The attacker (root on the VM) writes entries with any bootCounter; the genuine report after them is lower.
  it.each([
    ['a forged passing early-boot report at the last boot + 100', [6, 106]],
    ['a forged first-seen boot 2^64-1', ['18446744073709551615']],
    ['repeated forged +100 reports', [6, 106, 206, 306]],
  ])('%s, then a genuine failed boot-7 report with unknown measurements: stopped, alerted', async (_, forged) => {
    const w = world();
    for (const boot of forged) await w.run(earlyBoot(boot));
    const r = await w.run(eventarcBody(unknownEntry(7), 'm-genuine'));
    expect(r).toMatchObject({ status: 'decided', decision: { action: 'stop', reasonCode: 'unknown_measurements' } });
    expect(w.starter.started.map((s) => s.labels['action'])).toEqual(['stop']);
    const latest = String(forged[forged.length - 1]);
    const errors = w.logger.lines.filter((l) => l.severity === 'ERROR');
    expect(errors.map((l) => [l.fields?.['alert'], (l.fields?.['counterAnomaly'] as { kind?: string } | undefined)?.kind])).toEqual([
      ['possible_forged_entry', 'backwards'],
    ]);
    expect(w.ledger.events.get(r.status === 'decided' ? r.eventKey : '')).toMatchObject({
      counterAnomaly: { kind: 'backwards', bootCounter: '7', latestBoot: latest },
    });
  });

  it('under the guard, a stale failed report is held, not dropped', async () => {
    const w = world({ blastRadius: { perFingerprint: 0, perProject: 10, overall: 20, windowSeconds: 3600 } });
    await w.run(earlyBoot(106));
    expect(await w.run(unknownEntry(7))).toMatchObject({ status: 'decided', decision: { action: 'hold', intendedAction: 'stop' } });
  });

  it('a stale known-good report is still never relearned (stale, alerted)', async () => {
    const w = world();
    await w.run(earlyBoot(106));
    const r = await w.run(failedLateBoot({ bootCounter: 7 }));
    expect(r).toEqual({ status: 'stale', eventKey: expect.any(String), bootCounter: '7', latestBoot: '106' });
    expect(w.starter.started).toEqual([]);
    expect(w.logger.lines.filter((l) => l.severity === 'ERROR').map((l) => l.fields?.['alert'])).toEqual(['possible_forged_entry']);
  });
});

describe('no poison message (issue 14)', () => {
  // The parser's caps bound the argument, so that no valid event can fail for its size after its
  // claim and be redelivered forever (the insert id and log name were unbounded before).
  it('the largest report the parser accepts gives a workflow argument under 24 KB (Workflows takes 32 KB)', async () => {
    const w = world();
    // 24 PCRs (PCR_0 to PCR_23; a PCR in two banks is duplicate_pcr), each changed; the longest
    // project id, zone, insert id and message id accepted; a 20-digit instance id and boot counter.
    const pcrs = (seed: string) => Object.fromEntries(Array.from({ length: 24 }, (_, n) => [`PCR_${n}`, `${seed} ${n}`]));
    const instance = { id: '18446744073709551557', project: `${'d'.repeat(63)}:${'p'.repeat(30)}`, zone: 'northamerica-northeast2-c' };
    const big = bootReportEntry('lateBootReportEvent', {
      instance,
      bootCounter: '18446744073709551615',
      actual: measure(pcrs('new')),
      policy: measure(pcrs('old')),
      insertId: 'i'.repeat(256),
    });
    expect(await w.run(eventarcBody(big, '7'.repeat(128)))).toMatchObject({ status: 'decided', decision: { action: 'stop' } });
    const bytes = Buffer.byteLength(JSON.stringify(w.starter.started[0]!.argument));
    expect(bytes).toBeLessThan((MAX_ARGUMENT_BYTES * 3) / 4);
  });
});

describe('the blast-radius guard', () => {
  const vmN = (n: number) => ({ ...LINUX_VM, id: String(BigInt(LINUX_VM.id) + BigInt(n)) });
  const failing = (n: number) =>
    eventarcBody(
      bootReportEntry('lateBootReportEvent', { instance: vmN(n), bootCounter: 7, actual: TAMPERED, policy: KERNEL_26 }),
      `m${n}`,
    );

  it('five VMs with the same unknown measurements: three stopped, two held (running) in the same approval flow', async () => {
    const w = world();
    for (let n = 0; n < 5; n++) await w.run(failing(n));
    expect(w.starter.started.map((s) => s.labels['action'])).toEqual(['stop', 'stop', 'stop', 'hold', 'hold']);
    const held = w.starter.started[3]!;
    expect(held.argument.decision).toMatchObject({
      action: 'hold',
      intendedAction: 'stop',
      reasonCode: 'unknown_measurements',
      dryRun: false,
    });
    expect(held.argument.decision.reason).toMatch(
      /; held, not stopped: 3 VMs were already stopped with these measurements since 2026-11-29T00:00:00\.000Z \(BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT=3 per 3600 s\);/,
    );
    // Approving a held VM promotes the same baseline; rejecting it stops it with the stop's requestId.
    expect(held.argument.promotion).not.toBeNull();
    expect(held.argument.fingerprint).toBe(fingerprint(TAMPERED));
    expect(held.argument.requestId).toBe(computeRequestId(held.argument.eventKey, 'stop'));
    expect(w.ledger.events.get(held.argument.eventKey)?.decision).toMatchObject({
      action: 'hold',
      heldBy: { scope: 'fingerprint', limit: 3, windowSeconds: 3600, windowStart: '2026-11-29T00:00:00.000Z' },
    });
    const warnings = w.logger.lines.filter((l) => l.severity === 'WARNING');
    expect(warnings.map((l) => l.message)).toEqual([
      `blast-radius guard: instance ${vmN(3).id} is held, not stopped (fingerprint limit 3)`,
      `blast-radius guard: instance ${vmN(4).id} is held, not stopped (fingerprint limit 3)`,
    ]);
    expect(w.stopSlots.slots.size).toBe(9);
  });

  it('a stop whose execution failed to start is redelivered as the same stop, on the same slots', async () => {
    const w = world();
    w.starter.failNext = new BootwardenError('store_unavailable', 'Workflows 503', { retryable: true });
    await expect(w.run(failing(0))).rejects.toMatchObject({ retryable: true });
    w.advance(INGEST_SETTINGS.claimLeaseMs);
    expect(await w.run(failing(0))).toMatchObject({ status: 'decided', decision: { action: 'stop' } });
    for (let n = 1; n < 4; n++) await w.run(failing(n));
    expect(w.starter.started.map((s) => s.labels['action'])).toEqual(['stop', 'stop', 'stop', 'hold']);
  });

  it('a dry run stops nothing, so it takes no slot', async () => {
    const w = world({ dryRun: true });
    for (let n = 0; n < 5; n++) await w.run(failing(n));
    expect(w.starter.started.map((s) => s.labels['action'])).toEqual(Array(5).fill('notify-stop'));
    expect(w.stopSlots.slots.size).toBe(0);
  });
});

describe('what ingest records and logs', () => {
  it('a rejected message: one record under msg-<sha256 of the message id>, the whole payload kept, one ERROR line naming the record', async () => {
    const w = world();
    const text = JSON.stringify({ message: { messageId: 'm77', data: '!!!!' }, subscription: 's' });
    const r = await w.run(text);
    expect(r).toEqual({
      status: 'rejected',
      rejection: {
        code: 'invalid_base64',
        message: "message.data has '!' at offset 0, which is not a base64 character",
        field: 'message.data',
      },
      context: { messageId: 'm77', logName: null, insertId: null, timestamp: null, instanceId: null },
      recordId: 'msg-e41455594c94dcde65be2863f0cda7847133ff81b4b42a73c1d58c6ab9919fc7',
    });
    expect([...w.rejected.records.entries()]).toEqual([
      [
        'msg-e41455594c94dcde65be2863f0cda7847133ff81b4b42a73c1d58c6ab9919fc7',
        {
          rejection: r.status === 'rejected' ? r.rejection : null,
          context: { messageId: 'm77', logName: null, insertId: null, timestamp: null, instanceId: null },
          raw: text,
          rawBytes: text.length,
          truncated: false,
          receivedAt: '2026-11-29T00:00:00.000Z',
        },
      ],
    ]);
    expect(w.logger.lines).toEqual([
      {
        severity: 'ERROR',
        message: "rejected input: invalid_base64: message.data has '!' at offset 0, which is not a base64 character",
        fields: {
          code: 'invalid_base64',
          field: 'message.data',
          recordId: 'msg-e41455594c94dcde65be2863f0cda7847133ff81b4b42a73c1d58c6ab9919fc7',
          messageId: 'm77',
          insertId: null,
          instanceId: null,
        },
      },
    ]);
  });

  it('a rejected input without a message id is recorded under raw-<sha256 of the payload>', async () => {
    const w = world();
    const r = await w.run('{"nonsense": 1}');
    // sha256 of the 15 bytes {"nonsense": 1}, computed outside bootwarden.
    expect(r).toMatchObject({ recordId: 'raw-03c077e9b081c0ebddb55c71e337e843a452b320188f5887c9732303822b2af7' });
  });

  it('keeps exactly 16 KiB when the payload is one byte over, and all of it at 16 KiB', async () => {
    const w = world();
    const at = JSON.stringify({ nonsense: 'x'.repeat(16 * 1024 - 15) });
    const over = JSON.stringify({ nonsense: 'y'.repeat(16 * 1024 - 14) });
    expect(Buffer.byteLength(at)).toBe(16 * 1024);
    await w.run(at);
    await w.run(over);
    const [first, second] = [...w.rejected.records.values()];
    expect([first?.truncated, first?.rawBytes, first?.raw.length]).toEqual([false, 16 * 1024, 16 * 1024]);
    expect([second?.truncated, second?.rawBytes, second?.raw.length]).toEqual([true, 16 * 1024 + 1, 16 * 1024]);
  });

  it('a project that is not allowed: the rejection names the project and the allowed list', async () => {
    const w = world({ allowedProjects: ['acme-dev', 'acme-test'] });
    const r = await w.run(eventarcBody(unknownEntry(), 'm5'));
    expect(r).toMatchObject({
      status: 'rejected',
      recordId: 'msg-b5f2031eb62e37c6d38287b38f83afeaed2665f0424eb3c29c1a38a596a13d57',
      rejection: {
        code: 'project_not_allowed',
        message: 'project acme-prod is not in BOOTWARDEN_ALLOWED_PROJECTS (acme-dev, acme-test)',
        field: 'resource.labels.project_id',
      },
      context: { messageId: 'm5', instanceId: LINUX_VM.id, insertId: unknownEntry()['insertId'] },
    });
  });

  it('a decision: the ledger holds the message id, the outcome and the decision; one INFO line says what and why', async () => {
    const w = world();
    const r = await w.run(eventarcBody(unknownEntry(), 'm6'));
    if (r.status !== 'decided') throw new Error(r.status);
    const stored = w.ledger.events.get(r.eventKey);
    expect(stored).toMatchObject({ messageIds: ['m6'], state: 'done', outcome: 'decided', executionName: w.starter.started[0]?.name });
    expect(stored?.decision).toMatchObject({ action: 'stop', reasonCode: 'unknown_measurements' });
    expect(w.instances.decisions).toEqual([
      {
        instance: LINUX_VM,
        summary: {
          eventKey: r.eventKey,
          bootCounter: '7',
          action: 'stop',
          reasonCode: 'unknown_measurements',
          executionName: w.starter.started[0]?.name,
          at: '2026-11-29T00:00:00.000Z',
        },
      },
    ]);
    expect(w.logger.lines).toEqual([
      {
        severity: 'INFO',
        message: `lateBootReportEvent of instance ${LINUX_VM.id}: stop (late-boot measurements are not a known-good baseline (PCR_4 changed))`,
        fields: {
          eventKey: r.eventKey,
          messageId: 'm6',
          instanceId: LINUX_VM.id,
          project: 'acme-prod',
          zone: 'us-central1-a',
          bootCounter: '7',
          action: 'stop',
          reasonCode: 'unknown_measurements',
          fingerprint: r.decision.fingerprint,
          baselineId: null,
          executionName: w.starter.started[0]?.name,
        },
      },
    ]);
  });

  it('an ignored event is recorded as ignored, and a direct LogEntry has no message id', async () => {
    const w = world();
    const r = await w.run(
      bootReportEntry('lateBootReportEvent', { instance: LINUX_VM, bootCounter: 7, actual: KERNEL_25, policy: KERNEL_25 }),
    );
    if (r.status !== 'decided') throw new Error(r.status);
    expect(w.ledger.events.get(r.eventKey)).toMatchObject({ messageIds: [], outcome: 'ignored', executionName: null });
    expect(w.ledger.deliveries.size).toBe(0);
  });

  it('a duplicate and a stale report are logged at INFO with what identifies them', async () => {
    const w = world();
    const body = eventarcBody(unknownEntry(), 'm1');
    const first = await w.run(body);
    await w.run(body);
    await w.run(earlyBoot(9));
    const stale = await w.run(eventarcBody(failedLateBoot({ bootCounter: 8 }), 'm2'));
    if (first.status !== 'decided' || stale.status !== 'stale') throw new Error('unexpected statuses');
    const lines = w.logger.lines.filter((l) => l.message.startsWith('duplicate') || l.message.startsWith('stale'));
    expect(lines).toEqual([
      {
        severity: 'INFO',
        message: `duplicate delivery of event ${first.eventKey} ignored`,
        fields: { eventKey: first.eventKey, messageId: 'm1', executionName: first.executionName },
      },
      {
        severity: 'INFO',
        message: `stale report dropped: instance ${LINUX_VM.id} has booted again (boot 9 > 8)`,
        fields: { eventKey: stale.eventKey, instanceId: LINUX_VM.id, bootCounter: '8', latestBoot: '9' },
      },
    ]);
  });

  it('a claim older than the lease is taken over exactly at the lease, with a WARNING naming the attempt', async () => {
    const w = world();
    const body = eventarcBody(unknownEntry(), 'm1');
    w.starter.failNext = new BootwardenError('store_unavailable', 'Workflows 503', { retryable: true });
    await expect(w.run(body)).rejects.toMatchObject({ retryable: true });
    w.advance(INGEST_SETTINGS.claimLeaseMs - INGEST_SETTINGS.waitForOwnerMs - 1);
    await expect(w.run(body)).rejects.toMatchObject({
      code: 'event_in_progress',
      message: expect.stringMatching(/^event [0-9a-f]{64} is being processed by another delivery; asking for redelivery$/) as unknown,
    });
    const r = await w.run(body);
    if (r.status !== 'decided') throw new Error(r.status);
    expect(w.logger.lines.filter((l) => l.severity === 'WARNING')).toEqual([
      {
        severity: 'WARNING',
        message: `took over abandoned event ${r.eventKey} (attempt 2)`,
        fields: { eventKey: r.eventKey, attempt: 2, previousClaim: '2026-11-29T00:00:00.000Z' },
      },
    ]);
  });

  it('a claimed event whose record cannot be read asks for redelivery', async () => {
    const w = world();
    const body = eventarcBody(unknownEntry(), 'm1');
    w.ledger.claimEvent = () => Promise.resolve(false);
    await expect(w.run(body)).rejects.toMatchObject({
      code: 'store_unavailable',
      retryable: true,
      message: expect.stringMatching(/^event [0-9a-f]{64} was claimed but its record cannot be read$/) as unknown,
    });
  });
});

describe('ingest: one execution per VM waits for a decision', () => {
  const key = `${LINUX_VM.project}/${LINUX_VM.zone}/${LINUX_VM.id}`;
  const waiting = {
    execution: 'projects/p/locations/us-central1/workflows/integrity-response/executions/waiting-1',
    eventKey: 'a'.repeat(64),
    groupId: 'g1',
    until: '2026-11-30T00:00:00.000Z',
  };

  it('an event that would act joins the waiting execution: recorded in its audit trail, no execution, no stop slot', async () => {
    const w = world();
    w.instances.awaiting.set(key, waiting);
    const r = await w.run(unknownEntry(8));
    expect(r).toMatchObject({
      status: 'joined',
      executionName: waiting.execution,
      decision: { action: 'stop', reasonCode: 'unknown_measurements' },
    });
    expect(w.starter.started).toEqual([]);
    expect(w.stopSlots.slots.size).toBe(0);
    expect(w.ledger.joined.get(waiting.eventKey)).toEqual([
      {
        eventKey: (r as { eventKey: string }).eventKey,
        bootCounter: '8',
        eventKind: 'lateBootReportEvent',
        action: 'stop',
        reasonCode: 'unknown_measurements',
        fingerprint: fingerprint(TAMPERED),
        at: '2026-11-29T00:00:00.000Z',
      },
    ]);
    expect(w.ledger.events.get((r as { eventKey: string }).eventKey)).toMatchObject({
      state: 'done',
      outcome: 'joined',
      executionName: waiting.execution,
    });
    expect(w.instances.decisions.at(-1)?.summary).toMatchObject({ action: 'joined', executionName: waiting.execution });
    expect(w.logger.lines.find((l) => l.severity === 'WARNING')?.message).toMatch(
      new RegExp(`joins execution ${waiting.execution}, which waits for a decision on the VM until ${waiting.until}`),
    );
    expect(w.logger.lines.find((l) => l.severity === 'WARNING')?.fields).toMatchObject({
      instanceId: LINUX_VM.id,
      action: 'stop',
      joined: { execution: waiting.execution, eventKey: waiting.eventKey },
    });
  });

  it("the waiting execution's own event (a redelivery after a takeover) is not joined to itself", async () => {
    const w = world();
    const first = await w.run(unknownEntry(8));
    if (first.status !== 'decided') throw new Error('expected a decision');
    w.instances.awaiting.set(key, { ...waiting, eventKey: first.eventKey });
    // The claim is abandoned and taken over: the successor finds the started execution, joins nothing.
    const record = w.ledger.events.get(first.eventKey)!;
    w.ledger.events.set(first.eventKey, { ...record, state: 'processing', claimedAt: '2026-11-28T00:00:00.000Z' });
    expect(await w.run(unknownEntry(8))).toMatchObject({ status: 'decided', executionName: first.executionName });
    expect(w.ledger.joined.size).toBe(0);
  });

  it.each([
    ['its group was decided', () => ({ decided: 'g1' })],
    ['its deadline passed', () => ({ until: '2026-11-28T23:59:59.999Z' })],
  ])('starts an execution when %s', async (_name, change) => {
    const w = world();
    const c = change();
    w.instances.awaiting.set(key, { ...waiting, ...('until' in c ? { until: c.until } : {}) });
    if ('decided' in c) w.instances.decidedGroups.add(c.decided);
    expect(await w.run(unknownEntry(8))).toMatchObject({ status: 'decided', decision: { action: 'stop' } });
    expect(w.starter.started).toHaveLength(1);
  });

  it('an event that needs no action does not even ask', async () => {
    const w = world();
    w.instances.awaiting.set(key, waiting);
    expect(await w.run(earlyBoot(8))).toMatchObject({ status: 'decided', decision: { action: 'ignore' } });
    expect(w.instances.awaitingReads).toBe(0);
    expect(w.ledger.joined.size).toBe(0);
  });
});

describe('ingest: a response Workflows will never take', () => {
  it('is completed as rejected, recorded as response_not_startable and acknowledged; a redelivery changes nothing', async () => {
    const w = world();
    w.starter.failNext = new BootwardenError(
      'invalid_input',
      `workflow argument for event x is 40000 bytes; Cloud Workflows accepts at most 32768${'!'.repeat(2000)}`,
    );
    const r = await w.run(eventarcBody(unknownEntry(), '7200000000000001'));
    expect(r).toMatchObject({ status: 'rejected', rejection: { code: 'response_not_startable' } });
    if (r.status !== 'rejected') throw new Error('expected a rejection');
    expect(r.rejection.message).toMatch(
      /^the stop response of event [0-9a-f]{64} cannot be started \(workflow argument for event x is 40000 bytes; .*\): the event is completed as rejected, not redelivered$/,
    );
    // The cause is cut to 500 characters.
    expect(r.rejection.message.length).toBeLessThan(700);
    expect(w.rejected.records.get(r.recordId)).toMatchObject({
      rejection: { code: 'response_not_startable' },
      context: { messageId: '7200000000000001' },
    });
    const [eventKey] = [...w.ledger.events.keys()];
    expect(w.ledger.events.get(eventKey!)).toMatchObject({
      state: 'done',
      outcome: 'rejected',
      executionName: null,
      decision: { action: 'stop' },
    });
    expect(await w.run(eventarcBody(unknownEntry(), '7200000000000002'))).toMatchObject({ status: 'duplicate' });
    expect(w.starter.started).toEqual([]);
  });

  it('any other failure to start is still redelivered', async () => {
    const w = world();
    w.starter.failNext = new BootwardenError('store_unavailable', 'Workflows unavailable', { retryable: true });
    await expect(w.run(unknownEntry())).rejects.toMatchObject({ code: 'store_unavailable' });
  });
});

describe('every stored or logged piece of an input is bounded', () => {
  const huge = (c: string, n = 200_000): string => c.repeat(n);

  it('unrecognized_envelope: six keys of 80,000 characters make a record and a log line of a few KB, keys cut', async () => {
    const w = world();
    const input = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((c) => [huge(c, 80_000), 'v']));
    const r = await w.run(JSON.stringify(input));
    expect(r.status).toBe('rejected');
    if (r.status !== 'rejected') return;
    const record = w.rejected.records.get(r.recordId);
    expect(record?.rejection.code).toBe('unrecognized_envelope');
    expect(record?.rejection.message.length).toBeLessThanOrEqual(1000);
    expect(Buffer.byteLength(JSON.stringify(record))).toBeLessThan(20 * 1024);
    expect(record?.truncated).toBe(true);
    const line = w.logger.lines.find((l) => l.fields['code'] === 'unrecognized_envelope');
    expect(Buffer.byteLength(JSON.stringify(line))).toBeLessThan(2 * 1024);
  });

  it('a forbidden key deep under a 200,000-character key: the field path of the rejection is cut to 256 characters', async () => {
    const w = world();
    const entry = edited(failedLateBoot(), (e) => (e.jsonPayload['x'] = { [huge('k')]: JSON.parse('{"__proto__": 1}') as JsonObject }));
    const r = await w.run(JSON.stringify(entry));
    expect(r.status === 'rejected' && r.rejection).toMatchObject({ code: 'forbidden_key' });
    if (r.status !== 'rejected') return;
    expect(r.rejection.field?.length).toBe(256);
    expect(r.rejection.field?.endsWith('…')).toBe(true);
  });

  it('an unknown event kind named by 5 keys of at most 64 characters in its decision', async () => {
    const w = world();
    const entry = simpleEventEntry('startupEvent', { instance: LINUX_VM, bootCounter: 7 });
    delete (entry['jsonPayload'] as JsonObject)['startupEvent'];
    for (const c of ['p', 'q', 'r', 's', 't', 'u']) (entry['jsonPayload'] as JsonObject)[`futureEvent_${huge(c, 1000)}`] = {};
    const r = await w.run(eventarcBody(entry));
    expect(r.status).toBe('decided');
    if (r.status !== 'decided') return;
    expect(r.decision.action).toBe('ignore');
    expect(r.decision.reason.length).toBeLessThan(600);
  });

  it('a record the store refuses (Firestore: too large, INVALID_ARGUMENT) is recorded smaller, without its raw input, and acknowledged', async () => {
    const w = world();
    w.rejected.maxRecordBytes = 4096;
    const r = await w.run(JSON.stringify({ unrelated: huge('x', 10_000) }));
    expect(r).toMatchObject({ status: 'rejected', rejection: { code: 'unrecognized_envelope' } });
    if (r.status !== 'rejected') return;
    const record = w.rejected.records.get(r.recordId);
    expect(record).toMatchObject({
      rejection: { code: 'unrecognized_envelope' },
      raw: expect.stringMatching(
        /^\(not kept: the store refused the record: Firestore refused to record rejected input .*Document too large\)$/,
      ) as string,
      rawBytes: 10_016,
      truncated: true,
    });
    expect(w.logger.lines.map((l) => l.fields['code'])).toEqual(['rejected_record_refused', 'unrecognized_envelope']);
  });
});
