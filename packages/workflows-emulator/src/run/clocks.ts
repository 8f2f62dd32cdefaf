/**
 * A clock for local runs, tests and benchmarks that skips the waits a workflow asks for
 * (sys.sleep, retry backoff, connector polls: they return at once, move this clock's time forward
 * and are recorded in `sleeps`), while deadlines raced against outside input (an HTTP request's
 * timeout, a callback's timeout) run in real time, so that a loopback answer or a callback sent
 * meanwhile arrives first. Give a workflow a short timeout to see it expire.
 */
import { systemClock, type Clock, type SleepKind } from './runtime.js';

export class SkipWaitsClock implements Clock {
  readonly sleeps: number[] = [];
  readonly deadlines: number[] = [];
  constructor(public time = Date.parse('2026-01-01T00:00:00Z')) {}

  now(): number {
    return this.time;
  }

  async sleep(ms: number, signal?: AbortSignal, kind: SleepKind = 'wait'): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    if (kind === 'deadline') {
      this.deadlines.push(ms);
      await systemClock.sleep(ms, signal);
      this.time += ms;
      return;
    }
    this.sleeps.push(ms);
    this.time += ms;
    await new Promise<void>((r) => setImmediate(r));
    if (signal?.aborted) throw signal.reason;
  }
}
