/**
 * The bench's side of the API, as order sources and ShipStation use it: plain fetch against the
 * running stack, failing loudly on any unexpected status (a benchmark that hides errors lies).
 */
import { sql } from 'drizzle-orm';
import { createOrderServices } from '../runtime/order-services';
import { normalizeOrderPayload, OrderPayloadSchema, type OrderPayload } from '../api/order-payload';
import { createHashOf, orderIdFor } from '../api/order-view';
import { canonicalJson } from '../domain/order';
import pino from 'pino';
import { loadConfig } from '../runtime/config';
import { ShipStationSimulator } from '../test/support/shipstation-simulator';
import { runConcurrently, until } from './stats';
import type { BenchStack } from './stack';

export interface BenchMerchant {
  id: string;
  apiKey: string;
  connection: { url: string; username: string; password: string };
}

/** Connections a keep-alive race closed under us (and the request was sent again); reported. */
export const socketRetries = { count: 0 };

/**
 * fetch, sent once more when the connection was closed before an answer came: Node's server closes
 * idle keep-alive sockets after 5 s and a client may pick one up at that very moment. Every request
 * the bench sends is idempotent (order creation by payload, acks, notices by shipment key, reads).
 */
export async function benchFetch(url: string, init?: RequestInit): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (attempt >= 3 || !(code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE')) throw error;
      socketRetries.count++;
    }
  }
}

export async function request(stack: BenchStack, method: string, path: string, options: { token?: string; json?: unknown; expect?: number[] } = {}) {
  const response = await benchFetch(`${stack.apiUrl}${path}`, {
    method,
    headers: {
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...(options.json !== undefined ? { 'Content-Type': 'application/json' } : {}),
    },
    body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
  });
  const text = await response.text();
  const expected = options.expect ?? [200, 201];
  if (!expected.includes(response.status)) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return { status: response.status, body: text && /json/.test(response.headers.get('Content-Type') ?? '') ? JSON.parse(text) : text };
}

let merchants = 0;
export async function createMerchant(stack: BenchStack, prefix: string): Promise<BenchMerchant> {
  const id = `${prefix}-${++merchants}-${Date.now().toString(36)}`;
  const created = await request(stack, 'POST', '/api/admin/merchants', { token: stack.adminToken, json: { id, name: `Bench ${id}` } });
  const connection = await request(stack, 'POST', `/api/admin/merchants/${id}/connections`, { token: stack.adminToken });
  return { id, apiKey: created.body.apiKey, connection: connection.body };
}

/** A realistic order: three lines, two addresses, notes (what ShipStation's export carries). */
export function orderPayload(orderNumber: string, options: { paid?: boolean } = {}) {
  return {
    orderNumber,
    orderDate: new Date().toISOString(),
    paid: options.paid ?? true,
    currency: 'USD',
    source: 'shopify',
    shippingMethod: 'Ground',
    customer: { code: 'C-1', email: 'ada@example.com' },
    shipTo: { name: 'Ada Lovelace', street1: '1 Main St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US', phone: '555-0100' },
    lines: [
      { lineId: 'L1', sku: 'MUG-1', name: 'Mug', quantity: 2, unitPrice: '9.50' },
      { lineId: 'L2', sku: 'TEE-M', name: 'T-shirt M', quantity: 1, unitPrice: '20.00' },
      { lineId: 'L3', sku: 'CAP-1', name: 'Cap', quantity: 1, unitPrice: '12.00' },
    ],
    shippingAmount: '4.99',
    taxAmount: '1.20',
  };
}

/** Creates `count` orders through POST /api/orders; returns their numbers and per-request ms. */
export async function createOrders(stack: BenchStack, merchant: BenchMerchant, count: number, options: { prefix: string; paid?: boolean; concurrency: number }) {
  const numbers = Array.from({ length: count }, (_, i) => `${options.prefix}-${i + 1}`);
  const durations = await runConcurrently(count, options.concurrency, async (i) => {
    await request(stack, 'POST', '/api/orders', { token: merchant.apiKey, json: orderPayload(numbers[i]!, { paid: options.paid }) });
  });
  return { numbers, durations };
}

/**
 * Creates `count` orders through the API's own gateway (the order workflow and its first projection,
 * exactly as POST /api/orders starts them) without the HTTP round: for scenarios that need many
 * orders to exist and measure something else (the worker's memory).
 */
export async function createOrdersThroughGateway(stack: BenchStack, merchant: BenchMerchant, count: number, options: { prefix: string; paid?: boolean; concurrency: number }) {
  const config = loadConfig({ TEMPORAL_TASK_QUEUE: stack.taskQueue });
  const { gateway } = createOrderServices(stack.database.db, stack.temporal, { taskQueue: stack.taskQueue, orders: config.orders, requestTimeoutMs: 60_000, relay: { logger: pino({ level: 'silent' }) } });
  const numbers = Array.from({ length: count }, (_, i) => `${options.prefix}-${i + 1}`);
  const durations = await runConcurrently(count, options.concurrency, async (i) => {
    const content = normalizeOrderPayload(OrderPayloadSchema.parse(orderPayload(numbers[i]!, { paid: options.paid })) as OrderPayload);
    const ref = { merchantId: merchant.id, orderNumber: content.orderNumber, orderId: orderIdFor(merchant.id, content.orderNumber) };
    await gateway.create(ref, content, createHashOf(canonicalJson(content)));
  });
  return { numbers, durations };
}

/** How many of the merchant's orders are in each status, from the read model. */
export async function statusCounts(stack: BenchStack, merchantId: string): Promise<Record<string, number>> {
  const result = await stack.database.db.execute(sql`select status, count(*)::int as n from orders where merchant_id = ${merchantId} group by status`);
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { status: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export async function waitForStatus(stack: BenchStack, merchantId: string, status: string, count: number, timeoutMs: number) {
  await until(async () => ((await statusCounts(stack, merchantId))[status] ?? 0) >= count, `${count} orders ${status}`, timeoutMs, 200);
}

export function simulatorFor(merchant: BenchMerchant): ShipStationSimulator {
  return new ShipStationSimulator({ fetch: benchFetch, url: merchant.connection.url, username: merchant.connection.username, password: merchant.connection.password });
}

/**
 * One ShipStation poll over everything so far, walking every page. The window ends a minute ahead:
 * ShipStation's dates have minute resolution, and orders created during the current minute must be
 * inside it (a future end within the allowed clock skew is what a fast ShipStation clock sends).
 */
export async function exportAll(simulator: ShipStationSimulator) {
  const poll = await simulator.poll(new Date(Date.now() + 60_000));
  if (!poll.ok) throw new Error(`export failed: ${poll.error}`);
  return poll;
}
