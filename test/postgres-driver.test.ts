/**
 * postgres.js 3.4.9 is patched (patches/postgres+3.4.9.patch, applied by patch-package on install):
 * a write while a connection's socket is gone threw from setImmediate and ended the process, which
 * the soak saw as an API or worker exiting on its own when PostgreSQL was killed (upstream
 * porsager/postgres#1154 and #1208, unreleased). This runs the case that killed it, in a process of
 * its own, against the real PostgreSQL.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { DATABASE_KINDS } from './support/database';

describe.runIf(DATABASE_KINDS.includes('postgres'))('the PostgreSQL driver when a connection dies under a transaction', () => {
  it('fails the queued queries with a connection error, keeps the process alive, and the pool serves the next query', () => {
    const script = path.join(import.meta.dirname, 'support', 'postgres-closed-write.mjs');
    const run = spawnSync(process.execPath, [script, inject('postgresUrl')!], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status, `it exited ${run.status} (${run.signal ?? 'no signal'}):\n${run.stderr}`).toBe(0);
    // Which connection error a queued query gets depends on when the close is seen (and a backend slow
    // to die may even answer one); that each settles, and the process lives, does not.
    const settled = expect.stringMatching(/^(CONNECTION_CLOSED|ECONNRESET|ok)$/);
    expect(JSON.parse(run.stdout.trim())).toEqual({ transaction: settled, queued: [settled, settled], after: 42 });
  });
});
