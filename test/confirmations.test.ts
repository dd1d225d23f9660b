/**
 * Shipment confirmations against the real stack (Temporal dev server, real database, the Hono app
 * in-process, a real local webhook receiver): pickup with its cursor and ack, signed push with one
 * idempotency key per shipment, rejection and the confirmation deadline as stuck reasons, retry,
 * per-source targets, secret rotation and per-merchant deadline overrides. No mocks.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderState, ShipmentReport } from '../domain/order';
import { call, sleep, type TestApp } from './support/api';
import { DATABASE_KINDS } from './support/database';
import { createOrder, eventually, orderPayload, readState } from './support/orders';
import { LONG_SETTINGS, startTestStack, type TestStack } from './support/stack';
import { signatureValid, startWebhookReceiver, webhookReceivers, type WebhookReceiver } from './support/webhook-receiver';

const ADMIN_TOKEN = 'admin-token-confirmations';
const enc = encodeURIComponent;

type Merchant = { id: string; apiKey: string };
type Ref = { merchantId: string; orderNumber: string; orderId: string };

/** Polls the read model until `check` holds, and fails with the last state if it never does. */
async function untilState(stack: TestStack, ref: Ref, check: (s: OrderState) => boolean, timeoutMs = 20_000): Promise<OrderState> {
  const state = await eventually(() => readState(stack, ref.merchantId, ref.orderNumber), check, timeoutMs);
  expect(check(state), `order ${ref.orderNumber} never reached the expected state: ${JSON.stringify({ status: state.status, stuck: state.stuck, timeline: state.timeline })}`).toBe(true);
  return state;
}

const listShipments = (app: TestApp, who: Merchant, query = '') => call(app, 'GET', `/api/shipments${query ? `?${query}` : ''}`, { token: who.apiKey });
const ack = (app: TestApp, who: Merchant, id: string) => call(app, 'POST', `/api/shipments/${enc(id)}/ack`, { token: who.apiKey });
const setTarget = (app: TestApp, merchantId: string, json: unknown) =>
  call(app, 'PUT', `/api/admin/merchants/${enc(merchantId)}/confirmation-targets`, { token: ADMIN_TOKEN, json });
const getOrder = (app: TestApp, who: Merchant, orderNumber: string) => call(app, 'GET', `/api/orders/${enc(orderNumber)}`, { token: who.apiKey });
const retry = (app: TestApp, who: Merchant, orderNumber: string) => call(app, 'POST', `/api/orders/${enc(orderNumber)}/retry`, { token: who.apiKey });
const stuckOrders = async (app: TestApp, who: Merchant, reason?: string): Promise<string[]> => {
  const res = await call(app, 'GET', `/api/orders?stuck=true&limit=500${reason ? `&stuckReason=${reason}` : ''}`, { token: who.apiKey });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body.orders as { orderNumber: string }[]).map((o) => o.orderNumber);
};

/** Configures push for the merchant (or one source) at the receiver and returns the new signing secret. */
async function pushTo(app: TestApp, merchantId: string, receiver: WebhookReceiver, source?: string): Promise<string> {
  const res = await setTarget(app, merchantId, { ...(source ? { source } : {}), mode: 'push', webhookUrl: receiver.url });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body).toMatchObject({ source: source ?? null, mode: 'push', webhookUrl: receiver.url, signingSecret: expect.stringMatching(/^whsec_/) });
  return res.body.signingSecret as string;
}

const fullShipment = (key: string, tracking: string): ShipmentReport => ({
  shipmentKey: key,
  carrier: 'UPS',
  service: 'UPS Ground',
  trackingNumber: tracking,
  shipDate: '2026-11-25',
  shippingCost: '7.25',
  reportedVia: 'test',
});

/** An order created, served to ShipStation and shipped in one package (everything unshipped). */
async function shippedOrder(stack: TestStack, merchantId: string, payload = orderPayload()) {
  const { ref } = await createOrder(stack, merchantId, payload);
  await stack.sendFact(ref, { kind: 'exported', exportKey: `page-${ref.orderNumber}` });
  await stack.sendFact(ref, { kind: 'shipmentReported', report: fullShipment('pkg-1', `1Z${ref.orderNumber}`) });
  return ref;
}

const idempotencyKeys = (receiver: WebhookReceiver) => new Set(receiver.received.map((r) => r.headers['idempotency-key']));

// ---------------------------------------------------------------------------------------------------

