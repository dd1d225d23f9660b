/**
 * The merchant order API against the real stack: a worker on the shared Temporal dev server, a real
 * database, the Hono app called in-process. No mocks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderIdFor } from '../api/order-view';
import { call, detailPaths, reverseKeys, sleep, type ApiResponse, type TestApp } from './support/api';
import { DATABASE_KINDS } from './support/database';
import { eventually, nextOrderNumber, orderPayload } from './support/orders';
import { LONG_SETTINGS, startTestStack, type TestStack } from './support/stack';
import { OrderNumberKey, OrderStatusKey } from '../workflows/search-attributes';

/** Unpaid orders of this suite get stuck quickly, so the stuck filter and retry can be seen. */
const AWAIT_PAYMENT_MS = 1500;
const SETTINGS = { deadlines: { ...LONG_SETTINGS.deadlines, awaitPaymentMs: AWAIT_PAYMENT_MS } };

let stack: TestStack;
let app: TestApp;
let merchant: { id: string; apiKey: string };

beforeAll(async () => {
  stack = await startTestStack({ settings: SETTINGS });
  app = stack.app();
  merchant = await stack.newMerchant('api');
});
afterAll(() => stack?.close());

const refOf = (merchantId: string, orderNumber: string) => ({ merchantId, orderNumber, orderId: orderIdFor(merchantId, orderNumber) });
const enc = encodeURIComponent;

/** POSTs an order for `who` (default: the suite's merchant) and expects 201. */
async function postOrder(payload: Record<string, unknown> = orderPayload(), who = merchant, target: TestApp = app): Promise<ApiResponse> {
  const res = await call(target, 'POST', '/api/orders', { token: who.apiKey, json: payload });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res;
}

const getOrder = (orderNumber: string, who = merchant) => call(app, 'GET', `/api/orders/${enc(orderNumber)}`, { token: who.apiKey });

const action = (orderNumber: string, name: string, json?: unknown, who = merchant) =>
  call(app, 'POST', `/api/orders/${enc(orderNumber)}/${name}`, { token: who.apiKey, ...(json !== undefined ? { json } : {}) });

const patch = (orderNumber: string, json: unknown) => call(app, 'PATCH', `/api/orders/${enc(orderNumber)}`, { token: merchant.apiKey, json });

/** Polls GET until `check` holds (for facts delivered by signal, which answer before they apply). */
async function untilOrder(orderNumber: string, check: (order: any) => boolean, who = merchant) {
  const res = await eventually(() => getOrder(orderNumber, who), (r) => r.status === 200 && check(r.body));
  expect(res.status).toBe(200);
  expect(check(res.body), `order ${orderNumber} never reached the expected state: ${JSON.stringify(res.body).slice(0, 500)}`).toBe(true);
  return res.body;
}

describe('merchant authentication', () => {
  it('answers 401 with WWW-Authenticate without a key, with a wrong key or with a non-bearer header', async () => {
    for (const headers of [{} as Record<string, string>, { Authorization: 'Bearer ssk_not-a-real-key' }, { Authorization: `Basic ${merchant.apiKey}` }, { Authorization: 'Bearer' }]) {
      for (const [method, path] of [
        ['GET', '/api/orders'],
        ['GET', '/api/orders/whatever'],
        ['POST', '/api/orders/whatever/hold'],
      ] as const) {
        const res = await call(app, method, path, { headers });
        expect(res.status, `${method} ${path} with ${JSON.stringify(headers)}`).toBe(401);
        expect(res.body.error).toBe('unauthorized');
        expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
      }
    }
    // An unauthenticated create is refused before its body is validated.
    const create = await call(app, 'POST', '/api/orders', { json: orderPayload() });
    expect(create.status).toBe(401);
  });

  it("one merchant cannot see or touch another merchant's order, and order numbers are per merchant", async () => {
    const other = await stack.newMerchant('other');
    const payload = orderPayload();
    const mine = await postOrder(payload);
    const number = mine.body.orderNumber as string;

    expect((await getOrder(number, other)).status).toBe(404);
    expect((await action(number, 'hold', { reason: 'not yours' }, other)).status).toBe(404);
    expect((await action(number, 'cancel', { reason: 'not yours' }, other)).status).toBe(404);
    expect((await call(app, 'PATCH', `/api/orders/${enc(number)}`, { token: other.apiKey, json: { customerNotes: 'x' } })).status).toBe(404);
    const list = await call(app, 'GET', '/api/orders?limit=500', { token: other.apiKey });
    expect(list.status).toBe(200);
    expect(list.body.orders).toEqual([]);

    // The other merchant may use the same number for an order of its own: a different order.
    const theirs = await postOrder(payload, other);
    expect(theirs.body.orderId).not.toBe(mine.body.orderId);
    // And nothing happened to mine.
    const after = await getOrder(number);
    expect(after.body.status).toBe('pending');
    expect(after.body.timeline.map((e: { event: string }) => e.event)).toEqual(['created']);
  });
});

