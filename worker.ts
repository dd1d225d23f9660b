/**
 * The Temporal worker: order workflows plus the activities that write the read model. Run on its own
 * with `node dist/worker.js` (built) or `npm run worker` (from source); `make dev` runs the same worker
 * in its process. Stops gracefully on SIGINT/SIGTERM: in-flight activities get SHUTDOWN_GRACE to
 * finish, workflows resume on another worker.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createActivities } from './activities';
import { openDatabase, type Db } from './db/client';
import { loadConfigOrExit, type Config, type WebhookSettings } from './runtime/config';
import { createOrderServices } from './runtime/order-services';
import type { OrderGateway } from './temporal/order-gateway';
import { ensureMaintenanceSchedule } from './temporal/schedules';
import { createLogger } from './runtime/logger';
import { connectClient, connectWorker, ensureSearchAttributes, installWorkerRuntime } from './temporal/connection';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
/**
 * How the workflows are bundled, wherever that happens (build, tests, a worker started from source).
 * The worker keeps every cached workflow's copy of the modules it loads; these ones hold no
 * per-workflow state at module level (rules, statuses, message and search-attribute definitions, and
 * the order workflow's units: classes instantiated per run, activity proxies that find the running
 * workflow when called), so one copy, loaded when the sandbox starts and frozen by the SDK, serves
 * them all. Less memory per cached order: with a copy each, the order workflow's units alone cost
 * about 10 KB per order (worker RSS 965 against 858 MiB with 10,000 open orders).
 */
export const WORKFLOW_BUNDLE_OPTIONS = {
  workflowsPath: WORKFLOWS_PATH,
  preloadModules: [
    'domain/order.ts',
    'domain/lifecycle.ts',
    'domain/money.ts',
    'domain/dates.ts',
    'domain/shipments.ts',
    'workflows/messages.ts',
    'workflows/search-attributes.ts',
    'workflows/visibility.ts',
    'workflows/read-model.ts',
    'workflows/confirmations.ts',
    'workflows/order-run.ts',
  ].map((file) => fileURLToPath(new URL(`./${file}`, import.meta.url))),
};
/**
 * `npm run build` writes the workflow bundle next to dist/worker.js, so the production worker starts
 * without webpack; from source (no such file beside worker.ts) the workflows are bundled at start.
 */
export const PREBUILT_WORKFLOW_BUNDLE = fileURLToPath(new URL('./workflow-bundle.js', import.meta.url));

export interface OrderWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  /** For activities that send requests to order workflows (bulk retry), after the order's pending facts. */
  gateway?: OrderGateway;
  /** A prebuilt bundle (the build's, or the one tests build per run); otherwise bundled at start. */
  workflowBundlePath?: string;
  /** How long in-flight activities may run on after shutdown starts; then they are cancelled. */
  shutdownGraceMs?: number;
  /** Workflows kept in memory between messages; evicted ones are replayed from history when needed. */
  maxCachedWorkflows?: number;
  /** Where confirmation webhooks may go (WEBHOOK_ALLOW_PRIVATE_NETWORKS); default: public addresses only. */
  webhooks?: Pick<WebhookSettings, 'allowPrivateNetworks'>;
}

export function createOrderWorker(options: OrderWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundlePath
      ? { workflowBundle: { codePath: options.workflowBundlePath } }
      : { workflowsPath: WORKFLOWS_PATH, bundlerOptions: { preloadModules: WORKFLOW_BUNDLE_OPTIONS.preloadModules } }),
    activities: createActivities(options.db, options.gateway ?? null, options.webhooks),
    shutdownGraceTime: options.shutdownGraceMs ?? 10_000,
    ...(options.maxCachedWorkflows !== undefined && { maxCachedWorkflows: options.maxCachedWorkflows }),
  });
}

/**
 * What the worker's workflows need from the server: the order search attributes (workflows upsert
 * them; registered where the server allows it) and the housekeeping schedule.
 */
async function prepareTemporal(config: Config, logger: ReturnType<typeof createLogger>) {
  const client = await connectClient(config.temporal);
  try {
    try {
      const added = await ensureSearchAttributes(client);
      if (added.length) logger.info({ added }, 'registered search attributes');
    } catch (error) {
      logger.warn({ err: error }, 'could not check or register the order search attributes; register them with the operator tools');
    }
    await ensureMaintenanceSchedule(client, config.temporal.taskQueue, { requestLogDays: config.shipstation.requestLogDays, personalDataDays: config.personalDataDays });
  } finally {
    await client.connection.close();
  }
}

async function main() {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, 'worker');
  installWorkerRuntime(logger, { metricsPort: config.workerMetricsPort });
  await prepareTemporal(config, logger);
  const database = await openDatabase(config.database);
  const connection = await connectWorker(config.temporal);
  const temporal = await connectClient(config.temporal);
  try {
    const worker = await createOrderWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      db: database.db,
      // Its relay is not started: the API processes forward facts; bulk retries deliver an order's own before retrying it.
      gateway: createOrderServices(database.db, temporal, {
        taskQueue: config.temporal.taskQueue,
        orders: config.orders,
        requestTimeoutMs: config.requestTimeoutMs,
        relay: { logger },
      }).gateway,
      workflowBundlePath: existsSync(PREBUILT_WORKFLOW_BUNDLE) ? PREBUILT_WORKFLOW_BUNDLE : undefined,
      shutdownGraceMs: config.shutdownGraceMs,
      maxCachedWorkflows: config.workerCachedWorkflows,
      webhooks: config.webhooks,
    });
    logger.info(
      { taskQueue: config.temporal.taskQueue, database: database.location, metricsPort: config.workerMetricsPort || null },
      'worker running; Ctrl-C stops it',
    );
    await worker.run(); // resolves after SIGINT/SIGTERM once the worker has drained
  } finally {
    await temporal.connection.close();
    await connection.close();
    await database.close();
    logger.info('worker stopped');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(`worker failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
