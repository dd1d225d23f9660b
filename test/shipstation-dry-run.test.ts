/** Testing a connection (a dry-run export) shows what ShipStation would get and changes nothing. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DRY_RUN_HEADER } from '../api/shipstation/export';
import { createConnection } from '../db/connections';
import { readConnectionLog } from '../db/request-log';
import { eq } from 'drizzle-orm';
import { MAX_SNAPSHOTS_PER_CONNECTION } from '../db/export-pages';
import { exportWindow } from '../domain/shipstation/dates';
import { exportSnapshots, exportWatermarks } from '../db/schema';
import { createOrder, eventually, readState } from './support/orders';
import { startTestStack, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

it('a dry-run export (or a HEAD) answers the same page but marks nothing, takes no snapshot and records no served window', async () => {
  const m = await stack.newMerchant('dry');
  const { connection, password } = await createConnection(stack.database.db, stack.secretDigest, m.id, null);
  const { ref } = await createOrder(stack, m.id);
  const app = stack.app();
  const url = '/shipstation?action=export&start_date=01%2f01%2f2020+00%3a00&end_date=12%2f31%2f2030+23%3a59';
  const auth = `Basic ${Buffer.from(`${connection.username}:${password}`).toString('base64')}`;

  const dry = await app.request(url, { headers: { Authorization: auth, [DRY_RUN_HEADER]: 'true' } });
  expect(dry.status).toBe(200);
  const body = await dry.text();
  expect(body).toContain(`<OrderNumber><![CDATA[${ref.orderNumber}]]></OrderNumber>`);
  // HEAD asks what a GET would answer: headers only, and as much a dry run.
  const head = await app.request(url, { method: 'HEAD', headers: { Authorization: auth } });
  expect(head.status).toBe(200);
  expect(head.headers.get('Content-Type')).toMatch(/^text\/xml/);
  expect(await head.text()).toBe('');
  await new Promise((r) => setTimeout(r, 1000));
  expect((await readState(stack, m.id, ref.orderNumber)).status).toBe('pending');
  const logged = await readConnectionLog(stack.database.db, connection.id, 10);
  expect(logged.map((r) => r.action)).toEqual(['export-dry-run', 'export-dry-run']);
  expect(await stack.database.db.select().from(exportSnapshots)).toHaveLength(0);
  expect(await stack.database.db.select().from(exportWatermarks)).toHaveLength(0);

  // The real export serves the same page and does mark it.
  const real = await app.request(url, { headers: { Authorization: auth } });
  expect(await real.text()).toBe(body);
  expect((await eventually(() => readState(stack, m.id, ref.orderNumber), (s) => s.status === 'at_wms')).status).toBe('at_wms');
});

it('a dry run pages the window like a real export: the same pages, counted by the database', async () => {
  const m = await stack.newMerchant('drypages');
  const { connection, password } = await createConnection(stack.database.db, stack.secretDigest, m.id, null);
  for (let i = 0; i < 3; i++) await createOrder(stack, m.id);
  const app = stack.app({ shipstation: { pageSize: 2 } });
  const auth = `Basic ${Buffer.from(`${connection.username}:${password}`).toString('base64')}`;
  const page = async (n: number, dry: boolean) => {
    const url = `/shipstation?action=export&start_date=01%2f01%2f2020+00%3a00&end_date=12%2f31%2f2030+23%3a59&page=${n}`;
    return (await app.request(url, { headers: { Authorization: auth, ...(dry ? { [DRY_RUN_HEADER]: 'true' } : {}) } })).text();
  };
  const orderCount = (xml: string) => xml.match(/<Order>/g)?.length ?? 0;
  const dry = [await page(1, true), await page(2, true), await page(3, true)];
  expect(dry.map(orderCount)).toEqual([2, 1, 0]);
  for (const xml of dry) expect(xml).toContain('pages="2"');
  // The real walk serves the same pages, in the same order.
  expect([await page(1, false), await page(2, false)]).toEqual(dry.slice(0, 2));
});

it('one connection keeps at most MAX_SNAPSHOTS_PER_CONNECTION snapshots, dropping the oldest; a window is never cut short', async () => {
  const m = await stack.newMerchant('snapcap');
  const { connection, password } = await createConnection(stack.database.db, stack.secretDigest, m.id, null);
  const orders = [await createOrder(stack, m.id), await createOrder(stack, m.id)];
  const app = stack.app({ shipstation: { pageSize: 1 } });
  const auth = `Basic ${Buffer.from(`${connection.username}:${password}`).toString('base64')}`;
  // Distinct windows (each end a minute later), as a caller asking for many would send.
  for (let i = 0; i < MAX_SNAPSHOTS_PER_CONNECTION + 5; i++) {
    const end = encodeURIComponent(`12/31/2030 ${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`);
    const res = await app.request(`/shipstation?action=export&start_date=01%2f01%2f2020+00%3a00&end_date=${end}`, { headers: { Authorization: auth } });
    expect(res.status).toBe(200);
  }
  const firstEnd = exportWindow('01/01/2020 00:00', '12/31/2030 00:00');
  const kept = await stack.database.db.select().from(exportSnapshots).where(eq(exportSnapshots.connectionId, connection.id));
  expect(kept).toHaveLength(MAX_SNAPSHOTS_PER_CONNECTION);
  // The newest windows are the ones kept (one minute apart: all but the first five), each whole.
  const ends = kept.map((s) => Date.parse(s.windowEnd)).sort((a, b) => a - b);
  expect(ends.at(-1)! - ends[0]!).toBe((MAX_SNAPSHOTS_PER_CONNECTION - 1) * 60_000);
  expect(firstEnd.ok && ends[0]! - firstEnd.window.end.getTime()).toBe(5 * 60_000);
  for (const snapshot of kept) expect(snapshot.orderIds).toHaveLength(orders.length);
});
