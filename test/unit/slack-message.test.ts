import { describe, expect, it } from 'vitest';
import { fit } from '../../slack-app/message.js';

describe('fit: a section text within its limit', () => {
  it.each([
    ['short enough', 'a\nb', 10, 'a\nb'],
    ['exactly the limit', 'x'.repeat(50), 50, 'x'.repeat(50)],
    [
      'whole lines, then how many were left out',
      Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n'),
      60,
      'line 0\nline 1\n…and 18 more lines',
    ],
    ['one line left out', `${'a'.repeat(20)}\n${'b'.repeat(41)}`, 61, `${'a'.repeat(20)}\n…and 1 more line`],
    ['a first line too long: cut', 'y'.repeat(100), 60, `${'y'.repeat(20)}… (cut)`],
    ['never inside an entity', `${'y'.repeat(18)}&amp;${'y'.repeat(80)}`, 60, `${'y'.repeat(18)}… (cut)`],
    ['never inside a mention', `${'y'.repeat(15)}<@U0APPROVER1>${'y'.repeat(80)}`, 60, `${'y'.repeat(15)}… (cut)`],
  ])('%s', (_what, text, max, expected) => {
    const out = fit(text, max);
    expect(out).toBe(expected);
    expect(out.length).toBeLessThanOrEqual(max);
  });
});
