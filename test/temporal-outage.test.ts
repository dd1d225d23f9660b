/**
 * ShipStation's calls never wait on Temporal. A stack of its own (a Temporal dev server persisted to a
 * file, the worker, and the API over real HTTP): the server is frozen with SIGSTOP, then killed, then
 * started again on the same file. Meanwhile shipnotify and export are answered 200 at once, order reads
 * and /readyz keep working, and once Temporal is back every stored fact takes effect exactly once
 * within a minute.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApiServer, type ApiServer } from '../api/server';
import { createMerchant } from '../db/merchants';
import { SecretDigest } from '../db/secret-digest';
import { loadConfig } from '../runtime/config';
import { connectClientLazily } from '../temporal/connection';
import { freePort, startDevServer, type RunningDevServer } from '../tooling/temporal-cli';
import { ORDER_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { createOrderWorker } from '../worker';
import { call, type Requester } from './support/api';
import { openTestDatabase, type TestDatabase } from './support/database';
import { orderPayload } from './support/orders';
import { ShipStationSimulator } from './support/shipstation-simulator';
import { testWebhookSettings, uniqueId } from './support/stack';

const ADMIN = 'admin-token-for-the-outage-suite';
/** Far above what an answer takes (milliseconds), far below what waiting on a frozen server would. */
const ANSWER_BOUND_MS = 3_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Temporal frozen, then killed, then back', () => {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'ssw-outage-'));
  let serverOptions: Parameters<typeof startDevServer>[0];
  let server: RunningDevServer;
  let database: TestDatabase;
  let api: ApiServer;
  let worker: { current: Worker | null; run: Promise<void> | null; connection: NativeConnection | null };
  const taskQueue = uniqueId('outage');
  const secretDigestKey = randomBytes(32).toString('hex');

  async function startWorker() {
    const connection = await NativeConnection.connect({ address: server.address });
    const current = await createOrderWorker({ connection, namespace: 'default', taskQueue, db: database.db, workflowBundlePath: inject('workflowBundlePath'), webhooks: testWebhookSettings() });
    worker = { current, connection, run: current.run().catch(() => {}) };
  }

  async function stopWorker() {
    if (worker.current?.getState() === 'RUNNING') worker.current.shutdown();
    await worker.run;
    await worker.connection?.close().catch(() => {});
  }

  beforeAll(async () => {
    serverOptions = { port: await freePort(), namespace: 'default', searchAttributes: ORDER_SEARCH_ATTRIBUTES, dbFilename: path.join(workDir, 'temporal.sqlite'), logFile: path.join(workDir, 'temporal.log') };
    server = await startDevServer(serverOptions);
    if (server.pid === null) throw new Error('this test needs the Temporal CLI (make tools) to freeze and kill the server');
    database = await openTestDatabase('pglite');
    await startWorker();
    const config = loadConfig({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      ADMIN_TOKEN: ADMIN,
      SECRET_DIGEST_KEY: secretDigestKey,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      REQUEST_TIMEOUT: '5s',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: testWebhookSettings().allowPrivateNetworks ? 'true' : 'false',
    });
    const temporal = connectClientLazily(config.temporal);
    api = await startApiServer({ config, db: database.db, temporal, logger: pino({ level: 'silent' }), secretDigest: new SecretDigest(secretDigestKey) });
  }, 120_000);

  afterAll(async () => {
    await api?.stop(1000);
    if (worker) await stopWorker();
    await database?.close();
    if (server?.pid) {
      try {
        process.kill(server.pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await server?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    expect(performance.now() - started, `${what} waited on Temporal`).toBeLessThan(ANSWER_BOUND_MS);
    return result;
  };

  it('answers ShipStation and order reads while Temporal is away; every fact takes effect once when it is back', async () => {
    const merchantId = uniqueId('outage');
    const { apiKey } = await createMerchant(database.db, new SecretDigest(secretDigestKey), { id: merchantId, name: 'Outage merchant' });
    const target: Requester = { request: (url, init) => fetch(new URL(url, api.url), init) };
    const created = await call(target, 'POST', `/api/admin/merchants/${merchantId}/connections`, { token: ADMIN, json: {} });
    expect(created.status).toBe(201);
    const sim = new ShipStationSimulator({ fetch: (url, init) => fetch(url, init), url: created.body.url, username: created.body.username, password: created.body.password });

    const post = async (overrides: Record<string, unknown> = {}) => {
      const res = await call(target, 'POST', '/api/orders', { token: apiKey, json: orderPayload(overrides) });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as { orderNumber: string; orderId: string };
    };
    const read = async (orderNumber: string) => {
      const res = await call(target, 'GET', `/api/orders/${encodeURIComponent(orderNumber)}`, { token: apiKey });
      expect(res.status).toBe(200);
      return res.body;
    };

    // Three orders at ShipStation, one paid order it has not seen yet.
    const shipped = [await post(), await post(), await post()];
    expect((await sim.poll()).ok).toBe(true);
    for (const o of shipped) await expect.poll(async () => (await read(o.orderNumber)).status, { timeout: 20_000 }).toBe('at_wms');
    const unseen = await post();

    // Frozen: the process holds its sockets and answers nothing.
    process.kill(server.pid!, 'SIGSTOP');
    const notices: Awaited<ReturnType<ShipStationSimulator['ship']>>[] = [];
    notices.push(await timed('shipnotify', () => sim.ship(shipped[0]!.orderId, { tracking: '1ZFROZEN00000001' })));
    // A minute on: a change committed after a window was served is stamped past that window's end (its minute).
    const page = await timed('export', () => sim.poll(new Date(Date.now() + 60_000)));
    expect(page.ok, page.error ?? '').toBe(true);
    expect(page.orders.map((o) => o.OrderNumber)).toContain(unseen.orderNumber);
    const view = await timed('an order read', () => read(shipped[0]!.orderNumber));
    expect(view.pendingFacts.map((f: { kind: string }) => f.kind)).toEqual(['shipmentReported']);
    const ready = await timed('/readyz', () => call(target, 'GET', '/readyz'));
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', database: 'ok', temporal: 'unreachable' });
    // A request needs the order's yes or no: it cannot be had, and nothing changes.
    const cancel = await call(target, 'POST', `/api/orders/${encodeURIComponent(unseen.orderNumber)}/cancel`, { token: apiKey, json: { reason: 'outage' } });
    expect(cancel.status).toBe(503);

    // Killed while frozen (connections refused from now on).
    process.kill(server.pid!, 'SIGKILL');
    await sleep(500);
    notices.push(await timed('shipnotify', () => sim.ship(shipped[1]!.orderId, { tracking: '1ZKILLED00000002' })));
    notices.push(await timed('shipnotify', () => sim.ship(shipped[2]!.orderId, { tracking: '1ZKILLED00000003' })));
    // ShipStation repeats a notice: stored again, recorded once.
    notices.push(await timed('a repeated shipnotify', () => sim.resend(notices[0]!)));
    for (const n of notices) expect(n.status, n.text).toBe(200);
    const pendingMetrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(Number(/^order_facts_pending (\d+)/m.exec(pendingMetrics)?.[1])).toBeGreaterThanOrEqual(4);

    // Back, from the same file: what it acknowledged before is there, and the facts flow again.
    server = await startDevServer(serverOptions);
    const back = Date.now();
    await stopWorker(); // a worker whose server vanished may be backing off; a fresh one polls at once
    await startWorker();
    for (const o of shipped) {
      await expect.poll(async () => (await read(o.orderNumber)).status, { timeout: 60_000, interval: 250 }).toBe('shipped');
    }
    await expect.poll(async () => (await read(unseen.orderNumber)).status, { timeout: 60_000, interval: 250 }).toBe('at_wms');
    expect(Date.now() - back, 'facts reached their orders within a minute of Temporal coming back').toBeLessThan(60_000);
    for (const o of [...shipped, unseen]) {
      const order = await read(o.orderNumber);
      expect(order.pendingFacts).toEqual([]);
      expect(order.shipments).toHaveLength(o === unseen ? 0 : 1);
    }
    const settled = await (await fetch(`${api.url}/metrics`)).text();
    expect(/^order_facts_pending (\d+)/m.exec(settled)?.[1]).toBe('0');
  }, 180_000);
});
