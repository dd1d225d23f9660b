/**
 * Sizes and messy input (issue 16, items 2, 7 and 8) against the real stack (a worker on the shared
 * Temporal dev server, a real database, the Hono app in-process): what one order and one ShipNotice
 * may hold, what is cut and what refused, and that a repeated tracking number with other items is
 * flagged. The maximum-size lifecycle through continue-as-new is in test/order-workflow-standins.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAGS_KEEP, MAX_NOTICE_ITEMS, ORDER_MAX_BYTES } from '../domain/limits';
import { call, detailPaths, type TestApp } from './support/api';
import { eventually, orderPayload } from './support/orders';
import { startTestStack, type TestStack } from './support/stack';

const ADMIN = 'admin-token-for-the-limits-suite';
const enc = encodeURIComponent;

let stack: TestStack;
let app: TestApp;
let merchant: { id: string; apiKey: string };
let connection: { username: string; password: string; url: string };

beforeAll(async () => {
  stack = await startTestStack();
  app = stack.app({ adminToken: ADMIN });
  merchant = await stack.newMerchant('limits');
  const res = await call(app, 'POST', `/api/admin/merchants/${merchant.id}/connections`, { token: ADMIN, json: {} });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  connection = res.body;
});
afterAll(() => stack?.close());

const post = (json: unknown) => call(app, 'POST', '/api/orders', { token: merchant.apiKey, json });
const get = (orderNumber: string) => call(app, 'GET', `/api/orders/${enc(orderNumber)}`, { token: merchant.apiKey });

/** A shipnotify call as ShipStation makes it: query parameters, basic credentials, a raw XML body. */
async function shipnotify(orderNumber: string, tracking: string, body: string) {
  const query = `action=shipnotify&order_number=${enc(orderNumber)}&carrier=UPS&service=&tracking_number=${enc(tracking)}`;
  const res = await app.request(`${connection.url}${connection.url.includes('?') ? '&' : '?'}${query}`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`${connection.username}:${connection.password}`).toString('base64')}`, 'Content-Type': 'text/xml' },
    body,
  });
  return { status: res.status, text: await res.text() };
}

const notice = (orderNumber: string, inner: string) => `<?xml version="1.0" encoding="utf-8"?>\n<ShipNotice><OrderNumber>${orderNumber}</OrderNumber>${inner}</ShipNotice>`;
const item = (lineItemId: string, quantity: number) => `<Item><LineItemID>${lineItemId}</LineItemID><Quantity>${quantity}</Quantity></Item>`;

/** Polls the order until `check` holds (facts arrive by signal, after ShipStation's answer). */
async function untilOrder(orderNumber: string, check: (order: any) => boolean) {
  const order = await eventually(async () => (await get(orderNumber)).body, check);
  expect(check(order), `order ${orderNumber} never got there: ${JSON.stringify(order).slice(0, 600)}`).toBe(true);
  return order;
}

describe('an order as posted', () => {
  it(`is at most ${ORDER_MAX_BYTES} bytes: beyond, 413 with the reason, and no order exists`, async () => {
    const payload = orderPayload({ customerNotes: 'x'.repeat(ORDER_MAX_BYTES) });
    const res = await post(payload);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: 'payload_too_large' });
    expect(res.body.message).toContain(String(ORDER_MAX_BYTES));
    expect((await get(payload.orderNumber as string)).status).toBe(404);
    // PATCH has the same bound.
    const small = orderPayload({ paid: false });
    expect((await post(small)).status).toBe(201);
    const patch = await call(app, 'PATCH', `/api/orders/${enc(small.orderNumber as string)}`, { token: merchant.apiKey, json: { internalNotes: 'y'.repeat(ORDER_MAX_BYTES) } });
    expect(patch.status).toBe(413);
  });

  it('has at most 500 lines and 20 options per line: beyond, 400 naming the field', async () => {
    const line = (i: number) => ({ lineId: `L${i}`, sku: `S${i}`, name: 'Thing', quantity: 1, unitPrice: '1.00' });
    const tooManyLines = await post(orderPayload({ lines: Array.from({ length: 501 }, (_, i) => line(i)) }));
    expect(tooManyLines.status).toBe(400);
    expect(detailPaths(tooManyLines)).toEqual(['lines']);
    expect(tooManyLines.body.message).toContain('at most 500 lines');

    const options = Array.from({ length: 21 }, (_, i) => ({ name: `o${i}`, value: 'v' }));
    const tooManyOptions = await post(orderPayload({ lines: [line(1), { ...line(2), options }] }));
    expect(tooManyOptions.status).toBe(400);
    expect(detailPaths(tooManyOptions)).toEqual(['lines.1.options']);

    // At the caps it is accepted.
    const atCaps = await post(orderPayload({ lines: [...Array.from({ length: 499 }, (_, i) => line(i)), { ...line(499), options: options.slice(0, 20) }] }));
    expect(atCaps.status, JSON.stringify(atCaps.body).slice(0, 400)).toBe(201);
    expect(atCaps.body.lines).toHaveLength(500);
  });

  it('free text longer than ShipStation takes is cut by code point, never inside a character, and the answer says which field', async () => {
    const emoji = '😀';
    const payload = orderPayload({
      customerNotes: `${'n'.repeat(999)}${emoji}${emoji}`,
      shipTo: { name: 'é'.repeat(150), street1: '1 Main St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
      lines: [{ lineId: 'L1', sku: 'MUG-1', name: emoji.repeat(250), quantity: 1, unitPrice: '9.50', imageUrl: `https://img.example/${'p'.repeat(600)}` }],
    });
    const res = await post(payload);
    expect(res.status, JSON.stringify(res.body).slice(0, 400)).toBe(201);
    expect([...res.body.warnings].sort()).toEqual([
      "customerNotes: cut to 1000 characters (ShipStation's limit for the field)",
      'lines.0.imageUrl: longer than ShipStation takes and cannot be cut; left out',
      "lines.0.name: cut to 200 characters (ShipStation's limit for the field)",
      "shipTo.name: cut to 100 characters (ShipStation's limit for the field)",
    ]);
    const order = (await get(payload.orderNumber as string)).body;
    expect(order.order.customerNotes).toBe(`${'n'.repeat(999)}${emoji}`);
    expect(order.order.shipTo.name).toBe('é'.repeat(100));
    expect(order.lines[0].name).toBe(emoji.repeat(200));
    expect(order.lines[0].name.isWellFormed()).toBe(true);
    expect(order.lines[0].imageUrl).toBeNull();
    // Posting the same payload again is the same order (cutting is deterministic), with the same warnings.
    const again = await post(payload);
    expect(again.status).toBe(200);
    expect(again.body.warnings).toEqual(res.body.warnings);
  });

  it('a key field (order number, line id, SKU) out of bounds is refused with 400 naming the field', async () => {
    const long = 'K'.repeat(51);
    const cases: [Record<string, unknown>, string][] = [
      [{ orderNumber: long }, 'orderNumber'],
      [{ lines: [{ lineId: long, sku: 'S', name: 'n', quantity: 1, unitPrice: 1 }] }, 'lines.0.lineId'],
      [{ lines: [{ lineId: 'L1', sku: long, name: 'n', quantity: 1, unitPrice: 1 }] }, 'lines.0.sku'],
    ];
    for (const [overrides, path] of cases) {
      const res = await post(orderPayload(overrides));
      expect(res.status, path).toBe(400);
      expect(detailPaths(res), path).toEqual([path]);
    }
  });

  it('key field lengths count characters (code points), as ShipStation does, not UTF-16 units', async () => {
    // 50 emoji are 100 UTF-16 units but 50 characters: within bounds, and stored as given.
    const sku = '📦'.repeat(50);
    const orderNumber = `LIM-EMOJI-${'🍓'.repeat(30)}`;
    const res = await post(orderPayload({ orderNumber, lines: [{ lineId: 'L1', sku, name: 'n', quantity: 1, unitPrice: 1 }] }));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect((await get(orderNumber)).body.lines[0].sku).toBe(sku);
    // One more is refused, naming the field.
    const over = await post(orderPayload({ lines: [{ lineId: 'L1', sku: `${sku}📦`, name: 'n', quantity: 1, unitPrice: 1 }] }));
    expect(over.status).toBe(400);
    expect(detailPaths(over)).toEqual(['lines.0.sku']);
  });
});

