/**
 * The real processes, started as a user starts them (tsx, ESM loader, environment config): they
 * refuse bad config with a plain message, serve, and stop cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, PROJECT_ROOT } from '../runtime/temporal-cli';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from './support/database';

const TSX = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function run(script: string, env: Record<string, string>): Run {
  const child = spawn(TSX, [script], { cwd: PROJECT_ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

async function waitFor(check: () => boolean | Promise<boolean>, what: () => string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

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

  it('the API serves on its port and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const proc = run('api/server.ts', { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', TEMPORAL_ADDRESS: inject('temporalAddress') });
    try {
      await waitFor(() => proc.output().includes('API listening'), () => `the API to listen; it said:\n${proc.output()}`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', database: 'ok', temporal: 'ok' });
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exit).toBe(0);
  });

  describe.runIf(DATABASE_KINDS.includes('postgres'))('worker on PostgreSQL', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await openTestDatabase('postgres');
    });
    afterAll(() => database?.close());

    it('the worker registers, polls, and drains on SIGTERM', async () => {
      const proc = run('worker.ts', { DATABASE_URL: database.url!, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_TASK_QUEUE: `entry-${Date.now()}` });
      try {
        await waitFor(() => proc.output().includes('worker running'), () => `the worker to run; it said:\n${proc.output()}`, 90_000);
      } finally {
        proc.child.kill('SIGTERM');
      }
      expect(await proc.exit).toBe(0);
      expect(proc.output()).toContain('worker stopped');
    }, 120_000);
  });
});
