/**
 * Event-driven waits for the loopback stand-ins: `until(check)` resolves once `check()` holds,
 * checked now and again each time the stand-in calls `notify()` (after every request it records).
 * Nothing polls.
 */
export class Waiters {
  private pending: (() => boolean)[] = [];

  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) =>
      this.pending.push(() => {
        const done = check();
        if (done) resolve();
        return done;
      }),
    );
  }

  notify(): void {
    this.pending = this.pending.filter((done) => !done());
  }
}