describe('messy but meaningful input is cleaned, not refused', () => {
  it('a stray control character in free text is accepted; NUL and lone surrogates are dropped', async () => {
    const payload = orderPayload({
      customerNotes: 'leave at door\u0007 please\u0000!',
      internalNotes: 'esc\u001b[0m',
      giftMessage: 'half \ud83d emoji',
      shipTo: { name: 'Bell\u0007 Ringer', street1: '1 Main\u0000 St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
      customFields: ['a\u0001b'],
    });
    const res = await post(payload);
    expect(res.status, JSON.stringify(res.body).slice(0, 400)).toBe(201);
    expect(res.body.warnings).toBeUndefined();
    const order = (await get(payload.orderNumber as string)).body;
    expect(order.order).toMatchObject({
      customerNotes: 'leave at door\u0007 please!',
      internalNotes: 'esc\u001b[0m',
      giftMessage: 'half  emoji',
      shipTo: { name: 'Bell\u0007 Ringer', street1: '1 Main St' },
      customFields: ['a\u0001b'],
    });
    // The export strips what XML cannot carry (test/shipstation.test.ts checks the document against the XSD).
  });

  it('key fields keep refusing control characters, with 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ orderNumber: 'A\u0007-1' }, 'orderNumber'],
      [{ lines: [{ lineId: 'L\u00001', sku: 'S', name: 'n', quantity: 1, unitPrice: 1 }] }, 'lines.0.lineId'],
      [{ lines: [{ lineId: 'L1', sku: 'S\u0001', name: 'n', quantity: 1, unitPrice: 1 }] }, 'lines.0.sku'],
    ];
    for (const [overrides, path] of cases) {
      const res = await post(orderPayload(overrides));
      expect(res.status, path).toBe(400);
      expect(detailPaths(res), path).toEqual([path]);
    }
  });
});

