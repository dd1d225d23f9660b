/**
 * Shipment notices that arrive at once share one Temporal call (a fact batch, see
 * api/order-gateway.ts): each is still recorded exactly once by its own order, a closed order is
 * reopened to record its notice, and the batch's history says what became of every fact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FactBatchReport } from '../activities/order-facts';
import { orderWorkflowId } from '../domain/order';
import { cancelUpdate } from '../workflows/messages';
import { createOrder, eventually, readState } from './support/orders';
import { startTestStack, type TestStack } from './support/stack';

describe('fact batches', () => {
  let stack: TestStack;
  let merchant: { id: string };
  beforeAll(async () => {
    stack = await startTestStack({ settings: { terminalGraceMs: 300 } });
    merchant = await stack.newMerchant('batch');
  });
  afterAll(() => stack?.close());

  it('notices sent at once travel in batches; each order records its shipment once, a closed one is reopened for it', async () => {
    const orders = await Promise.all(Array.from({ length: 12 }, () => createOrder(stack, merchant.id)));
    for (const { ref } of orders) await stack.gateway.markExported(ref, { exportKey: `e-${ref.orderNumber}` });
    // One order is canceled and its workflow closes (grace 300 ms): its notice must reopen it.
    const closed = orders[11]!.ref;
    await stack.gateway.request(closed, cancelUpdate, { reason: 'customer changed their mind' });
    await stack.client.workflow.getHandle(orderWorkflowId(closed.merchantId, closed.orderNumber)).result();

    const notices = orders.map(({ ref }, i) => ({ ref, report: { shipmentKey: `pkg-${i}`, carrier: 'UPS', trackingNumber: `1ZBATCH${i}`, reportedVia: 'test' } }));
    // The first notice again: ShipStation repeats itself, and a repeat in the same batch is still one shipment.
    notices.push(notices[0]!);
    await Promise.all(notices.map(({ ref, report }) => stack.gateway.reportShipment(ref, report)));

    for (const { ref } of orders.slice(0, 11)) {
      const state = await eventually(() => readState(stack, ref.merchantId, ref.orderNumber), (s) => s.status === 'shipped');
      expect(state.status).toBe('shipped');
      expect(state.shipments).toHaveLength(1);
    }
    const reopened = await eventually(() => readState(stack, closed.merchantId, closed.orderNumber), (s) => s.shipments.length === 1);
    expect(reopened.status).toBe('canceled');
    expect(reopened.shipments.map((s) => s.trackingNumber)).toEqual(['1ZBATCH11']);
    expect(reopened.flags.map((f) => f.code)).toContain('shipment_on_canceled_order');

    // At least one batch carried several notices; together the batches account for every notice.
    const batches: FactBatchReport[] = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowType = 'orderFactsWorkflow' AND TaskQueue = '${stack.taskQueue}'` })) {
      batches.push(await stack.client.workflow.getHandle(run.workflowId, run.runId).result());
    }
    expect(batches.length).toBeGreaterThan(0);
    const inBatches = batches.reduce((n, b) => n + b.signalled + b.reopened + b.closed, 0);
    expect(inBatches).toBeGreaterThan(1);
    expect(inBatches).toBeLessThanOrEqual(notices.length);
    expect(batches.every((b) => b.closed === 0)).toBe(true);
    // The closed order's notice came late in the burst: a batch reopened it.
    expect(batches.reduce((n, b) => n + b.reopened, 0)).toBe(1);
  });
});
