import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderWorkflowId } from '../domain/order';
import { holdUpdate, markPaidUpdate, stateQuery } from '../workflows/messages';
import { createOrder, eventually, orderPayload, readState } from './support/orders';
import { startTestStack, type TestStack } from './support/stack';

let stack: TestStack;
let merchant: { id: string };
beforeAll(async () => {
  stack = await startTestStack();
  merchant = await stack.newMerchant();
});
afterAll(() => stack?.close());

describe('order workflow', () => {
  it('a paid order starts pending and the read model equals the workflow state', async () => {
    const { ref, state } = await createOrder(stack, merchant.id);
    expect(state.status).toBe('pending');
    const live = await stack.client.workflow.getHandle(orderWorkflowId(ref.merchantId, ref.orderNumber)).query(stateQuery);
    expect(state).toEqual(live);
  });

  it('an unpaid order waits for payment, then becomes pending', async () => {
    const { ref, state } = await createOrder(stack, merchant.id, orderPayload({ paid: false }));
    expect(state.status).toBe('await_payment');
    const paid = await stack.gateway.request(ref, markPaidUpdate, {});
    expect(paid.status).toBe('pending');
    expect((await readState(stack, ref.merchantId, ref.orderNumber)).status).toBe('pending');
    await stack.gateway.request(ref, holdUpdate, { reason: 'x' });
    const held = await eventually(() => readState(stack, ref.merchantId, ref.orderNumber), (s) => s.status === 'on_hold');
    expect(held.heldFrom).toBe('pending');
  });
});
