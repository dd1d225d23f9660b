/** Ops API: find stuck orders across merchants, act on one, bulk retry with a report, replay a notice. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../db/connections';
import { createOrder, eventually, orderPayload, readState } from './support/orders';
import { startTestStack, type TestStack } from './support/stack';

const ADMIN = 'ops-admin-token-0123456789';

describe('ops API', () => {
  let stack: TestStack;
  let app: ReturnType<TestStack['app']>;
  beforeAll(async () => {
    stack = await startTestStack({ settings: { deadlines: { awaitPaymentMs: 60_000, pendingExportMs: 1000, atWmsShipmentMs: 60_000, confirmationMs: 60_000 }, terminalGraceMs: 60_000 } });
    app = stack.app({ adminToken: ADMIN });
  });
  afterAll(() => stack?.close());

  const call = async (method: string, path: string, body?: unknown, token = ADMIN) => {
    const res = await app.request(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('needs the admin token', async () => {
    expect((await call('GET', '/api/ops/orders', undefined, 'nope-nope-nope-nope')).status).toBe(403);
  });

  it('lists stuck orders across merchants by reason and merchant, shows one with its Web UI link, and retries it', async () => {
    const a = await stack.newMerchant('opsa');
    const b = await stack.newMerchant('opsb');
    const oa = await createOrder(stack, a.id);
    const ob = await createOrder(stack, b.id);
    await eventually(() => readState(stack, b.id, ob.ref.orderNumber), (s) => s.stuck !== null);
    await eventually(() => readState(stack, a.id, oa.ref.orderNumber), (s) => s.stuck !== null);

    const all = await call('GET', '/api/ops/orders?stuck=true&reason=not_exported&limit=500');
    expect(all.status).toBe(200);
    const numbers = all.body.orders.map((o: { orderNumber: string }) => o.orderNumber);
    expect(numbers).toEqual(expect.arrayContaining([oa.ref.orderNumber, ob.ref.orderNumber]));
    const onlyA = await call('GET', `/api/ops/orders?stuck=true&merchant=${a.id}`);
    expect(onlyA.body.orders.map((o: { merchantId: string }) => o.merchantId)).toEqual([a.id]);

    const shown = await call('GET', `/api/ops/orders/${a.id}/${oa.ref.orderNumber}`);
    expect(shown.body.stuck.reason).toBe('not_exported');
    expect(shown.body.temporalUrl).toBe(`http://temporal-ui.test/namespaces/default/workflows/${encodeURIComponent(`order:${a.id}:${oa.ref.orderNumber}`)}`);

    const retried = await call('POST', `/api/ops/orders/${a.id}/${oa.ref.orderNumber}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body.stuck).toBeNull();
    const again = await call('POST', `/api/ops/orders/${a.id}/${oa.ref.orderNumber}/retry`);
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/not stuck/);
    expect((await call('POST', `/api/ops/orders/${a.id}/nope/retry`)).status).toBe(404);
  });

  it('bulk retry retries every matching stuck order durably and reports retried and refused', async () => {
    const m = await stack.newMerchant('bulk');
    const created = await Promise.all(Array.from({ length: 12 }, () => createOrder(stack, m.id)));
    for (const { ref } of created) await eventually(() => readState(stack, m.id, ref.orderNumber), (s) => s.stuck !== null);
    const res = await call('POST', '/api/ops/orders/retry', { merchant: m.id, reason: 'not_exported' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ matched: 12, retried: 12, refused: [] });
    expect(res.body.workflowId).toMatch(/^bulk-retry:/);
    for (const { ref } of created) expect((await readState(stack, m.id, ref.orderNumber)).timeline.some((e) => e.event === 'retried')).toBe(true);
    // Nothing matches a reason no order has, and bad filters are refused.
    expect((await call('POST', '/api/ops/orders/retry', { merchant: m.id, reason: 'confirmation_rejected' })).body).toMatchObject({ matched: 0, retried: 0 });
    expect((await call('POST', '/api/ops/orders/retry', { stuckFor: 'forever' })).status).toBe(400);
  });

  it('replaying a stored notice matches units it could not place before against the order as it is now; a second replay changes nothing', async () => {
    const m = await stack.newMerchant('replay');
    const { connection, password } = await createConnection(stack.database.db, stack.secretDigest, m.id, null);
    const payload = orderPayload({ paid: false });
    const { ref } = await createOrder(stack, m.id, payload);
    const shipstation = stack.app({ adminToken: ADMIN });
    const notice = `<?xml version="1.0" encoding="utf-8"?><ShipNotice><OrderNumber>${ref.orderNumber}</OrderNumber><Carrier>UPS</Carrier><TrackingNumber>1ZREPLAY</TrackingNumber><Items><Item><SKU>NEW-SKU</SKU><Quantity>1</Quantity></Item></Items></ShipNotice>`;
    const auth = `Basic ${Buffer.from(`${connection.username}:${password}`).toString('base64')}`;
    const posted = await shipstation.request(`/shipstation?action=shipnotify&order_number=${ref.orderNumber}&carrier=UPS`, { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'text/xml' }, body: notice });
    expect(posted.status).toBe(200);
    const flagged = await eventually(() => readState(stack, m.id, ref.orderNumber), (s) => s.shipments.length === 1);
    expect(flagged.flags.map((f) => f.code)).toContain('shipment_items_unmatched');
    expect(flagged.shipped).toEqual({});

    // Ops fix the order: hold, change the line's SKU to what was shipped, release.
    const { holdUpdate, updateOrderUpdate, releaseUpdate } = await import('../workflows/messages');
    await stack.gateway.request(ref, holdUpdate, { reason: 'fix sku' });
    const lines = flagged.content.lines.map((l) => (l.lineId === 'L2' ? { ...l, sku: 'NEW-SKU' } : l));
    await stack.gateway.request(ref, updateOrderUpdate, { changes: { lines } });
    await stack.gateway.request(ref, releaseUpdate, {});

    // Ops find the shipment id (and what it could not place) in the order they look at.
    const shown = await call('GET', `/api/ops/orders/${m.id}/${ref.orderNumber}`);
    expect(shown.body.shipments[0].unmatched).toEqual([{ sku: 'NEW-SKU', quantity: 1 }]);
    const shipments = shown.body.shipments as { id: string }[];
    const replay = await call('POST', `/api/ops/shipments/${shipments[0]!.id}/replay`);
    expect(replay.status).toBe(200);
    const rematched = await eventually(() => readState(stack, m.id, ref.orderNumber), (s) => (s.shipped.L2 ?? 0) === 1);
    expect(rematched.shipments).toHaveLength(1);
    expect(rematched.shipments[0]!.lines).toEqual([{ lineId: 'L2', quantity: 1 }]);
    expect(rematched.shipments[0]!.unmatched).toBeUndefined();

    await call('POST', `/api/ops/shipments/${shipments[0]!.id}/replay`);
    await new Promise((r) => setTimeout(r, 500));
    const after = await readState(stack, m.id, ref.orderNumber);
    expect(after.shipped).toEqual({ L2: 1 });
    expect(after.timeline.filter((e) => e.event === 'shipment re-matched')).toHaveLength(1);
    expect((await call('POST', '/api/ops/shipments/999999999/replay')).status).toBe(404);
  });
});
