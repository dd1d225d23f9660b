/**
 * The real processes, started as a user starts them (tsx, ESM loader, environment config): they
 * refuse bad config with a plain message, serve, and stop cleanly on SIGTERM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../tooling/temporal-cli';
import { PROJECT_ROOT } from '../tooling/project-root';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from './support/database';
import { startProcess } from './support/processes';

const TSX = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
const run = (script: string, env: Record<string, string>) => startProcess([TSX, script], env);

describe('entry points', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'ssw-entry-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it.each([
    ['api/server.ts', { PORT: 'eighty' }, /^configuration error: PORT="eighty" is not valid/m],
    ['worker.ts', { TEMPORAL_ADDRESS: 'no port' }, /^configuration error: TEMPORAL_ADDRESS="no port" is not valid/m],
    ['db/migrate-cli.ts', { DATABASE_URL: 'mysql://x' }, /^configuration error: DATABASE_URL \(value not shown\) is not valid/m],
  ])('%s refuses a wrong setting with a plain message and exit code 1', async (script, env, message) => {
    const proc = run(script, env);
    expect(await proc.exit, proc.output()).toBe(1);
    expect(proc.output()).toMatch(message);
    expect(proc.output()).not.toContain('    at ');
  });

  it('npm run db:migrate migrates the embedded database', async () => {
    const proc = run('db/migrate-cli.ts', { DATA_DIR: dataDir });
    expect(await proc.exit, proc.output()).toBe(0);
    expect(proc.output()).toContain('migrations applied to pglite');
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('the API serves on its port and stops cleanly on %s', async (signal) => {
    const port = await freePort();
    const proc = run('api/server.ts', { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', TEMPORAL_ADDRESS: inject('temporalAddress') });
    try {
      await proc.waitForOutput('API listening');
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', database: 'ok', temporal: 'ok' });
    } finally {
      proc.child.kill(signal);
    }
    expect(await proc.exit).toBe(0);
    expect(proc.output()).toContain('API stopped');
  });

  describe.runIf(DATABASE_KINDS.includes('postgres'))('worker on PostgreSQL', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await openTestDatabase('postgres');
    });
    afterAll(() => database?.close());

    it.each(['SIGTERM', 'SIGINT'] as const)('the worker registers, polls, and drains on %s', async (signal) => {
      const proc = run('worker.ts', { DATABASE_URL: database.url!, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_TASK_QUEUE: `entry-${Date.now()}`, WORKER_METRICS_PORT: '0' });
      try {
        await proc.waitForOutput('worker running', 90_000);
      } finally {
        proc.child.kill(signal);
      }
      expect(await proc.exit).toBe(0);
      expect(proc.output()).toContain('worker stopped');
    }, 120_000);
  });
});
