/**
 * `make dev`: the whole stack in one process on embedded defaults - a Temporal dev server with its Web
 * UI (state in .data/temporal.db), PGlite in .data/pglite, migrations, the worker and the API - and a
 * clean stop on Ctrl-C. DATABASE_URL switches to PostgreSQL; TEMPORAL_ADDRESS to an existing server.
 *
 * The worker and the API share this process because embedded PGlite is a single-process database.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../db/client';
import { createMerchant, findMerchant, findMerchantByApiKey, rotateMerchantKey } from '../db/merchants';
import { migrateDatabase } from '../db/migrate';
import { SecretDigest } from '../db/secret-digest';
import { createOrderServices } from '../runtime/order-services';
import { ApiMetrics } from '../api/metrics';
import { startApiServer } from '../api/server';
import { loadConfigOrExit, resolveSecretDigestKey, SECRET_DIGEST_KEY_FILE } from '../runtime/config';
import { keptSecret } from '../runtime/kept-secret';
import { createLogger } from '../runtime/logger';
import { ensureMaintenanceSchedule } from '../temporal/schedules';
import { connectClient, connectWorker, ensureSearchAttributes, installWorkerRuntime } from '../temporal/connection';
import { startDevServer, type RunningDevServer } from '../tooling/temporal-cli';
import { ORDER_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { createOrderWorker } from '../worker';

const DEV_MERCHANT = { id: 'dev', name: 'Dev merchant' };

async function main() {
  const dataDir = path.resolve(process.env.DATA_DIR?.trim() || '.data');
  mkdirSync(dataDir, { recursive: true });
  if (!process.env.ADMIN_TOKEN?.trim()) {
    process.env.ADMIN_TOKEN = keptSecret(path.join(dataDir, 'admin-token'), () => `adm_${randomBytes(24).toString('base64url')}`);
  }
  // The key of the stored API-key and password digests, kept like the admin token (the same file the
  // API keeps beside embedded PGlite); with DATABASE_URL too, since make dev is a single process.
  if (!process.env.SECRET_DIGEST_KEY?.trim()) {
    process.env.SECRET_DIGEST_KEY = keptSecret(path.join(dataDir, SECRET_DIGEST_KEY_FILE), () => randomBytes(32).toString('hex'));
  }
  // Receivers during development run on this machine or the local network: allow them, unless set.
  if (!process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS?.trim()) process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS = 'true';
  const config = loadConfigOrExit();
  const secretDigest = new SecretDigest(resolveSecretDigestKey(config));
  const logger = createLogger(config.logLevel, 'dev');
  installWorkerRuntime(logger, { metricsPort: config.workerMetricsPort });

  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.warn({ err: error }, 'error while stopping');
      }
    }
  };
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping API, worker, database and Temporal...`);
    void stopAll().then(() => {
      console.log('stopped.');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  try {
    let temporalAddress = config.temporal.address;
    let uiUrl: string | null = null;
    if (!config.temporal.addressGiven) {
      const [, port] = config.temporal.address.split(':');
      const server: RunningDevServer = await startDevServer({
        port: Number(port),
        uiPort: config.temporal.uiPort,
        dbFilename: path.join(dataDir, 'temporal.db'),
        namespace: config.temporal.namespace,
        searchAttributes: ORDER_SEARCH_ATTRIBUTES,
        logFile: path.join(dataDir, 'temporal.log'),
      });
      cleanups.push(() => server.stop());
      temporalAddress = server.address;
      uiUrl = server.uiUrl;
      logger.info({ how: server.how, address: server.address }, 'Temporal dev server started');
    }

    const temporalTarget = { ...config.temporal, address: temporalAddress };
    const temporal = await connectClient(temporalTarget);
    cleanups.push(() => temporal.connection.close());
    if (config.temporal.addressGiven) {
      const added = await ensureSearchAttributes(temporal);
      if (added.length) logger.info({ added }, 'registered search attributes on the Temporal server');
    }
    await ensureMaintenanceSchedule(temporal, config.temporal.taskQueue, { requestLogDays: config.shipstation.requestLogDays, personalDataDays: config.personalDataDays });

    const database = await openDatabase(config.database);
    cleanups.push(() => database.close());
    await migrateDatabase(database);

    const devKey = keptSecret(path.join(dataDir, 'dev-merchant-key'), () => '');
    let apiKey = devKey;
    if (!(await findMerchant(database.db, DEV_MERCHANT.id))) {
      apiKey = (await createMerchant(database.db, secretDigest, DEV_MERCHANT)).apiKey;
    } else if (!devKey || (await findMerchantByApiKey(database.db, secretDigest, devKey))?.id !== DEV_MERCHANT.id) {
      apiKey = (await rotateMerchantKey(database.db, secretDigest, DEV_MERCHANT.id))!;
    }
    writeFileSync(path.join(dataDir, 'dev-merchant-key'), `${apiKey}\n`, { mode: 0o600 });

    const connection = await connectWorker(temporalTarget);
    cleanups.push(() => connection.close());
    const { gateway } = createOrderServices(database.db, temporal, { taskQueue: config.temporal.taskQueue, orders: config.orders, requestTimeoutMs: config.requestTimeoutMs, relay: { logger } });
    const worker = await createOrderWorker({ connection, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue, db: database.db, gateway, maxCachedWorkflows: config.workerCachedWorkflows, shutdownGraceMs: config.shutdownGraceMs, webhooks: config.webhooks });
    const workerRun = worker.run();
    cleanups.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
    });

    const api = await startApiServer({ config: { ...config, temporal: temporalTarget }, db: database.db, temporal, logger, metrics: new ApiMetrics({ processMetrics: true }), secretDigest });
    const { url } = api;
    cleanups.push(async () => void (await api.stop(config.shutdownGraceMs)));

    console.log(
      [
        '',
        'ShipStation WMS connector is running',
        `  API                ${url}   (OpenAPI: ${url}/openapi.json)`,
        `  Ops console        ${config.shipstation.publicBaseUrl}/ops   (sign in with the admin token below)`,
        `  Temporal UI        ${uiUrl ?? `(using the Temporal server at ${temporalAddress})`}`,
        `  Temporal address   ${temporalAddress}, namespace ${config.temporal.namespace}`,
        `  Database           ${database.kind} at ${database.location}`,
        `  Metrics            ${api.metricsUrl} (API)${config.workerMetricsPort ? `, http://localhost:${config.workerMetricsPort}/metrics (worker)` : ''}`,
        `  Admin token        ${config.adminToken}`,
        `  Dev merchant key   ${apiKey}   (merchant "${DEV_MERCHANT.id}")`,
        '',
        'Try:',
        `  curl -s -X POST ${url}/api/orders -H "Authorization: Bearer ${apiKey}" -H "Content-Type: application/json" \\`,
        `    -d '{"orderNumber":"A-1001","orderDate":"2026-11-25T10:00:00Z","paid":true,"shipTo":{"name":"Ada Lovelace","street1":"1 Main St","city":"Austin","state":"TX","postalCode":"78701","country":"US"},"lines":[{"sku":"MUG-1","name":"Mug","quantity":2,"unitPrice":"9.50"}]}'`,
        '',
        'Connect a ShipStation store: in the ops console, Connections > New connection, or in another terminal:',
        `  npm run ops -- connections create --merchant ${DEV_MERCHANT.id}`,
        '',
        'Ctrl-C stops everything.',
      ].join('\n'),
    );
    await workerRun;
  } catch (error) {
    console.error(`make dev failed: ${error instanceof Error ? error.message : String(error)}`);
    await stopAll();
    process.exit(1);
  }
}

void main();
