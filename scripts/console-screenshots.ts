/**
 * `npm run docs:screenshots`: a picture of every ops console page for docs/ops-console.md.
 *
 * Starts a whole stack of its own in one process (a headless Temporal dev server, embedded PGlite in a
 * temporary directory, the worker and the API on a free port), seeds believable data (two merchants,
 * a ShipStation connection that has polled and been notified, a dozen orders in different statuses,
 * some stuck for different reasons, one shipped), signs in as "Ana" with the same chromium the browser
 * tests drive (test/support/browser.ts), and saves docs/ops-console/<page>.png at 1280 px wide.
 * Nothing else is written; `make test` never runs this.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { OrderPayloadSchema, normalizeOrderPayload, type OrderPayload } from '../api/order-payload';
import { createHashOf, orderIdFor } from '../api/order-view';
import { testExportQuery } from '../api/routes/connections';
import { startApiServer } from '../api/server';
import { openDatabase } from '../db/client';
import { createConnection } from '../db/connections';
import { createMerchant } from '../db/merchants';
import { migrateDatabase } from '../db/migrate';
import { findOrderByNumber, stateFromRecord } from '../db/orders';
import { SecretDigest } from '../db/secret-digest';
import type { DeadlineOverrides } from '../domain/lifecycle';
import { canonicalJson, type OrderState } from '../domain/order';
import { requestedBy } from '../domain/requester';
import { loadConfig } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { createOrderServices } from '../runtime/order-services';
import { connectClient, connectWorker, installWorkerRuntime } from '../temporal/connection';
import { PROJECT_ROOT } from '../tooling/project-root';
import { freePort, startDevServer } from '../tooling/temporal-cli';
import { cancelUpdate } from '../workflows/messages';
import { ORDER_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { createOrderWorker } from '../worker';
import { findChromium, launchBrowser, DEFAULT_CHROMIUM_PATH } from '../test/support/browser';
import { Teardown } from '../test/support/processes';

const OUT_DIR = path.join(PROJECT_ROOT, 'docs', 'ops-console');
const WIDTH = 1280;
const SIGNED_IN_AS = 'Ana';

const say = (text: string) => console.log(`[screenshots] ${text}`);

// ---- seed data ----------------------------------------------------------------------------------

const MERCHANTS = [
  { id: 'acme', name: 'Acme Outdoor Supply' },
  { id: 'northwind', name: 'Northwind Coffee Roasters' },
] as const;

const PEOPLE = [
  { name: 'Ada Lovelace', street1: '12 Marlborough Rd', city: 'Austin', state: 'TX', postalCode: '78701' },
  { name: 'Grace Hopper', street1: '400 Bay St', city: 'Arlington', state: 'VA', postalCode: '22201' },
  { name: 'Alan Turing', street1: '78 Elm Ave', city: 'Portland', state: 'OR', postalCode: '97205' },
  { name: 'Katherine Johnson', street1: '9 Hampton Way', city: 'Newport News', state: 'VA', postalCode: '23606' },
  { name: 'Edsger Dijkstra', street1: '3 Canal St', city: 'Madison', state: 'WI', postalCode: '53703' },
  { name: 'Barbara Liskov', street1: '55 Beacon St', city: 'Boston', state: 'MA', postalCode: '02108' },
];

const CATALOG: Record<(typeof MERCHANTS)[number]['id'], { sku: string; name: string; unitPrice: string }[]> = {
  acme: [
    { sku: 'TENT-2P', name: 'Two-person tent', unitPrice: '189.00' },
    { sku: 'BAG-20F', name: 'Sleeping bag 20°F', unitPrice: '129.50' },
    { sku: 'LAMP-H', name: 'Head lamp', unitPrice: '24.99' },
    { sku: 'BOTTLE-1L', name: 'Water bottle 1 L', unitPrice: '18.00' },
  ],
  northwind: [
    { sku: 'BEAN-ETH-340', name: 'Ethiopia Yirgacheffe 340 g', unitPrice: '17.50' },
    { sku: 'BEAN-COL-1K', name: 'Colombia Huila 1 kg', unitPrice: '38.00' },
    { sku: 'GRINDER-M', name: 'Hand grinder', unitPrice: '64.00' },
  ],
};

interface SeedOrder {
  merchant: (typeof MERCHANTS)[number]['id'];
  orderNumber: string;
  paid: boolean;
  /** Short deadlines make an order stuck a few seconds after it is created. */
  deadlines?: DeadlineOverrides;
}

