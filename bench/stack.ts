/**
 * The stack a benchmark run measures, started from scratch: a Temporal dev server of its own, a fresh
 * database, and the production build's worker and API (`node dist/...`, as docker-compose runs them)
 * as separate processes so their memory is measured apart. With `--db pglite` the embedded database
 * allows one process only, so the worker and the API run inside the bench process, as `make dev` does.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { serve, type ServerType } from '@hono/node-server';
import pino from 'pino';
import { ApiMetrics } from '../api/metrics';
import { closeServer, startApiServer, type ApiServer } from '../api/server';
import { openDatabase, type Database } from '../db/client';
import { SecretDigest } from '../db/secret-digest';
import { migrateDatabase } from '../db/migrate';
import { loadConfig } from '../runtime/config';
import { freePort, startDevServer, type RunningDevServer } from '../tooling/temporal-cli';
import { PROJECT_ROOT } from '../tooling/project-root';
import { PRODUCTION_COMMANDS, startProcess, Teardown, type RunningProcess } from '../test/support/processes';
import { createScratchDatabase } from '../test/support/scratch-database';
import { createOrderWorker } from '../worker';
import { ORDER_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { noticeFloorApp, prepareFloorTable } from './floor/notice-server';
import { cpuSecondsOf, postgresCpuSeconds } from './stats';

export type DatabaseKind = 'postgres' | 'pglite';

export interface BenchStack {
  kind: DatabaseKind;
  apiUrl: string;
  adminToken: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  /** The bench's own client (floors, history counts). */
  temporal: Client;
  /** The bench's own native connection (the floor worker). */
  nativeConnection: NativeConnection;
  /** The read model, for seeding and checks (the same database the stack uses). */
  database: Database;
  /** Processes whose memory is reported, by name. */
  processes: Record<string, number>;
  /** CPU seconds used so far by each part of the stack: our processes, the Temporal server, PostgreSQL and the bench itself. */
  cpuSeconds(): Record<string, number>;
  /** The fraction of what the stack logs that is kept for the report (errors). */
  errors: () => string[];
  /**
   * Starts the shipnotify floor (bench/floor/notice-server.ts) on the stack's database and key: its
   * own process beside the API's on PostgreSQL, in the bench process with PGlite (as the API there).
   */
  startNoticeFloor(): Promise<{ url: string; pid: number; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * The allocator the image runs the API and worker with (the Dockerfile preloads jemalloc): the same
 * library when this machine has it, else glibc's malloc, which the report then names.
 */
export function productionAllocator(): { name: string; env: Record<string, string> } {
  const candidates = ['/usr/local/lib/libjemalloc.so.2', ...['x86_64', 'aarch64'].map((arch) => `/usr/lib/${arch}-linux-gnu/libjemalloc.so.2`)];
  const found = candidates.find((file) => existsSync(file));
  return found ? { name: `jemalloc (${found})`, env: { LD_PRELOAD: found } } : { name: 'glibc malloc (no libjemalloc2 here; the image uses jemalloc)', env: {} };
}

let runtimeInstalled = false;
/** The bench process's SDK runtime (floor worker, and the stack itself with PGlite): warnings only. */
export function installQuietRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export async function startBenchStack(options: { db: DatabaseKind; adminUrl?: string }): Promise<BenchStack> {
  installQuietRuntime();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'ssw-bench-'));
  const namespace = 'default';
  // BENCH_KEEP_LOGS=dir keeps the stack's logs (Temporal server, worker, API) there after the run.
  const keepLogs = process.env.BENCH_KEEP_LOGS?.trim();
  const teardown = new Teardown();
  teardown.add(() => {
    if (keepLogs) {
      mkdirSync(keepLogs, { recursive: true });
      for (const name of ['temporal.log', 'worker.log', 'api.log']) if (existsSync(path.join(workDir, name))) cpSync(path.join(workDir, name), path.join(keepLogs, name));
    }
    rmSync(workDir, { recursive: true, force: true });
  });
  const stop = () => teardown.run();
  try {
    const server: RunningDevServer = await startDevServer({
      port: await freePort(),
      namespace,
      searchAttributes: ORDER_SEARCH_ATTRIBUTES,
      logFile: path.join(workDir, 'temporal.log'),
      // In memory, as the test suite runs it: a SQLite file would add fsyncs the real cluster (PostgreSQL) does not share.
    });
    teardown.add(() => server.stop());
    const connection = await Connection.connect({ address: server.address });
    teardown.add(() => connection.close());
    const temporal = new Client({ connection, namespace });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    teardown.add(() => nativeConnection.close());

    const adminToken = `bench-${randomBytes(16).toString('hex')}`;
    const taskQueue = 'orders-bench';
    const apiPort = await freePort();
    const env = {
      ...productionAllocator().env,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      ADMIN_TOKEN: adminToken,
      // Required by the API on PostgreSQL (keyed digests of API keys and passwords).
      SECRET_DIGEST_KEY: randomBytes(32).toString('hex'),
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`,
      REQUEST_TIMEOUT: '60s',
      LOG_LEVEL: 'info', // as in production: logging is part of the cost
      WORKER_METRICS_PORT: '0',
    };
    const benchCpu = () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6;
    };
    const cpuOf = (processes: Record<string, number>) => () => ({
      ...Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuSecondsOf(pid)])),
      ...(server.pid ? { temporal: cpuSecondsOf(server.pid) } : {}),
      ...(options.db === 'postgres' ? { postgres: postgresCpuSeconds() } : {}),
      bench: benchCpu(),
    });
    const base = {
      kind: options.db,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      adminToken,
      temporalAddress: server.address,
      namespace,
      taskQueue,
      temporal,
      nativeConnection,
      stop,
    };

    if (options.db === 'postgres') {
      const adminUrl = options.adminUrl ?? DEFAULT_ADMIN_URL;
      const databaseUrl = await createScratchDatabase(adminUrl, 'ssw_bench', teardown);
      const migrate = startProcess(PRODUCTION_COMMANDS.migrate, { DATABASE_URL: databaseUrl });
      if ((await migrate.exit) !== 0) throw new Error(`migrations failed:\n${migrate.output()}`);
      const database = await openDatabase({ url: databaseUrl });
      teardown.add(() => database.close());

      const children: RunningProcess[] = [];
      teardown.add(async () => {
        for (const child of children) child.child.kill('SIGTERM');
        await Promise.all(children.map((c) => c.exit));
      });
      // BENCH_CPU_PROFILE_DIR=dir writes V8 CPU profiles of the API and the worker there (on exit).
      const profileDir = process.env.BENCH_CPU_PROFILE_DIR?.trim();
      const command = (base: readonly string[]) => (profileDir ? [base[0]!, '--cpu-prof', `--cpu-prof-dir=${profileDir}`, ...base.slice(1)] : base);
      // Their logs go to files (as a container runtime takes them), never through a pipe the bench must drain.
      const worker = startProcess(command(PRODUCTION_COMMANDS.worker), { ...env, DATABASE_URL: databaseUrl }, { outputFile: path.join(workDir, 'worker.log') });
      children.push(worker);
      await worker.waitForOutput('worker running', 120_000);
      const api = startProcess(command(PRODUCTION_COMMANDS.api), { ...env, DATABASE_URL: databaseUrl }, { outputFile: path.join(workDir, 'api.log') });
      children.push(api);
      await api.waitForOutput('API listening', 60_000);
      const errorLines = () => children.flatMap((c) => c.output().split('\n').filter((l) => /"level":(50|60)/.test(l)));
      const processes: Record<string, number> = { api: api.child.pid!, worker: worker.child.pid! };
      const startNoticeFloor = async () => {
        const port = await freePort();
        const floor = startProcess([process.execPath, '--import', 'tsx', 'bench/floor/notice-server.ts'], { ...env, DATABASE_URL: databaseUrl, PORT: String(port) }, { outputFile: path.join(workDir, 'floor.log') });
        children.push(floor);
        await floor.waitForOutput('floor listening', 60_000);
        processes.floor = floor.child.pid!;
        return {
          url: `http://127.0.0.1:${port}`,
          pid: floor.child.pid!,
          stop: async () => {
            floor.child.kill('SIGTERM');
            await floor.exit;
            delete processes.floor;
          },
        };
      };
      return { ...base, database, processes, cpuSeconds: cpuOf(processes), errors: errorLines, startNoticeFloor };
    }

    // PGlite: one process holds the database, so the worker and the API run here.
    const database = await openDatabase({ pglitePath: path.join(workDir, 'pglite') });
    teardown.add(() => database.close());
    await migrateDatabase(database);
    const config = loadConfig({ ...env });
    const worker: Worker = await createOrderWorker({
      connection: nativeConnection,
      namespace,
      taskQueue,
      db: database.db,
      workflowBundlePath: path.join(PROJECT_ROOT, 'dist', 'workflow-bundle.js'),
    });
    const run = worker.run();
    teardown.add(async () => {
      worker.shutdown();
      await run;
    });
    const errors: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
    const secretDigest = new SecretDigest(env.SECRET_DIGEST_KEY);
    const api: ApiServer = await startApiServer({ config, db: database.db, temporal, logger, metrics: new ApiMetrics(), secretDigest });
    teardown.add(() => api.stop(5_000));
    const startNoticeFloor = async () => {
      await prepareFloorTable(database.db);
      const port = await freePort();
      const server = await new Promise<ServerType>((resolve) => {
        const started = serve({ fetch: noticeFloorApp(database.db, secretDigest).fetch, port, hostname: '127.0.0.1' }, () => resolve(started));
      });
      return { url: `http://127.0.0.1:${port}`, pid: process.pid, stop: () => closeServer(server, 1000).then(() => undefined) };
    };
    // The worker and API share the bench process here: their CPU is in "bench".
    return { ...base, database, processes: { 'api+worker (bench process)': process.pid }, cpuSeconds: cpuOf({}), errors: () => errors, startNoticeFloor };
  } catch (error) {
    await stop();
    throw error;
  }
}

