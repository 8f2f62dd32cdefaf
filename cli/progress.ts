/** A one-line progress bar on stderr, only when stderr is a terminal. */
import { bytes as fmtBytes, count } from './format.js';
import type { Output } from './io.js';

export class Progress {
  private last = 0;
  private shown = false;
  constructor(
    private readonly out: Output,
    private readonly total: number | null,
    private readonly clock: () => number = () => Date.now(),
  ) {}

  update(bytesRead: number, entries: number): void {
    if (this.out.isTTY !== true) return;
    const now = this.clock();
    if (now - this.last < 200) return;
    this.last = now;
    this.shown = true;
    const width = 30;
    let bar = '';
    if (this.total !== null && this.total > 0) {
      const frac = Math.min(1, bytesRead / this.total);
      const filled = Math.round(frac * width);
      bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% `;
    }
    const of = this.total === null ? '' : ` of ${fmtBytes(this.total)}`;
    this.out.write(`\r${bar}${fmtBytes(bytesRead)}${of}, ${count(entries)} entries`);
  }

  done(): void {
    if (this.shown) this.out.write('\r\x1b[K');
  }
}
