/** Order payloads and shortcuts for tests. */
import { findOrderByNumber, stateFromRecord } from '../../db/orders';
import { canonicalJson, type OrderState } from '../../domain/order';
import { normalizeOrderPayload, OrderPayloadSchema, type OrderPayload } from '../../api/order-payload';
import { createHashOf, orderIdFor } from '../../api/order-view';
import type { TestStack } from './stack';

let counter = 0;
export const nextOrderNumber = (prefix = 'T') => `${prefix}-${Date.now().toString(36)}-${++counter}`;

/** A complete, valid order payload as an order source would post it. */
export function orderPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    orderNumber: nextOrderNumber(),
    orderDate: '2026-11-20T09:30:00Z',
    paid: true,
    currency: 'USD',
    source: 'shopify',
    shippingMethod: 'Ground',
    paymentMethod: 'card',
    customer: { code: 'C-1', email: 'ada@example.com' },
    shipTo: { name: 'Ada Lovelace', street1: '1 Main St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US', phone: '555-0100' },
    lines: [
      { lineId: 'L1', sku: 'MUG-1', name: 'Mug', quantity: 2, unitPrice: '9.50', weight: { value: 0.5, unit: 'kg' } },
      { lineId: 'L2', sku: 'TEE-M', name: 'T-shirt M', quantity: 1, unitPrice: 20, options: [{ name: 'Size', value: 'M' }] },
      { lineId: 'D1', sku: '', name: 'Discount', quantity: 1, unitPrice: '-5.00', adjustment: true },
    ],
    shippingAmount: '4.99',
    taxAmount: 1.2,
    customFields: ['vip'],
    ...overrides,
  };
}

/** Creates an order through the gateway, exactly as POST /api/orders does. */
export async function createOrder(stack: TestStack, merchantId: string, payload = orderPayload()): Promise<{ ref: { merchantId: string; orderNumber: string; orderId: string }; state: OrderState }> {
  const content = normalizeOrderPayload(OrderPayloadSchema.parse(payload) as OrderPayload);
  const ref = { merchantId, orderNumber: content.orderNumber, orderId: orderIdFor(merchantId, content.orderNumber) };
  await stack.gateway.create(ref, content, createHashOf(canonicalJson(content)));
  return { ref, state: await readState(stack, merchantId, content.orderNumber) };
}

/** The read model's view of an order, as OrderState (what a reopened workflow would start from). */
export async function readState(stack: TestStack, merchantId: string, orderNumber: string): Promise<OrderState> {
  const record = await findOrderByNumber(stack.database.db, merchantId, orderNumber);
  if (!record) throw new Error(`order ${orderNumber} is not in the read model`);
  return stateFromRecord(record);
}

/** Polls until `check` passes (for effects of signals, which answer before they are applied). */
export async function eventually<T>(probe: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await probe();
    if (check(last)) return last;
    if (Date.now() > deadline) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
}
