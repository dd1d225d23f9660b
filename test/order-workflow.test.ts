/** The order workflow on a real Temporal dev server with a real read model. */
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestRefusedError } from '../temporal/errors';
import { normalizeOrderPayload, OrderPayloadSchema } from '../api/order-payload';
import { createHashOf } from '../api/order-view';
import { canonicalJson, orderWorkflowId, type OrderState } from '../domain/order';
import {
  cancelUpdate,
  holdUpdate,
  markPaidUpdate,
  releaseUpdate,
  resendUpdate,
  stateQuery,
  updateOrderUpdate,
} from '../workflows/messages';
import { createOrder, eventually, orderPayload, readState } from './support/orders';
import { DATABASE_KINDS } from './support/database';
import { startTestStack, type TestStack } from './support/stack';
import { OrderStatusKey, OrderStuckKey, StuckReasonKey } from '../workflows/search-attributes';

type Ref = { merchantId: string; orderNumber: string; orderId: string };

const live = (stack: TestStack, ref: Ref) =>
  stack.client.workflow.getHandle(orderWorkflowId(ref.merchantId, ref.orderNumber)).query(stateQuery);
const until = (stack: TestStack, ref: Ref, check: (s: OrderState) => boolean) =>
  eventually(() => readState(stack, ref.merchantId, ref.orderNumber), check);

describe.each(DATABASE_KINDS)('order lifecycle (read model on %s)', (kind) => {
  let stack: TestStack;
  let merchant: { id: string };
  beforeAll(async () => {
    stack = await startTestStack({ db: kind });
    merchant = await stack.newMerchant();
  });
  afterAll(() => stack?.close());

  it('walks await_payment -> pending -> at_wms -> shipped -> confirmed, and the projection equals the workflow state', async () => {
    const { ref, state: created } = await createOrder(stack, merchant.id, orderPayload({ paid: false }));
    expect(created.status).toBe('await_payment');

    await stack.gateway.request(ref, markPaidUpdate, {});

    const paid = await live(stack, ref);
    expect(paid.status).toBe('pending');

    await stack.sendFact(ref, { kind: 'exported', exportKey: 'page-1' });
    await until(stack, ref, (s) => s.status === 'at_wms');

    // A partial shipment stays at_wms with the shipment recorded.
    await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'pkg-1', carrier: 'UPS', service: 'Ground', trackingNumber: '1Z1', shipDate: '2026-11-25', shippingCost: '5.10', items: [{ lineId: 'L1', quantity: 2 }], reportedVia: 'test' } });
    const partial = await until(stack, ref, (s) => s.shipments.length === 1);
    expect(partial.status).toBe('at_wms');
    expect(partial.shipped).toEqual({ L1: 2 });

    // The rest (the adjustment line never counts) ships the order.
    await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'pkg-2', carrier: 'USPS', trackingNumber: '9400', reportedVia: 'test' } });
    const shipped = await until(stack, ref, (s) => s.status === 'shipped');
    expect(shipped.shipped).toEqual({ L1: 2, L2: 1 });

    await stack.sendFact(ref, { kind: 'confirmationDelivered', shipmentKey: 'pkg-1' });
    await stack.sendFact(ref, { kind: 'confirmationDelivered', shipmentKey: 'pkg-2' });
    const confirmed = await until(stack, ref, (s) => s.status === 'confirmed');
    expect(confirmed.timeline.map((e) => e.to).filter(Boolean)).toEqual(['await_payment', 'pending', 'at_wms', 'shipped', 'confirmed']);

    expect(await readState(stack, ref.merchantId, ref.orderNumber)).toEqual(await live(stack, ref));
  });

  it('a duplicate shipment notice records one shipment; a duplicate export one transition', async () => {
    const { ref } = await createOrder(stack, merchant.id);
    await stack.sendFact(ref, { kind: 'exported', exportKey: 'p1' });
    await stack.sendFact(ref, { kind: 'exported', exportKey: 'p1' });
    const report = { shipmentKey: 'same', carrier: 'FedEx', trackingNumber: '7777', items: [{ sku: 'mug-1', quantity: 1 }], reportedVia: 'test' };
    await stack.sendFact(ref, { kind: 'shipmentReported', report: report });
    await stack.sendFact(ref, { kind: 'shipmentReported', report: report });
    await until(stack, ref, (s) => s.shipments.length > 0);
    const state = await live(stack, ref);
    expect(state.shipments).toHaveLength(1);
    expect(state.shipped).toEqual({ L1: 1 });
    expect(state.timeline.filter((e) => e.event === 'exported')).toHaveLength(1);
  });

  it('a shipment on a canceled order is recorded, the order stays canceled and is flagged', async () => {
    const { ref } = await createOrder(stack, merchant.id);
    await stack.gateway.request(ref, cancelUpdate, { reason: 'customer changed mind' });
    await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'late', carrier: 'UPS', trackingNumber: '1ZLATE', reportedVia: 'test' } });
    const state = await until(stack, ref, (s) => s.shipments.length === 1);
    expect(state.status).toBe('canceled');
    expect(state.flags.map((f) => f.code)).toContain('shipment_on_canceled_order');
  });
});

