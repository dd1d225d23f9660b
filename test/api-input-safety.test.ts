/**
 * Text the database cannot store: dropped from free text (the order is accepted), refused in keys and
 * parameters (400), never half-accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storable } from '../db/orders';
import { orderPayload } from './support/orders';
import { startTestStack, type TestStack } from './support/stack';

describe('input the read model could not store', () => {
  let stack: TestStack;
  let merchant: { id: string; apiKey: string };
  let app: ReturnType<TestStack['app']>;
  beforeAll(async () => {
    stack = await startTestStack();
    merchant = await stack.newMerchant();
    app = stack.app();
  });
  afterAll(() => stack?.close());

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: { Authorization: `Bearer ${merchant.apiKey}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    expect(text).not.toContain('    at ');
    return { status: res.status, body: JSON.parse(text) };
  };

  it('a lone surrogate or a NUL in free text is dropped (the database cannot store it) and the order accepted', async () => {
    for (const [name, kept] of [['x\ud800y', 'xy'], ['a\u0000b', 'ab']]) {
      const payload = orderPayload({ shipTo: { name, country: 'US' } });
      const res = await call('POST', '/api/orders', payload);
      expect(res.status).toBe(201);
      expect((await call('GET', `/api/orders/${payload.orderNumber}`)).body.order.shipTo.name).toBe(kept);
    }
  });

  it('a lone surrogate or a NUL in a key field (order number, line id, SKU) is a 400 naming the field, and no order exists', async () => {
    const payload = orderPayload();
    for (const [overrides, path] of [
      [{ orderNumber: 'A\u0000-1' }, 'orderNumber'],
      [{ lines: [{ lineId: 'L\ud8001', sku: 'S', name: 'n', quantity: 1, unitPrice: 1 }] }, 'lines.0.lineId'],
      [{ lines: [{ lineId: 'L1', sku: 'S\u0000', name: 'n', quantity: 1, unitPrice: 1 }] }, 'lines.0.sku'],
    ] as const) {
      const res = await call('POST', '/api/orders', { ...payload, ...overrides });
      expect(res.status).toBe(400);
      expect(res.body.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    expect((await call('GET', `/api/orders/${payload.orderNumber}`)).status).toBe(404);
  });

  it('a NUL in a hold reason, an order number in the path or a query value is a 400, not a 500', async () => {
    const payload = orderPayload();
    expect((await call('POST', '/api/orders', payload)).status).toBe(201);
    expect((await call('POST', `/api/orders/${payload.orderNumber}/hold`, { reason: 'a\u0000b' })).status).toBe(400);
    expect((await call('GET', '/api/orders/a%00b')).status).toBe(400);
    expect((await call('POST', '/api/orders/a%00b/hold', { reason: 'x' })).status).toBe(400);
    expect((await call('GET', '/api/orders?source=%00')).status).toBe(400);
    const after = await call('GET', `/api/orders/${payload.orderNumber}`);
    expect(after.body.status).toBe('pending');
  });

  it('an order with nothing to ship (no lines, or adjustments only) is refused', async () => {
    expect((await call('POST', '/api/orders', orderPayload({ lines: [] }))).status).toBe(400);
    const onlyDiscount = orderPayload({ lines: [{ lineId: 'D', sku: '', name: 'Discount', quantity: 1, unitPrice: '-1.00', adjustment: true }] });
    expect((await call('POST', '/api/orders', onlyDiscount)).status).toBe(400);
    const payload = orderPayload({ paid: false });
    await call('POST', '/api/orders', payload);
    const patch = await call('PATCH', `/api/orders/${payload.orderNumber}`, { lines: [{ lineId: 'D', sku: '', name: 'Discount', quantity: 1, unitPrice: '-1.00', adjustment: true }] });
    expect(patch.status).toBe(400);
  });

  it('the projection makes any text storable rather than fail for ever', () => {
    expect(storable({ a: ['x\u0000y', { b: 'p\ud800q' }], n: 1, z: null })).toEqual({ a: ['xy', { b: 'p\ufffdq' }], n: 1, z: null });
  });
});
