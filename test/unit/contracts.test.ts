/** The workflow argument's times: Cloud Logging writes nanoseconds; the workflow's time.parse reads microseconds. */
import { describe, expect, it } from 'vitest';
import { newBaseline } from '../../core/baseline.js';
import {
  computeRequestId,
  encodeArgument,
  eventKeyOf,
  executionLabels,
  MAX_ARGUMENT_BYTES,
  responseArgument,
  toMicroseconds,
} from '../../core/contracts.js';
import { decide, lookupOf } from '../../core/decide.js';
import { BootwardenError } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import { fingerprint } from '../../core/measurements.js';
import { parseEnvelope } from '../../core/parse.js';
import { bootReportEntry } from '../../devstack/entries.js';
import { failedLateBoot, KERNEL_25, KERNEL_26, LINUX_VM, TAMPERED } from '../support/fixtures.js';

describe('toMicroseconds', () => {
  it.each([
    ['2026-09-16T12:08:04.024575365Z', '2026-09-16T12:08:04.024575Z'],
    ['2026-09-16T12:08:04.024575Z', '2026-09-16T12:08:04.024575Z'],
    ['2026-09-16T12:08:04.0245Z', '2026-09-16T12:08:04.0245Z'],
    ['2026-09-16T12:08:04Z', '2026-09-16T12:08:04Z'],
    ['2026-09-16T14:08:04.999999999+02:00', '2026-09-16T14:08:04.999999+02:00'],
  ])('%s → %s (cut, never rounded up)', (input, expected) => {
    expect.hasAssertions();
    expect(toMicroseconds(input)).toBe(expected);
  });
});

describe('responseArgument', () => {
  it('carries the entry as logged (nanoseconds) and reportedAt with six fraction digits', () => {
    expect.hasAssertions();
    const entry = failedLateBoot({ timestamp: '2026-09-16T12:08:04.024575365Z' });
    const parsed = parseEnvelope(entry);
    if (!parsed.ok) throw new Error(parsed.rejection.message);
    const arg = responseArgument(parsed.event, decide(parsed.event, lookupOf(), { dryRun: false, stopOnEarlyBootFailure: false }), {
      eventKey: eventKeyOf(parsed.event.entry),
      decidedAt: '2026-09-16T12:08:05.000000Z',
      collections: { prefix: 'p_', baselines: 'b' },
    });
    expect(arg.entry.timestamp).toBe('2026-09-16T12:08:04.024575365Z');
    expect(arg.reportedAt).toBe('2026-09-16T12:08:04.024575Z');
  });
});

describe('computeRequestId', () => {
  // Known answers computed outside bootwarden: the first 16 bytes of
  // sha256("bootwarden-request\n" + eventKey + "\n" + action), version 8 and the RFC 9562 variant set.
  it.each([
    ['k1', 'relearn', 'f24526ae-5192-8e6e-845c-ca0383cccf3a'],
    ['k2', 'relearn', '60b9e73e-01b6-8801-ab92-95ed03b3a9d5'],
    ['k1', 'stop', '97e5d75e-a7f7-8cdf-811a-af07840aa024'],
    ['k1', 'start', '1ec12251-a09a-8720-a443-fd602056ba4b'],
  ])('event %s, %s → %s', (eventKey, action, expected) => {
    expect(computeRequestId(eventKey, action)).toBe(expected);
  });
});

describe('executionLabels', () => {
  const argumentFor = (entry: JsonObject, policy: { dryRun: boolean } = { dryRun: false }) => {
    const parsed = parseEnvelope(entry);
    if (!parsed.ok) throw new Error(parsed.rejection.message);
    const decision = decide(parsed.event, lookupOf(), { dryRun: policy.dryRun, stopOnEarlyBootFailure: false });
    return responseArgument(parsed.event, decision, {
      eventKey: 'e'.repeat(64),
      decidedAt: '2026-11-01T10:00:02.000Z',
      collections: { prefix: 'p_', baselines: 'b' },
    });
  };

  it('labels an execution with the app, the event (63 characters), the instance, the action and the fingerprint', () => {
    const arg = argumentFor(failedLateBoot());
    expect(executionLabels(arg)).toEqual({
      app: 'bootwarden',
      event: 'e'.repeat(63),
      'instance-id': '4356841712468193571',
      action: 'stop',
      fingerprint: arg.fingerprint?.slice(0, 16),
    });
  });

  it('a dry-run is labelled notify-<what it would do>', () => {
    expect(executionLabels(argumentFor(failedLateBoot(), { dryRun: true }))['action']).toBe('notify-stop');
  });

  it('label values are made of lowercase letters, digits, _ and -, at most 63 characters', () => {
    const arg = argumentFor(failedLateBoot());
    const odd = { ...arg, instance: { ...arg.instance, id: `AB.c${'9'.repeat(70)}` }, fingerprint: null };
    expect(executionLabels(odd)).toEqual({
      app: 'bootwarden',
      event: 'e'.repeat(63),
      'instance-id': `ab_c${'9'.repeat(59)}`,
      action: 'stop',
    });
  });
});

