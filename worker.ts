/**
 * The Temporal worker: order workflows plus the activities that write the read model. Run on its own
 * with `npm run worker`; `make dev` runs the same worker in its process. Stops gracefully on
 * SIGINT/SIGTERM: in-flight activities get `shutdownGraceTime` to finish, workflows resume elsewhere.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from './activities';
import { openDatabase, type Db } from './db/client';
import { loadConfigOrExit, type Config } from './runtime/config';
import { ensureMaintenanceSchedule } from './runtime/maintenance';
import { createLogger } from './runtime/logger';
import { connectClient, ensureSearchAttributes, installTemporalLogging } from './runtime/temporal';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface OrderWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  /** For activities that message other workflows (bulk retry). */
  temporal?: Client;
  /** A prebuilt bundle (tests build one per run); otherwise the workflows are bundled at start. */
  workflowBundlePath?: string;
}

export function createOrderWorker(options: OrderWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundlePath ? { workflowBundle: { codePath: options.workflowBundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(options.db, options.temporal ?? null),
    shutdownGraceTime: '10 seconds',
  });
}

/**
 * What the worker's workflows need from the server: the order search attributes (workflows upsert
 * them; registered where the server allows it) and the housekeeping schedule.
 */
async function prepareTemporal(config: Config, logger: ReturnType<typeof createLogger>) {
  const client = await connectClient(config.temporal.address, config.temporal.namespace);
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
  installTemporalLogging(logger);
  await prepareTemporal(config, logger);
  const database = await openDatabase(config.database);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const temporal = await connectClient(config.temporal.address, config.temporal.namespace);
  try {
    const worker = await createOrderWorker({ connection, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue, db: database.db, temporal });
    logger.info({ taskQueue: config.temporal.taskQueue, database: database.location }, 'worker running; Ctrl-C stops it');
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
