import { describe, expect, it } from 'vitest';
import { Progress } from '../../cli/progress.js';

function recorder(isTTY: boolean): { writes: string[]; out: { isTTY: boolean; write(s: string): void } } {
  const writes: string[] = [];
  return { writes, out: { isTTY, write: (s: string) => void writes.push(s) } };
}

describe('progress bar', () => {
  it('draws on a terminal at most every 200 ms, and clears itself', () => {
    const { writes, out } = recorder(true);
    let now = 1000;
    const p = new Progress(out, 1_000_000, () => now);
    p.update(500_000, 10);
    now += 100;
    p.update(600_000, 12);
    now += 150;
    p.update(1_000_000, 20);
    p.done();
    expect(writes).toEqual([
      '\r[###############---------------]  50% 500.0 KB of 1.0 MB, 10 entries',
      '\r[##############################] 100% 1.0 MB of 1.0 MB, 20 entries',
      '\r\x1b[K',
    ]);
  });

  it('writes nothing when stderr is not a terminal', () => {
    const { writes, out } = recorder(false);
    const p = new Progress(out, null, () => 0);
    p.update(1, 1);
    p.done();
    expect(writes).toEqual([]);
  });
});