describe('order requests', () => {
  let stack: TestStack;
  let merchant: { id: string };
  beforeAll(async () => {
    stack = await startTestStack();
    merchant = await stack.newMerchant();
  });
  afterAll(() => stack?.close());

  const refused = (promise: Promise<unknown>, reason: RegExp) =>
    expect(promise).rejects.toSatisfy((e: unknown) => e instanceof RequestRefusedError && reason.test(e.message));

  it('hold from pending, exported while held, release returns to at_wms', async () => {
    const { ref } = await createOrder(stack, merchant.id);
    await stack.gateway.request(ref, holdUpdate, { reason: 'address check' });
    const held = await live(stack, ref);
    expect(held).toMatchObject({ status: 'on_hold', heldFrom: 'pending', holdReason: 'address check' });
    await stack.sendFact(ref, { kind: 'exported', exportKey: 'race' });
    await eventually(() => live(stack, ref), (s) => s.heldFrom === 'at_wms');
    await stack.gateway.request(ref, releaseUpdate, {});
    const released = await live(stack, ref);
    expect(released.status).toBe('at_wms');
  });

  it('hold from await_payment releases to await_payment; paying while held releases to pending', async () => {
    const a = await createOrder(stack, merchant.id, orderPayload({ paid: false }));
    await stack.gateway.request(a.ref, holdUpdate, { reason: 'r' });
    expect((await stack.gateway.request(a.ref, releaseUpdate, {})).status).toBe('await_payment');
    const b = await createOrder(stack, merchant.id, orderPayload({ paid: false }));
    await stack.gateway.request(b.ref, holdUpdate, { reason: 'r' });
    await stack.gateway.request(b.ref, markPaidUpdate, {});
    expect((await stack.gateway.request(b.ref, releaseUpdate, {})).status).toBe('pending');
  });

  it('refuses what the rules refuse, with a reason, and changes nothing', async () => {
    const { ref } = await createOrder(stack, merchant.id);
    await refused(stack.gateway.request(ref, releaseUpdate, {}), /not on hold/);
    await stack.sendFact(ref, { kind: 'exported', exportKey: 'x' });
    await until(stack, ref, (s) => s.status === 'at_wms');
    await refused(stack.gateway.request(ref, updateOrderUpdate, { changes: { customerNotes: 'late' } }), /already at ShipStation/);
    await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 's', carrier: 'UPS', trackingNumber: '1ZCANT', items: [{ lineId: 'L2', quantity: 1 }], reportedVia: 'test' } });
    await until(stack, ref, (s) => s.shipments.length === 1);
    await refused(stack.gateway.request(ref, cancelUpdate, { reason: 'too late' }), /already shipped \(tracking 1ZCANT\)/);
    const state = await live(stack, ref);
    expect(state.status).toBe('at_wms');
    expect(state.content.customerNotes).toBeUndefined();
  });

  it('cancel and hold are idempotent; a canceled order cannot be paid', async () => {
    const { ref } = await createOrder(stack, merchant.id, orderPayload({ paid: false }));
    await stack.gateway.request(ref, cancelUpdate, { reason: 'dup' });
    await stack.gateway.request(ref, cancelUpdate, { reason: 'dup' });
    const again = await live(stack, ref);
    expect(again.timeline.filter((e) => e.event === 'canceled')).toHaveLength(1);
    await refused(stack.gateway.request(ref, markPaidUpdate, {}), /canceled/);
    await refused(stack.gateway.request(ref, holdUpdate, { reason: 'x' }), /canceled/);
  });

  it('creating the same order twice finds it; a different payload under the number is refused', async () => {
    const payload = orderPayload();
    const first = await createOrder(stack, merchant.id, payload);
    const second = await createOrder(stack, merchant.id, payload);
    expect(second.state.createdAt).toBe(first.state.createdAt);
    const changed = normalizeOrderPayload(OrderPayloadSchema.parse({ ...payload, taxAmount: '9.99' }));
    await refused(stack.gateway.create(first.ref, changed, createHashOf(canonicalJson(changed))), /different payload/);
  });

  it('LastModified moves for ShipStation-visible changes only', async () => {
    const { ref, state } = await createOrder(stack, merchant.id);
    const t0 = state.lastModified!;
    await stack.sendFact(ref, { kind: 'exported', exportKey: 'e' });
    const exported = await until(stack, ref, (s) => s.status === 'at_wms');
    expect(exported.lastModified).toBe(t0); // pending -> at_wms: same category

    await stack.gateway.request(ref, holdUpdate, { reason: 'check' });

    const held = await live(stack, ref);
    expect(Date.parse(held.lastModified!)).toBeGreaterThan(Date.parse(t0));
    await stack.gateway.request(ref, updateOrderUpdate, { changes: { shipTo: { name: 'New Name', country: 'US', city: 'Austin', street1: '2 Main' } } });
    const changed = await live(stack, ref);
    expect(Date.parse(changed.lastModified!)).toBeGreaterThan(Date.parse(held.lastModified!));
    await stack.gateway.request(ref, releaseUpdate, {});
    const released = await live(stack, ref);
    expect(released.status).toBe('at_wms');
    expect(Date.parse(released.lastModified!)).toBeGreaterThan(Date.parse(changed.lastModified!));
    await stack.gateway.request(ref, resendUpdate, {});
    const resent = await live(stack, ref);
    expect(Date.parse(resent.lastModified!)).toBeGreaterThan(Date.parse(released.lastModified!));

    await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'all', carrier: 'UPS', trackingNumber: '1ZALL', reportedVia: 'test' } });
    const shipped = await until(stack, ref, (s) => s.status === 'shipped');
    expect(Date.parse(shipped.lastModified!)).toBeGreaterThan(Date.parse(resent.lastModified!));
    await stack.sendFact(ref, { kind: 'confirmationDelivered', shipmentKey: 'all' });
    const confirmed = await until(stack, ref, (s) => s.status === 'confirmed');
    expect(confirmed.lastModified).toBe(shipped.lastModified); // shipped -> confirmed: same category
  });

  it('history carries a search-attribute upsert only when one changes, and no activity for a pickup confirmation', async () => {
    const { ref } = await createOrder(stack, merchant.id); // paid: its first status travels with the start
    const handle = stack.client.workflow.getHandle(orderWorkflowId(ref.merchantId, ref.orderNumber));
    const eventsOf = async () => (await handle.fetchHistory()).events ?? [];
    // Upserts of the order's own attributes (a patch would add one of TemporalChangeVersion).
    const upserts = async () =>
      (await eventsOf()).filter((e) =>
        Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}).some((k) => k !== 'TemporalChangeVersion'),
      ).length;
    expect((await handle.describe()).typedSearchAttributes.get(OrderStatusKey)).toBe('pending');
    expect(await upserts()).toBe(0);

    await stack.sendFact(ref, { kind: 'exported', exportKey: 'sa' });
    await until(stack, ref, (s) => s.status === 'at_wms');
    await stack.sendFact(ref, { kind: 'exported', exportKey: 'sa' }); // a repeat changes nothing, so publishes nothing
    await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'all', carrier: 'UPS', trackingNumber: '1ZSA', reportedVia: 'test' } });
    await until(stack, ref, (s) => s.status === 'shipped');
    await stack.sendFact(ref, { kind: 'confirmationDelivered', shipmentKey: 'all' });
    await until(stack, ref, (s) => s.status === 'confirmed');
    const described = await eventually(() => handle.describe(), (d) => d.typedSearchAttributes.get(OrderStatusKey) === 'confirmed');
    expect(described.typedSearchAttributes.get(OrderStatusKey)).toBe('confirmed');
    expect(described.typedSearchAttributes.get(OrderStuckKey)).toBe(false);
    expect(await upserts()).toBe(3); // at_wms, shipped, confirmed
    // Pickup mode: the source acks through the API; nothing was scheduled to deliver it.
    const scheduled = (await eventsOf()).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    expect(scheduled).toEqual(['projectOrder']); // only the creation's projection (an update waits for it)
    // Timers read in human units in the Web UI ("deadline no_shipment in 30d", not "in 2591999974ms").
    const timers = (await eventsOf())
      .filter((e) => e.timerStartedEventAttributes && e.userMetadata?.summary)
      .map((e) => defaultPayloadConverter.fromPayload<string>(e.userMetadata!.summary!));
    expect(timers.length).toBeGreaterThan(0);
    for (const summary of timers) expect(summary).toMatch(/^(deadline \w+ in|grace period) \d+[dhms]( \d+[hms])?( for late facts)?$/);
  });

  it('search attributes let the Web UI filter by status and merchant', async () => {
    const { ref } = await createOrder(stack, merchant.id);
    await stack.gateway.request(ref, holdUpdate, { reason: 'ui' });
    const query = `MerchantId = '${merchant.id}' AND OrderStatus = 'on_hold' AND OrderNumber = '${ref.orderNumber}'`;
    const found = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const wf of stack.client.workflow.list({ query })) ids.push(wf.workflowId);
        return ids;
      },
      (ids) => ids.length === 1,
    );
    expect(found).toEqual([orderWorkflowId(merchant.id, ref.orderNumber)]);
  });
});

