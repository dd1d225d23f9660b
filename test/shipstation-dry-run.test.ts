/** Testing a connection (a dry-run export) shows what ShipStation would get and changes nothing. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DRY_RUN_HEADER } from '../api/shipstation/export';
import { createConnection } from '../db/connections';
import { exportSnapshots, exportWatermarks } from '../db/schema';
import { createOrder, eventually, readState } from './support/orders';
import { startTestStack, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

it('a dry-run export answers the same page but marks nothing, takes no snapshot and records no served window', async () => {
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
  await new Promise((r) => setTimeout(r, 1000));
  expect((await readState(stack, m.id, ref.orderNumber)).status).toBe('pending');
  expect(await stack.database.db.select().from(exportSnapshots)).toHaveLength(0);
  expect(await stack.database.db.select().from(exportWatermarks)).toHaveLength(0);

  // The real export serves the same page and does mark it.
  const real = await app.request(url, { headers: { Authorization: auth } });
  expect(await real.text()).toBe(body);
  expect((await eventually(() => readState(stack, m.id, ref.orderNumber), (s) => s.status === 'at_wms')).status).toBe('at_wms');
});
