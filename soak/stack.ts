/**
 * The stack the soak runs and breaks: a private PostgreSQL (soak/postgres.ts), a Temporal dev server
 * persisted to a SQLite file, and the production build's workers and API processes, two of each
 * (`node dist/...`), as users scale out: the fact relay must be safe with several API processes, the
 * task queue with several workers. Each is a `Service` the fault injector can SIGKILL and start
 * again; a service that exits on its own (a worker that cannot reach Temporal at start-up, say) is
 * restarted after a second, as a container runtime with a restart policy would.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, cpSync, mkdirSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDevServer, type RunningDevServer } from '../tooling/temporal-cli';
import { PRODUCTION_COMMANDS, startProcess, Teardown, type RunningProcess } from '../test/support/processes';
import { ORDER_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { createPrivatePostgres, type PrivatePostgres } from './postgres';

/** Kinds of fault, as the report counts them. */
export type FaultKind = 'worker' | 'api' | 'temporal' | 'postgres';
export const FAULT_KINDS: readonly FaultKind[] = ['worker', 'api', 'temporal', 'postgres'];
export type ServiceName = 'worker-1' | 'worker-2' | 'api-1' | 'api-2' | 'temporal' | 'postgres';
export const SERVICE_NAMES: readonly ServiceName[] = ['worker-1', 'worker-2', 'api-1', 'api-2', 'temporal', 'postgres'];
export const kindOf = (name: ServiceName): FaultKind => name.replace(/-\d$/, '') as FaultKind;

export interface Service {
  name: ServiceName;
  /** Kills with SIGKILL (no grace, no shutdown hooks) and waits until the process is gone. */
  kill(): Promise<void>;
  /** Starts it again; resolves once it serves. */
  start(): Promise<void>;
  /** Times it exited without being killed by the soak, and was restarted. */
  ownExits: number;
  /** For each such exit: how it ended and its last lines, so the report shows why even without --keep-logs. */
  ownExitNotes: string[];
}

const OWN_EXIT_LINES = 30;