describe('confirmations with long deadlines', () => {
  let stack: TestStack;
  let app: TestApp;
  const receivers = webhookReceivers();
  const receiver = receivers.start;
  beforeAll(async () => {
    stack = await startTestStack();
    app = stack.app({ adminToken: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await receivers.closeAll();
    await stack?.close();
  });

  describe('pickup (the default: nothing configured)', () => {
    it('lists detailed confirmations in cursor order; acks confirm the order; ack is idempotent and merchant-scoped', async () => {
      const merchant = await stack.newMerchant('pick');
      const other = await stack.newMerchant('other');
      const targets = await call(app, 'GET', `/api/admin/merchants/${merchant.id}/confirmation-targets`, { token: ADMIN_TOKEN });
      expect(targets.status).toBe(200);
      expect(targets.body).toEqual({ targets: [] });

      const { ref } = await createOrder(stack, merchant.id);
      await stack.sendFact(ref, { kind: 'exported', exportKey: 'p1' });
      await stack.sendFact(ref, { kind: 'shipmentReported', report: {
        shipmentKey: 'pkg-1',
        carrier: 'UPS',
        service: 'UPS Ground',
        trackingNumber: '1ZPICK1',
        shipDate: '2026-11-25',
        shippingCost: '5.10',
        items: [{ lineId: 'L1', quantity: 2 }],
        reportedVia: 'test',
      } });
      await untilState(stack, ref, (s) => s.shipments.length === 1);

      const first = await listShipments(app, merchant);
      expect(first.status).toBe(200);
      expect(first.body.shipments).toHaveLength(1);
      const one = first.body.shipments[0];
      expect(one).toEqual({
        id: expect.stringMatching(/^\d+$/),
        orderNumber: ref.orderNumber,
        orderId: ref.orderId,
        source: 'shopify',
        shipmentKey: 'pkg-1',
        carrier: 'UPS',
        service: 'UPS Ground',
        trackingNumber: '1ZPICK1',
        shipDate: '2026-11-25',
        labelCreatedAt: null,
        shippingCost: '5.10',
        lines: [{ lineId: 'L1', sku: 'MUG-1', name: 'Mug', quantity: 2 }],
        orderFullyShipped: false,
        recordedAt: expect.any(String),
        acked: false,
      });
      expect(first.body.nextCursor).toBe(one.id);

      await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'pkg-2', carrier: 'USPS', service: 'Priority', trackingNumber: '9400PICK2', shipDate: '2026-11-26', shippingCost: '3.00', reportedVia: 'test' } });
      await untilState(stack, ref, (s) => s.status === 'shipped');

      const both = await listShipments(app, merchant, 'acked=false');
      expect(both.status).toBe(200);
      expect(both.body.shipments.map((s: any) => s.shipmentKey)).toEqual(['pkg-1', 'pkg-2']);
      const two = both.body.shipments[1];
      expect(two).toMatchObject({
        orderNumber: ref.orderNumber,
        source: 'shopify',
        carrier: 'USPS',
        service: 'Priority',
        trackingNumber: '9400PICK2',
        shipDate: '2026-11-26',
        shippingCost: '3.00',
        lines: [{ lineId: 'L2', sku: 'TEE-M', name: 'T-shirt M', quantity: 1 }],
        orderFullyShipped: true,
        acked: false,
      });
      expect(Number(two.id)).toBeGreaterThan(Number(one.id));
      expect(both.body.nextCursor).toBe(two.id);

      // Walking with limit=1: each page the next one, then an empty page that keeps the cursor.
      const p1 = await listShipments(app, merchant, 'limit=1');
      expect(p1.body.shipments.map((s: any) => s.id)).toEqual([one.id]);
      const p2 = await listShipments(app, merchant, `limit=1&after=${p1.body.nextCursor}`);
      expect(p2.body.shipments.map((s: any) => s.id)).toEqual([two.id]);
      const p3 = await listShipments(app, merchant, `limit=1&after=${p2.body.nextCursor}`);
      expect(p3.status).toBe(200);
      expect(p3.body).toEqual({ shipments: [], nextCursor: two.id });

      // Another merchant sees none of it and cannot ack it.
      expect((await listShipments(app, other)).body).toEqual({ shipments: [], nextCursor: '0' });
      const foreign = await ack(app, other, one.id);
      expect(foreign.status).toBe(404);
      expect((await ack(app, merchant, '999999999')).status).toBe(404);

      // Ack the first twice: 200 both times; it drops out of acked=false; the order still waits for the second.
      for (let i = 0; i < 2; i++) expect((await ack(app, merchant, one.id)).body).toEqual({ id: one.id, acked: true });
      const afterOne = await eventually(() => listShipments(app, merchant, 'acked=false'), (r) => r.body.shipments.length === 1);
      expect(afterOne.body.shipments.map((s: any) => s.id)).toEqual([two.id]);
      expect((await readState(stack, ref.merchantId, ref.orderNumber)).status).toBe('shipped');

      const a = await ack(app, merchant, two.id);
      expect(a.status).toBe(200);
      const b = await ack(app, merchant, two.id);
      expect(b.status).toBe(200);
      expect(b.body).toEqual({ id: two.id, acked: true });
      const confirmed = await untilState(stack, ref, (s) => s.status === 'confirmed');
      expect(confirmed.timeline.filter((e) => e.event === 'confirmation delivered').map((e) => e.detail)).toEqual(['1ZPICK1', '9400PICK2']);
      expect(confirmed.shipments.every((s) => s.confirmationDeliveredAt !== null)).toBe(true);

      // And once more after it is confirmed: still 200, nothing recorded twice.
      expect((await ack(app, merchant, one.id)).status).toBe(200);
      await sleep(300);
      const later = await readState(stack, ref.merchantId, ref.orderNumber);
      expect(later.timeline.filter((e) => e.event === 'confirmation delivered')).toHaveLength(2);
      expect(later.status).toBe('confirmed');

      const all = await listShipments(app, merchant);
      expect(all.body.shipments.map((s: any) => [s.id, s.acked])).toEqual([
        [one.id, true],
        [two.id, true],
      ]);
      expect((await listShipments(app, merchant, 'acked=false')).body).toEqual({ shipments: [], nextCursor: '0' });
      expect((await getOrder(app, merchant, ref.orderNumber)).body.status).toBe('confirmed');
    });

    it('refuses a cursor, limit or ack id it never returned (400)', async () => {
      const merchant = await stack.newMerchant('bad');
      for (const query of ['after=abc', 'after=-1', 'after=1.5', 'after=', 'limit=0', 'limit=501', 'limit=x', 'acked=true', 'acked=maybe']) {
        const res = await listShipments(app, merchant, query);
        expect(res.status, query).toBe(400);
      }
      for (const id of ['abc', '-1', '1e3']) expect((await ack(app, merchant, id)).status, id).toBe(400);
      expect((await call(app, 'GET', '/api/shipments')).status).toBe(401);
    });

    it("a confirmation's orderFullyShipped says whether that shipment completed the order, and does not change later", async () => {
      const merchant = await stack.newMerchant('full');
      const { ref } = await createOrder(stack, merchant.id);
      await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'a', carrier: 'UPS', trackingNumber: '1ZA', items: [{ lineId: 'L1', quantity: 2 }], reportedVia: 'test' } });
      await untilState(stack, ref, (s) => s.shipments.length === 1);
      await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'b', carrier: 'UPS', trackingNumber: '1ZB', reportedVia: 'test' } });
      await untilState(stack, ref, (s) => s.status === 'shipped');
      // Read after both shipped (as a source polling now and then would): the first package did not
      // complete the order, the second did.
      const res = await listShipments(app, merchant);
      expect(res.body.shipments.map((s: any) => [s.shipmentKey, s.orderFullyShipped])).toEqual([
        ['a', false],
        ['b', true],
      ]);
    });
  });

  describe('push (signed webhook)', () => {
    it('retries a failing receiver with backoff; every attempt has the same idempotency key and a valid signature; the order is confirmed without an ack', async () => {
      const merchant = await stack.newMerchant('push');
      const hook = await receiver((_, attempt) => (attempt <= 2 ? { status: 503, body: 'busy, try later' } : { status: 200, body: 'ok' }));
      const secret = await pushTo(app, merchant.id, hook);
      const targets = await call(app, 'GET', `/api/admin/merchants/${merchant.id}/confirmation-targets`, { token: ADMIN_TOKEN });
      // The receiver is plain http on 127.0.0.1 (allowed in tests as in make dev), which the view warns about.
      expect(targets.body.targets).toEqual([
        { source: null, mode: 'push', webhookUrl: hook.url, secretRotatedAt: expect.any(String), warning: expect.stringMatching(/^plain http/), updatedAt: expect.any(String) },
      ]);
      expect(JSON.stringify(targets.body)).not.toContain(secret);

      const ref = await shippedOrder(stack, merchant.id);
      const confirmed = await untilState(stack, ref, (s) => s.status === 'confirmed', 30_000);
      expect(confirmed.stuck).toBeNull();
      expect(confirmed.timeline.some((e) => e.event === 'stuck')).toBe(false);
      expect(confirmed.timeline.filter((e) => e.event === 'confirmation delivered')).toHaveLength(1);

      expect(hook.received.length).toBeGreaterThanOrEqual(3);
      expect(hook.received.slice(0, 3).map((r) => r.status)).toEqual([503, 503, 200]);
      // Backoff: 1 s, then 2 s.
      expect(hook.received[1]!.at - hook.received[0]!.at).toBeGreaterThanOrEqual(800);
      expect(hook.received[2]!.at - hook.received[1]!.at).toBeGreaterThanOrEqual(1600);

      const [pickupView] = (await listShipments(app, merchant)).body.shipments;
      expect(pickupView.acked).toBe(true);
      expect(idempotencyKeys(hook)).toEqual(new Set([`shipment-${pickupView.id}`]));
      for (const request of hook.received) {
        expect(request.method).toBe('POST');
        expect(request.path).toBe('/hooks/confirmations');
        expect(request.headers['content-type']).toMatch(/^application\/json/);
        expect(signatureValid(secret, request.rawBody, request.headers['x-signature']), `signature ${request.headers['x-signature']}`).toBe(true);
        expect(signatureValid(secret, `${request.rawBody} `, request.headers['x-signature'])).toBe(false);
        const body = JSON.parse(request.rawBody);
        expect(body).toEqual({ type: 'shipment.confirmation', confirmation: { ...pickupView, acked: undefined } });
        expect(body.confirmation).not.toHaveProperty('acked');
        expect(body.confirmation).toMatchObject({
          orderNumber: ref.orderNumber,
          source: 'shopify',
          carrier: 'UPS',
          service: 'UPS Ground',
          trackingNumber: `1Z${ref.orderNumber}`,
          shipDate: '2026-11-25',
          shippingCost: '7.25',
          orderFullyShipped: true,
          lines: [
            { lineId: 'L1', sku: 'MUG-1', name: 'Mug', quantity: 2 },
            { lineId: 'L2', sku: 'TEE-M', name: 'T-shirt M', quantity: 1 },
          ],
        });
      }
    });

    it('a receiver that rejects (400) makes the order stuck with the reason; retry after the fix redelivers and confirms', async () => {
      const merchant = await stack.newMerchant('rej');
      const hook = await receiver(() => ({ status: 400, body: 'bad payload' }));
      const secret = await pushTo(app, merchant.id, hook);
      const ref = await shippedOrder(stack, merchant.id);

      const stuck = await untilState(stack, ref, (s) => s.stuck !== null);
      expect(stuck.status).toBe('shipped');
      expect(stuck.stuck).toMatchObject({ reason: 'confirmation_rejected', detail: expect.stringContaining('confirmation rejected: 400 bad payload') });
      // Not retried: a refusal the receiver means does not change by asking again.
      await sleep(2500);
      expect(hook.received.map((r) => r.status)).toEqual([400]);

      const view = await getOrder(app, merchant, ref.orderNumber);
      expect(view.status).toBe(200);
      expect(view.body.status).toBe('shipped');
      expect(view.body.stuck).toMatchObject({ reason: 'confirmation_rejected', since: expect.any(String) });
      expect(view.body.timeline.some((e: any) => e.event === 'stuck' && e.detail.includes('confirmation rejected: 400 bad payload'))).toBe(true);
      // Ops must see why without reading the timeline: the API's stuck object carries the detail too.
      expect.soft(view.body.stuck?.detail, 'GET /api/orders/{n} stuck.detail').toEqual(expect.stringContaining('confirmation rejected: 400 bad payload'));
      expect(await stuckOrders(app, merchant, 'confirmation_rejected')).toEqual([ref.orderNumber]);
      expect(await stuckOrders(app, merchant, 'confirmation_undelivered')).toEqual([]);

      hook.respond = () => ({ status: 200, body: 'ok' });
      const retried = await retry(app, merchant, ref.orderNumber);
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      expect(retried.body.stuck).toBeNull();
      const confirmed = await untilState(stack, ref, (s) => s.status === 'confirmed');
      expect(confirmed.stuck).toBeNull();
      expect(confirmed.timeline.map((e) => e.event)).toEqual(expect.arrayContaining(['stuck', 'retried', 'confirmation delivered', 'confirmed']));
      expect(confirmed.timeline.find((e) => e.event === 'retried')?.detail).toMatch(/confirmation_rejected/);
      expect(hook.received.map((r) => r.status)).toEqual([400, 200]);
      expect(idempotencyKeys(hook).size).toBe(1);
      for (const r of hook.received) expect(signatureValid(secret, r.rawBody, r.headers['x-signature'])).toBe(true);
      expect(await stuckOrders(app, merchant)).toEqual([]);

      // Not stuck any more: retry is refused with a reason.
      const again = await retry(app, merchant, ref.orderNumber);
      expect(again.status).toBe(409);
      expect(again.body.message).toMatch(/not stuck/);
    });

    it('408 and 429 are retried, not treated as a rejection', async () => {
      const merchant = await stack.newMerchant('slow');
      const hook = await receiver((_, attempt) => (attempt === 1 ? { status: 408, body: 'timeout' } : attempt === 2 ? { status: 429, body: 'slow down' } : { status: 200 }));
      const secret = await pushTo(app, merchant.id, hook);
      const ref = await shippedOrder(stack, merchant.id);
      const confirmed = await untilState(stack, ref, (s) => s.status === 'confirmed', 30_000);
      expect(confirmed.timeline.some((e) => e.event === 'stuck')).toBe(false);
      expect(hook.received.map((r) => r.status)).toEqual([408, 429, 200]);
      expect(idempotencyKeys(hook).size).toBe(1);
      for (const r of hook.received) expect(signatureValid(secret, r.rawBody, r.headers['x-signature'])).toBe(true);
    });

    it("a source's own target overrides the merchant default", async () => {
      const merchant = await stack.newMerchant('src');
      const hook = await receiver();
      const byDefault = await setTarget(app, merchant.id, { mode: 'pickup' });
      expect(byDefault.status).toBe(200);
      expect(byDefault.body).toMatchObject({ source: null, mode: 'pickup', webhookUrl: null });
      expect(byDefault.body).not.toHaveProperty('signingSecret');
      const secret = await pushTo(app, merchant.id, hook, 'amazon');
      const targets = await call(app, 'GET', `/api/admin/merchants/${merchant.id}/confirmation-targets`, { token: ADMIN_TOKEN });
      expect(targets.body.targets.map((t: any) => [t.source, t.mode])).toEqual(
        expect.arrayContaining([
          [null, 'pickup'],
          ['amazon', 'push'],
        ]),
      );

      const shopify = await shippedOrder(stack, merchant.id, orderPayload({ source: 'shopify' }));
      const amazon = await shippedOrder(stack, merchant.id, orderPayload({ source: 'amazon' }));
      await untilState(stack, amazon, (s) => s.status === 'confirmed');
      await untilState(stack, shopify, (s) => s.status === 'shipped');
      await sleep(1500);
      expect(hook.received).toHaveLength(1);
      const body = JSON.parse(hook.received[0]!.rawBody);
      expect(body.confirmation).toMatchObject({ orderNumber: amazon.orderNumber, source: 'amazon' });
      expect(signatureValid(secret, hook.received[0]!.rawBody, hook.received[0]!.headers['x-signature'])).toBe(true);

      // The shopify order waits for pickup.
      expect((await readState(stack, shopify.merchantId, shopify.orderNumber)).status).toBe('shipped');
      const pending = await listShipments(app, merchant, 'acked=false');
      expect(pending.body.shipments.map((s: any) => s.orderNumber)).toEqual([shopify.orderNumber]);
      await ack(app, merchant, pending.body.shipments[0].id);
      await untilState(stack, shopify, (s) => s.status === 'confirmed');
    });

    // The old one keeps signing webhook-signature beside the new one for a grace (test/webhook-delivery.test.ts); X-Signature switches at once.
    it('a rotated secret signs later deliveries; the old one no longer signs X-Signature', async () => {
      const merchant = await stack.newMerchant('rot');
      const hook = await receiver();
      const oldSecret = await pushTo(app, merchant.id, hook);
      const first = await shippedOrder(stack, merchant.id);
      await untilState(stack, first, (s) => s.status === 'confirmed');
      expect(hook.received).toHaveLength(1);
      expect(signatureValid(oldSecret, hook.received[0]!.rawBody, hook.received[0]!.headers['x-signature'])).toBe(true);

      const before = (await call(app, 'GET', `/api/admin/merchants/${merchant.id}/confirmation-targets`, { token: ADMIN_TOKEN })).body.targets[0];
      await sleep(20);
      const rotated = await call(app, 'POST', `/api/admin/merchants/${merchant.id}/confirmation-targets/rotate-secret`, { token: ADMIN_TOKEN, json: {} });
      expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
      const newSecret = rotated.body.signingSecret as string;
      expect(newSecret).toMatch(/^whsec_/);
      expect(newSecret).not.toBe(oldSecret);
      const after = (await call(app, 'GET', `/api/admin/merchants/${merchant.id}/confirmation-targets`, { token: ADMIN_TOKEN })).body.targets[0];
      expect(Date.parse(after.secretRotatedAt)).toBeGreaterThan(Date.parse(before.secretRotatedAt));

      // Setting the same target again keeps the secret (none is shown).
      const same = await setTarget(app, merchant.id, { mode: 'push', webhookUrl: hook.url });
      expect(same.status).toBe(200);
      expect(same.body).not.toHaveProperty('signingSecret');

      const second = await shippedOrder(stack, merchant.id);
      await untilState(stack, second, (s) => s.status === 'confirmed');
      expect(hook.received).toHaveLength(2);
      const latest = hook.received[1]!;
      expect(JSON.parse(latest.rawBody).confirmation.orderNumber).toBe(second.orderNumber);
      expect(signatureValid(newSecret, latest.rawBody, latest.headers['x-signature'])).toBe(true);
      expect(signatureValid(oldSecret, latest.rawBody, latest.headers['x-signature'])).toBe(false);

      // Nothing to rotate for a source without a target, or a merchant that does not exist.
      expect((await call(app, 'POST', `/api/admin/merchants/${merchant.id}/confirmation-targets/rotate-secret`, { token: ADMIN_TOKEN, json: { source: 'ebay' } })).status).toBe(404);
      expect((await call(app, 'POST', `/api/admin/merchants/no-such-merchant/confirmation-targets/rotate-secret`, { token: ADMIN_TOKEN, json: {} })).status).toBe(404);
    });

    it('the admin API validates targets and needs the admin token', async () => {
      const merchant = await stack.newMerchant('val');
      expect((await setTarget(app, merchant.id, { mode: 'push' })).status).toBe(400);
      expect((await setTarget(app, merchant.id, { mode: 'push', webhookUrl: 'ftp://example.com/x' })).status).toBe(400);
      expect((await setTarget(app, merchant.id, { mode: 'carrier-pigeon' })).status).toBe(400);
      expect((await setTarget(app, 'no-such-merchant', { mode: 'pickup' })).status).toBe(404);
      const noToken = await call(app, 'PUT', `/api/admin/merchants/${merchant.id}/confirmation-targets`, { json: { mode: 'pickup' } });
      expect(noToken.status).toBe(401);
      const asMerchant = await call(app, 'PUT', `/api/admin/merchants/${merchant.id}/confirmation-targets`, { token: merchant.apiKey, json: { mode: 'pickup' } });
      expect(asMerchant.status).toBe(403);
    });
  });

  describe('merchant deadline overrides', () => {
    it('apply to orders created afterwards through POST /api/orders', async () => {
      const merchant = await stack.newMerchant('dl');
      const before = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: orderPayload() });
      expect(before.status).toBe(201);

      const bad = await call(app, 'PUT', `/api/admin/merchants/${merchant.id}/deadlines`, { token: ADMIN_TOKEN, json: { pendingExport: 'soon' } });
      expect(bad.status).toBe(400);
      // Capped like the environment's: a timer past it would be refused by Temporal, failing every new order.
      const tooLong = await call(app, 'PUT', `/api/admin/merchants/${merchant.id}/deadlines`, { token: ADMIN_TOKEN, json: { awaitPayment: '3651d' } });
      expect(tooLong).toMatchObject({ status: 400, body: { message: 'awaitPayment: a duration such as 30m, 4h or 3d, at most 3650d' } });
      expect((await call(app, 'PUT', `/api/admin/merchants/no-such-merchant/deadlines`, { token: ADMIN_TOKEN, json: { pendingExport: '1s' } })).status).toBe(404);
      const set = await call(app, 'PUT', `/api/admin/merchants/${merchant.id}/deadlines`, { token: ADMIN_TOKEN, json: { pendingExport: '1s' } });
      expect(set.status, JSON.stringify(set.body)).toBe(200);
      expect(set.body).toEqual({ pendingExport: '1s' });

      const after = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: orderPayload() });
      expect(after.status).toBe(201);
      const stuck = await eventually(() => getOrder(app, merchant, after.body.orderNumber), (r) => r.body.stuck !== null, 15_000);
      expect(stuck.body.stuck).toMatchObject({ reason: 'not_exported' });
      expect(await stuckOrders(app, merchant, 'not_exported')).toEqual([after.body.orderNumber]);

      // The order created before the override keeps the service's (long) deadline.
      expect((await getOrder(app, merchant, before.body.orderNumber)).body.stuck).toBeNull();
    });
  });
});

