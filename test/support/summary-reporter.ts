import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with each skipped test and why (the note given to `ctx.skip(condition, note)`), then
 * the plain line CI reads: "N passed, N failed, N skipped".
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const skipped: string[] = [];
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') counts.passed++;
        else if (result.state === 'failed') counts.failed++;
        else {
          counts.skipped++;
          const why = result.state === 'skipped' ? result.note : undefined;
          skipped.push(`skipped: ${mod.moduleId.replace(`${process.cwd()}/`, '')} > ${test.fullName}: ${why ?? 'no reason given'}`);
        }
      }
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) counts.failed++;
    }
    const list = skipped.length === 0 ? '' : `\n${skipped.join('\n')}\n`;
    process.stdout.write(`${list}\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
