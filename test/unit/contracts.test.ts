/** The workflow argument's times: Cloud Logging writes nanoseconds; the workflow's time.parse reads microseconds. */
import { describe, expect, it } from 'vitest';
import { computeRequestId, eventKeyOf, responseArgument, toMicroseconds } from '../../core/contracts.js';
import { decide, lookupOf } from '../../core/decide.js';
import { parseEnvelope } from '../../core/parse.js';
import { failedLateBoot } from '../support/fixtures.js';

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
      collections: { baselines: 'b', events: 'e', instances: 'i' },
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
