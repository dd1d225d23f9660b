/** Every ops CLI order command, run against the real API, worker, Temporal and database. */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, startApiServer } from '../api/server';
import { createConnection } from '../db/connections';
import { loadConfig } from '../runtime/config';
import { freePort } from '../tooling/temporal-cli';
import { runOps, table } from '../scripts/ops';
import { createOrder, eventually, orderPayload, readState } from './support/orders';
import { runOpsCaptured } from './support/ops';
import { startTestStack, type TestStack } from './support/stack';

const ADMIN = 'cli-admin-token-0123456789';

describe('ops CLI: orders and shipments', () => {
  let stack: TestStack;
  let server: Awaited<ReturnType<typeof startApiServer>>;
  const saved = { API_URL: process.env.API_URL, ADMIN_TOKEN: process.env.ADMIN_TOKEN };

  beforeAll(async () => {
    stack = await startTestStack({ settings: { deadlines: { awaitPaymentMs: 60_000, pendingExportMs: 1000, atWmsShipmentMs: 60_000, confirmationMs: 60_000 }, terminalGraceMs: 60_000 } });
    const config = loadConfig({ PORT: String(await freePort()), HOST: '127.0.0.1', ADMIN_TOKEN: ADMIN, TEMPORAL_TASK_QUEUE: stack.taskQueue, TEMPORAL_UI_URL: 'http://ui.test', LOG_LEVEL: 'silent' });
    server = await startApiServer({ config: { ...config, orders: stack.settings }, db: stack.database.db, temporal: stack.client, logger: pino({ level: 'silent' }), secretDigest: stack.secretDigest });
    process.env.API_URL = server.url;
    process.env.ADMIN_TOKEN = ADMIN;
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (server) await server.stop(1000);
    await stack?.close();
  });

  const ops = runOpsCaptured;

  it('prints usage for --help on every command and refuses unknown commands', async () => {
    for (const command of ['orders list', 'orders show', 'orders retry', 'orders resend', 'orders cancel', 'orders hold', 'orders release', 'shipments replay', 'connections create', 'connections test']) {
      expect(await ops(...command.split(' '), '--help')).toMatch(new RegExp(`^usage: npm run ops -- ${command}`));
    }
    await expect(runOps(['orders', 'frobnicate'])).rejects.toThrow(/unknown command "orders frobnicate"/);
    await expect(runOps(['orders', 'show', 'only-merchant'])).rejects.toThrow(/missing arguments/);
  });

  it('orders list shows stuck orders as a table (or JSON); orders show prints state, timeline, shipments and the Web UI link', async () => {
    const m = await stack.newMerchant('cli');
    const { ref } = await createOrder(stack, m.id);
    await eventually(() => readState(stack, m.id, ref.orderNumber), (s) => s.stuck !== null);

    const listed = await ops('orders', 'list', '--stuck', '--merchant', m.id);
    expect(listed.split('\n')[0]).toMatch(/^merchantId\s+orderNumber\s+status\s+stuck/);
    expect(listed).toContain(ref.orderNumber);
    expect(listed).toContain('not_exported since');
    const json = JSON.parse(await ops('orders', 'list', '--stuck', '--merchant', m.id, '--reason', 'not_exported', '--json'));
    expect(json.map((o: { orderNumber: string }) => o.orderNumber)).toEqual([ref.orderNumber]);

    const shown = await ops('orders', 'show', m.id, ref.orderNumber);
    expect(shown).toContain(`Order ${ref.orderNumber} (${m.id})`);
    expect(shown).toContain('stuck         not_exported');
    expect(shown).toContain(`Temporal UI   http://ui.test/namespaces/default/workflows/${encodeURIComponent(`order:${m.id}:${ref.orderNumber}`)}`);
    expect(shown).toMatch(/Timeline\n.*at\s+event/);
  });

  it('orders retry, resend, hold, release and cancel act on one order and say what happened; a refusal says why', async () => {
    const m = await stack.newMerchant('cli');
    const { ref } = await createOrder(stack, m.id, orderPayload());
    await eventually(() => readState(stack, m.id, ref.orderNumber), (s) => s.stuck !== null);
    expect(await ops('orders', 'retry', m.id, ref.orderNumber)).toBe(`${ref.orderNumber}: retry accepted; status pending`);
    await expect(runOps(['orders', 'release', m.id, ref.orderNumber])).rejects.toThrow(/409: the order is not on hold/);
    expect(await ops('orders', 'hold', m.id, ref.orderNumber, '--reason', 'address check')).toContain('status on_hold');
    expect(await ops('orders', 'release', m.id, ref.orderNumber)).toContain('status pending');
    expect(await ops('orders', 'resend', m.id, ref.orderNumber)).toContain('resend accepted');
    await expect(runOps(['orders', 'cancel', m.id, ref.orderNumber])).rejects.toThrow(/needs --reason/);
    expect(await ops('orders', 'cancel', m.id, ref.orderNumber, '--reason', 'customer asked')).toContain('status canceled');
  });

  it('orders retry --all-stuck retries the matching stuck orders and prints the report', async () => {
    const m = await stack.newMerchant('clibulk');
    const orders = await Promise.all(Array.from({ length: 5 }, () => createOrder(stack, m.id)));
    for (const { ref } of orders) await eventually(() => readState(stack, m.id, ref.orderNumber), (s) => s.stuck !== null);
    const report = await ops('orders', 'retry', '--all-stuck', '--merchant', m.id, '--reason', 'not_exported');
    expect(report).toMatch(/^bulk retry bulk-retry:\S+: 5 matched, 5 retried, 0 refused$/);
  });

  it('shipments replay re-runs a stored notice', async () => {
    const m = await stack.newMerchant('clireplay');
    const { connection, password } = await createConnection(stack.database.db, stack.secretDigest, m.id, null);
    const { ref } = await createOrder(stack, m.id);
    const auth = `Basic ${Buffer.from(`${connection.username}:${password}`).toString('base64')}`;
    const res = await fetch(`${server.url}/shipstation?action=shipnotify&order_number=${ref.orderNumber}&carrier=UPS&tracking_number=1ZCLI`, { method: 'POST', headers: { Authorization: auth }, body: '' });
    expect(res.status).toBe(200);
    await eventually(() => readState(stack, m.id, ref.orderNumber), (s) => s.shipments.length === 1);
    const { shipments } = (await (await fetch(`${server.url}/api/shipments`, { headers: { Authorization: `Bearer ${m.apiKey}` } })).json()) as { shipments: { id: string }[] };
    expect(await ops('shipments', 'replay', shipments[0]!.id)).toBe(`shipment ${shipments[0]!.id} of order ${ref.orderNumber} replayed (a notice already fully recorded changes nothing)`);
    expect((await readState(stack, m.id, ref.orderNumber)).shipments).toHaveLength(1);
  });

  it('tables line up their columns', () => {
    expect(table([{ a: 'x', b: 1 }, { a: 'longer', b: null }], ['a', 'b'])).toBe(['a       b', '------  -', 'x       1', 'longer'].join('\n'));
  });
});