describe('responseArgument', () => {
  const collections = { prefix: 'bw_', baselines: 'kgm' };
  const argumentOf = (entry: JsonObject, known: boolean) => {
    const parsed = parseEnvelope(entry);
    if (!parsed.ok) throw new Error(parsed.rejection.message);
    const b = newBaseline(KERNEL_26, { addedBy: 'a', addedAt: 'b', sourceEntry: null, note: null });
    const decision = decide(parsed.event, known ? lookupOf({ id: b.id, baseline: b }) : lookupOf(), {
      dryRun: false,
      stopOnEarlyBootFailure: true,
    });
    return responseArgument(parsed.event, decision, { eventKey: 'k'.repeat(64), decidedAt: 'now', collections });
  };

  it('a stop carries the PCRs as a baseline stores them and the metadata to promote them with (empty authorship)', () => {
    const arg = argumentOf(failedLateBoot({ actual: TAMPERED }), false);
    expect(arg.fingerprint).toBe(fingerprint(TAMPERED));
    expect(Object.keys(arg.pcrFields).sort()).toEqual(TAMPERED.map((m) => m.pcrNum).sort());
    for (const m of TAMPERED) {
      expect(arg.pcrFields[m.pcrNum]).toEqual({
        mapValue: { fields: { hashAlgo: { stringValue: m.hashAlgo }, pcrNum: { stringValue: m.pcrNum }, value: { stringValue: m.value } } },
      });
    }
    expect(arg.promotion?.metadata).toMatchObject({
      mapValue: {
        fields: { fingerprint: { stringValue: fingerprint(TAMPERED) }, addedBy: { stringValue: '' }, addedAt: { stringValue: '' } },
      },
    });
  });

  it('names no document: the collections it was configured with, and the next boot as a 20-digit order', () => {
    const arg = argumentOf(failedLateBoot({ bootCounter: 7 }), true);
    expect(arg.collections).toEqual({ prefix: 'bw_', baselines: 'kgm' });
    expect(arg.nextBoot).toBe('00000000000000000008');
    expect(JSON.stringify(arg)).not.toMatch(/bw_events|bw_instances|kgm\//);
  });

  it('a relearn, and a stop on an early-boot report, carry no baseline to promote', () => {
    expect(argumentOf(failedLateBoot(), true).promotion).toBeNull();
    expect(
      argumentOf(
        bootReportEntry('earlyBootReportEvent', { instance: LINUX_VM, bootCounter: 7, actual: TAMPERED, policy: KERNEL_25 }),
        false,
      ),
    ).toMatchObject({
      decision: { action: 'stop', reasonCode: 'early_boot_failed' },
      promotion: null,
    });
  });
});

describe('encodeArgument', () => {
  const base = (() => {
    const parsed = parseEnvelope(failedLateBoot());
    if (!parsed.ok) throw new Error(parsed.rejection.message);
    return responseArgument(parsed.event, decide(parsed.event, lookupOf()), {
      eventKey: 'k'.repeat(64),
      decidedAt: '2026-11-01T10:00:02.000Z',
      collections: { prefix: 'p_', baselines: 'b' },
    });
  })();
  /** The argument grown (through its decision reason) to exactly `bytes` bytes of JSON. */
  const sized = (bytes: number) => {
    const size = Buffer.byteLength(JSON.stringify(base));
    return { ...base, decision: { ...base.decision, reason: base.decision.reason + 'x'.repeat(bytes - size) } };
  };

  it('accepts an argument of exactly 32 KB and refuses one byte more, naming the event and both sizes', () => {
    expect(Buffer.byteLength(encodeArgument(sized(MAX_ARGUMENT_BYTES)))).toBe(32 * 1024);
    expect(() => encodeArgument(sized(MAX_ARGUMENT_BYTES + 1))).toThrow(
      new BootwardenError(
        'invalid_input',
        `workflow argument for event ${'k'.repeat(64)} is 32769 bytes; Cloud Workflows accepts at most 32768`,
      ),
    );
  });
});