let seq = 0;
function payload(order: SeedOrder): Record<string, unknown> {
  const n = seq++;
  const person = PEOPLE[n % PEOPLE.length]!;
  const items = CATALOG[order.merchant];
  const lines = [items[n % items.length]!, items[(n + 1) % items.length]!].map((item, i) => ({ lineId: `L${i + 1}`, ...item, quantity: 1 + ((n + i) % 2) }));
  return {
    orderNumber: order.orderNumber,
    orderDate: new Date(Date.now() - (12 - n) * 3_600_000).toISOString(),
    paid: order.paid,
    currency: 'USD',
    source: order.merchant === 'acme' ? 'shopify' : 'woocommerce',
    shippingMethod: n % 3 === 0 ? 'Express' : 'Ground',
    customer: { code: `C-${100 + n}`, email: `${person.name.split(' ')[0]!.toLowerCase()}@example.com` },
    shipTo: { ...person, country: 'US', phone: `555-01${String(n).padStart(2, '0')}` },
    lines,
    shippingAmount: '6.95',
  };
}

// ---- the stack ----------------------------------------------------------------------------------

async function main() {
  const chromiumPath = findChromium();
  if (!chromiumPath) {
    console.error(`npm run docs:screenshots needs chromium at ${process.env.CHROMIUM_PATH?.trim() || DEFAULT_CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH).`);
    process.exit(1);
  }
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'ssw-screenshots-'));
  const teardown = new Teardown();
  teardown.add(() => rmSync(workDir, { recursive: true, force: true }));

  try {
    say(`stack in ${workDir}`);
    const server = await startDevServer({ port: await freePort(), namespace: 'default', searchAttributes: ORDER_SEARCH_ATTRIBUTES, logFile: path.join(workDir, 'temporal.log') });
    teardown.add(() => server.stop());

    // The default port of `make dev` when it is free, so the pages look like the reader's own.
    const port = await freePort().then(async (fallback) => ((await portFree(3000)) ? 3000 : fallback));
    const origin = `http://localhost:${port}`;
    const adminToken = `adm_${randomBytes(24).toString('base64url')}`;
    const config = loadConfig({
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: origin,
      ADMIN_TOKEN: adminToken,
      SECRET_DIGEST_KEY: randomBytes(32).toString('hex'),
      DATA_DIR: workDir,
      TEMPORAL_ADDRESS: server.address,
      LOG_LEVEL: 'warn',
    });
    const secretDigest = new SecretDigest(config.secretDigestKey!);
    const logger = createLogger('error', 'screenshots');
    installWorkerRuntime(logger, { metricsPort: 0 });

    const temporal = await connectClient(config.temporal);
    teardown.add(() => temporal.connection.close());
    const database = await openDatabase(config.database);
    teardown.add(() => database.close());
    await migrateDatabase(database);
    const db = database.db;

    const connection = await connectWorker(config.temporal);
    teardown.add(() => connection.close());
    const { gateway } = createOrderServices(db, temporal, { taskQueue: config.temporal.taskQueue, orders: config.orders, requestTimeoutMs: config.requestTimeoutMs, relay: { logger } });
    const worker = await createOrderWorker({ connection, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue, db, gateway });
    const workerRun = worker.run();
    teardown.add(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
    });
    const api = await startApiServer({ config, db, temporal, logger, secretDigest });
    teardown.add(async () => void (await api.stop(1000)));
    const direct = `http://127.0.0.1:${port}`;
    say(`API at ${origin}`);

    // ---- seed ----
    for (const m of MERCHANTS) await createMerchant(db, secretDigest, m);
    const acme = await createConnection(db, secretDigest, 'acme', null);
    const basic = `Basic ${Buffer.from(`${acme.connection.username}:${acme.password}`).toString('base64')}`;

    const create = async (order: SeedOrder) => {
      const content = normalizeOrderPayload(OrderPayloadSchema.parse(payload(order)) as OrderPayload);
      const ref = { merchantId: order.merchant, orderNumber: content.orderNumber, orderId: orderIdFor(order.merchant, content.orderNumber) };
      await gateway.create(ref, content, createHashOf(canonicalJson(content)), order.deadlines ?? {});
      return ref;
    };
    const stateOf = async (merchantId: string, orderNumber: string): Promise<OrderState | null> => {
      const record = await findOrderByNumber(db, merchantId, orderNumber);
      return record ? stateFromRecord(record) : null;
    };
    const until = async (merchantId: string, orderNumber: string, check: (s: OrderState) => boolean, what: string) => {
      for (const giveUpAt = Date.now() + 60_000; ; ) {
        const s = await stateOf(merchantId, orderNumber);
        if (s && check(s)) return s;
        if (Date.now() > giveUpAt) throw new Error(`${merchantId}/${orderNumber} never became ${what} (status ${s?.status}, stuck ${s?.stuck?.reason ?? 'no'})`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };

    // First the orders ShipStation picks up: at ShipStation, one that then waits too long for a
    // shipment, and one that ships.
    const exported: SeedOrder[] = [
      { merchant: 'acme', orderNumber: 'A-1003', paid: true },
      { merchant: 'acme', orderNumber: 'A-1004', paid: true },
      { merchant: 'acme', orderNumber: 'A-1005', paid: true, deadlines: { atWmsShipment: '3s' } },
      { merchant: 'acme', orderNumber: 'A-1006', paid: true },
    ];
    for (const o of exported) await create(o);
    say('ShipStation polls acme');
    const poll = await fetch(`${direct}/shipstation?${testExportQuery()}`, { headers: { Authorization: basic } });
    if (poll.status !== 200) throw new Error(`the export answered ${poll.status}: ${await poll.text()}`);
    for (const o of exported) await until(o.merchant, o.orderNumber, (s) => s.status === 'at_wms' || s.stuck !== null, 'at_wms');

    say('ShipStation reports a shipment of A-1006');
    const shipped = (await stateOf('acme', 'A-1006'))!;
    const shipDate = new Date();
    const mmddyyyy = `${String(shipDate.getUTCMonth() + 1).padStart(2, '0')}/${String(shipDate.getUTCDate()).padStart(2, '0')}/${shipDate.getUTCFullYear()}`;
    const items = shipped.content.lines
      .filter((l) => !l.adjustment)
      .map((l) => `<Item><SKU>${l.sku}</SKU><Name>${l.name}</Name><Quantity>${l.quantity}</Quantity><LineItemID>${l.lineId}</LineItemID></Item>`)
      .join('');
    const notice = `<?xml version="1.0" encoding="utf-8"?><ShipNotice><OrderNumber>A-1006</OrderNumber><Carrier>UPS</Carrier><Service>UPS Ground</Service><TrackingNumber>1Z999AA10123456784</TrackingNumber><ShipDate>${mmddyyyy}</ShipDate><ShippingCost>11.42</ShippingCost><Items>${items}</Items></ShipNotice>`;
    const notified = await fetch(`${direct}/shipstation?action=shipnotify&order_number=A-1006&carrier=UPS&service=Ground&tracking_number=1Z999AA10123456784`, {
      method: 'POST',
      headers: { Authorization: basic, 'Content-Type': 'text/xml' },
      body: notice,
    });
    if (notified.status !== 200) throw new Error(`shipnotify answered ${notified.status}: ${await notified.text()}`);
    await until('acme', 'A-1006', (s) => s.status === 'shipped', 'shipped');

    // Then the rest, which ShipStation has not seen yet.
    const rest: SeedOrder[] = [
      { merchant: 'acme', orderNumber: 'A-1001', paid: false },
      { merchant: 'acme', orderNumber: 'A-1002', paid: true },
      { merchant: 'acme', orderNumber: 'A-1007', paid: true, deadlines: { pendingExport: '2s' } },
      { merchant: 'acme', orderNumber: 'A-1008', paid: false, deadlines: { awaitPayment: '2s' } },
      { merchant: 'acme', orderNumber: 'A-1009', paid: true },
      { merchant: 'acme', orderNumber: 'A-1010', paid: true },
      { merchant: 'northwind', orderNumber: 'NW-2001', paid: true, deadlines: { pendingExport: '2s' } },
      { merchant: 'northwind', orderNumber: 'NW-2002', paid: true, deadlines: { pendingExport: '2s' } },
      { merchant: 'northwind', orderNumber: 'NW-2003', paid: false },
      { merchant: 'northwind', orderNumber: 'NW-2004', paid: true },
    ];
    const refs = new Map<string, Awaited<ReturnType<typeof create>>>();
    for (const o of rest) refs.set(o.orderNumber, await create(o));
    await gateway.request(refs.get('A-1009')!, cancelUpdate, { reason: 'duplicate of A-1002', requestedBy: requestedBy('order source') });
    await until('acme', 'A-1005', (s) => s.stuck?.reason === 'no_shipment', 'stuck (no_shipment)');
    await until('acme', 'A-1007', (s) => s.stuck?.reason === 'not_exported', 'stuck (not_exported)');
    await until('acme', 'A-1008', (s) => s.stuck?.reason === 'unpaid_too_long', 'stuck (unpaid_too_long)');
    await until('northwind', 'NW-2001', (s) => s.stuck?.reason === 'not_exported', 'stuck (not_exported)');
    await until('northwind', 'NW-2002', (s) => s.stuck?.reason === 'not_exported', 'stuck (not_exported)');
    await until('acme', 'A-1009', (s) => s.status === 'canceled', 'canceled');

    // ---- the pages ----
    say(`chromium ${chromiumPath}`);
    const browser = await launchBrowser(chromiumPath);
    teardown.add(() => browser.close());
    const context = await browser.newContext({ baseURL: origin, viewport: { width: WIDTH, height: 800 }, deviceScaleFactor: 1, colorScheme: 'light' });
    context.setDefaultTimeout(30_000);
    const page = await context.newPage();
    mkdirSync(OUT_DIR, { recursive: true });
    const shot = async (name: string) => {
      await page.waitForLoadState('load');
      await page.screenshot({ path: path.join(OUT_DIR, `${name}.png`), fullPage: true, animations: 'disabled' });
      say(`docs/ops-console/${name}.png`);
    };
    const settled = (p: Page) => p.getByRole('button', { name: 'Sign out' }).waitFor();

    await page.goto('/ops/sign-in');
    await page.getByLabel('Admin token').fill(adminToken);
    await page.getByLabel('Your name').fill(SIGNED_IN_AS);
    await shot('sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await settled(page);

    // A new connection for northwind (limited to its WooCommerce store): the setup sheet.
    await page.goto('/ops/connections');
    const newConnection = page.getByRole('form', { name: 'New connection' });
    await newConnection.getByLabel('Merchant').selectOption('northwind');
    await newConnection.getByLabel('Order source').fill('woocommerce');
    await newConnection.getByRole('button', { name: 'New connection' }).click();
    await page.getByRole('region', { name: 'ShipStation setup sheet' }).waitFor();
    await shot('connection-setup-sheet');

    // Ana retries one stuck order, so timelines show who asked.
    await page.goto('/ops/orders/northwind/NW-2002');
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    await page.getByRole('status').waitFor();

    // A dry run of acme's connection, then its page with the request log.
    await page.goto(`/ops/connections/${encodeURIComponent(acme.connection.username)}`);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByRole('status').waitFor();
    await shot('connection-test');
    await page.goto(`/ops/connections/${encodeURIComponent(acme.connection.username)}`);
    await shot('connection');

    await page.goto('/ops');
    await shot('overview');
    await page.goto('/ops/orders?stuck=true');
    await shot('orders-stuck');
    await page.goto('/ops/orders/acme/A-1005');
    await shot('order');
    await page.goto('/ops/orders/acme/A-1006');
    await shot('order-shipped');
    // Ana holds an order: the outcome above, her name on the timeline, Release offered.
    await page.goto('/ops/orders/acme/A-1010');
    const hold = page.getByRole('form', { name: 'Hold order' });
    await hold.getByLabel('Reason').fill('customer asked to change the address');
    await hold.getByRole('button', { name: 'Hold', exact: true }).click();
    await page.getByRole('status').waitFor();
    await until('acme', 'A-1010', (s) => s.status === 'on_hold', 'on hold');
    if (!(await page.getByRole('button', { name: 'Release', exact: true }).count())) await page.reload();
    await shot('order-held');

    await page.goto('/ops/bulk-retry');
    await page.getByLabel('Stuck reason').selectOption('not_exported');
    await page.getByLabel('Stuck for').fill('1s');
    await page.getByRole('button', { name: 'Count matching' }).click();
    await page.getByText(/orders? match/).waitFor();
    await shot('bulk-retry');
    await page.getByRole('button', { name: 'Retry matching orders' }).click();
    await page.getByText(/Retried \d+/).waitFor();
    await shot('bulk-retry-report');

    await page.goto('/ops/connections');
    await shot('connections');
    await page.goto('/ops/merchants');
    await shot('merchants');
    await page.goto('/ops/merchants/acme');
    await shot('merchant');
    say('done');
  } finally {
    await teardown.run();
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`docs:screenshots failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
