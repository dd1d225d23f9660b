/**
 * `make soak` at its small size: the whole lifecycle while the worker, the API, the Temporal dev
 * server and a private PostgreSQL are killed with SIGKILL and restarted; the run checks that every
 * order was confirmed, every notice recorded once and every shipment delivered under one key.
 * Default-size figures are in docs/reliability.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../tooling/project-root';

describe('fault soak (--quick)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ssw-soak-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loses nothing and records nothing twice while every part of the stack is killed and restarted', () => {
    const out = path.join(dir, 'soak.json');
    const run = spawnSync(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), ['soak/run.ts', '--quick', '--out', out], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      timeout: 900_000,
    });
    const said = `${run.stdout}\n${run.stderr}`;
    expect(run.status, said).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.violations, said).toEqual([]);
    for (const kind of ['worker', 'api', 'temporal', 'postgres']) expect(report.faults[kind], `${kind} faults\n${said}`).toBeGreaterThan(0);
    expect(report.confirmed).toBe(report.orders);
    expect(report.shipments).toBe(report.orders);
  }, 900_000);
});
