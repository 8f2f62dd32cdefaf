/** The workflow argument's times: Cloud Logging writes nanoseconds; the workflow's time.parse reads microseconds. */
import { describe, expect, it } from 'vitest';
import { eventKeyOf, responseArgument, toMicroseconds } from '../../core/contracts.js';
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
