/**
 * The production build, run as docker-compose.yml runs it: `npm run build`, then plain `node` on
 * dist/ (no tsx, workflows prebundled) against the test Temporal server and PostgreSQL. Migrations
 * from two processes at once, a whole order lifecycle over HTTP, the metrics and logs an operator
 * relies on, and graceful shutdown of both processes in the middle of work.
 */
import { spawnSync } from 'node:child_process';
import nodeHttp from 'node:http';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { orderWorkflowId } from '../domain/order';
import { freePort } from '../tooling/temporal-cli';
import { PROJECT_ROOT } from '../tooling/project-root';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from './support/database';
import { eventually, orderPayload } from './support/orders';
import { PRODUCTION_COMMANDS, startProcess, waitFor, type RunningProcess } from './support/processes';
import { ShipStationSimulator } from './support/shipstation-simulator';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';

const ADMIN_TOKEN = 'prod-admin-token-4f1c9e2a7b';
/** The API refuses to start on PostgreSQL without one (stored API keys and passwords are keyed digests). */
const SECRET_DIGEST_KEY = 'prod-secret-digest-key-7d03b1e95a2c4f68';

/** One sample of a Prometheus text exposition, or undefined when absent. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe.runIf(DATABASE_KINDS.includes('postgres'))('production build (node dist/...)', () => {
  let database: TestDatabase;
  let receiver: WebhookReceiver;
  let temporal: Client;
  let api: RunningProcess | null = null;
  let worker: RunningProcess | null = null;
  const workers: RunningProcess[] = [];
  let apiUrl = '';
  let workerMetricsUrl = '';
  let workerEnv: Record<string, string> = {};
  const taskQueue = `prod-${Date.now().toString(36)}`;

  const startWorker = async () => {
    worker = startProcess(PRODUCTION_COMMANDS.worker, workerEnv);
    workers.push(worker);
    await worker.waitForOutput('worker running', 90_000);
  };

  const http = async (method: string, path: string, options: { token?: string; json?: unknown } = {}) => {
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
        ...(options.json !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: /json/.test(response.headers.get('Content-Type') ?? '') ? JSON.parse(text) : text };
  };

  let merchant: { id: string; apiKey: string };
  let connection: { url: string; username: string; password: string };
  let webhookSecret = '';

  beforeAll(async () => {
    const build = spawnSync('npm', ['run', 'build'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 180_000 });
    expect(build.status, `npm run build failed:\n${build.stdout}\n${build.stderr}`).toBe(0);

    database = await openTestDatabase('postgres', { migrate: false });
    receiver = await startWebhookReceiver();
    const connectionToTemporal = await Connection.connect({ address: inject('temporalAddress') });
    temporal = new Client({ connection: connectionToTemporal, namespace: inject('temporalNamespace') });

    const common = {
      DATABASE_URL: database.url!,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: inject('temporalNamespace'),
      TEMPORAL_TASK_QUEUE: taskQueue,
      SHUTDOWN_GRACE: '20s',
      // The receiver listens on 127.0.0.1 over plain http.
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS ?? 'true',
    };
    const apiPort = await freePort();
    const metricsPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    workerMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    workerEnv = { ...common, WORKER_METRICS_PORT: String(metricsPort) };

    // Two migrations at once (two replicas starting together): both succeed, the schema once.
    const migrations = [startProcess(PRODUCTION_COMMANDS.migrate, common), startProcess(PRODUCTION_COMMANDS.migrate, common)];
    for (const run of migrations) expect(await run.exit, run.output()).toBe(0);

    await startWorker();
    api = startProcess(PRODUCTION_COMMANDS.api, { ...common, PORT: String(apiPort), HOST: '127.0.0.1', ADMIN_TOKEN, SECRET_DIGEST_KEY, PUBLIC_BASE_URL: apiUrl, REQUEST_TIMEOUT: '60s' });
    await api.waitForOutput('API listening');

    const created = await http('POST', '/api/admin/merchants', { token: ADMIN_TOKEN, json: { id: `prod-${Date.now().toString(36)}`, name: 'Production test' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    merchant = created.body;
    const newConnection = await http('POST', `/api/admin/merchants/${merchant.id}/connections`, { token: ADMIN_TOKEN });
    expect(newConnection.status).toBe(201);
    connection = newConnection.body;
  }, 240_000);

  afterAll(async () => {
    for (const child of [api, ...workers]) {
      if (child && child.child.exitCode === null) child.child.kill('SIGKILL');
    }
    await temporal?.connection.close();
    await receiver?.close();
    await database?.close();
  });

  it('migrations ran once: a third run finds nothing to do and the schema is complete', async () => {
    const again = startProcess(PRODUCTION_COMMANDS.migrate, { DATABASE_URL: database.url! });
    expect(await again.exit, again.output()).toBe(0);
    const sql = postgres(database.url!, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ count: string }[]>`select count(*)::text as count from drizzle.__drizzle_migrations`;
      const files = (await import('node:fs')).readdirSync(`${PROJECT_ROOT}/dist/migrations`).filter((f) => f.endsWith('.sql'));
      expect(Number(row!.count)).toBe(files.length);
    } finally {
      await sql.end();
    }
  });

  let polls = 0;
  async function shipOrder(payload: Record<string, unknown>) {
    const orderNumber = payload.orderNumber as string;
    const created = await http('POST', '/api/orders', { token: merchant.apiKey, json: payload });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const shipstation = new ShipStationSimulator({ fetch, url: connection.url, username: connection.username, password: connection.password });
    // ShipStation's dates have minute resolution and a repeated window reuses its snapshot, so each
    // poll asks for a later minute, as ShipStation's next scheduled poll would.
    const poll = await shipstation.poll(new Date(Date.now() + ++polls * 60_000));
    expect(poll.ok, poll.error ?? '').toBe(true);
    expect(shipstation.find(orderNumber)?.status).toBe('Awaiting Shipment');
    await eventually(
      () => http('GET', `/api/orders/${orderNumber}`, { token: merchant.apiKey }),
      (res) => res.body.status === 'at_wms',
    );
    const notice = await shipstation.ship(orderNumber, { carrier: 'UPS', service: 'UPS Ground', tracking: `1Z${Date.now()}` });
    expect(notice.status).toBe(200);
    return orderNumber;
  }

  it('runs an order from creation to confirmed: export, shipnotify, pickup and ack', async () => {
    const orderNumber = await shipOrder(orderPayload());
    const shipments = await eventually(
      () => http('GET', '/api/shipments?acked=false', { token: merchant.apiKey }),
      (res) => res.body.shipments?.some((s: { orderNumber: string }) => s.orderNumber === orderNumber),
    );
    const shipment = shipments.body.shipments.find((s: { orderNumber: string }) => s.orderNumber === orderNumber);
    expect(shipment).toMatchObject({ carrier: 'UPS', service: 'UPS Ground', trackingNumber: expect.stringMatching(/^1Z/) });
    expect((await http('POST', `/api/shipments/${shipment.id}/ack`, { token: merchant.apiKey })).status).toBe(200);
    const order = await eventually(
      () => http('GET', `/api/orders/${orderNumber}`, { token: merchant.apiKey }),
      (res) => res.body.status === 'confirmed',
    );
    expect(order.body.status).toBe('confirmed');
  }, 60_000);

  it('pushes confirmations to a webhook from the built worker', async () => {
    const target = await http('PUT', `/api/admin/merchants/${merchant.id}/confirmation-targets`, { token: ADMIN_TOKEN, json: { mode: 'push', webhookUrl: receiver.url } });
    expect(target.status, JSON.stringify(target.body)).toBe(200);
    webhookSecret = target.body.signingSecret;
    const orderNumber = await shipOrder(orderPayload());
    await eventually(
      () => http('GET', `/api/orders/${orderNumber}`, { token: merchant.apiKey }),
      (res) => res.body.status === 'confirmed',
    );
    expect(receiver.received.filter((r) => r.rawBody.includes(orderNumber))).toHaveLength(1);
  }, 60_000);

  it('/metrics on the API counts requests by route and status, export orders, shipnotify outcomes and pickup acks', async () => {
    // One refused shipnotify, to see an outcome other than "recorded".
    const refused = await fetch(`${connection.url}?action=shipnotify&order_number=nope`, { method: 'POST', headers: { Authorization: `Basic ${Buffer.from(`${connection.username}:wrong`).toString('base64')}` } });
    expect(refused.status).toBe(401);

    const response = await fetch(`${apiUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(metric(text, 'http_requests_total', { method: 'POST', route: '/api/orders', status: '201' })).toBe(2);
    expect(metric(text, 'http_requests_total', { method: 'GET', route: '/api/orders/:orderNumber', status: '200' })).toBeGreaterThanOrEqual(4);
    expect(metric(text, 'http_request_duration_seconds_count', { method: 'POST', route: '/api/orders', status: '201' })).toBe(2);
    // Creating an order waits for the worker and the read model: it takes time, but not 30 s.
    const createdSeconds = metric(text, 'http_request_duration_seconds_sum', { method: 'POST', route: '/api/orders', status: '201' })!;
    expect(createdSeconds).toBeGreaterThan(0);
    expect(createdSeconds).toBeLessThan(30);
    expect(metric(text, 'http_request_duration_seconds_bucket', { method: 'POST', route: '/api/orders', status: '201', le: '+Inf' })).toBe(2);
    expect(metric(text, 'shipstation_export_orders_sum')).toBeGreaterThanOrEqual(2);
    expect(metric(text, 'shipstation_export_orders_count')).toBeGreaterThanOrEqual(2);
    expect(metric(text, 'shipstation_shipnotify_total', { outcome: 'recorded' })).toBe(2);
    expect(metric(text, 'shipstation_shipnotify_total', { outcome: 'unauthorized' })).toBe(1);
    expect(metric(text, 'confirmation_deliveries_total', { via: 'pickup' })).toBe(1);
    expect(metric(text, 'process_resident_memory_bytes')).toBeGreaterThan(1_000_000);
    // Unknown paths share one label, so a scanner cannot grow the series without bound.
    await fetch(`${apiUrl}/wp-login.php`);
    await fetch(`${apiUrl}/some/other/${Date.now()}`);
    const after = await (await fetch(`${apiUrl}/metrics`)).text();
    expect(metric(after, 'http_requests_total', { method: 'GET', route: '(unmatched)', status: '404' })).toBe(2);
    expect(after).not.toContain('wp-login');
  });

  it("the worker's metrics port serves the SDK's metrics and webhook deliveries", async () => {
    const text = await (await fetch(workerMetricsUrl)).text();
    expect(metric(text, 'temporal_num_pollers', { poller_type: 'workflow_task', task_queue: taskQueue })).toBeGreaterThan(0);
    expect(metric(text, 'temporal_activity_execution_latency_count', { activity_type: 'projectOrder', task_queue: taskQueue })).toBeGreaterThan(0);
    expect(metric(text, 'temporal_workflow_task_execution_latency_count', { workflow_type: 'orderWorkflow', task_queue: taskQueue })).toBeGreaterThan(0);
    // The activities' own counter, named as the API's pickup counter and told apart by `via`.
    expect(metric(text, 'confirmation_deliveries_total', { via: 'push', outcome: 'delivered', activityType: 'deliverConfirmation' })).toBe(1);
  });

  it('logs are JSON lines naming the request, merchant, connection, order and workflow, and no secret', async () => {
    const lines = api!
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const created = lines.find((l) => l.msg === 'request' && l.method === 'POST' && l.route === '/api/orders');
    expect(created).toMatchObject({
      level: 30,
      service: 'api',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      requestId: expect.any(String),
      merchant: merchant.id,
      orderNumber: expect.any(String),
      status: 201,
    });
    expect(created!.workflowId).toBe(orderWorkflowId(merchant.id, created!.orderNumber as string));
    const shipnotify = lines.find((l) => l.msg === 'shipstation' && l.action === 'shipnotify' && l.status === 200);
    expect(shipnotify).toMatchObject({ connection: connection.username, merchant: merchant.id, orderNumber: expect.any(String), requestId: expect.any(String) });
    const everything = api!.output() + workers.map((w) => w.output()).join('');
    for (const secret of [ADMIN_TOKEN, merchant.apiKey, connection.password, webhookSecret]) {
      expect(secret.length).toBeGreaterThan(8);
      expect(everything).not.toContain(secret);
    }
  });

  it("keeps an idle keep-alive connection open past Node's 5 s default, so a reusing client is not reset", async () => {
    const agent = new nodeHttp.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = nodeHttp.get(`${apiUrl}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket }));
        });
        req.on('error', reject);
      });
    try {
      expect(await get()).toEqual({ status: 200, reused: false });
      await new Promise((r) => setTimeout(r, 6_000));
      expect(await get()).toEqual({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  }, 20_000);

  it('the worker drains on SIGTERM: a webhook delivery in flight finishes and is not repeated', async () => {
    receiver.respond = () => ({ status: 200, body: 'ok', delayMs: 3000 });
    const before = receiver.received.length;
    const orderNumber = await shipOrder(orderPayload());
    await waitFor(() => receiver.received.length > before, () => 'the webhook delivery to start', 30_000);
    const draining = worker!;
    draining.child.kill('SIGTERM');
    expect(await draining.exit, draining.output()).toBe(0);
    expect(draining.output()).toContain('worker stopped');
    // The delivery completed before the worker left: a new worker finds it done, not to be redone.
    receiver.respond = () => ({ status: 200, body: 'ok' });
    await startWorker();
    await eventually(
      () => http('GET', `/api/orders/${orderNumber}`, { token: merchant.apiKey }),
      (res) => res.body.status === 'confirmed',
      30_000,
    );
    expect(receiver.received.filter((r) => r.rawBody.includes(orderNumber))).toHaveLength(1);
  }, 120_000);

  it('the API drains on SIGTERM: a slow request in flight finishes, new connections are refused', async () => {
    // With no worker the order request waits (REQUEST_TIMEOUT is 60 s) until one starts.
    const stopping = worker!;
    stopping.child.kill('SIGTERM');
    expect(await stopping.exit).toBe(0);

    const payload = orderPayload();
    const slow = http('POST', '/api/orders', { token: merchant.apiKey, json: payload });
    const workflowId = orderWorkflowId(merchant.id, payload.orderNumber as string);
    await eventually(
      () => temporal.workflow.getHandle(workflowId).describe().then(() => true, () => false),
      (started) => started,
    );
    api!.child.kill('SIGTERM');
    await api!.waitForOutput('stopping API');
    await expect(fetch(`${apiUrl}/healthz`)).rejects.toThrow();

    await startWorker();
    const answer = await slow;
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(answer.body.status).toBe('pending');
    expect(await api!.exit, api!.output()).toBe(0);
    expect(api!.output()).toContain('API stopped');
    worker!.child.kill('SIGTERM');
    expect(await worker!.exit).toBe(0);
  }, 120_000);
});
