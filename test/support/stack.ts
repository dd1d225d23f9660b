/**
 * A real order stack for integration tests: the shared dev server, a worker on a task queue of this
 * suite's own, a real database, the API's gateway and, on demand, the Hono app.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import pino from 'pino';
import { inject } from 'vitest';
import { createApp } from '../../api/app';
import type { ThrottleSettings } from '../../api/credential-throttle';
import type { OrderGateway } from '../../temporal/order-gateway';
import { createOrderServices, type OrderServices } from '../../runtime/order-services';
import { createMerchant } from '../../db/merchants';
import { recordFacts } from '../../db/order-facts';
import type { OrderFact } from '../../domain/facts';
import { FactsPendingError, type FactRelay } from '../../runtime/fact-relay';
import { SecretDigest } from '../../db/secret-digest';
import type { OrderSettings } from '../../domain/lifecycle';
import { loadConfig, type Config, type WebhookSettings } from '../../runtime/config';
import type { Logger } from '../../runtime/logger';
import { createOrderWorker } from '../../worker';
import { openTestDatabase, type DatabaseKind, type TestDatabase } from './database';

export const DAY = 86_400_000;

export const LONG_SETTINGS: OrderSettings = {
  deadlines: { awaitPaymentMs: 30 * DAY, pendingExportMs: 30 * DAY, atWmsShipmentMs: 30 * DAY },
  terminalGraceMs: 30 * DAY,
};

/**
 * Webhook settings for tests: receivers run on 127.0.0.1, so private networks are allowed (as by
 * `make dev`) unless the environment sets WEBHOOK_ALLOW_PRIVATE_NETWORKS itself.
 */
export function testWebhookSettings(overrides: Partial<WebhookSettings> = {}): WebhookSettings {
  const env = { WEBHOOK_ALLOW_PRIVATE_NETWORKS: process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS?.trim() || 'true', WEBHOOK_SECRET_GRACE: process.env.WEBHOOK_SECRET_GRACE };
  return { ...loadConfig(env).webhooks, ...overrides };
}

export interface TestStack {
  database: TestDatabase;
  client: Client;
  /** The relay, gateway and bulk retries, as an API process wires them. */
  orders: OrderServices;
  gateway: OrderGateway;
  /** Forwards stored facts (started: it sweeps like an API process's). */
  relay: FactRelay;
  taskQueue: string;
  settings: OrderSettings;
  worker: Worker | null;
  /** This suite's SECRET_DIGEST_KEY: pass it to loadConfig for servers that must accept this stack's credentials. */
  secretDigestKey: string;
  /** Digests of API keys and passwords under that key (what newMerchant and app() use). */
  secretDigest: SecretDigest;
  /** Starts (again) a worker on this suite's task queue. */
  startWorker(): Promise<void>;
  /** Stops the worker and waits until it has drained. */
  stopWorker(): Promise<void>;
  /**
   * Reports a fact the way the API's handlers do (stored, then forwarded by the relay) and waits until
   * it has reached the order's workflow. Like any fact, it takes effect just after that.
   */
  sendFact(ref: { orderId: string }, fact: OrderFact): Promise<void>;
  /** A merchant of this suite: unique id, so workflow ids never collide across suites. */
  newMerchant(prefix?: string): Promise<{ id: string; apiKey: string }>;
  app(options?: {
    adminToken?: string;
    maxBodyBytes?: number;
    shipstation?: Partial<Config['shipstation']>;
    authThrottle?: ThrottleSettings;
    trustProxyHops?: number;
    /** Default: testWebhookSettings() (private networks allowed). */
    webhooks?: Partial<WebhookSettings>;
    /** Default: silent. */
    logger?: Logger;
  }): ReturnType<typeof createApp>;
  close(): Promise<void>;
}

export const uniqueId = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

let runtimeInstalled = false;
/** The SDK's INFO chatter (worker state changes) would bury test output; keep warnings. */
function quietSdkLogs() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export async function startTestStack(
  options: { db?: DatabaseKind; settings?: Partial<OrderSettings>; requestTimeoutMs?: number; /** The worker's; default testWebhookSettings(). */ webhooks?: Partial<WebhookSettings> } = {},
): Promise<TestStack> {
  quietSdkLogs();
  const database = await openTestDatabase(options.db ?? 'pglite');
  const address = inject('temporalAddress');
  const namespace = inject('temporalNamespace');
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const nativeConnection = await NativeConnection.connect({ address });
  const taskQueue = uniqueId('orders-test');
  const settings: OrderSettings = { ...LONG_SETTINGS, ...options.settings };
  const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const orders = createOrderServices(database.db, client, { taskQueue, orders: settings, requestTimeoutMs: options.requestTimeoutMs ?? 10_000, relay: { logger: silent } });
  const { relay, gateway } = orders;

  let run: Promise<void> | null = null;
  const secretDigestKey = randomBytes(32).toString('hex');
  const secretDigest = new SecretDigest(secretDigestKey);
  const stack: TestStack = {
    database,
    client,
    orders,
    gateway,
    relay,
    taskQueue,
    settings,
    worker: null,
    secretDigestKey,
    secretDigest,
    async startWorker() {
      const worker = await createOrderWorker({ connection: nativeConnection, namespace, taskQueue, db: database.db, gateway, workflowBundlePath: inject('workflowBundlePath'), webhooks: testWebhookSettings(options.webhooks) });
      stack.worker = worker;
      run = worker.run();
    },
    async stopWorker() {
      if (stack.worker && stack.worker.getState() === 'RUNNING') stack.worker.shutdown();
      await run;
      stack.worker = null;
      run = null;
    },
    async sendFact(ref, fact) {
      await recordFacts(database.db, [{ orderId: ref.orderId, fact, via: 'test' }]);
      // As the relay would: again after a failed attempt (a suite loading its in-process stack hard can
      // make one signal miss its deadline), until it is delivered.
      for (const giveUpAt = Date.now() + 30_000; ; ) {
        try {
          return await relay.deliverOrder(ref.orderId, Date.now() + 10_000);
        } catch (error) {
          if (!(error instanceof FactsPendingError) || Date.now() > giveUpAt) throw error;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    },
    async newMerchant(prefix = 'm') {
      const id = uniqueId(prefix);
      const { apiKey } = await createMerchant(database.db, secretDigest, { id, name: `Merchant ${id}` });
      return { id, apiKey };
    },
    app(appOptions = {}) {
      return createApp({
        db: database.db,
        temporal: client,
        orders,
        adminToken: appOptions.adminToken ?? null,
        maxBodyBytes: appOptions.maxBodyBytes ?? 1_048_576,
        secretDigest,
        ...(appOptions.authThrottle ? { authThrottle: appOptions.authThrottle } : {}),
        ...(appOptions.trustProxyHops !== undefined ? { trustProxyHops: appOptions.trustProxyHops } : {}),
        shipstation: { ...loadConfig({}).shipstation, publicBaseUrl: 'http://connector.test', ...appOptions.shipstation },
        temporalSettings: { taskQueue, namespace, uiUrl: 'http://temporal-ui.test' },
        webhooks: testWebhookSettings(appOptions.webhooks),
        logger: appOptions.logger ?? silent,
      });
    },
    async close() {
      await relay.stop();
      await stack.stopWorker();
      await nativeConnection.close();
      await connection.close();
      await database.close();
    },
  };
  relay.start();
  await stack.startWorker();
  return stack;
}
