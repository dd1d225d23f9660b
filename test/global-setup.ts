/**
 * Starts what the whole suite shares, once: a real Temporal dev server (the CLI from PATH,
 * TEMPORAL_CLI_PATH or .tools/, else the SDK download), the order workflow bundle, and a check that
 * PostgreSQL is reachable for the database suites.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { freePort, startDevServer } from '../tooling/temporal-cli';
import { ORDER_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { WORKFLOW_BUNDLE_OPTIONS } from '../worker';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalNamespace: string;
    workflowBundlePath: string;
    /** Admin URL of a PostgreSQL server where each suite creates its own database; null = skip. */
    postgresUrl: string | null;
  }
}

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

async function postgresReachable(url: string): Promise<string | null> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export default async function setup(project: TestProject) {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'ssw-test-'));
  const namespace = 'default';
  const [server, bundle] = await Promise.all([
    freePort().then((port) =>
      startDevServer({ port, namespace, searchAttributes: ORDER_SEARCH_ATTRIBUTES, logFile: path.join(workDir, 'temporal.log') }),
    ),
    bundleWorkflowCode({ ...WORKFLOW_BUNDLE_OPTIONS, logger: quietLogger }),
  ]);
  const bundlePath = path.join(workDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  const postgresUrl = process.env.TEST_DATABASE_URL?.trim() || DEFAULT_TEST_DATABASE_URL;
  const problem = await postgresReachable(postgresUrl);
  if (problem && process.env.CI) {
    throw new Error(`PostgreSQL is required in CI but ${postgresUrl} is unreachable: ${problem}`);
  }
  if (problem) console.warn(`\n!! PostgreSQL at ${postgresUrl} is unreachable (${problem}); PostgreSQL suites are SKIPPED. Set TEST_DATABASE_URL.\n`);

  project.provide('temporalAddress', server.address);
  project.provide('temporalNamespace', namespace);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('postgresUrl', problem ? null : postgresUrl);

  return async () => {
    await server.stop();
    rmSync(workDir, { recursive: true, force: true });
  };
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string, meta?: unknown) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: unknown) => console.error(message, meta ?? ''),
};
