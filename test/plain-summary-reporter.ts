/**
 * Adds plain closing lines after vitest's own summary: each failed test with the first line of its
 * error, then "Tests: N passed, N failed, N skipped". CI logs are often read from their tail, and
 * vitest's own report of the first failure can be hundreds of lines above it.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class PlainSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const failures: string[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') counts.passed++;
        else if (result.state === 'failed') {
          counts.failed++;
          const first = result.errors?.[0];
          failures.push(`FAILED ${module.moduleId.replace(`${process.cwd()}/`, '')} > ${test.fullName}: ${firstLine(first?.message)}`);
        } else counts.skipped++;
      }
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) {
        counts.failed++;
        failures.push(`FAILED ${module.moduleId}: ${firstLine(module.errors()[0]?.message)}`);
      }
    }
    const lines = [...failures, `Tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`];
    process.stdout.write(`\n${lines.join('\n')}\n`);
  }
}

const firstLine = (message: string | undefined) => (message ?? '(no message)').split('\n')[0]!.slice(0, 300);