export interface SoakStack {
  /** The API processes, by index: api-1 is apiUrls[0]. */
  apiUrls: string[];
  adminToken: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  databaseUrl: string;
  services: Record<ServiceName, Service>;
  workDir: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A worker or API process, restarted when it exits on its own. */
function nodeService(name: ServiceName, command: readonly string[], env: Record<string, string>, logFile: string, readyText: string, stopping: () => boolean): Service {
  let current: RunningProcess | null = null;
  let killedBySoak = false;
  const service: Service = {
    name,
    ownExits: 0,
    ownExitNotes: [],
    async start() {
      killedBySoak = false;
      const started = startProcess(command, env, { outputFile: logFile });
      current = started;
      void started.exit.then(async (code) => {
        if (killedBySoak || stopping() || current !== started) return;
        service.ownExits++;
        const lastLines = started.output().trimEnd().split('\n').slice(-OWN_EXIT_LINES).join('\n');
        service.ownExitNotes.push(`${new Date().toISOString()} exit code ${code} signal ${started.child.signalCode ?? 'none'}; last lines:\n${lastLines}`);
        await sleep(1000);
        if (!stopping() && current === started) await service.start().catch(() => {});
      });
      // A failed start (Temporal down, say) ends in an exit the handler above restarts.
      await started.waitForOutput(readyText, 120_000).catch(() => {});
    },
    async kill() {
      const target = current;
      if (!target || target.child.exitCode !== null || target.child.signalCode !== null) return;
      killedBySoak = true;
      target.child.kill('SIGKILL');
      await target.exit;
    },
  };
  return service;
}

export async function startSoakStack(options: { keepLogs?: string }): Promise<SoakStack> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'ssw-soak-'));
  const namespace = 'default';
  let stopping = false;
  const teardown = new Teardown();
  teardown.add(() => {
    if (options.keepLogs) {
      mkdirSync(options.keepLogs, { recursive: true });
      for (const name of ['temporal.log', 'worker-1.log', 'worker-2.log', 'api-1.log', 'api-2.log', 'postgres.log']) {
        if (existsSync(path.join(workDir, name))) cpSync(path.join(workDir, name), path.join(options.keepLogs, name));
      }
    }
    rmSync(workDir, { recursive: true, force: true });
  });
  const stop = () => {
    stopping = true;
    return teardown.run();
  };

  try {
    const pg: PrivatePostgres = await createPrivatePostgres({ port: await freePort(), logFile: path.join(workDir, 'postgres.log') });
    teardown.add(() => pg.destroy());

    // Persisted to a file, so a killed server comes back with every workflow it had acknowledged.
    const temporalOptions = {
      port: await freePort(),
      namespace,
      searchAttributes: ORDER_SEARCH_ATTRIBUTES,
      dbFilename: path.join(workDir, 'temporal.sqlite'),
      logFile: path.join(workDir, 'temporal.log'),
    };
    let server: RunningDevServer = await startDevServer(temporalOptions);
    teardown.add(() => server.stop());

    const migrate = startProcess(PRODUCTION_COMMANDS.migrate, { DATABASE_URL: pg.url });
    if ((await migrate.exit) !== 0) throw new Error(`migrations failed:\n${migrate.output()}`);

    const adminToken = `soak-${randomBytes(16).toString('hex')}`;
    const taskQueue = 'orders-soak';
    const apiPorts = [await freePort(), await freePort()];
    const env = {
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      ADMIN_TOKEN: adminToken,
      SECRET_DIGEST_KEY: randomBytes(32).toString('hex'),
      DATABASE_URL: pg.url,
      HOST: '127.0.0.1',
      // What a load balancer in front of both would be; the soak's clients pick a process themselves.
      PUBLIC_BASE_URL: `http://127.0.0.1:${apiPorts[0]}`,
      LOG_LEVEL: 'info',
      WORKER_METRICS_PORT: '0',
      // The soak's webhook receiver listens on this machine, over plain http.
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      // Short enough that the worker's retries of a dead database or receiver fit a soak's minutes.
      REQUEST_TIMEOUT: '10s',
    };
    const isStopping = () => stopping;
    const workers = [1, 2].map((n) => nodeService(`worker-${n}` as ServiceName, PRODUCTION_COMMANDS.worker, env, path.join(workDir, `worker-${n}.log`), 'worker running', isStopping));
    const apis = apiPorts.map((port, i) =>
      nodeService(`api-${i + 1}` as ServiceName, PRODUCTION_COMMANDS.api, { ...env, PORT: String(port) }, path.join(workDir, `api-${i + 1}.log`), 'API listening', isStopping),
    );
    teardown.add(...[...workers, ...apis].map((service) => () => service.kill()));

    const temporal: Service = {
      name: 'temporal',
      ownExits: 0,
      ownExitNotes: [],
      async kill() {
        const pid = server.pid;
        if (pid === null) throw new Error('the Temporal dev server runs inside the SDK here; the soak needs the CLI (make tools)');
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          return;
        }
        while (processAlive(pid)) await sleep(50);
      },
      async start() {
        server = await startDevServer(temporalOptions);
      },
    };
    const postgresService: Service = { name: 'postgres', ownExits: 0, ownExitNotes: [], kill: () => pg.kill(), start: () => pg.start() };

    for (const service of [...workers, ...apis]) await service.start();
    return {
      apiUrls: apiPorts.map((port) => `http://127.0.0.1:${port}`),
      adminToken,
      temporalAddress: server.address,
      namespace,
      taskQueue,
      databaseUrl: pg.url,
      services: { 'worker-1': workers[0]!, 'worker-2': workers[1]!, 'api-1': apis[0]!, 'api-2': apis[1]!, temporal, postgres: postgresService },
      workDir,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