describe('ShipNotice sizes', () => {
  it('notice text longer than ShipStation\'s field limits is cut, and the notice recorded', async () => {
    const payload = orderPayload();
    expect((await post(payload)).status).toBe(201);
    const orderNumber = payload.orderNumber as string;
    const body = notice(
      orderNumber,
      `<InternalNotes>${'i'.repeat(1500)}</InternalNotes><NotesToCustomer>${'😀'.repeat(1200)}</NotesToCustomer>` +
        `<CustomField1>${'c'.repeat(300)}</CustomField1><Recipient><Name>${'r'.repeat(400)}</Name></Recipient>`,
    );
    const res = await shipnotify(orderNumber, '1ZLONGTEXT1', body);
    expect(res.status, res.text).toBe(200);
    const order = await untilOrder(orderNumber, (o) => o.shipments.length === 1);
    expect(order.shipments[0].details).toMatchObject({
      internalNotes: 'i'.repeat(1000),
      notesToCustomer: '😀'.repeat(1000),
      customFields: ['c'.repeat(100)],
      recipient: { name: 'r'.repeat(100) },
    });
  });

  it(`a notice naming more than ${MAX_NOTICE_ITEMS} items records the first ${MAX_NOTICE_ITEMS} and flags the order`, async () => {
    const payload = orderPayload();
    expect((await post(payload)).status).toBe(201);
    const orderNumber = payload.orderNumber as string;
    const items = [item('L1', 1), ...Array.from({ length: MAX_NOTICE_ITEMS + 4 }, (_, i) => item(`X${i}`, 1))].join('');
    const res = await shipnotify(orderNumber, '1ZMANYITEMS1', notice(orderNumber, `<Items>${items}</Items>`));
    expect(res.status, res.text).toBe(200);
    const order = await untilOrder(orderNumber, (o) => o.flags.some((f: any) => f.code === 'shipment_items_omitted'));
    expect(order.flags.find((f: any) => f.code === 'shipment_items_omitted').detail).toContain('5 item(s) beyond the first 500');
    expect(order.lines.find((l: any) => l.lineId === 'L1').shipped).toBe(1);
    // The unmatched ones are flagged too, and the flags stay bounded: first and last kept, the rest counted.
    expect(order.flags.length).toBeLessThanOrEqual(FLAGS_KEEP.head + 1 + FLAGS_KEEP.tail);
    expect(order.flags[FLAGS_KEEP.head]).toMatchObject({ code: 'flags_omitted' });
    expect(order.timeline.some((e: any) => e.event === 'entries omitted')).toBe(true);
  });

  it('a repeated tracking number whose items differ from the first notice is flagged, not silently dropped', async () => {
    const payload = orderPayload();
    expect((await post(payload)).status).toBe(201);
    const orderNumber = payload.orderNumber as string;
    const first = await shipnotify(orderNumber, '1Z REPEAT 1', notice(orderNumber, `<Items>${item('L1', 1)}</Items>`));
    expect(first.status, first.text).toBe(200);
    await untilOrder(orderNumber, (o) => o.shipments.length === 1);
    // The same notice again is a plain repeat: nothing flagged.
    expect((await shipnotify(orderNumber, '1Z REPEAT 1', notice(orderNumber, `<Items>${item('L1', 1)}</Items>`))).status).toBe(200);
    // The same tracking number (written differently) with other items.
    const other = await shipnotify(orderNumber, '1z-repeat-1', notice(orderNumber, `<Items>${item('L2', 1)}</Items>`));
    expect(other.status, other.text).toBe(200);
    const order = await untilOrder(orderNumber, (o) => o.flags.some((f: any) => f.code === 'shipment_items_differ'));
    expect(order.flags.filter((f: any) => f.code === 'shipment_items_differ')).toHaveLength(1);
    expect(order.flags.find((f: any) => f.code === 'shipment_items_differ').detail).toContain('1 x L2');
    expect(order.timeline.some((e: any) => e.event === 'flagged' && e.detail.startsWith('shipment_items_differ'))).toBe(true);
    // The first notice's items stand: one shipment, L2 not shipped.
    expect(order.shipments).toHaveLength(1);
    expect(order.lines.find((l: any) => l.lineId === 'L2').shipped).toBe(0);
  });
});