describe('deadlines, retry and late facts', () => {
  let stack: TestStack;
  let merchant: { id: string };
  beforeAll(async () => {
    stack = await startTestStack({
      settings: { deadlines: { awaitPaymentMs: 1500, pendingExportMs: 1500, atWmsShipmentMs: 1500 }, terminalGraceMs: 1500 },
    });
    merchant = await stack.newMerchant();
  });
  afterAll(() => stack?.close());

  it('a pending order not exported in time is marked stuck; retry clears it and re-offers it', async () => {
    const { ref, state } = await createOrder(stack, merchant.id);
    const stuck = await until(stack, ref, (s) => s.stuck !== null);
    expect(stuck.stuck?.reason).toBe('not_exported');
    expect(stuck.status).toBe('pending');
    expect(stuck.lastModified).toBe(state.lastModified);

    // Search attributes follow the projection in the next workflow task.
    const handle = stack.client.workflow.getHandle(orderWorkflowId(ref.merchantId, ref.orderNumber));
    const described = await eventually(() => handle.describe(), (d) => d.typedSearchAttributes.get(StuckReasonKey) !== undefined);
    expect(described.typedSearchAttributes.get(StuckReasonKey)).toBe('not_exported');

    const { retryUpdate } = await import('../workflows/messages');
    await stack.gateway.request(ref, retryUpdate, {});
    const retried = await live(stack, ref);
    expect(retried.stuck).toBeNull();
    expect(Date.parse(retried.lastModified!)).toBeGreaterThan(Date.parse(state.lastModified!));
    // Still not exported: the deadline runs again and fires again.
    const again = await until(stack, ref, (s) => s.stuck !== null);
    expect(again.stuck?.reason).toBe('not_exported');
  });

  it('unpaid and unshipped orders get their own stuck reasons', async () => {
    const unpaid = await createOrder(stack, merchant.id, orderPayload({ paid: false }));
    const exported = await createOrder(stack, merchant.id);
    await stack.sendFact(exported.ref, { kind: 'exported', exportKey: 'x' });
    expect((await until(stack, unpaid.ref, (s) => s.stuck !== null)).stuck?.reason).toBe('unpaid_too_long');
    expect((await until(stack, exported.ref, (s) => s.stuck?.reason === 'no_shipment')).status).toBe('at_wms');
  });

  it('a fact for an order whose workflow has closed reopens it and is recorded, nothing lost', async () => {
    const { ref } = await createOrder(stack, merchant.id);
    await stack.gateway.request(ref, cancelUpdate, { reason: 'gone' });
    const handle = stack.client.workflow.getHandle(orderWorkflowId(ref.merchantId, ref.orderNumber));
    const closed = await handle.result();
    expect(closed.status).toBe('canceled');

    await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'after-close', carrier: 'DHL', trackingNumber: 'JD1', reportedVia: 'test' } });
    const state = await until(stack, ref, (s) => s.shipments.length === 1);
    expect(state.status).toBe('canceled');
    expect(state.flags.map((f) => f.code)).toEqual(expect.arrayContaining(['late_fact_after_close', 'shipment_on_canceled_order']));
    const runs: string[] = [];
    for await (const wf of stack.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) runs.push(wf.runId);
    expect(runs.length).toBe(2);

    // The same notice again, after this run closed too: recognised as a repeat, nothing flagged again.
    await stack.client.workflow.getHandle(handle.workflowId).result();
    await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'after-close', carrier: 'DHL', trackingNumber: 'JD1', reportedVia: 'test' } });
    await stack.client.workflow.getHandle(handle.workflowId).result();
    const again = await readState(stack, ref.merchantId, ref.orderNumber);
    expect(again.shipments).toHaveLength(1);
    expect(again.flags.filter((f) => f.code === 'late_fact_after_close')).toHaveLength(1);

    // The same tracking number naming other items, after another close: the read model kept the
    // first notice's items fingerprint, so the reopened run flags it instead of taking it for a repeat.
    await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'after-close', carrier: 'DHL', trackingNumber: 'JD1', items: [{ lineId: 'L2', quantity: 1 }], reportedVia: 'test' } });
    const differing = await until(stack, ref, (s) => s.flags.some((f) => f.code === 'shipment_items_differ'));
    expect(differing.shipments).toHaveLength(1);
  });
});