describe('POST /api/orders', () => {
  it('creates the order (201 with the order view) and GET answers it at once', async () => {
    const payload = orderPayload();
    const res = await postOrder(payload);
    const view = res.body;
    expect(view).toMatchObject({
      orderNumber: payload.orderNumber,
      orderId: orderIdFor(merchant.id, payload.orderNumber as string),
      status: 'pending',
      paid: true,
      source: 'shopify',
      currency: 'USD',
      stuck: null,
      hold: null,
      cancelReason: null,
      flags: [],
      shipments: [],
    });
    expect(view.orderId).toMatch(/^o[a-z2-7]{26}$/);
    expect(view.workflowId).toBe(`order:${merchant.id}:${payload.orderNumber}`);
    expect(new Date(view.lastModified).toISOString()).toBe(view.lastModified);
    expect(view.order).toMatchObject({
      orderDate: '2026-11-20T09:30:00.000Z',
      shippingMethod: 'Ground',
      paymentMethod: 'card',
      customer: { code: 'C-1', email: 'ada@example.com' },
      shipTo: { name: 'Ada Lovelace', country: 'US' },
      billTo: { name: 'Ada Lovelace', country: 'US' },
      customFields: ['vip'],
      gift: false,
    });
    expect(view.lines.map((l: { lineId: string }) => l.lineId)).toEqual(['L1', 'L2', 'D1']);
    expect(view.lines[0]).toMatchObject({ sku: 'MUG-1', quantity: 2, shipped: 0, unitPrice: '9.50', weight: { value: '0.5', unit: 'kg' } });
    expect(view.lines[1]).toMatchObject({ unitPrice: '20.00', options: [{ name: 'Size', value: 'M' }], adjustment: false });
    expect(view.lines[2]).toMatchObject({ unitPrice: '-5.00', adjustment: true });
    expect(view.timeline).toEqual([expect.objectContaining({ event: 'created', to: 'pending' })]);

    const got = await getOrder(payload.orderNumber as string);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(view);
  });

  it('an unpaid order starts in await_payment', async () => {
    const res = await postOrder(orderPayload({ paid: false }));
    expect(res.body).toMatchObject({ status: 'await_payment', paid: false });
  });

  it('is idempotent: the same payload again answers 200 with the same order, whatever the key order', async () => {
    const payload = orderPayload();
    const created = await postOrder(payload);

    const again = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: payload });
    expect(again.status).toBe(200);
    expect(again.body.orderId).toBe(created.body.orderId);
    expect(again.body.createdAt).toBe(created.body.createdAt);
    expect(again.body.lastModified).toBe(created.body.lastModified);

    const reordered = reverseKeys(payload);
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(payload));
    const third = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: reordered });
    expect(third.status).toBe(200);
    expect(third.body.orderId).toBe(created.body.orderId);

    // Amounts written differently are the same amounts.
    const sameAmounts = { ...payload, taxAmount: '1.20', shippingAmount: 4.99 };
    const fourth = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: sameAmounts });
    expect(fourth.status).toBe(200);

    const got = await getOrder(payload.orderNumber as string);
    expect(got.body.timeline).toHaveLength(1);
  });

  it('refuses a different payload under an existing order number with 409 and keeps the first', async () => {
    const payload = orderPayload();
    await postOrder(payload);
    const res = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: { ...payload, shippingAmount: '5.99' } });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('conflict');
    expect(res.body.message).toMatch(/different payload/);
    const got = await getOrder(payload.orderNumber as string);
    expect(got.body.order.shippingAmount).toBe('4.99');
  });

  it('stores money exactly and computes the total when the source sends none', async () => {
    const exact = await postOrder(
      orderPayload({
        lines: [{ lineId: 'A', sku: 'A', name: 'A', quantity: 1, unitPrice: 19 }],
        shippingAmount: 0,
        taxAmount: '0',
      }),
    );
    expect(exact.body.lines[0].unitPrice).toBe('19.00');
    expect(exact.body.order).toMatchObject({ shippingAmount: '0.00', taxAmount: '0.00', total: '19.00' });
    expect(exact.body.total).toBe('19.00');

    // 3 x 0.10 + 0.20 + 0.10 shipping + 0.20 tax: in floating point this is 0.8000000000000002.
    const cents = await postOrder(
      orderPayload({
        lines: [
          { lineId: 'A', sku: 'A', name: 'A', quantity: 3, unitPrice: 0.1 },
          { lineId: 'B', sku: 'B', name: 'B', quantity: 1, unitPrice: '0.2' },
        ],
        shippingAmount: 0.1,
        taxAmount: 0.2,
      }),
    );
    expect(cents.body.total).toBe('0.80');
    expect(cents.body.lines.map((l: { unitPrice: string }) => l.unitPrice)).toEqual(['0.10', '0.20']);

    // The default payload: 2 x 9.50 + 20 - 5 + 4.99 shipping + 1.2 tax.
    const computed = await postOrder(orderPayload());
    expect(computed.body.order).toMatchObject({ shippingAmount: '4.99', taxAmount: '1.20', total: '40.19' });

    // A total the source sends is kept as sent (normalised to two places), not recomputed.
    const given = await postOrder(orderPayload({ total: '100.5' }));
    expect(given.body.total).toBe('100.50');
  });

  const invalid: [string, (p: Record<string, any>) => unknown, string][] = [
    ['missing shipTo.name', (p) => ({ ...p, shipTo: { ...p.shipTo, name: undefined } }), 'shipTo.name'],
    ['quantity 0', (p) => ({ ...p, lines: [{ ...p.lines[0], quantity: 0 }] }), 'lines.0.quantity'],
    ['fractional quantity', (p) => ({ ...p, lines: [{ ...p.lines[0], quantity: 1.5 }] }), 'lines.0.quantity'],
    ['unitPrice "1.234"', (p) => ({ ...p, lines: [{ ...p.lines[0], unitPrice: '1.234' }] }), 'lines.0.unitPrice'],
    ['unitPrice 0.1 + 0.2 as a JSON number', (p) => ({ ...p, lines: [{ ...p.lines[0], unitPrice: 0.1 + 0.2 }] }), 'lines.0.unitPrice'],
    ['shippingAmount 0.1 + 0.2 as a JSON number', (p) => ({ ...p, shippingAmount: 0.1 + 0.2 }), 'shippingAmount'],
    ['total "12,50"', (p) => ({ ...p, total: '12,50' }), 'total'],
    ['three-letter country', (p) => ({ ...p, shipTo: { ...p.shipTo, country: 'USA' } }), 'shipTo.country'],
    ['4 custom fields', (p) => ({ ...p, customFields: ['a', 'b', 'c', 'd'] }), 'customFields'],
    ['duplicate lineId', (p) => ({ ...p, lines: [p.lines[0], { ...p.lines[1], lineId: p.lines[0].lineId }] }), 'lines.1.lineId'],
    ['orderDate 2026-02-30T00:00:00Z', (p) => ({ ...p, orderDate: '2026-02-30T00:00:00Z' }), 'orderDate'],
    ['orderDate without a zone', (p) => ({ ...p, orderDate: '2026-02-01T10:00:00' }), 'orderDate'],
    ['missing paid', (p) => ({ ...p, paid: undefined }), 'paid'],
    ['orderNumber with "/"', (p) => ({ ...p, orderNumber: `${p.orderNumber}/x` }), 'orderNumber'],
    ['bad currency', (p) => ({ ...p, currency: 'US' }), 'currency'],
    ['bad weight unit', (p) => ({ ...p, lines: [{ ...p.lines[0], weight: { value: 1, unit: 'stone' } }] }), 'lines.0.weight.unit'],
  ];
  it.each(invalid)('answers 400 with the field path for %s', async (_name, mutate, path) => {
    const payload = mutate(orderPayload());
    const res = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: payload });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(detailPaths(res)).toContain(path);
    expect(res.body.message).toContain(path);
    // Nothing was created.
    const number = (payload as { orderNumber: string }).orderNumber;
    if (!number.includes('/')) expect((await getOrder(number)).status).toBe(404);
  });

  it('answers 400 naming an unknown field', async () => {
    const payload = orderPayload({ bogusField: 1 });
    const res = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: payload });
    expect(res.status).toBe(400);
    expect(res.body.details.some((d: { path: string; message: string }) => d.path.includes('bogusField') || d.message.includes('bogusField'))).toBe(true);

    const nested = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: orderPayload({ shipTo: { name: 'A', zip: '1' } }) });
    expect(nested.status).toBe(400);
    expect(nested.body.details.some((d: { path: string; message: string }) => d.path.startsWith('shipTo') && `${d.path} ${d.message}`.includes('zip'))).toBe(true);
  });

  it('answers 400, not 500, for amounts whose computed total is out of range', async () => {
    const payload = orderPayload({ lines: [{ lineId: 'L1', sku: 'X', name: 'Expensive', quantity: 99_999, unitPrice: '999999999999.99' }] });
    const res = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: payload });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect((await getOrder(payload.orderNumber as string)).status).toBe(404);
  });

  it('concurrent creates of one order number make exactly one order', async () => {
    const payload = orderPayload();
    const same = await Promise.all([1, 2, 3].map(() => call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: payload })));
    for (const res of same) expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
    expect(new Set(same.map((r) => r.body.orderId)).size).toBe(1);
    expect((await getOrder(payload.orderNumber as string)).body.timeline).toHaveLength(1);

    const base = orderPayload();
    const rivals = await Promise.all(['1.00', '2.00', '3.00'].map((shippingAmount) => call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: { ...base, shippingAmount } })));
    const statuses = rivals.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409]);
    const winner = rivals.find((r) => r.status === 201)!;
    const stored = await getOrder(base.orderNumber as string);
    expect(stored.body.order.shippingAmount).toBe(winner.body.order.shippingAmount);
    for (const loser of rivals.filter((r) => r.status === 409)) expect(loser.body.message).toMatch(/different payload/);
  });

  it('accepts order numbers with spaces, "%", "#", "?" and non-ASCII, addressed URL-encoded', async () => {
    const number = `${nextOrderNumber('Ü')} #5?x=1%`;
    const created = await postOrder(orderPayload({ orderNumber: number }));
    expect(created.body.orderNumber).toBe(number);
    expect((await getOrder(number)).body.orderId).toBe(created.body.orderId);
    const held = await action(number, 'hold', { reason: 'odd number' });
    expect(held.status).toBe(200);
    expect(held.body.status).toBe('on_hold');
  });

  it('reports every problem at once', async () => {
    const p = orderPayload() as Record<string, any>;
    const res = await call(app, 'POST', '/api/orders', {
      token: merchant.apiKey,
      json: { ...p, shipTo: { ...p.shipTo, country: 'USA' }, lines: [{ ...p.lines[0], quantity: 0 }] },
    });
    expect(res.status).toBe(400);
    expect(detailPaths(res)).toEqual(expect.arrayContaining(['shipTo.country', 'lines.0.quantity']));
  });

  it('answers 400 for a body that is not JSON, or JSON that is not an object', async () => {
    for (const body of ['{"orderNumber": ', 'orderNumber=1', '']) {
      const res = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, body, headers: { 'Content-Type': 'application/json' } });
      expect(res.status, `body ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.message).toMatch(/json/i);
    }
    for (const json of [null, [], 'order', 42]) {
      const res = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json });
      expect(res.status, `body ${JSON.stringify(json)}`).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    }
  });

  it('answers 415 for a body that is not sent as JSON', async () => {
    const payload = JSON.stringify(orderPayload());
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'text/json']) {
      const res = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, body: payload, headers: { 'Content-Type': type } });
      expect(res.status, type).toBe(415);
      expect(res.body.error).toBe('unsupported_media_type');
    }
    // A JSON media type with parameters or a +json suffix is JSON.
    const charset = await call(app, 'POST', '/api/orders', {
      token: merchant.apiKey,
      body: JSON.stringify(orderPayload()),
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });
    expect(charset.status).toBe(201);

    // The same holds for requests with a body.
    const number = charset.body.orderNumber as string;
    const hold = await call(app, 'POST', `/api/orders/${enc(number)}/hold`, { token: merchant.apiKey, body: 'reason=x', headers: { 'Content-Type': 'text/plain' } });
    expect(hold.status).toBe(415);
    const change = await call(app, 'PATCH', `/api/orders/${enc(number)}`, { token: merchant.apiKey, body: '{"customerNotes":"x"}', headers: { 'Content-Type': 'text/plain' } });
    expect(change.status).toBe(415);
    expect((await getOrder(number)).body.timeline).toHaveLength(1);
  });

  it('answers 413 for a body larger than maxBodyBytes, and accepts one below it', async () => {
    const small = stack.app({ maxBodyBytes: 2048 });
    const ok = await call(small, 'POST', '/api/orders', { token: merchant.apiKey, json: orderPayload() });
    expect(ok.status).toBe(201);

    const big = orderPayload({ customerNotes: 'n'.repeat(1000), internalNotes: 'i'.repeat(1000), giftMessage: 'g'.repeat(500) });
    const text = JSON.stringify(big);
    expect(text.length).toBeGreaterThan(2048);
    const res = await call(small, 'POST', '/api/orders', { token: merchant.apiKey, json: big });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('payload_too_large');
    // With a Content-Length header the body is refused before it is read.
    const declared = await call(small, 'POST', '/api/orders', {
      token: merchant.apiKey,
      body: text,
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) },
    });
    expect(declared.status).toBe(413);
    // The same order is fine where the limit is the default.
    expect((await getOrder(big.orderNumber as string)).status).toBe(404);
    await postOrder(big);
  });
});

// Keyset paging and filters are SQL: run them on every database this run has (PGlite, and PostgreSQL when reachable).
describe.each(DATABASE_KINDS)('GET /api/orders (%s)', (kind) => {
  let own: TestStack | null = null;
  let listApp: TestApp;
  let lister: { id: string; apiKey: string };
  const created: { orderNumber: string; orderId: string; source: string; paid: boolean }[] = [];

  beforeAll(async () => {
    if (kind !== 'pglite') own = await startTestStack({ db: kind, settings: SETTINGS });
    const target = own ?? stack;
    listApp = target.app();
    lister = await target.newMerchant('list');
    const specs = [
      { source: 'shop-a', paid: true },
      { source: 'shop-b', paid: true },
      { source: 'shop-a', paid: true },
      { source: 'shop-b', paid: false },
      { source: 'shop-a', paid: true },
    ];
    for (const spec of specs) {
      const res = await postOrder(orderPayload(spec), lister, listApp);
      created.push({ orderNumber: res.body.orderNumber, orderId: res.body.orderId, ...spec });
    }
  });

  afterAll(() => own?.close());

  const list = (query: string) => call(listApp, 'GET', `/api/orders${query}`, { token: lister.apiKey });

  it('walks every order exactly once by cursor, oldest first', async () => {
    const seen: string[] = [];
    const pages: number[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const res: ApiResponse = await list(`?limit=2${cursor ? `&cursor=${enc(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      pages.push(res.body.orders.length);
      for (const o of res.body.orders) {
        expect(o).toMatchObject({ orderNumber: expect.any(String), status: expect.any(String), total: expect.any(String) });
        expect(o).not.toHaveProperty('lines');
        seen.push(o.orderNumber);
      }
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }
    expect(pages).toEqual([2, 2, 1]);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(created.map((o) => o.orderNumber));

    const all = await list('?limit=500');
    expect(all.body.orders.map((o: { orderNumber: string }) => o.orderNumber)).toEqual(seen);
    expect(all.body.nextCursor).toBeNull();
    // Exactly one page's worth: no cursor to an empty page.
    const exact = await list('?limit=5');
    expect(exact.body.orders).toHaveLength(5);
    expect(exact.body.nextCursor).toBeNull();
  });

  it('filters by source and status, and pages within a filter', async () => {
    const shopA = await list('?source=shop-a');
    expect(shopA.body.orders.map((o: { orderNumber: string }) => o.orderNumber)).toEqual(
      created.filter((o) => o.source === 'shop-a').map((o) => o.orderNumber),
    );
    const page1 = await list('?source=shop-a&limit=2');
    expect(page1.body.orders).toHaveLength(2);
    const page2 = await list(`?source=shop-a&limit=2&cursor=${enc(page1.body.nextCursor)}`);
    expect(page2.body.orders.map((o: { orderNumber: string }) => o.orderNumber)).toEqual([created[4]!.orderNumber]);
    expect(page2.body.nextCursor).toBeNull();

    const unpaid = await list('?status=await_payment');
    expect(unpaid.body.orders.map((o: { orderNumber: string }) => o.orderNumber)).toEqual([created[3]!.orderNumber]);
    const pending = await list('?status=pending');
    expect(pending.body.orders).toHaveLength(4);
    expect((await list('?status=shipped')).body.orders).toEqual([]);
    expect((await list('?source=nowhere')).body.orders).toEqual([]);
  });

  it('filters stuck orders', async () => {
    const unpaid = created[3]!;
    const stuck = await eventually(
      () => list('?stuck=true'),
      (r) => r.body.orders?.length === 1,
      AWAIT_PAYMENT_MS + 15_000,
    );
    expect(stuck.body.orders).toEqual([expect.objectContaining({ orderNumber: unpaid.orderNumber, stuck: { reason: 'unpaid_too_long', since: expect.any(String) } })]);
    const byReason = await list('?stuckReason=unpaid_too_long');
    expect(byReason.body.orders.map((o: { orderNumber: string }) => o.orderNumber)).toEqual([unpaid.orderNumber]);
    expect((await list('?stuckReason=no_shipment')).body.orders).toEqual([]);
    const notStuck = await list('?stuck=false');
    expect(notStuck.body.orders.map((o: { orderNumber: string }) => o.orderNumber)).toEqual(
      created.filter((o) => o.paid).map((o) => o.orderNumber),
    );
  });

  it('answers 400 for a bad cursor or bad query values', async () => {
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const cursor of ['not-a-cursor!', 'abc', forged({ a: 1 }), forged(['yesterday', 'o1']), forged([1, 2]), forged(null)]) {
      const res = await list(`?cursor=${enc(cursor)}`);
      expect(res.status, `cursor ${cursor}`).toBe(400);
      expect(detailPaths(res)).toContain('cursor');
    }
    for (const query of ['?limit=0', '?limit=501', '?limit=two', '?status=lost', '?stuck=maybe', '?stuckReason=bored']) {
      const res = await list(query);
      expect(res.status, query).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    }
  });

  it('answers 400 for a forged cursor whose timestamp the database cannot read', async () => {
    // JavaScript's Date.parse accepts "1" (as 2001-01-01); PostgreSQL does not.
    const cursor = Buffer.from(JSON.stringify(['1', 'o1'])).toString('base64url');
    const res = await list(`?cursor=${cursor}`);
    expect(res.status).toBe(400);
  });
});

describe('order requests', () => {
  it('pay: an unpaid order becomes pending; paying again changes nothing', async () => {
    const { body: order } = await postOrder(orderPayload({ paid: false }));
    const paid = await action(order.orderNumber, 'pay');
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ status: 'pending', paid: true, stuck: null });
    const again = await action(order.orderNumber, 'pay');
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('pending');
    expect(again.body.timeline.filter((e: { event: string }) => e.event === 'paid')).toHaveLength(1);
  });

  it('hold and release: 200 with the new status; release when not on hold is 409 with the reason', async () => {
    const { body: order } = await postOrder();
    const held = await action(order.orderNumber, 'hold', { reason: 'address check' });
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({ status: 'on_hold', hold: { reason: 'address check', returnsTo: 'pending' } });
    expect((await getOrder(order.orderNumber)).body.status).toBe('on_hold');

    const heldAgain = await action(order.orderNumber, 'hold', { reason: 'another reason' });
    expect(heldAgain.status).toBe(200);
    expect(heldAgain.body.hold.reason).toBe('address check');

    const released = await action(order.orderNumber, 'release');
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ status: 'pending', hold: null });

    const refused = await action(order.orderNumber, 'release');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('conflict');
    expect(refused.body.message).toBe('the order is not on hold (status pending)');
    expect((await getOrder(order.orderNumber)).body.status).toBe('pending');
  });

  it('hold and cancel need a reason (400)', async () => {
    const { body: order } = await postOrder();
    for (const name of ['hold', 'cancel']) {
      const noBody = await action(order.orderNumber, name);
      expect(noBody.status, `${name} without a body`).toBe(400);
      const empty = await action(order.orderNumber, name, {});
      expect(empty.status).toBe(400);
      expect(detailPaths(empty)).toContain('reason');
      const blank = await action(order.orderNumber, name, { reason: '' });
      expect(blank.status).toBe(400);
      expect(detailPaths(blank)).toContain('reason');
      const extra = await action(order.orderNumber, name, { reason: 'x', why: 'y' });
      expect(extra.status).toBe(400);
    }
    expect((await getOrder(order.orderNumber)).body.status).toBe('pending');
  });

  it('retry: 409 when the order is not stuck, 200 and unstuck when it is', async () => {
    const { body: fine } = await postOrder();
    const refused = await action(fine.orderNumber, 'retry');
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe('the order is not stuck (status pending)');

    const { body: unpaid } = await postOrder(orderPayload({ paid: false }));
    await untilOrder(unpaid.orderNumber, (o) => o.stuck?.reason === 'unpaid_too_long');
    const retried = await action(unpaid.orderNumber, 'retry');
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'await_payment', stuck: null });
    expect(retried.body.timeline.map((e: { event: string }) => e.event)).toContain('retried');
  });

  it('resend: re-offers a pending order (LastModified moves)', async () => {
    const { body: order } = await postOrder();
    await sleep(5);
    const res = await action(order.orderNumber, 'resend');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('pending');
    expect(Date.parse(res.body.lastModified)).toBeGreaterThan(Date.parse(order.lastModified));
    expect(res.body.timeline.map((e: { event: string }) => e.event)).toContain('resent');
  });

  it('cancel: 200 canceled; afterwards changes and payment are refused with 409', async () => {
    const { body: order } = await postOrder(orderPayload({ paid: false }));
    const canceled = await action(order.orderNumber, 'cancel', { reason: 'customer asked' });
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ status: 'canceled', cancelReason: 'customer asked' });
    const again = await action(order.orderNumber, 'cancel', { reason: 'twice' });
    expect(again.status).toBe(200);
    expect(again.body.cancelReason).toBe('customer asked');

    const pay = await action(order.orderNumber, 'pay');
    expect(pay.status).toBe(409);
    expect(pay.body.message).toBe('the order is canceled');
    const hold = await action(order.orderNumber, 'hold', { reason: 'x' });
    expect(hold.status).toBe(409);
    expect(hold.body.message).toBe('the order is canceled');
    const change = await patch(order.orderNumber, { customerNotes: 'too late' });
    expect(change.status).toBe(409);
    expect(change.body.message).toMatch(/can no longer be changed \(status canceled\)/);
    expect((await getOrder(order.orderNumber)).body).toMatchObject({ status: 'canceled', paid: false });
  });

  it('cancel after a shipment is refused with 409 naming the tracking number', async () => {
    const { body: order } = await postOrder();
    await stack.sendFact(refOf(merchant.id, order.orderNumber), { kind: 'shipmentReported', report: { shipmentKey: 'k1', carrier: 'UPS', trackingNumber: '1Z', reportedVia: 'test' } });
    const shipped = await untilOrder(order.orderNumber, (o) => o.shipments.length === 1);
    expect(shipped.status).toBe('shipped');
    expect(shipped.shipments[0]).toMatchObject({ shipmentKey: 'k1', carrier: 'UPS', trackingNumber: '1Z', reportedVia: 'test' });
    expect(shipped.lines.find((l: { lineId: string }) => l.lineId === 'L1').shipped).toBe(2);

    const cancel = await action(order.orderNumber, 'cancel', { reason: 'too late' });
    expect(cancel.status).toBe(409);
    expect(cancel.body.error).toBe('conflict');
    expect(cancel.body.message).toBe('a package has already shipped (tracking 1Z); it can no longer be canceled');
    const hold = await action(order.orderNumber, 'hold', { reason: 'x' });
    expect(hold.status).toBe(409);
    expect(hold.body.message).toBe('the order has already shipped (status shipped)');
    const resend = await action(order.orderNumber, 'resend');
    expect(resend.status).toBe(409);
    expect(resend.body.message).toBe('the order has already shipped (status shipped)');
    expect((await getOrder(order.orderNumber)).body).toMatchObject({ status: 'shipped', cancelReason: null });
  });

  it('requests for an unknown order answer 404', async () => {
    const number = nextOrderNumber('NOPE');
    for (const [name, json] of [['pay'], ['release'], ['retry'], ['resend'], ['hold', { reason: 'x' }], ['cancel', { reason: 'x' }]] as const) {
      const res = await action(number, name, json);
      expect(res.status, name).toBe(404);
      expect(res.body.error).toBe('not_found');
    }
    expect((await patch(number, { customerNotes: 'x' })).status).toBe(404);
    expect((await getOrder(number)).status).toBe(404);
  });
});

describe('PATCH /api/orders/{orderNumber}', () => {
  it('changes the address of a pending order and moves LastModified', async () => {
    const payload = orderPayload();
    const { body: order } = await postOrder(payload);
    await sleep(5);
    const newShipTo = { name: 'Grace Hopper', street1: '2 Navy Way', city: 'Arlington', state: 'VA', postalCode: '22201', country: 'us' };
    const res = await patch(order.orderNumber, { shipTo: newShipTo });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('pending');
    expect(res.body.order.shipTo).toEqual({ ...newShipTo, country: 'US' });
    expect(res.body.order.billTo).toEqual(order.order.billTo);
    expect(Date.parse(res.body.lastModified)).toBeGreaterThan(Date.parse(order.lastModified));
    expect(res.body.timeline.at(-1)).toMatchObject({ event: 'changed', detail: 'shipTo' });

    const got = await getOrder(order.orderNumber);
    expect(got.body.order.shipTo.name).toBe('Grace Hopper');
    expect(got.body.lastModified).toBe(res.body.lastModified);
    // Posting the original payload again is still a repeat of the create (200), and changes nothing back.
    const repeat = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: payload });
    expect(repeat.status).toBe(200);
    expect(repeat.body.order.shipTo.name).toBe('Grace Hopper');
  });

  it('changes lines and amounts', async () => {
    const { body: order } = await postOrder();
    const res = await patch(order.orderNumber, {
      lines: [{ lineId: 'L1', sku: 'MUG-1', name: 'Mug', quantity: 3, unitPrice: '9.50' }],
      shippingAmount: 0,
      total: '28.50',
    });
    expect(res.status).toBe(200);
    expect(res.body.lines).toEqual([expect.objectContaining({ lineId: 'L1', quantity: 3, unitPrice: '9.50' })]);
    expect(res.body.order).toMatchObject({ shippingAmount: '0.00', total: '28.50' });
  });

  it('answers 400 for an empty or invalid change', async () => {
    const { body: order } = await postOrder();
    const cases: [unknown, string | null][] = [
      [{}, null],
      [{ orderNumber: 'B-2' }, null],
      [{ paid: false }, null],
      [{ shipTo: { name: '' } }, 'shipTo.name'],
      [{ shippingAmount: '1.001' }, 'shippingAmount'],
      [{ lines: [{ lineId: 'X', name: 'x', quantity: 1, unitPrice: 1 }, { lineId: 'X', name: 'y', quantity: 1, unitPrice: 1 }] }, 'lines.1.lineId'],
    ];
    for (const [json, path] of cases) {
      const res = await patch(order.orderNumber, json);
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(res.body.error).toBe('invalid_request');
      if (path) expect(detailPaths(res)).toContain(path);
    }
    const got = await getOrder(order.orderNumber);
    expect(got.body.lastModified).toBe(order.lastModified);
    expect(got.body.timeline).toHaveLength(1);
  });

  it('is refused with 409 while the order is at ShipStation, and allowed once it is held', async () => {
    const { body: order } = await postOrder();
    await stack.sendFact(refOf(merchant.id, order.orderNumber), { kind: 'exported', exportKey: 'e1' });
    const atWms = await untilOrder(order.orderNumber, (o) => o.status === 'at_wms');

    const refused = await patch(order.orderNumber, { shipTo: { name: 'Someone Else' } });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('conflict');
    expect(refused.body.message).toBe('the order is already at ShipStation; put it on hold before changing it');
    const unchanged = await getOrder(order.orderNumber);
    expect(unchanged.body.order.shipTo.name).toBe('Ada Lovelace');
    expect(unchanged.body.lastModified).toBe(atWms.lastModified);

    const held = await action(order.orderNumber, 'hold', { reason: 'change address' });
    expect(held.body).toMatchObject({ status: 'on_hold', hold: { returnsTo: 'at_wms' } });
    const changed = await patch(order.orderNumber, { shipTo: { name: 'Someone Else' } });
    expect(changed.status).toBe(200);
    expect(changed.body.order.shipTo).toEqual({ name: 'Someone Else' });
    const released = await action(order.orderNumber, 'release');
    expect(released.body.status).toBe('at_wms');
  });
});

describe('with a short request timeout', () => {
  let slow: TestStack;
  let slowApp: TestApp;
  let who: { id: string; apiKey: string };
  beforeAll(async () => {
    slow = await startTestStack({ requestTimeoutMs: 1500 });
    slowApp = slow.app();
    who = await slow.newMerchant('noworker');
  });
  afterAll(() => slow?.close());

  /** POST is idempotent, so a client simply repeats it after a 503 (1.5 s is a tight budget on a busy machine). */
  async function postPatiently(payload: Record<string, unknown>): Promise<ApiResponse> {
    let res: ApiResponse | null = null;
    for (let attempt = 0; attempt < 5; attempt++) {
      res = await call(slowApp, 'POST', '/api/orders', { token: who.apiKey, json: payload });
      if (res.status !== 503) break;
    }
    return res!;
  }

  describe('when no worker answers', () => {
    let number: string;
    let path: string;
    let hold503: ApiResponse;
    let holdMs: number;
    let readWhileDown: ApiResponse;
    let lateCreate: { payload: Record<string, unknown>; res: ApiResponse };

    beforeAll(async () => {
      const payload = orderPayload();
      const created = await postPatiently(payload);
      expect([200, 201]).toContain(created.status);
      expect(created.body.status).toBe('pending');
      number = payload.orderNumber as string;
      path = `/api/orders/${enc(number)}`;

      await slow.stopWorker();
      const started = Date.now();
      hold503 = await call(slowApp, 'POST', `${path}/hold`, { token: who.apiKey, json: { reason: 'too late' } });
      holdMs = Date.now() - started;
      readWhileDown = await call(slowApp, 'GET', path, { token: who.apiKey });
      const latePayload = orderPayload();
      lateCreate = { payload: latePayload, res: await call(slowApp, 'POST', '/api/orders', { token: who.apiKey, json: latePayload }) };

      await slow.startWorker();
      await sleep(3000);
    });

    it('a request answers 503 no_worker with Retry-After, within the request timeout', () => {
      expect(hold503.status).toBe(503);
      expect(hold503.body.error).toBe('no_worker');
      expect(hold503.headers.get('Retry-After')).toMatch(/^\d+$/);
      expect(holdMs).toBeLessThan(10_000);
      // Reads do not need a worker.
      expect(readWhileDown.status).toBe(200);
      expect(readWhileDown.body.status).toBe('pending');
    });

    it('the expired request never takes effect once a worker is back; a fresh one does', async () => {
      const after = await call(slowApp, 'GET', path, { token: who.apiKey });
      expect(after.status).toBe(200);
      expect(after.body.status).toBe('pending');
      expect(after.body.hold).toBeNull();
      expect(JSON.stringify(after.body.timeline)).not.toContain('too late');

      let held: ApiResponse | null = null;
      for (let attempt = 0; attempt < 5; attempt++) {
        held = await call(slowApp, 'POST', `${path}/hold`, { token: who.apiKey, json: { reason: 'in time' } });
        if (held.status !== 503) break;
      }
      expect(held!.status).toBe(200);
      expect(held!.body.hold).toEqual({ reason: 'in time', returnsTo: 'pending' });
      expect(JSON.stringify(held!.body.timeline)).not.toContain('too late');
    });

    it('a create answered 503 does not silently take effect later (503 promises "nothing changed")', async () => {
      const { payload, res } = lateCreate;
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('no_worker');
      const later = await call(slowApp, 'GET', `/api/orders/${enc(payload.orderNumber as string)}`, { token: who.apiKey });
      // Either the order was really not created, or the 503 must not claim that nothing changed
      // (a caller who trusts it and does not repeat the POST gets an order it believes was refused).
      const claimsNothingChanged = /nothing changed/i.test(res.body.message);
      expect(
        later.status === 404 || !claimsNothingChanged,
        `the 503 said "${res.body.message}" but GET now answers ${later.status} with status ${later.body.status}`,
      ).toBe(true);
      if (later.status === 404) {
        // The start named the order's first status for the Web UI; the run that never came to be an
        // order fails and takes it back, so no filter on OrderStatus finds a phantom order.
        const described = await eventually(
          () => slow.client.workflow.getHandle(`order:${who.id}:${payload.orderNumber as string}`).describe(),
          (d) => d.status.name === 'FAILED',
        );
        expect(described.typedSearchAttributes.get(OrderStatusKey)).toBeUndefined();
        expect(described.typedSearchAttributes.get(OrderNumberKey)).toBe(payload.orderNumber);
      }
      // Repeating the POST is always safe.
      const repeat = await postPatiently(payload);
      expect([200, 201]).toContain(repeat.status);
    });
  });

  it.each([
    ['more cents than a JavaScript number holds exactly', 99_999],
    ['a total beyond what the read model stores', 2],
  ])('PATCH refuses lines whose recomputed total is out of range (%s) with 400/409, and the order keeps working', async (_label, quantity) => {
    const payload = orderPayload();
    const created = await postPatiently(payload);
    expect([200, 201]).toContain(created.status);
    const number = payload.orderNumber as string;
    const path = `/api/orders/${enc(number)}`;
    try {
      const res = await call(slowApp, 'PATCH', path, {
        token: who.apiKey,
        json: { lines: [{ lineId: 'L1', sku: 'X', name: 'Expensive', quantity, unitPrice: '999999999999.99' }] },
      });
      expect([400, 409], JSON.stringify(res.body)).toContain(res.status);
      // The refused change did not wedge the order: it still answers requests.
      const held = await call(slowApp, 'POST', `${path}/hold`, { token: who.apiKey, json: { reason: 'still alive?' } });
      expect(held.status, JSON.stringify(held.body)).toBe(200);
      expect(held.body.order.total).toBe('40.19');
    } finally {
      await slow.client.workflow
        .getHandle(`order:${who.id}:${number}`)
        .terminate('test cleanup')
        .catch(() => {});
    }
  });

  it('answers 400 for amounts whose computed total does not fit the read model (not 503, no stuck workflow)', async () => {
    // 12 integer digits are accepted per amount; two of them add up to 13, more than numeric(14,2) holds.
    const payload = orderPayload({ lines: [{ lineId: 'L1', sku: 'X', name: 'Expensive', quantity: 2, unitPrice: '999999999999.99' }] });
    const number = payload.orderNumber as string;
    const res = await call(slowApp, 'POST', '/api/orders', { token: who.apiKey, json: payload });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(detailPaths(res).some((p) => /total|lines|unitPrice|quantity/.test(p))).toBe(true);
    // Refused before anything started: no workflow was left retrying a projection.
    await expect(slow.client.workflow.getHandle(`order:${who.id}:${number}`).describe()).rejects.toThrow(/not found/i);
  });
});