// ---------------------------------------------------------------------------------------------------

describe.each(DATABASE_KINDS)('pickup cursor under concurrent shipments (read model on %s)', (kind) => {
  let stack: TestStack;
  let app: TestApp;
  beforeAll(async () => {
    stack = await startTestStack({ db: kind });
    app = stack.app();
    if (kind === 'postgres') {
      // A loaded server: every transaction that inserts a shipment lingers a random moment between
      // taking its id and committing. If ids could commit out of order, a reader would now see a
      // later id before an earlier one commits and its cursor would pass the earlier one for good.
      await stack.database.db.execute(
        sql.raw(`
          create function test_slow_commit() returns trigger language plpgsql as $$
          begin perform pg_sleep(random() * 0.15); return null; end $$;
          create constraint trigger test_slow_commit after insert on shipments
            deferrable initially deferred for each row execute function test_slow_commit();
        `),
      );
    }
  });
  afterAll(() => stack?.close());

  it('never skips or repeats: every shipment is seen exactly once, ids strictly increasing', { timeout: 120_000 }, async () => {
    const merchant = await stack.newMerchant('cur');
    const ORDERS = 12;
    const created = await Promise.all(Array.from({ length: ORDERS }, () => createOrder(stack, merchant.id)));
    // Three packages per order (L1, L1, L2), every notice sent at once.
    const reports = created.flatMap(({ ref }) =>
      (
        [
          ['a', 'L1'],
          ['b', 'L1'],
          ['c', 'L2'],
        ] as const
      ).map(([key, lineId]) => ({ ref, report: { shipmentKey: key, carrier: 'UPS', trackingNumber: `1Z-${ref.orderNumber}-${key}`, items: [{ lineId, quantity: 1 }], reportedVia: 'test' } })),
    );
    const expected = new Set(reports.map(({ ref, report }) => `${ref.orderNumber}/${report.shipmentKey}`));

    /** Set once every shipment is in the read model: a reader that then finds nothing new is done. */
    let allProjected = false;
    /** Set when the test fails early: the readers stop instead of polling a stack being closed. */
    let abandoned = false;
    /** One source polling with a small page until it has caught up with everything. */
    const walk = async (limit: number) => {
      const seen: { id: number; key: string }[] = [];
      let caughtUp = 0;
      let after: string | undefined;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !abandoned) {
        const finished = allProjected;
        const res = await listShipments(app, merchant, `limit=${limit}${after !== undefined ? `&after=${after}` : ''}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        for (const s of res.body.shipments) seen.push({ id: Number(s.id), key: `${s.orderNumber}/${s.shipmentKey}` });
        after = res.body.nextCursor;
        // A short page: this reader was ahead of the writers at that moment.
        if (res.body.shipments.length < limit) caughtUp++;
        if (res.body.shipments.length === 0) {
          if (finished) break;
          await sleep(20); // three readers polling a single-connection PGlite must leave room for the projections
        }
      }
      return { seen, caughtUp };
    };

    const readers = [walk(1), walk(2), walk(3)];
    try {
      await Promise.all(reports.map(({ ref, report }) => stack.sendFact(ref, { kind: 'shipmentReported', report: report })));
      const projected = await eventually(() => listShipments(app, merchant, 'limit=500'), (r) => r.body.shipments.length === expected.size, 60_000);
      expect(projected.body.shipments).toHaveLength(expected.size);
    } catch (error) {
      abandoned = true;
      await Promise.allSettled(readers);
      throw error;
    }
    allProjected = true;
    const walks = await Promise.all(readers);
    // The walks really raced the projections (else this test would prove nothing).
    expect(walks.some((w) => w.caughtUp > 0)).toBe(true);

    const final = (await listShipments(app, merchant, 'limit=500')).body.shipments.map((s: any) => Number(s.id));
    expect(final).toHaveLength(expected.size);
    for (const { seen } of walks) {
      const ids = seen.map((s) => s.id);
      const keys = seen.map((s) => s.key);
      for (let i = 1; i < ids.length; i++) expect(ids[i], `ids must strictly increase: ${ids.join(',')}`).toBeGreaterThan(ids[i - 1]!);
      expect(new Set(keys).size, 'no shipment seen twice').toBe(keys.length);
      expect([...expected].filter((k) => !keys.includes(k)), `shipments this reader's cursor skipped (ids seen: ${ids.join(',')})`).toEqual([]);
      expect(ids).toEqual(final);
    }
    for (const { ref } of created) await untilState(stack, ref, (s) => s.status === 'shipped');
  });
});

// ---------------------------------------------------------------------------------------------------

describe('stuck reasons with short deadlines', () => {
  const SHORT = 1500;
  let stack: TestStack;
  let app: TestApp;
  let rejecting: WebhookReceiver;
  beforeAll(async () => {
    stack = await startTestStack({
      settings: { deadlines: { awaitPaymentMs: SHORT, pendingExportMs: SHORT, atWmsShipmentMs: SHORT, confirmationMs: SHORT }, terminalGraceMs: LONG_SETTINGS.terminalGraceMs },
    });
    app = stack.app({ adminToken: ADMIN_TOKEN });
    rejecting = await startWebhookReceiver(() => ({ status: 422, body: 'unknown order' }));
  });
  afterAll(async () => {
    await rejecting?.close();
    await stack?.close();
  });

  it('a shipped order nobody acks becomes stuck confirmation_undelivered; retry clears it, the deadline fires again; acks confirm it', async () => {
    const merchant = await stack.newMerchant('undel');
    const { ref } = await createOrder(stack, merchant.id);
    await stack.sendFact(ref, { kind: 'exported', exportKey: 'u' });
    await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'p1', carrier: 'UPS', trackingNumber: '1ZU1', items: [{ lineId: 'L1', quantity: 2 }], reportedVia: 'test' } });
    await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'p2', carrier: 'UPS', trackingNumber: '1ZU2', reportedVia: 'test' } });
    const shipped = await untilState(stack, ref, (s) => s.status === 'shipped');
    const stuck = await untilState(stack, ref, (s) => s.stuck !== null);
    expect(stuck.status).toBe('shipped');
    expect(stuck.stuck?.reason).toBe('confirmation_undelivered');
    expect(Date.parse(stuck.stuck!.since) - Date.parse(shipped.waitingSince)).toBeGreaterThanOrEqual(SHORT - 50);
    expect(await stuckOrders(app, merchant, 'confirmation_undelivered')).toEqual([ref.orderNumber]);

    // Ack one: still owed the other, still stuck.
    const [c1, c2] = (await listShipments(app, merchant)).body.shipments;
    expect((await ack(app, merchant, c1.id)).status).toBe(200);
    await untilState(stack, ref, (s) => s.shipments.filter((x) => x.confirmationDeliveredAt).length === 1);

    const retried = await retry(app, merchant, ref.orderNumber);
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body.stuck).toBeNull();
    expect(retried.body.status).toBe('shipped');
    expect(retried.body.timeline.at(-1)).toMatchObject({ event: 'retried', detail: expect.stringContaining('confirmation_undelivered') });
    expect(await stuckOrders(app, merchant)).toEqual([]);

    const again = await untilState(stack, ref, (s) => s.stuck !== null);
    expect(again.stuck?.reason).toBe('confirmation_undelivered');
    expect(again.timeline.filter((e) => e.event === 'stuck')).toHaveLength(2);

    expect((await ack(app, merchant, c2.id)).status).toBe(200);
    const confirmed = await untilState(stack, ref, (s) => s.status === 'confirmed');
    expect(confirmed.stuck).toBeNull();
    expect(await stuckOrders(app, merchant)).toEqual([]);
  });

  it('every stuck reason is produced and listed by GET /api/orders?stuck=true&stuckReason=...', async () => {
    const merchant = await stack.newMerchant('reasons');
    // Orders from the "marketplace" source push to a receiver that refuses them.
    const target = await setTarget(app, merchant.id, { source: 'marketplace', mode: 'push', webhookUrl: rejecting.url });
    expect(target.status).toBe(200);

    const post = async (payload: Record<string, unknown>) => {
      const res = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: payload });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return { merchantId: merchant.id, orderNumber: res.body.orderNumber as string, orderId: res.body.orderId as string };
    };
    const unpaid = await post(orderPayload({ paid: false }));
    const notExported = await post(orderPayload());
    const noShipment = await post(orderPayload());
    await stack.sendFact(noShipment, { kind: 'exported', exportKey: 'x' });
    const undelivered = await post(orderPayload());
    await stack.sendFact(undelivered, { kind: 'shipmentReported', report: fullShipment('u', '1ZUND') });
    const rejected = await post(orderPayload({ source: 'marketplace' }));
    await stack.sendFact(rejected, { kind: 'shipmentReported', report: fullShipment('r', '1ZREJ') });

    const expected = {
      unpaid_too_long: unpaid,
      not_exported: notExported,
      no_shipment: noShipment,
      confirmation_undelivered: undelivered,
      confirmation_rejected: rejected,
    } as const;
    for (const [reason, ref] of Object.entries(expected)) {
      const state = await untilState(stack, ref, (s) => s.stuck?.reason === reason);
      if (reason === 'confirmation_rejected') expect(state.stuck?.detail).toBe('confirmation rejected: 422 unknown order');
    }
    for (const [reason, ref] of Object.entries(expected)) {
      expect(await stuckOrders(app, merchant, reason), reason).toEqual([ref.orderNumber]);
      const view = await getOrder(app, merchant, ref.orderNumber);
      expect(view.body.stuck?.reason, reason).toBe(reason);
    }
    expect((await stuckOrders(app, merchant)).sort()).toEqual(Object.values(expected).map((r) => r.orderNumber).sort());
    expect(rejecting.received.filter((r) => JSON.parse(r.rawBody).confirmation.orderNumber === rejected.orderNumber)).toHaveLength(1);
  });
});
