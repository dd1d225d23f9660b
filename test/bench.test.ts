/**
 * Smoke test of `make bench` at its smallest size: every scenario runs against its own stack and
 * reports every figure beside its floor. No assertion on speed (timed tests lie on shared machines);
 * the figures themselves are in docs/performance.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../tooling/project-root';

describe.runIf(inject('postgresUrl'))('benchmarks (--quick)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ssw-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('run every scenario and report each figure with its floor', () => {
    const out = path.join(dir, 'results.json');
    const run = spawnSync(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), ['bench/run.ts', '--quick', '--out', out], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      timeout: 600_000,
      env: { ...process.env, BENCH_DATABASE_URL: inject('postgresUrl')! },
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.results.map((r: { scenario: string }) => r.scenario)).toEqual(['lifecycle', 'export', 'shipnotify', 'memory']);
    expect(report.machine.cpus).toBeGreaterThan(0);
    for (const result of report.results) {
      expect(result.rows.length, result.scenario).toBeGreaterThan(0);
      for (const row of result.rows) {
        expect(row.ours === '' || row.ours === null || (typeof row.ours === 'number' && !Number.isFinite(row.ours)), `${result.scenario}: ${row.figure}`).toBe(false);
      }
      // Every scenario measures a floor in the same run.
      expect(result.rows.some((row: { floor?: unknown }) => row.floor !== undefined), result.scenario).toBe(true);
    }
    expect(run.stdout).toMatch(/ours\/floor/);
  }, 600_000);
});
