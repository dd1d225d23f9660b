/**
 * The ShipStation Custom Store endpoint (issue 3) against the real stack: a worker on the shared
 * Temporal dev server, a real database, the Hono app called in-process, and a ShipStation simulator
 * (test/support/shipstation-simulator.ts) that chooses windows, walks pages and posts notices the way
 * ShipStation does. No mocks.
 */
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { eq, inArray } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { createApp } from '../api/app';
import { createOrderServices } from '../runtime/order-services';
import { normalizeOrderPayload, type OrderPayload } from '../api/order-payload';
import { createHashOf, orderIdFor } from '../api/order-view';
import { closeServer, startApiServer } from '../api/server';
import { connectionRequests, connections, orderFacts, shipmentNotices } from '../db/schema';
import { canonicalJson, orderWorkflowId } from '../domain/order';
import { loadConfig } from '../runtime/config';
import { freePort } from '../tooling/temporal-cli';
import { runOps } from '../scripts/ops';
import { call, sleep, type TestApp } from './support/api';
import { eventually, nextOrderNumber, orderPayload } from './support/orders';
import {
  cdata,
  DOCUMENTED_STATUS_FIELDS,
  encodeShipStationDate,
  itemsOf,
  parseExportDocument,
  shipStationDate,
  ShipStationSimulator,
  type ParsedOrder,
  type SimulatorConfig,
} from './support/shipstation-simulator';
import { runOpsCaptured } from './support/ops';
import { startTestStack, type TestStack } from './support/stack';

const ADMIN = 'admin-token-for-the-shipstation-suite';
const XSD = readFileSync(new URL('../domain/shipstation/export.xsd', import.meta.url), 'utf8');
const MINUTE = 60_000;

type Merchant = { id: string; apiKey: string };

let stack: TestStack;
/** Default settings (page size 100, snapshot TTL 15 min) and the admin API. */
let app: TestApp;
/** Page size 2, for walks over several pages. */
let smallPages: TestApp;

beforeAll(async () => {
  stack = await startTestStack();
  app = stack.app({ adminToken: ADMIN });
  smallPages = stack.app({ adminToken: ADMIN, shipstation: { pageSize: 2 } });
});
afterAll(() => stack?.close());

// ---- helpers ------------------------------------------------------------------------------------

const enc = encodeURIComponent;
const fetcher = (target: TestApp): SimulatorConfig['fetch'] => (url, init) => target.request(url, init);

interface TestConnection {
  merchant: Merchant;
  username: string;
  password: string;
  url: string;
  body: any;
  sim: ShipStationSimulator;
}

/** A merchant (new unless given) with a connection, and a simulator configured with it. */
async function newConnection(
  options: { merchant?: Merchant; source?: string; target?: TestApp; simulator?: Partial<SimulatorConfig> } = {},
): Promise<TestConnection> {
  const merchant = options.merchant ?? (await stack.newMerchant('ss'));
  const res = await call(app, 'POST', `/api/admin/merchants/${merchant.id}/connections`, { token: ADMIN, json: options.source ? { source: options.source } : {} });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const { username, password, url } = res.body;
  const sim = new ShipStationSimulator({ fetch: fetcher(options.target ?? app), url, username, password, ...options.simulator });
  return { merchant, username, password, url, body: res.body, sim };
}

/** A simulator for an existing connection, talking to another app (other settings, dead Temporal). */
const simulatorFor = (c: TestConnection, target: TestApp, extra: Partial<SimulatorConfig> = {}) =>
  new ShipStationSimulator({ fetch: fetcher(target), url: c.url, username: c.username, password: c.password, ...extra });

async function postOrder(merchant: Merchant, overrides: Record<string, unknown> = {}): Promise<any> {
  const res = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: orderPayload(overrides) });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function getOrder(merchant: Merchant, orderNumber: string): Promise<any> {
  const res = await call(app, 'GET', `/api/orders/${enc(orderNumber)}`, { token: merchant.apiKey });
  expect(res.status).toBe(200);
  return res.body;
}

async function orderAction(merchant: Merchant, orderNumber: string, name: string, json?: unknown): Promise<any> {
  const res = await call(app, 'POST', `/api/orders/${enc(orderNumber)}/${name}`, { token: merchant.apiKey, ...(json !== undefined ? { json } : {}) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** Polls the read model until `check` holds (facts arrive by signal, after the answer). */
async function untilOrder(merchant: Merchant, orderNumber: string, check: (order: any) => boolean): Promise<any> {
  const order = await eventually(() => getOrder(merchant, orderNumber), check);
  expect(check(order), `order ${orderNumber} never got there: ${JSON.stringify(order).slice(0, 800)}`).toBe(true);
  return order;
}

async function connectionLog(username: string, limit = 100): Promise<any> {
  const res = await call(app, 'GET', `/api/admin/connections/${enc(username)}/log?limit=${limit}`, { token: ADMIN });
  expect(res.status).toBe(200);
  return res.body;
}

const latestLogEntry = async (username: string) => (await connectionLog(username, 1)).requests[0];

/**
 * Creates an order through the gateway without the order API's validation: content as an older
 * import or a direct write may have left it (control characters, over-long text, no lines).
 */
async function createUnvalidated(target: TestStack, merchantId: string, payload: Record<string, unknown>) {
  const content = normalizeOrderPayload({ customer: {}, shippingAmount: 0, taxAmount: 0, gift: false, customFields: [], ...payload } as unknown as OrderPayload);
  const ref = { merchantId, orderNumber: content.orderNumber, orderId: orderIdFor(merchantId, content.orderNumber) };
  await target.gateway.create(ref, content, createHashOf(canonicalJson(content)));
  return ref;
}

/** Validates documents against export.xsd with libxml2 (xmllint-wasm), one verdict per document. */
async function validateAgainstXsd(documents: readonly string[]): Promise<{ valid: boolean; errors: string[] }[]> {
  const names = documents.map((_, i) => `page${i}.xml`);
  const result = await validateXML({ xml: documents.map((contents, i) => ({ fileName: names[i]!, contents })), schema: [XSD] });
  return names.map((name) => {
    const errors = result.errors.filter((e) => e.loc?.fileName === name).map((e) => e.message);
    return { valid: result.rawOutput.includes(`${name} validates`) && errors.length === 0, errors };
  });
}

async function expectValidPages(documents: readonly string[]) {
  const verdicts = await validateAgainstXsd(documents);
  verdicts.forEach((v, i) => expect(v.errors, `page ${i + 1} does not validate against export.xsd`).toEqual([]));
  verdicts.forEach((v) => expect(v.valid).toBe(true));
}

const numbersOf = (orders: ParsedOrder[]) => orders.map((o) => o.OrderNumber);

/** A window `[now - days, now]` as ShipStation formats it. */
const windowTexts = (days = 1, endOffsetMs = 0) => ({
  start: shipStationDate(new Date(Date.now() - days * 86_400_000)),
  end: shipStationDate(new Date(Date.now() + endOffsetMs)),
});

/** A raw ShipStation call (for hand-written query strings). */
async function rawCall(target: TestApp, c: TestConnection, query: string, init: RequestInit = {}, credentials: 'basic' | 'none' = 'basic') {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (credentials === 'basic') headers.Authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  const res = await target.request(`${c.url}${c.url.includes('?') ? '&' : '?'}${query}`, { ...init, headers });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** The raw notices kept for an order. */
const storedNotices = (orderId: string) => stack.database.db.select().from(shipmentNotices).where(eq(shipmentNotices.orderId, orderId));

// ---- connections (admin API) --------------------------------------------------------------------

describe('connections: admin API', () => {
  it('creates a connection: 201 with the URL, a unique username, the password once and the five status strings', async () => {
    const merchant = await stack.newMerchant('conn');
    const res = await call(app, 'POST', `/api/admin/merchants/${merchant.id}/connections`, { token: ADMIN });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      url: 'http://connector.test/shipstation',
      merchantId: merchant.id,
      source: null,
      disabled: null,
      lastExportAt: null,
      lastShipnotifyAt: null,
      statusMapping: { unpaid: 'await_payment', paid: 'new,at_wms', shipped: 'shipped,confirmed', cancelled: 'canceled', on_hold: 'on_hold' },
    });
    expect(res.body.statusMapping).toEqual(DOCUMENTED_STATUS_FIELDS);
    expect(res.body.username).toEqual(expect.any(String));
    expect(res.body.password.length).toBeGreaterThanOrEqual(16);

    // The password is stored hashed, never as given.
    const [row] = await stack.database.db.select().from(connections).where(eq(connections.username, res.body.username));
    expect(row!.passwordHash).not.toContain(res.body.password);

    // The listing shows it, without the password.
    const list = await call(app, 'GET', `/api/admin/merchants/${merchant.id}/connections`, { token: ADMIN });
    expect(list.status).toBe(200);
    expect(list.body.connections).toHaveLength(1);
    expect(list.body.connections[0]).toMatchObject({ username: res.body.username, url: res.body.url, source: null });
    expect(JSON.stringify(list.body)).not.toContain(res.body.password);

    // Usernames are unique, also within one merchant.
    const other = await stack.newMerchant('conn');
    const a = await call(app, 'POST', `/api/admin/merchants/${other.id}/connections`, { token: ADMIN, json: { source: 'a' } });
    const b = await call(app, 'POST', `/api/admin/merchants/${other.id}/connections`, { token: ADMIN, json: { source: 'b' } });
    expect(new Set([res.body.username, a.body.username, b.body.username]).size).toBe(3);

    // The credentials work the way ShipStation uses them.
    const sim = new ShipStationSimulator({ fetch: fetcher(app), url: res.body.url, username: res.body.username, password: res.body.password });
    expect((await sim.poll()).ok).toBe(true);
  });

  it('builds the URL from PUBLIC_BASE_URL', async () => {
    const merchant = await stack.newMerchant('pub');
    const custom = stack.app({ adminToken: ADMIN, shipstation: { publicBaseUrl: 'https://connector.example.com/ss' } });
    const res = await call(custom, 'POST', `/api/admin/merchants/${merchant.id}/connections`, { token: ADMIN });
    expect(res.status).toBe(201);
    expect(res.body.url).toBe('https://connector.example.com/ss/shipstation');
    // Default: http://localhost:<PORT>.
    expect(loadConfig({ PORT: '4321' }).shipstation.publicBaseUrl).toBe('http://localhost:4321');
  });

  it('refuses an unknown merchant with 404, a call without the admin token with 401 and a wrong token with 403', async () => {
    const unknown = await call(app, 'POST', '/api/admin/merchants/no-such-merchant/connections', { token: ADMIN });
    expect(unknown.status).toBe(404);
    const merchant = await stack.newMerchant('conn');
    const noToken = await call(app, 'POST', `/api/admin/merchants/${merchant.id}/connections`, {});
    expect(noToken.status).toBe(401);
    const wrongToken = await call(app, 'GET', `/api/admin/merchants/${merchant.id}/connections`, { token: 'not-the-admin-token-at-all' });
    expect(wrongToken.status).toBe(403);
  });

  it('refuses overlapping scopes with 409: a whole-account connection beside a per-source one, or two for one source', async () => {
    const create = (m: Merchant, source?: string) => call(app, 'POST', `/api/admin/merchants/${m.id}/connections`, { token: ADMIN, json: source ? { source } : {} });

    const perSource = await stack.newMerchant('scope');
    const shopify = await create(perSource, 'shopify');
    expect(shopify.status).toBe(201);
    expect(shopify.body.source).toBe('shopify');
    expect((await create(perSource, 'amazon')).status).toBe(201);
    const twice = await create(perSource, 'shopify');
    expect(twice.status).toBe(409);
    expect(twice.body.message).toContain(shopify.body.username);
    const wholeBeside = await create(perSource);
    expect(wholeBeside.status).toBe(409);

    const whole = await stack.newMerchant('scope');
    const account = await create(whole);
    expect(account.status).toBe(201);
    const sourceBeside = await create(whole, 'shopify');
    expect(sourceBeside.status).toBe(409);
    expect(sourceBeside.body.message).toContain(account.body.username);
    expect((await create(whole)).status).toBe(409);

    // Another merchant's scopes are its own business.
    expect((await create(await stack.newMerchant('scope'), 'shopify')).status).toBe(201);
  });

  it('deleting a connection frees its scope, and its credentials stop working', async () => {
    const c = await newConnection();
    const { start, end } = windowTexts();
    expect((await c.sim.exportPage(start, end, 1)).status).toBe(200);
    expect((await call(app, 'POST', `/api/admin/merchants/${c.merchant.id}/connections`, { token: ADMIN, json: { source: 'x' } })).status).toBe(409);

    const deleted = await call(app, 'DELETE', `/api/admin/connections/${enc(c.username)}`, { token: ADMIN });
    expect(deleted.status).toBe(200);
    expect((await c.sim.exportPage(start, end, 1)).status).toBe(401);
    expect((await call(app, 'DELETE', `/api/admin/connections/${enc(c.username)}`, { token: ADMIN })).status).toBe(404);

    const again = await call(app, 'POST', `/api/admin/merchants/${c.merchant.id}/connections`, { token: ADMIN, json: { source: 'x' } });
    expect(again.status).toBe(201);
    expect(again.body.username).not.toBe(c.username);
  });

  it('rotating the password: the old one answers 401, the new one works', async () => {
    const c = await newConnection();
    const { start, end } = windowTexts();
    expect((await c.sim.exportPage(start, end, 1)).status).toBe(200);

    const rotated = await call(app, 'POST', `/api/admin/connections/${enc(c.username)}/rotate-password`, { token: ADMIN });
    expect(rotated.status).toBe(200);
    expect(rotated.body.username).toBe(c.username);
    expect(rotated.body.password).not.toBe(c.password);

    const old = await c.sim.exportPage(start, end, 1);
    expect(old.status).toBe(401);
    expect((await c.sim.ship('whatever')).status).toBe(401);
    const renewed = simulatorFor({ ...c, password: rotated.body.password }, app);
    expect((await renewed.exportPage(start, end, 1)).status).toBe(200);

    expect((await call(app, 'POST', '/api/admin/connections/ss-no-such-user/rotate-password', { token: ADMIN })).status).toBe(404);
  });

  it('a disabled connection answers 403 with the reason to export and shipnotify; enabled again it answers 200', async () => {
    const c = await newConnection();
    const order = await postOrder(c.merchant);
    const { start, end } = windowTexts();

    const disabled = await call(app, 'POST', `/api/admin/connections/${enc(c.username)}/disable`, { token: ADMIN, json: { reason: 'invoice 2024-07 unpaid' } });
    expect(disabled.status).toBe(200);
    expect(disabled.body.disabled).toMatchObject({ reason: 'invoice 2024-07 unpaid', at: expect.any(String) });

    const page = await c.sim.exportPage(start, end, 1);
    expect(page.status).toBe(403);
    expect(page.text).toContain('invoice 2024-07 unpaid');
    const notice = await c.sim.ship(order.orderNumber, { items: [{ lineItemId: 'L1', quantity: 1 }] });
    expect(notice.status).toBe(403);
    expect(notice.text).toContain('invoice 2024-07 unpaid');
    // A wrong password learns nothing about the connection's state.
    const stranger = simulatorFor({ ...c, password: 'wrong' }, app);
    expect((await stranger.exportPage(start, end, 1)).status).toBe(401);
    // Nothing reached the order.
    expect((await getOrder(c.merchant, order.orderNumber)).shipments).toEqual([]);

    const list = await call(app, 'GET', `/api/admin/merchants/${c.merchant.id}/connections`, { token: ADMIN });
    expect(list.body.connections[0].disabled.reason).toBe('invoice 2024-07 unpaid');

    const enabled = await call(app, 'POST', `/api/admin/connections/${enc(c.username)}/enable`, { token: ADMIN });
    expect(enabled.status).toBe(200);
    expect(enabled.body.disabled).toBeNull();
    const after = await c.sim.exportPage(start, end, 1);
    expect(after.status).toBe(200);
    expect(numbersOf(after.orders)).toEqual([order.orderNumber]);
  });
});

// ---- authentication and dispatch ----------------------------------------------------------------

describe('endpoint: authentication and dispatch', () => {
  let c: TestConnection;
  beforeAll(async () => {
    c = await newConnection();
  });

  it('answers 401 with WWW-Authenticate: Basic realm="ShipStation" and a plain-text reason for bad credentials', async () => {
    const { start, end } = windowTexts();
    const query = `action=export&start_date=${encodeShipStationDate(start)}&end_date=${encodeShipStationDate(end)}`;
    const basic = (user: string, pass: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
    const attempts: [string, string, Record<string, string>][] = [
      ['wrong password', query, basic(c.username, 'wrong-password')],
      ['unknown username', query, basic('ss-nobody-00000000', c.password)],
      ['no credentials at all', query, {}],
      ['a malformed Basic header', query, { Authorization: 'Basic !!!not-base64!!!' }],
      ['Basic without a colon', query, { Authorization: `Basic ${Buffer.from('just-a-username').toString('base64')}` }],
      ['a wrong SS-Password', `${query}&SS-UserName=${enc(c.username)}&SS-Password=wrong`, {}],
      ['an empty password', query, basic(c.username, '')],
      ['shipnotify with a wrong password', 'action=shipnotify&order_number=1&carrier=USPS', basic(c.username, 'wrong-password')],
    ];
    for (const [name, q, headers] of attempts) {
      const res = await app.request(`${c.url}?${q}`, { method: q.includes('shipnotify') ? 'POST' : 'GET', headers });
      const text = await res.text();
      expect(res.status, name).toBe(401);
      expect(res.headers.get('WWW-Authenticate'), name).toBe('Basic realm="ShipStation"');
      expect(res.headers.get('Content-Type'), name).toMatch(/^text\/plain/);
      expect(text.trim().length, name).toBeGreaterThan(0);
      expect(text, name).not.toMatch(/<Orders/);
    }
  });

  it('accepts Basic or SS-UserName/SS-Password, and answers 401 when both are sent and disagree', async () => {
    const { start, end } = windowTexts();
    for (const mode of ['basic', 'query', 'both'] as const) {
      const page = await c.sim.exportPage(start, end, 1, { credentials: mode });
      expect(page.status, mode).toBe(200);
    }
    const q = `action=export&start_date=${encodeShipStationDate(start)}&end_date=${encodeShipStationDate(end)}`;
    const basic = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
    // Right Basic, wrong query password.
    const a = await app.request(`${c.url}?${q}&SS-UserName=${enc(c.username)}&SS-Password=nope`, { headers: { Authorization: basic } });
    expect(a.status).toBe(401);
    expect(a.headers.get('WWW-Authenticate')).toBe('Basic realm="ShipStation"');
    expect(await a.text()).toMatch(/disagree/);
    // Wrong Basic, right query credentials.
    const wrongBasic = `Basic ${Buffer.from(`${c.username}:nope`).toString('base64')}`;
    const b = await app.request(`${c.url}?${q}&SS-UserName=${enc(c.username)}&SS-Password=${enc(c.password)}`, { headers: { Authorization: wrongBasic } });
    expect(b.status).toBe(401);
    // Same password, other username in the query.
    const d = await app.request(`${c.url}?${q}&SS-UserName=someone-else&SS-Password=${enc(c.password)}`, { headers: { Authorization: basic } });
    expect(d.status).toBe(401);
  });

  it('answers 400 with a plain-text reason for an unknown or missing action; the action is case-insensitive', async () => {
    const unknown = await rawCall(app, c, 'action=orders');
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('Content-Type')).toMatch(/^text\/plain/);
    expect(unknown.text).toContain('orders');
    expect(unknown.text).toMatch(/export or shipnotify/);

    const missing = await rawCall(app, c, 'page=1');
    expect(missing.status).toBe(400);
    expect(missing.text).toMatch(/action/);

    const { start, end } = windowTexts();
    const upper = await rawCall(app, c, `action=EXPORT&start_date=${encodeShipStationDate(start)}&end_date=${encodeShipStationDate(end)}`);
    expect(upper.status).toBe(200);
    expect(upper.text).toContain('<Orders');
  });

  it("tolerates extra query parameters and a URL that carries a query of its own", async () => {
    const order = await postOrder(c.merchant);
    const withQuery = simulatorFor({ ...c, url: `${c.url}?store=eu-1&ref=abc` }, app);
    // Earlier exports of this connection served the current minute: the order is stamped after it.
    const poll = await withQuery.poll(new Date(Date.now() + 2 * MINUTE));
    expect(poll.ok, poll.error ?? '').toBe(true);
    expect(numbersOf(poll.orders)).toContain(order.orderNumber);
    const notice = await withQuery.ship(order.orderNumber, { extraQuery: { utm_source: 'x', _: '1700000000' } });
    expect(notice.status, notice.text).toBe(200);
  });

  it('export is a GET (405 otherwise); shipnotify is a POST and a GET is tolerated', async () => {
    const { start, end } = windowTexts();
    const post = await c.sim.exportPage(start, end, 1, { method: 'POST' });
    expect(post.status).toBe(405);

    const order = await postOrder(c.merchant);
    await c.sim.poll(new Date(Date.now() + 4 * MINUTE));
    expect(c.sim.find(order.orderId)).toBeDefined();
    const viaGet = await c.sim.ship(order.orderNumber, { method: 'GET', tracking: '1ZGET0000000000001' });
    expect(viaGet.status, viaGet.text).toBe(200);
    const view = await untilOrder(c.merchant, order.orderNumber, (o) => o.shipments.length === 1);
    expect(view.shipments[0].trackingNumber).toBe('1ZGET0000000000001');
  });
});

// ---- export ---------------------------------------------------------------------------------------

describe('export: request forms and document', () => {
  it('an empty window answers a valid <Orders pages="1"> document, UTF-8 text/xml with the XML declaration', async () => {
    const c = await newConnection();
    const poll = await c.sim.poll();
    expect(poll.ok, poll.error ?? '').toBe(true);
    expect(poll.pages).toHaveLength(1);
    const page = poll.pages[0]!;
    expect(page.status).toBe(200);
    expect(page.contentType).toBe('text/xml; charset=utf-8');
    expect(page.text.startsWith('<?xml version="1.0" encoding="utf-8"?>')).toBe(true);
    expect(page.pages).toBe(1);
    expect(page.orders).toEqual([]);
    await expectValidPages([page.text]);
  });

  it('accepts every date form ShipStation sends, at minute resolution, inclusive of the end minute', async () => {
    const c = await newConnection();
    const cases: [string, string, string, string][] = [
      // [start_date as sent, end_date as sent, window start, window end]
      ['01%2f23%2f2026+17%3a28', '01%2f23%2f2026+18%3a05', '2026-01-23T17:28:00.000Z', '2026-01-23T18:05:59.999Z'],
      ['01%2F23%2F2026%2017%3A28', '01%2F23%2F2026%2018%3A05', '2026-01-23T17:28:00.000Z', '2026-01-23T18:05:59.999Z'],
      ['1%2f5%2f2026+7%3a05', '1%2f5%2f2026+9%3a07', '2026-01-05T07:05:00.000Z', '2026-01-05T09:07:59.999Z'],
      ['01%2f23%2f2026+17%3a28%3a45', '01%2f23%2f2026+17%3a29%3a01', '2026-01-23T17:28:00.000Z', '2026-01-23T17:29:59.999Z'],
      ['1%2f23%2f2026+5%3a28+PM', '1%2f23%2f2026+11%3a59+pm', '2026-01-23T17:28:00.000Z', '2026-01-23T23:59:59.999Z'],
      ['01%2f23%2f2026+12%3a00+AM', '01%2f23%2f2026+12%3a30+PM', '2026-01-23T00:00:00.000Z', '2026-01-23T12:30:59.999Z'],
      ['2%2f29%2f2024+07%3a15%3a09+AM', '3%2f1%2f2024+1%3a00+AM', '2024-02-29T07:15:00.000Z', '2024-03-01T01:00:59.999Z'],
      // The same minute at both ends is a one-minute window.
      ['06%2f30%2f2026+23%3a59', '06%2f30%2f2026+23%3a59', '2026-06-30T23:59:00.000Z', '2026-06-30T23:59:59.999Z'],
    ];
    for (const [startDate, endDate, windowStart, windowEnd] of cases) {
      const res = await rawCall(app, c, `action=export&start_date=${startDate}&end_date=${endDate}&page=1`);
      expect(res.status, `${startDate} .. ${endDate}: ${res.text}`).toBe(200);
      expect(parseExportDocument(res.text).pages).toBe(1);
      const entry = await latestLogEntry(c.username);
      expect(entry, `${startDate} .. ${endDate}`).toMatchObject({ action: 'export', status: 200, windowStart, windowEnd, page: 1 });
    }
    // No page parameter means page 1.
    const noPage = await rawCall(app, c, 'action=export&start_date=01%2f23%2f2026+17%3a28&end_date=01%2f23%2f2026+18%3a05');
    expect(noPage.status).toBe(200);
    expect((await latestLogEntry(c.username)).page).toBe(1);
  });

  it('answers 400 with a readable reason for impossible, malformed, missing and reversed dates', async () => {
    const c = await newConnection();
    const ok = '01%2f23%2f2026+17%3a28';
    const cases: [string, string, RegExp][] = [
      [`start_date=02%2f30%2f2026+10%3a00&end_date=${ok}`, 'February 30', /start_date.*day 30 does not exist in month 2/],
      [`start_date=02%2f29%2f2025+10%3a00&end_date=${ok}`, 'February 29 of a common year', /day 29 does not exist/],
      [`start_date=13%2f01%2f2026+10%3a00&end_date=${ok}`, 'month 13', /month 13 does not exist/],
      [`start_date=00%2f10%2f2026+10%3a00&end_date=${ok}`, 'month 0', /month 0 does not exist/],
      [`start_date=${ok}&end_date=04%2f31%2f2026+10%3a00`, 'April 31 as end', /end_date.*day 31 does not exist/],
      [`start_date=01%2f01%2f2026+25%3a00&end_date=${ok}`, 'hour 25', /time does not exist/],
      [`start_date=01%2f01%2f2026+10%3a60&end_date=${ok}`, 'minute 60', /time does not exist/],
      [`start_date=01%2f01%2f2026+13%3a00+PM&end_date=${ok}`, 'hour 13 PM', /12-hour clock/],
      [`start_date=yesterday&end_date=${ok}`, 'not a date', /start_date.*not a date/],
      [`start_date=2026-01-23T17%3a28%3a00Z&end_date=${ok}`, 'ISO instead of MM/dd/yyyy', /start_date.*MM\/dd\/yyyy/],
      [`end_date=${ok}`, 'no start_date', /start_date and end_date are required/],
      [`start_date=${ok}`, 'no end_date', /required/],
      [`start_date=&end_date=${ok}`, 'empty start_date', /required/],
      [`start_date=01%2f23%2f2026+17%3a28&end_date=01%2f23%2f2026+17%3a27`, 'end one minute before start', /end_date .* is before start_date/],
      [`start_date=01%2f24%2f2026+00%3a00&end_date=01%2f23%2f2026+23%3a59`, 'end a day before start', /before/],
    ];
    for (const [query, name, reason] of cases) {
      const res = await rawCall(app, c, `action=export&${query}&page=1`);
      expect(res.status, `${name}: ${res.text}`).toBe(400);
      expect(res.headers.get('Content-Type'), name).toMatch(/^text\/plain/);
      expect(res.text, name).toMatch(reason);
    }
  });

  it('a page beyond the last answers an empty <Orders> with the real page count; a page that is not a number answers 400', async () => {
    const c = await newConnection({ target: smallPages });
    await postOrder(c.merchant);
    await postOrder(c.merchant);
    await postOrder(c.merchant);
    const { start, end } = windowTexts();
    const first = await c.sim.exportPage(start, end, 1);
    expect(first.pages).toBe(2);
    expect(first.orders).toHaveLength(2);
    for (const page of [3, 4, 99]) {
      const beyond = await c.sim.exportPage(start, end, page);
      expect(beyond.status).toBe(200);
      expect(beyond.pages).toBe(2);
      expect(beyond.orders).toEqual([]);
      await expectValidPages([beyond.text]);
    }
    for (const page of ['0', '-1', 'abc', '1.5']) {
      const bad = await c.sim.exportPage(start, end, page);
      expect(bad.status, `page=${page}`).toBe(400);
      expect(bad.text).toMatch(/page/);
    }
  });

  it('serves every order whose LastModified lies in the window, inclusive at both ends at minute resolution', async () => {
    const c = await newConnection();
    const order = await postOrder(c.merchant);
    const modified = new Date(order.lastModified);
    const minute = new Date(Math.floor(modified.getTime() / MINUTE) * MINUTE);
    const at = (offsetMinutes: number) => shipStationDate(new Date(minute.getTime() + offsetMinutes * MINUTE));
    const served = async (from: number, to: number) => numbersOf((await c.sim.exportPage(at(from), at(to), 1)).orders).includes(order.orderNumber);

    expect(await served(0, 0)).toBe(true); // the order's own minute, both ends
    expect(await served(-10, 0)).toBe(true); // ends in its minute: covers :59.999
    expect(await served(0, 10)).toBe(true); // starts in its minute: from :00.000
    expect(await served(-10, -1)).toBe(false);
    expect(await served(1, 10)).toBe(false);
  });

  it('pages hold at most the configured page size, ordered by LastModified, with the pages attribute on every page', async () => {
    const c = await newConnection({ target: smallPages });
    const created: any[] = [];
    for (let i = 0; i < 5; i++) created.push(await postOrder(c.merchant));
    const poll = await c.sim.poll();
    expect(poll.ok, poll.error ?? '').toBe(true);
    expect(poll.pages.map((p) => p.page)).toEqual([1, 2, 3]);
    expect(poll.pages.map((p) => p.pages)).toEqual([3, 3, 3]);
    expect(poll.pages.map((p) => p.orders.length)).toEqual([2, 2, 1]);
    expect(c.sim.statuses).toEqual([200, 200, 200]);
    const byModified = [...created].sort((a, b) => a.lastModified.localeCompare(b.lastModified) || a.orderId.localeCompare(b.orderId));
    expect(numbersOf(poll.orders)).toEqual(byModified.map((o) => o.orderNumber));
    await expectValidPages(poll.pages.map((p) => p.text));
  });
});

describe('export: stable paging and snapshots', () => {
  it('an order modified while ShipStation walks the pages makes no other order skip, and comes back in a later window', async () => {
    const c = await newConnection({ target: smallPages });
    const created: any[] = [];
    for (let i = 0; i < 5; i++) created.push(await postOrder(c.merchant));
    const [a] = created;
    let latecomer: any;

    const walk = await c.sim.poll(new Date(), {
      afterPage: async (page) => {
        if (page.page !== 1) return;
        // Between page 1 and page 2: the first order of page 1 changes (its LastModified moves past
        // the window), and a new order arrives. Offset paging over a live query would now skip the
        // first order of page 2.
        expect(numbersOf(page.orders)).toContain(a.orderNumber);
        await orderAction(c.merchant, a.orderNumber, 'hold', { reason: 'address check' });
        latecomer = await postOrder(c.merchant);
      },
    });
    expect(walk.ok, walk.error ?? '').toBe(true);
    expect(walk.pages.map((p) => p.pages)).toEqual([3, 3, 3]);
    const seen = numbersOf(walk.orders);
    for (const order of created) expect(seen.filter((n) => n === order.orderNumber), order.orderNumber).toHaveLength(1);
    expect(seen).toHaveLength(5);
    expect(seen).not.toContain(latecomer.orderNumber);

    // The next poll (a later window, overlapping the last) brings the change and the newcomer.
    const next = await c.sim.poll(new Date(Date.now() + 2 * MINUTE));
    expect(next.ok, next.error ?? '').toBe(true);
    expect(next.imported).toEqual(expect.arrayContaining([a.orderId, latecomer.orderId]));
    expect(c.sim.find(a.orderId)).toMatchObject({ orderStatus: 'on_hold', status: 'On Hold', imports: 2, history: ['Awaiting Shipment', 'On Hold'] });
    expect(c.sim.find(latecomer.orderId)).toMatchObject({ orderStatus: 'new', status: 'Awaiting Shipment' });
    // Nobody else was imported twice: their LastModified never moved.
    for (const order of created.slice(1)) expect(c.sim.find(order.orderId)!.imports, order.orderNumber).toBe(1);
  });

  it('reuses the snapshot for an identical window (same page sequence) and takes a new one after the TTL', async () => {
    const ttlApp = stack.app({ adminToken: ADMIN, shipstation: { pageSize: 2, snapshotTtlMs: 1500 } });
    const c = await newConnection({ target: ttlApp });
    const a = await postOrder(c.merchant);
    const b = await postOrder(c.merchant);
    const d = await postOrder(c.merchant);
    const { start, end } = windowTexts();

    const first = await c.sim.exportPage(start, end, 1);
    const firstLog = await latestLogEntry(c.username);
    expect(firstLog.detail).toMatchObject({ snapshotReused: false, pages: 2 });
    expect(numbersOf(first.orders)).toEqual([a.orderNumber, b.orderNumber]);

    // b changes: its LastModified leaves the window, but the walk in progress keeps its sequence.
    await orderAction(c.merchant, b.orderNumber, 'hold', { reason: 'fraud check' });
    const second = await c.sim.exportPage(start, end, 2);
    const secondLog = await latestLogEntry(c.username);
    expect(secondLog.detail).toMatchObject({ snapshotReused: true, snapshot: firstLog.detail.snapshot });
    expect(numbersOf(second.orders)).toEqual([d.orderNumber]);
    const again = await c.sim.exportPage(start, end, 1);
    expect(numbersOf(again.orders)).toEqual([a.orderNumber, b.orderNumber]);
    // Content is read when the page is served: b is now on hold.
    expect(again.orders[1]!.OrderStatus).toBe('on_hold');
    expect((await latestLogEntry(c.username)).detail.snapshot).toBe(firstLog.detail.snapshot);

    await sleep(1700);
    const fresh = await c.sim.exportPage(start, end, 1);
    const freshLog = await latestLogEntry(c.username);
    expect(freshLog.detail.snapshotReused).toBe(false);
    expect(freshLog.detail.snapshot).not.toBe(firstLog.detail.snapshot);
    expect(fresh.pages).toBe(1);
    expect(numbersOf(fresh.orders)).toEqual([a.orderNumber, d.orderNumber]);
  });
});

describe('export: statuses reach ShipStation', () => {
  it('marking a served order whose workflow has closed leaves it alone: the mark is "not needed", nothing reopens', async () => {
    const c = await newConnection();
    const open = await postOrder(c.merchant);
    const gone = await postOrder(c.merchant);
    const goneId = orderWorkflowId(c.merchant.id, gone.orderNumber);
    await stack.client.workflow.getHandle(goneId).terminate('test: a workflow that is no longer running');
    const poll = await c.sim.poll();
    expect(poll.ok, poll.error ?? '').toBe(true);
    await untilOrder(c.merchant, open.orderNumber, (o) => o.status === 'at_wms');
    const settled = await eventually(
      () => stack.database.db.select().from(orderFacts).where(eq(orderFacts.orderId, gone.orderId)),
      (facts) => facts.length === 1 && facts[0]!.state !== 'pending',
    );
    expect(settled[0]).toMatchObject({ kind: 'exported', state: 'not_needed', outcome: 'order closed' });
    // Nothing reopened the closed order for a mark it does not need.
    const runs: string[] = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = '${goneId}'` })) runs.push(run.runId);
    expect(runs).toHaveLength(1);
  });

  it('a pending order is exported as new, becomes at_wms once served, and its LastModified does not move', async () => {
    const c = await newConnection();
    const orders = [await postOrder(c.merchant), await postOrder(c.merchant), await postOrder(c.merchant)];
    const poll = await c.sim.poll();
    expect(poll.ok, poll.error ?? '').toBe(true);
    expect(poll.invisible).toEqual([]);
    for (const order of orders) {
      expect(c.sim.find(order.orderId)).toMatchObject({ orderStatus: 'new', status: 'Awaiting Shipment' });
      const after = await untilOrder(c.merchant, order.orderNumber, (o) => o.status === 'at_wms');
      expect(after.lastModified).toBe(order.lastModified);
    }
    // The page stored one mark per served order (in one statement), and each reached its order.
    const log = await latestLogEntry(c.username);
    expect(log.detail).toMatchObject({ orders: 3, markedServed: 3 });
    const marks = await stack.database.db.select().from(orderFacts).where(inArray(orderFacts.orderId, orders.map((o) => o.orderId)));
    expect(marks.map((m) => [m.kind, m.state, m.via])).toEqual(orders.map(() => ['exported', 'delivered', 'export']));

    // The same window again: at_wms now, LastModified unchanged, so ShipStation imports nothing anew.
    const again = await c.sim.poll(new Date(Date.now() + MINUTE));
    expect(again.orders.map((o) => o.OrderStatus)).toEqual(['at_wms', 'at_wms', 'at_wms']);
    expect(again.imported).toEqual([]);
    for (const order of orders) expect(c.sim.find(order.orderId)!.lastModified).toBe(again.orders.find((o) => o.OrderID === order.orderId)!.LastModified);
  });

  it('an unpaid order is exported as await_payment, stays unpaid when served, and is exported as new once paid', async () => {
    const c = await newConnection();
    const unpaid = await postOrder(c.merchant, { paid: false });
    await c.sim.poll();
    expect(c.sim.find(unpaid.orderId)).toMatchObject({ orderStatus: 'await_payment', status: 'Awaiting Payment' });
    await sleep(500);
    expect((await getOrder(c.merchant, unpaid.orderNumber)).status).toBe('await_payment');

    const paid = await orderAction(c.merchant, unpaid.orderNumber, 'pay');
    expect(paid.status).toBe('pending');
    expect(paid.lastModified > unpaid.lastModified).toBe(true);
    const poll = await c.sim.poll(new Date(Date.now() + 2 * MINUTE));
    expect(poll.imported).toContain(unpaid.orderId);
    expect(c.sim.find(unpaid.orderId)).toMatchObject({ orderStatus: 'new', status: 'Awaiting Shipment', history: ['Awaiting Payment', 'Awaiting Shipment'] });
    await untilOrder(c.merchant, unpaid.orderNumber, (o) => o.status === 'at_wms');
  });

  it('a canceled order reaches ShipStation as canceled and a held one as on_hold with the next export; a release brings it back', async () => {
    const c = await newConnection();
    const toCancel = await postOrder(c.merchant);
    const toHold = await postOrder(c.merchant);
    const toRelease = await postOrder(c.merchant);
    const unpaidCancel = await postOrder(c.merchant, { paid: false });
    await c.sim.poll();
    for (const o of [toCancel, toHold, toRelease]) expect(c.sim.find(o.orderId)!.status).toBe('Awaiting Shipment');
    expect(c.sim.find(unpaidCancel.orderId)!.status).toBe('Awaiting Payment');
    for (const o of [toCancel, toHold, toRelease]) await untilOrder(c.merchant, o.orderNumber, (v) => v.status === 'at_wms');

    await orderAction(c.merchant, toCancel.orderNumber, 'cancel', { reason: 'customer asked' });
    await orderAction(c.merchant, unpaidCancel.orderNumber, 'cancel', { reason: 'never paid' });
    await orderAction(c.merchant, toHold.orderNumber, 'hold', { reason: 'address check' });
    await orderAction(c.merchant, toRelease.orderNumber, 'hold', { reason: 'short hold' });
    const held = await c.sim.poll(new Date(Date.now() + 2 * MINUTE));
    expect(held.invisible).toEqual([]);
    expect(c.sim.find(toCancel.orderId)).toMatchObject({ orderStatus: 'canceled', status: 'Cancelled' });
    expect(c.sim.find(unpaidCancel.orderId)).toMatchObject({ orderStatus: 'canceled', status: 'Cancelled', history: ['Awaiting Payment', 'Cancelled'] });
    expect(c.sim.find(toHold.orderId)).toMatchObject({ orderStatus: 'on_hold', status: 'On Hold' });
    expect(c.sim.find(toRelease.orderId)).toMatchObject({ orderStatus: 'on_hold', status: 'On Hold' });

    const released = await orderAction(c.merchant, toRelease.orderNumber, 'release');
    expect(released.status).toBe('at_wms');
    await c.sim.poll(new Date(Date.now() + 4 * MINUTE));
    expect(c.sim.find(toRelease.orderId)).toMatchObject({ orderStatus: 'at_wms', status: 'Awaiting Shipment', history: ['Awaiting Shipment', 'On Hold', 'Awaiting Shipment'] });
    expect(c.sim.find(toHold.orderId)!.status).toBe('On Hold');
  });

  it('a shipped order reaches ShipStation as shipped', async () => {
    const c = await newConnection();
    const order = await postOrder(c.merchant);
    await c.sim.poll();
    expect((await c.sim.ship(order.orderId)).status).toBe(200);
    await untilOrder(c.merchant, order.orderNumber, (o) => o.status === 'shipped');
    await c.sim.poll(new Date(Date.now() + 2 * MINUTE));
    expect(c.sim.find(order.orderId)).toMatchObject({ orderStatus: 'shipped', status: 'Shipped' });
  });
});

describe('export: content', () => {
  it('a realistic order (options, adjustment line, special characters, non-ASCII names, kg weights) validates against export.xsd and reads back as sent', async () => {
    const c = await newConnection();
    const realistic = await postOrder(c.merchant, {
      currency: 'eur',
      source: 'Shopify & Co <EU>',
      shippingMethod: 'Colissimo Expert',
      paymentMethod: 'Carte bancaire',
      customer: { code: 'CUST-77', email: 'jose@example.com' },
      shipTo: {
        name: 'José Müller-Łukasiewicz',
        company: 'Ben &amp; Jerry&#39;s',
        street1: '12 Rue de l’Église',
        street2: 'Bâtiment B ]]> 3ᵉ étage',
        city: 'Paris',
        postalCode: '75001',
        country: 'fr',
        phone: '+33 1 23 45 67 89',
      },
      billTo: { name: 'Zoë Ångström', company: 'Smith &amp; Söhne GmbH', street1: 'Königstraße 5', city: 'München', state: 'BY', postalCode: '80331', country: 'DE', email: 'billing@example.com' },
      lines: [
        {
          lineId: 'L-1',
          sku: 'MUG-ÉTÉ',
          name: 'Tasse «été» <b>bold</b> & co ]]> 🍵',
          quantity: 2,
          unitPrice: '12.90',
          weight: { value: '0.35', unit: 'kg' },
          imageUrl: 'https://cdn.example.com/mug.png?x=1&y=2',
          location: 'A-01',
          options: [
            { name: 'Größe', value: 'L & XL' },
            { name: 'Gravur', value: 'Für Oma ]]> <3' },
          ],
        },
        { lineId: 'L-2', sku: 'TEE', name: 'T-shirt', quantity: 3, unitPrice: 0.1, weight: { value: '1.005', unit: 'kg' } },
        { lineId: 'L-3', sku: 'SOCK', name: 'Socks', quantity: 1, unitPrice: '3.00', weight: { value: '2.5', unit: 'oz' } },
        { lineId: 'DISC', sku: '', name: 'Rabatt -10% & Versand', quantity: 1, unitPrice: '-2.59', adjustment: true },
      ],
      shippingAmount: '4.90',
      taxAmount: '0.20',
      customerNotes: 'Bitte nicht klingeln\n\tDanke & Gruß ]]>',
      internalNotes: 'VIP <priority>',
      gift: true,
      giftMessage: 'Alles Gute 🎉',
      customFields: ['vip', '', 'wave-3'],
      requestedWarehouse: 'Lager Süd',
    });

    // An order whose text reached the read model with characters XML cannot carry and a name longer
    // than ShipStation takes (the order API refuses both; an older import or a direct write may not).
    const number = nextOrderNumber('CTRL');
    const longName = '😀'.repeat(230);
    const raw = {
      orderNumber: number,
      orderDate: '2026-11-20T09:30:00Z',
      paid: true,
      currency: 'USD',
      customer: {},
      shipTo: { name: 'Bell\u0007 Ringer', street1: '1 Main\u0001 St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
      lines: [{ lineId: 'X1', sku: 'X', name: longName, quantity: 1, unitPrice: '1.00', options: [], adjustment: false }],
      shippingAmount: '0',
      taxAmount: '0',
      gift: false,
      customFields: [],
      internalNotes: 'tab\there, escape\u001b[0m and form\u000cfeed',
    };
    await createUnvalidated(stack, c.merchant.id, raw as unknown as Record<string, unknown>);

    const poll = await c.sim.poll();
    expect(poll.ok, poll.error ?? '').toBe(true);
    // Real export pages from the endpoint, validated against the schema.
    await expectValidPages(poll.pages.map((p) => p.text));
    expect(poll.pages[0]!.text).toContain('<![CDATA[');
    // A `]]>` inside text is split across two CDATA sections.
    expect(poll.pages[0]!.text).toContain(']]]]><![CDATA[>');

    const o = poll.orders.find((x) => x.OrderNumber === realistic.orderNumber)!;
    expect(o).toMatchObject({
      OrderID: realistic.orderId,
      OrderStatus: 'new',
      CurrencyCode: 'EUR',
      Source: 'Shopify & Co <EU>',
      ShippingMethod: 'Colissimo Expert',
      PaymentMethod: 'Carte bancaire',
      OrderTotal: '31.61',
      TaxAmount: '0.20',
      ShippingAmount: '4.90',
      InternalNotes: 'VIP <priority>',
      Gift: 'true',
      GiftMessage: 'Alles Gute 🎉',
      CustomField1: 'vip',
      CustomField3: 'wave-3',
      RequestedWarehouse: 'Lager Süd',
    });
    expect(o.CustomerNotes).toBe('Bitte nicht klingeln\n\tDanke & Gruß ]]>');
    expect(o.OrderDate).toBe('11/20/2026 09:30');
    expect(o.LastModified).toBe(shipStationDate(new Date(realistic.lastModified)));
    expect(o.Customer.CustomerCode).toBe('CUST-77');
    expect(o.Customer.ShipTo).toMatchObject({
      Name: 'José Müller-Łukasiewicz',
      Company: "Ben & Jerry's",
      Address1: '12 Rue de l’Église',
      Address2: 'Bâtiment B ]]> 3ᵉ étage',
      City: 'Paris',
      Country: 'FR',
    });
    expect(o.Customer.BillTo).toMatchObject({ Name: 'Zoë Ångström', Company: 'Smith & Söhne GmbH' });

    const items = itemsOf(o);
    expect(items.map((i) => i.LineItemID)).toEqual(['L-1', 'L-2', 'L-3', 'DISC']);
    expect(items[0]).toMatchObject({
      SKU: 'MUG-ÉTÉ',
      Name: 'Tasse «été» <b>bold</b> & co ]]> 🍵',
      Quantity: '2',
      UnitPrice: '12.90',
      Weight: '350',
      WeightUnits: 'Grams',
      ImageUrl: 'https://cdn.example.com/mug.png?x=1&y=2',
      Location: 'A-01',
    });
    expect(items[0]!.Options.Option).toEqual([
      expect.objectContaining({ Name: 'Größe', Value: 'L & XL' }),
      expect.objectContaining({ Name: 'Gravur', Value: 'Für Oma ]]> <3' }),
    ]);
    expect(items[1]).toMatchObject({ UnitPrice: '0.10', Quantity: '3', Weight: '1005', WeightUnits: 'Grams' });
    expect(items[2]).toMatchObject({ Weight: '2.5', WeightUnits: 'Ounces' });
    expect(items[3]).toMatchObject({ Name: 'Rabatt -10% & Versand', UnitPrice: '-2.59', Adjustment: 'true' });
    expect(items[3]!.SKU ?? '').toBe('');

    const ctrl = poll.orders.find((x) => x.OrderNumber === number)!;
    expect(ctrl, 'the order with illegal characters is served, cleaned').toBeDefined();
    expect(ctrl.Customer.ShipTo.Name).toBe('Bell Ringer');
    expect(ctrl.Customer.ShipTo.Address1).toBe('1 Main St');
    expect(ctrl.InternalNotes).toBe('tab\there, escape[0m and formfeed');
    const name = itemsOf(ctrl)[0]!.Name as string;
    expect([...name]).toHaveLength(200);
    expect(name).toBe('😀'.repeat(200));
  });

  it('an order without a ship-to country or without lines is left out of the page and flagged not_importable; the rest of the page is served', async () => {
    const c = await newConnection();
    const good1 = await postOrder(c.merchant);
    const noCountry = await postOrder(c.merchant, { shipTo: { name: 'No Where', street1: '1 Main St', city: 'Austin' } });
    // The order API refuses an order with nothing to ship; one from an older import may still have none.
    const refused = await call(app, 'POST', '/api/orders', { token: c.merchant.apiKey, json: orderPayload({ lines: [] }) });
    expect(refused.status).toBe(400);
    const noLines = await createUnvalidated(stack, c.merchant.id, { ...orderPayload(), lines: [] });
    const good2 = await postOrder(c.merchant);

    const poll = await c.sim.poll();
    expect(poll.ok, poll.error ?? '').toBe(true);
    expect(numbersOf(poll.orders)).toEqual([good1.orderNumber, good2.orderNumber]);
    await expectValidPages(poll.pages.map((p) => p.text));
    const log = await latestLogEntry(c.username);
    expect(log.status).toBe(200);
    expect(log.detail.leftOut.join('\n')).toContain(noCountry.orderNumber);

    const flagged = await untilOrder(c.merchant, noCountry.orderNumber, (o) => o.flags.some((f: any) => f.code === 'not_importable'));
    expect(flagged.flags.find((f: any) => f.code === 'not_importable').detail).toMatch(/country/i);
    // Not served, so not at ShipStation.
    expect(flagged.status).toBe('pending');
    expect(log.detail.leftOut.join('\n')).toContain(noLines.orderNumber);
    const noLinesFlagged = await untilOrder(c.merchant, noLines.orderNumber, (o) => o.flags.some((f: any) => f.code === 'not_importable'));
    expect(noLinesFlagged.flags.find((f: any) => f.code === 'not_importable').detail).toMatch(/line/i);

    // Fixed, it reaches ShipStation with the next poll.
    const fixed = await call(app, 'PATCH', `/api/orders/${enc(noCountry.orderNumber)}`, {
      token: c.merchant.apiKey,
      json: { shipTo: { name: 'No Where', street1: '1 Main St', city: 'Austin', state: 'TX', country: 'US' } },
    });
    expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);
    await c.sim.poll(new Date(Date.now() + 2 * MINUTE));
    expect(c.sim.find(noCountry.orderId)).toMatchObject({ orderStatus: 'new', status: 'Awaiting Shipment' });
  });
});

// ---- shipnotify ---------------------------------------------------------------------------------

describe('shipnotify', () => {
  let c: TestConnection;
  beforeAll(async () => {
    c = await newConnection();
  });

  /** A paid order of the suite's connection, imported by the simulator. */
  async function importedOrder(overrides: Record<string, unknown> = {}) {
    const order = await postOrder(c.merchant, overrides);
    const poll = await c.sim.poll(new Date(Math.max(Date.now(), (c.sim.lastWindow?.end.getTime() ?? 0) + MINUTE)));
    expect(poll.ok, poll.error ?? '').toBe(true);
    expect(c.sim.find(order.orderId), `order ${order.orderNumber} imported`).toBeDefined();
    return order;
  }

  it('records the shipment with every field of the notice, and keeps the raw notice with SS-Password masked', async () => {
    const order = await importedOrder();
    const shipDate = new Date('2026-11-22T00:00:00Z');
    const labelDate = new Date('2026-11-21T16:45:00Z');
    const notice = await c.sim.ship(order.orderId, {
      credentials: 'both',
      carrier: 'FedEx',
      service: 'FedEx Ground®',
      tracking: '7712 3456 7890',
      shipDate,
      labelCreateDate: labelDate,
      shippingCost: '12.5',
      notifyCustomer: true,
      notesToCustomer: 'Thanks & enjoy',
      internalNotes: 'packed by Ana',
      customerNotes: 'leave at door',
      customFields: ['wave-1', '', 'cf3'],
      contentType: 'text/xml; charset=utf-8',
    });
    expect(notice.status, notice.text).toBe(200);

    const view = await untilOrder(c.merchant, order.orderNumber, (o) => o.status === 'shipped');
    expect(view.shipments).toHaveLength(1);
    expect(view.shipments[0]).toMatchObject({
      carrier: 'FedEx',
      service: 'FedEx Ground®',
      trackingNumber: '7712 3456 7890',
      shipDate: '2026-11-22',
      shippingCost: '12.50',
      reportedVia: 'shipnotify',
      details: {
        recipient: { name: 'Ada Lovelace', address1: '1 Main St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
        notifyCustomer: true,
        notesToCustomer: 'Thanks & enjoy',
        internalNotes: 'packed by Ana',
        customerNotes: 'leave at door',
        customFields: ['wave-1', '', 'cf3'],
      },
    });
    expect(new Date(view.shipments[0].labelCreatedAt).toISOString()).toBe(labelDate.toISOString());
    expect(view.lines.filter((l: any) => !l.adjustment).every((l: any) => l.shipped === l.quantity)).toBe(true);

    const [stored] = await storedNotices(order.orderId);
    expect(stored).toBeDefined();
    expect(stored!.body).toBe(notice.body);
    expect(stored!.contentType).toBe('text/xml; charset=utf-8');
    expect(stored!.query).toContain('SS-Password=');
    expect(stored!.query).not.toContain(enc(c.password));
    expect(stored!.query).not.toContain(c.password);
  });

  it('a duplicate notice records one shipment (same tracking however written, or the same body without tracking)', async () => {
    const order = await importedOrder();
    const callsBefore = c.sim.calls.length;
    const first = await c.sim.ship(order.orderId, { items: [{ lineItemId: 'L1', sku: 'MUG-1', quantity: 1 }], tracking: '1z999aa10123456784' });
    expect(first.status).toBe(200);
    const repeat = await c.sim.resend(first);
    expect(repeat.status).toBe(200);
    // The same package again, tracking number written differently.
    const rewritten = await c.sim.ship(order.orderId, { items: [{ lineItemId: 'L1', sku: 'MUG-1', quantity: 1 }], tracking: '1Z 999 AA1 0123 4567 84' });
    expect(rewritten.status).toBe(200);

    // A package without tracking: the same body twice is one shipment.
    const untracked = await c.sim.ship(order.orderId, { items: [{ lineItemId: 'L2', quantity: 1 }], tracking: '' });
    expect(untracked.status).toBe(200);
    expect((await c.sim.resend(untracked)).status).toBe(200);

    expect(c.sim.calls.slice(callsBefore).map((x) => `${x.action} ${x.status}`)).toEqual(Array(5).fill('shipnotify 200'));
    await sleep(800);
    const view = await untilOrder(c.merchant, order.orderNumber, (o) => o.shipments.length >= 2);
    expect(view.shipments).toHaveLength(2);
    expect(view.lines.find((l: any) => l.lineId === 'L1').shipped).toBe(1);
    expect(view.lines.find((l: any) => l.lineId === 'L2').shipped).toBe(1);
    expect(view.status).toBe('at_wms');
    const notices = await storedNotices(order.orderId);
    expect(notices).toHaveLength(2);
    expect(notices.map((n) => n.timesReceived).sort()).toEqual([2, 3]);
  });

  it('a split order becomes shipped only with its second notice', async () => {
    const order = await importedOrder();
    const [first] = await c.sim.shipSplit(order.orderId, [[{ lineItemId: 'L1', sku: 'MUG-1', name: 'Mug', quantity: 2 }]]);
    expect(first!.status).toBe(200);
    const partial = await untilOrder(c.merchant, order.orderNumber, (o) => o.shipments.length === 1);
    expect(partial.status).toBe('at_wms');
    expect(partial.lines.find((l: any) => l.lineId === 'L1').shipped).toBe(2);
    expect(partial.lines.find((l: any) => l.lineId === 'L2').shipped).toBe(0);
    await c.sim.poll(new Date(Math.max(Date.now(), c.sim.lastWindow!.end.getTime()) + MINUTE));
    expect(c.sim.find(order.orderId)!.status).toBe('Awaiting Shipment');

    const [second] = await c.sim.shipSplit(order.orderId, [[{ lineItemId: 'L2', sku: 'TEE-M', name: 'T-shirt M', quantity: 1 }]]);
    expect(second!.status).toBe(200);
    const done = await untilOrder(c.merchant, order.orderNumber, (o) => o.status === 'shipped');
    expect(done.shipments).toHaveLength(2);
  });

  it('an empty-body notice ships everything still unshipped, from the query alone', async () => {
    const order = await importedOrder();
    expect((await c.sim.ship(order.orderId, { items: [{ lineItemId: 'L1', quantity: 1 }] })).status).toBe(200);
    await untilOrder(c.merchant, order.orderNumber, (o) => o.shipments.length === 1);

    const empty = await c.sim.ship(order.orderId, { emptyBody: true, carrier: 'UPS', service: 'UPS Ground', tracking: '1Z0000000000000001' });
    expect(empty.status, empty.text).toBe(200);
    expect(empty.body).toBe('');
    const view = await untilOrder(c.merchant, order.orderNumber, (o) => o.status === 'shipped');
    expect(view.shipments).toHaveLength(2);
    expect(view.shipments[1]).toMatchObject({ carrier: 'UPS', service: 'UPS Ground', trackingNumber: '1Z0000000000000001', lines: [{ lineId: 'L1', quantity: 1 }, { lineId: 'L2', quantity: 1 }] });
    expect(view.lines.filter((l: any) => !l.adjustment).every((l: any) => l.shipped === l.quantity)).toBe(true);
  });

  it('reads the body raw whatever the Content-Type says (form-encoded, missing)', async () => {
    for (const contentType of ['application/x-www-form-urlencoded', null, 'text/plain']) {
      const order = await importedOrder();
      // Only L2 ships: if the body were not read, the notice would ship everything.
      const notice = await c.sim.ship(order.orderId, { contentType, items: [{ lineItemId: 'L2', sku: 'TEE-M', quantity: 1 }] });
      expect(notice.status, `${contentType}: ${notice.text}`).toBe(200);
      const view = await untilOrder(c.merchant, order.orderNumber, (o) => o.shipments.length === 1);
      expect(view.shipments[0].lines, String(contentType)).toEqual([{ lineId: 'L2', quantity: 1 }]);
    }
  });

  it('query parameters win over the body for carrier, service and tracking; an empty query value keeps the body value', async () => {
    const order = await importedOrder();
    const notice = await c.sim.ship(order.orderId, {
      carrier: 'FedEx',
      service: 'FedEx 2Day',
      tracking: '794600000001',
      bodyCarrier: 'UPS',
      bodyService: 'UPS Ground',
      bodyTracking: '1Z0000000000000BODY',
      items: [{ lineItemId: 'L1', quantity: 1 }],
    });
    expect(notice.status).toBe(200);
    const view = await untilOrder(c.merchant, order.orderNumber, (o) => o.shipments.length === 1);
    expect(view.shipments[0]).toMatchObject({ carrier: 'FedEx', service: 'FedEx 2Day', trackingNumber: '794600000001' });

    const second = await c.sim.ship(order.orderId, { carrier: 'USPS', service: '', tracking: '9400111111111111111111', bodyService: 'USPS First Class', items: [{ lineItemId: 'L2', quantity: 1 }] });
    expect(second.status).toBe(200);
    const after = await untilOrder(c.merchant, order.orderNumber, (o) => o.shipments.length === 2);
    expect(after.shipments[1]).toMatchObject({ carrier: 'USPS', service: 'USPS First Class', trackingNumber: '9400111111111111111111' });
  });

  it('identifies the order by the body OrderID when it is ours, else by order_number, else by the body OrderNumber', async () => {
    const x = await importedOrder();
    const y = await importedOrder();
    const z = await importedOrder();
    const items = [{ lineItemId: 'L1', quantity: 1 }];

    // Body OrderID (ours) beats a query order_number naming another order.
    const byId = await c.sim.ship(x.orderId, { queryOrderNumber: y.orderNumber, bodyOrderNumber: y.orderNumber, items, tracking: 'TRK-ID-1' });
    expect(byId.status, byId.text).toBe(200);
    // An OrderID that is not ours (ShipStation's own id): order_number decides.
    const byNumber = await c.sim.ship(y.orderId, { bodyOrderId: '123456789', bodyOrderNumber: z.orderNumber, items, tracking: 'TRK-NUM-1' });
    expect(byNumber.status, byNumber.text).toBe(200);
    // Neither OrderID nor order_number: the body's OrderNumber.
    const byBodyNumber = await c.sim.ship(z.orderId, { bodyOrderId: null, queryOrderNumber: null, items, tracking: 'TRK-BODY-1' });
    expect(byBodyNumber.status, byBodyNumber.text).toBe(200);

    const tracking = async (o: any) => (await untilOrder(c.merchant, o.orderNumber, (v) => v.shipments.length >= 1)).shipments.map((s: any) => s.trackingNumber);
    expect(await tracking(x)).toEqual(['TRK-ID-1']);
    expect(await tracking(y)).toEqual(['TRK-NUM-1']);
    expect(await tracking(z)).toEqual(['TRK-BODY-1']);
  });

  it('an unknown order answers 404 naming it, and nothing is recorded', async () => {
    const res = await c.sim.ship('NO-SUCH-ORDER-42', { items: [{ sku: 'X', quantity: 1 }] });
    expect(res.status).toBe(404);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/plain/);
    expect(res.text).toContain('NO-SUCH-ORDER-42');
    const bodyOnly = await c.sim.ship('NO-SUCH-ORDER-43', { queryOrderNumber: null, bodyOrderId: 'oaaaaaaaaaaaaaaaaaaaaaaaaaa', items: [{ sku: 'X', quantity: 1 }] });
    expect(bodyOnly.status).toBe(404);
    expect(bodyOnly.text).toContain('NO-SUCH-ORDER-43');
  });

  it('accepts a shipment in every order status: unpaid, on hold, canceled (flagged)', async () => {
    const unpaid = await importedOrder({ paid: false });
    const held = await importedOrder();
    await orderAction(c.merchant, held.orderNumber, 'hold', { reason: 'check' });
    const canceled = await importedOrder();
    await orderAction(c.merchant, canceled.orderNumber, 'cancel', { reason: 'customer asked' });

    for (const o of [unpaid, held, canceled]) {
      const res = await c.sim.ship(o.orderId);
      expect(res.status, `${o.orderNumber}: ${res.text}`).toBe(200);
    }
    await untilOrder(c.merchant, unpaid.orderNumber, (v) => v.shipments.length === 1 && v.status === 'shipped');
    await untilOrder(c.merchant, held.orderNumber, (v) => v.shipments.length === 1 && v.status === 'shipped');
    const after = await untilOrder(c.merchant, canceled.orderNumber, (v) => v.shipments.length === 1);
    expect(after.status).toBe('canceled');
    expect(after.flags.map((f: any) => f.code)).toContain('shipment_on_canceled_order');
  });

  it('matches lines by LineItemID, then SKU case-insensitively with repeats by position; unknown SKUs and over-shipment are recorded and flagged', async () => {
    const order = await importedOrder({
      lines: [
        { lineId: 'A', sku: 'CUP', name: 'Cup blue', quantity: 1, unitPrice: '5.00' },
        { lineId: 'B', sku: 'CUP', name: 'Cup red', quantity: 2, unitPrice: '5.00' },
        { lineId: 'C', sku: 'TEE', name: 'Tee', quantity: 1, unitPrice: '9.00' },
      ],
    });
    const first = await c.sim.ship(order.orderId, {
      tracking: 'MATCH-1',
      items: [
        { sku: 'cup', quantity: 2 }, // A takes 1, then B takes 1
        { lineItemId: 'C', sku: 'SOMETHING-ELSE', quantity: 1 }, // LineItemID wins over SKU
        { sku: 'NOPE', quantity: 1 }, // no such line
      ],
    });
    expect(first.status).toBe(200);
    const afterFirst = await untilOrder(c.merchant, order.orderNumber, (o) => o.shipments.length === 1);
    expect(afterFirst.shipments[0].lines).toEqual([
      { lineId: 'A', quantity: 1 },
      { lineId: 'B', quantity: 1 },
      { lineId: 'C', quantity: 1 },
    ]);
    expect(afterFirst.flags.map((f: any) => f.code)).toContain('shipment_items_unmatched');
    expect(afterFirst.flags.find((f: any) => f.code === 'shipment_items_unmatched').detail).toContain('NOPE');

    const second = await c.sim.ship(order.orderId, { tracking: 'MATCH-2', items: [{ sku: 'Cup', quantity: 3 }] });
    expect(second.status).toBe(200);
    const afterSecond = await untilOrder(c.merchant, order.orderNumber, (o) => o.shipments.length === 2);
    // Only one unit of CUP was left; the rest is over-shipment, recorded as a flag, not dropped.
    expect(afterSecond.shipments[1].lines).toEqual([{ lineId: 'B', quantity: 1 }]);
    expect(afterSecond.flags.map((f: any) => f.code)).toContain('shipment_beyond_ordered_quantity');
    expect(afterSecond.status).toBe('shipped');
  });

  it('refuses a notice with a DOCTYPE or ENTITY declaration with 400, and records nothing', async () => {
    const order = await importedOrder();
    const hostile = [
      `<?xml version="1.0"?><!DOCTYPE ShipNotice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><ShipNotice><OrderNumber>${order.orderNumber}</OrderNumber><TrackingNumber>&xxe;</TrackingNumber></ShipNotice>`,
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><ShipNotice><OrderNumber>&lol2;</OrderNumber></ShipNotice>`,
      `<!DOCTYPE ShipNotice SYSTEM "http://evil.example.com/x.dtd"><ShipNotice><OrderNumber>${order.orderNumber}</OrderNumber></ShipNotice>`,
    ];
    for (const rawBody of hostile) {
      const res = await c.sim.ship(order.orderId, { rawBody });
      expect(res.status, rawBody).toBe(400);
      expect(res.text).toMatch(/DOCTYPE/);
    }
    await sleep(300);
    expect((await getOrder(c.merchant, order.orderNumber)).shipments).toEqual([]);
    expect(await storedNotices(order.orderId)).toEqual([]);
  });

  it("answers 400 with the parser's reason for malformed XML or another root element", async () => {
    const order = await importedOrder();
    const broken = await c.sim.ship(order.orderId, { rawBody: `<ShipNotice><OrderNumber>${order.orderNumber}</OrderNumber>\n<Carrier>UPS</ShipNotice>` });
    expect(broken.status).toBe(400);
    expect(broken.headers.get('Content-Type')).toMatch(/^text\/plain/);
    expect(broken.text).toMatch(/ShipNotice XML cannot be read/);
    expect(broken.text).toMatch(/line 2/);
    expect(broken.text).toMatch(/Carrier|ShipNotice/);

    const notXml = await c.sim.ship(order.orderId, { rawBody: 'order_number=1&carrier=UPS' });
    expect(notXml.status).toBe(400);
    expect(notXml.text).toMatch(/cannot be read/);

    const otherRoot = await c.sim.ship(order.orderId, { rawBody: '<?xml version="1.0"?><Orders><Order/></Orders>' });
    expect(otherRoot.status).toBe(400);
    expect(otherRoot.text).toMatch(/ShipNotice/);

    const badQuantity = await c.sim.ship(order.orderId, { items: [{ lineItemId: 'L1', quantity: -1 }] });
    expect(badQuantity.status).toBe(400);
    expect(badQuantity.text).toMatch(/Quantity/);

    await sleep(300);
    expect((await getOrder(c.merchant, order.orderNumber)).shipments).toEqual([]);
  });

  it('answers 413 for a body over the size cap', async () => {
    const capped = stack.app({ adminToken: ADMIN, shipstation: { maxNoticeBytes: 2048 } });
    const order = await importedOrder();
    const sim = simulatorFor(c, capped);
    for (const [k, v] of c.sim.store) sim.store.set(k, v);
    const big = await sim.ship(order.orderId, { internalNotes: 'x'.repeat(4000) });
    expect(big.status).toBe(413);
    expect(big.text).toMatch(/2048/);
    const small = await sim.ship(order.orderId);
    expect(small.status, small.text).toBe(200);
  });
});

// ---- scope -----------------------------------------------------------------------------------------

describe("connection scope: a connection reads and ships only its own orders", () => {
  it("merchant A's credentials can neither read nor ship merchant B's orders", async () => {
    const a = await newConnection();
    const b = await newConnection();
    const sharedNumber = nextOrderNumber('SAME');
    const ordersA = [await postOrder(a.merchant, { orderNumber: sharedNumber }), await postOrder(a.merchant)];
    const ordersB = [await postOrder(b.merchant, { orderNumber: sharedNumber }), await postOrder(b.merchant)];

    const pollA = await a.sim.poll();
    const pollB = await b.sim.poll();
    expect(pollA.orders.map((o) => o.OrderID).sort()).toEqual(ordersA.map((o) => o.orderId).sort());
    expect(pollB.orders.map((o) => o.OrderID).sort()).toEqual(ordersB.map((o) => o.orderId).sort());

    // B's order by its OrderID only, and by a number only B has: 404, as for an unknown order.
    const byId = await a.sim.ship(ordersB[1].orderNumber, { bodyOrderId: ordersB[1].orderId, queryOrderNumber: null, bodyOrderNumber: null, items: [{ lineItemId: 'L1', quantity: 1 }] });
    expect(byId.status).toBe(404);
    const byNumber = await a.sim.ship(ordersB[1].orderNumber, { items: [{ lineItemId: 'L1', quantity: 1 }] });
    expect(byNumber.status).toBe(404);
    expect(byNumber.text).toContain(ordersB[1].orderNumber);
    // The number both merchants use: A's order ships, B's does not.
    const shared = await a.sim.ship(ordersA[0].orderId, { tracking: 'SHARED-1' });
    expect(shared.status).toBe(200);
    await untilOrder(a.merchant, sharedNumber, (o) => o.shipments.length === 1);
    await sleep(300);
    for (const o of ordersB) expect((await getOrder(b.merchant, o.orderNumber)).shipments).toEqual([]);
  });

  it("a per-source connection sees and ships only its source's orders", async () => {
    const merchant = await stack.newMerchant('src');
    const shop = await newConnection({ merchant, source: 'shopify' });
    const amzn = await newConnection({ merchant, source: 'amazon' });
    const shopOrder = await postOrder(merchant, { source: 'shopify' });
    const amznOrder = await postOrder(merchant, { source: 'amazon' });
    const ebayOrder = await postOrder(merchant, { source: 'ebay' });
    const { source: _drop, ...noSourcePayload } = orderPayload();
    const noSource = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: noSourcePayload });
    expect(noSource.status).toBe(201);

    const shopPoll = await shop.sim.poll();
    const amznPoll = await amzn.sim.poll();
    expect(numbersOf(shopPoll.orders)).toEqual([shopOrder.orderNumber]);
    expect(shopPoll.orders[0]!.Source).toBe('shopify');
    expect(numbersOf(amznPoll.orders)).toEqual([amznOrder.orderNumber]);

    for (const other of [amznOrder, ebayOrder, noSource.body]) {
      const res = await shop.sim.ship(other.orderNumber, { bodyOrderId: other.orderId, items: [{ lineItemId: 'L1', quantity: 1 }] });
      expect(res.status, other.orderNumber).toBe(404);
    }
    expect((await shop.sim.ship(shopOrder.orderId)).status).toBe(200);
    await untilOrder(merchant, shopOrder.orderNumber, (o) => o.status === 'shipped');
    for (const other of [amznOrder, ebayOrder]) expect((await getOrder(merchant, other.orderNumber)).shipments).toEqual([]);
    // Orders of a source without a connection, or without a source, are served to nobody.
    await sleep(300);
    expect((await getOrder(merchant, ebayOrder.orderNumber)).status).toBe('pending');
  });
});

// ---- request log --------------------------------------------------------------------------------

describe('request log and last-seen times', () => {
  it('logs action, window and page or order number, status, duration and error, and never the password', async () => {
    const c = await newConnection({ simulator: { credentials: 'query' } });
    const order = await postOrder(c.merchant);
    const poll = await c.sim.poll();
    expect(poll.ok).toBe(true);
    const bad = await rawCall(app, c, 'action=export&start_date=02%2f30%2f2026+10%3a00&end_date=03%2f01%2f2026+10%3a00');
    expect(bad.status).toBe(400);
    expect((await c.sim.ship(order.orderId, { tracking: 'LOG-TRACK-1' })).status).toBe(200);
    expect((await c.sim.ship('LOG-UNKNOWN-1', { items: [{ sku: 'X', quantity: 1 }] })).status).toBe(404);
    expect((await c.sim.send('bogus', 'GET', 'action=bogus', 'query', {})).status).toBe(400);

    const log = await connectionLog(c.username);
    const [unknownAction, unknownOrder, shipped, badDate, exported] = log.requests;
    expect(exported).toMatchObject({
      action: 'export',
      status: 200,
      page: 1,
      windowStart: poll.window.start.toISOString().slice(0, 16) + ':00.000Z',
      windowEnd: poll.window.end.toISOString().slice(0, 16) + ':59.999Z',
      error: null,
      detail: expect.objectContaining({ orders: 1, pages: 1 }),
    });
    expect(exported.durationMs).toEqual(expect.any(Number));
    expect(exported.durationMs).toBeGreaterThanOrEqual(0);
    expect(new Date(exported.at).getTime()).toBeGreaterThan(Date.now() - 5 * MINUTE);
    expect(badDate).toMatchObject({ action: 'export', status: 400, error: expect.stringMatching(/day 30 does not exist/) });
    expect(shipped).toMatchObject({ action: 'shipnotify', status: 200, orderNumber: order.orderNumber, error: null });
    expect(JSON.stringify(shipped.detail)).toContain('LOG-TRACK-1');
    expect(unknownOrder).toMatchObject({ action: 'shipnotify', status: 404, orderNumber: 'LOG-UNKNOWN-1', error: expect.stringContaining('LOG-UNKNOWN-1') });
    expect(unknownAction).toMatchObject({ status: 400, error: expect.stringContaining('bogus') });

    // The password travelled in the query string of every call: it is nowhere in the log.
    expect(JSON.stringify(log)).not.toContain(c.password);
    const rows = await stack.database.db.select().from(connectionRequests);
    expect(JSON.stringify(rows)).not.toContain(c.password);
  });

  it("each connection shows its last export and last shipnotify times, which move with ShipStation's calls (to within 5 s)", async () => {
    const c = await newConnection();
    const view = async () => (await call(app, 'GET', `/api/admin/merchants/${c.merchant.id}/connections`, { token: ADMIN })).body.connections[0];
    expect(await view()).toMatchObject({ lastExportAt: null, lastShipnotifyAt: null });

    const order = await postOrder(c.merchant);
    await c.sim.poll();
    const afterExport = await view();
    expect(afterExport.lastExportAt).toEqual(expect.any(String));
    expect(afterExport.lastShipnotifyAt).toBeNull();
    // Calls a few seconds apart do not each rewrite the connection's row (ShipStation's concurrent
    // calls would queue on it); the time moves once it is more than 5 s old.
    await c.sim.poll(new Date(Date.now() + MINUTE));
    expect((await view()).lastExportAt).toBe(afterExport.lastExportAt);
    const tenSecondsEarlier = new Date(Date.parse(afterExport.lastExportAt) - 10_000).toISOString();
    await stack.database.db.update(connections).set({ lastExportAt: tenSecondsEarlier }).where(eq(connections.username, c.username));
    await c.sim.poll(new Date(Date.now() + MINUTE));
    const afterSecond = await view();
    expect(afterSecond.lastExportAt > afterExport.lastExportAt).toBe(true);

    expect((await c.sim.ship(order.orderId)).status).toBe(200);
    const afterNotice = await view();
    expect(afterNotice.lastShipnotifyAt).toEqual(expect.any(String));
    expect(afterNotice.lastExportAt).toBe(afterSecond.lastExportAt);
    // The log's own view of the connection says the same.
    expect((await connectionLog(c.username)).connection).toMatchObject({ lastExportAt: afterNotice.lastExportAt, lastShipnotifyAt: afterNotice.lastShipnotifyAt });
  });

  it('purges log entries older than the configured number of days', async () => {
    const c = await newConnection();
    await c.sim.poll();
    const [row] = await stack.database.db.select().from(connections).where(eq(connections.username, c.username));
    await stack.database.db.insert(connectionRequests).values({
      connectionId: row!.id,
      at: new Date(Date.now() - 40 * 86_400_000).toISOString(),
      action: 'export',
      status: 200,
      durationMs: 3,
    });
    expect((await connectionLog(c.username)).requests).toHaveLength(2);
    await stack.client.workflow.execute('purgeRequestLogWorkflow', { workflowId: `purge-${c.username}`, taskQueue: stack.taskQueue, args: [30] });
    const after = (await connectionLog(c.username)).requests;
    expect(after).toHaveLength(1);
    expect(new Date(after[0].at).getTime()).toBeGreaterThan(Date.now() - 86_400_000);
  });
});

// ---- Temporal unreachable -------------------------------------------------------------------------

describe('Temporal unreachable', () => {
  let deadConnection: Connection;
  let deadApp: TestApp;
  beforeAll(() => {
    deadConnection = Connection.lazy({ address: '127.0.0.1:1' });
    const deadClient = new Client({ connection: deadConnection, namespace: 'default' });
    // Not started: the suite's own relay (live Temporal) sweeps up what the dead process stored.
    const deadOrders = createOrderServices(stack.database.db, deadClient, {
      taskQueue: stack.taskQueue,
      orders: stack.settings,
      requestTimeoutMs: 2000,
      relay: { logger: pino({ level: 'silent' }) },
    });
    deadApp = createApp({
      db: stack.database.db,
      temporal: deadClient,
      orders: deadOrders,
      adminToken: ADMIN,
      maxBodyBytes: 1_048_576,
      secretDigest: stack.secretDigest,
      temporalSettings: { taskQueue: stack.taskQueue, namespace: 'default', uiUrl: 'http://ui.test' },
      shipstation: { ...loadConfig({}).shipstation, publicBaseUrl: 'http://connector.test' },
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await deadConnection?.close().catch(() => {});
  });

  const factsOf = (orderId: string) => stack.database.db.select().from(orderFacts).where(eq(orderFacts.orderId, orderId));

  it('export pages are served without Temporal; the marks are stored with the page and reach the orders later', async () => {
    const c = await newConnection();
    const pending = await postOrder(c.merchant);
    const dead = simulatorFor(c, deadApp);
    const started = performance.now();
    const poll = await dead.poll();
    expect(poll.ok, poll.error ?? '').toBe(true);
    expect(performance.now() - started, 'the page waited on Temporal').toBeLessThan(2000);
    expect(numbersOf(poll.orders)).toEqual([pending.orderNumber]);
    expect((await latestLogEntry(c.username)).status).toBe(200);
    const [mark] = await factsOf(pending.orderId);
    expect(mark).toMatchObject({ kind: 'exported', via: 'export' });

    // A process whose Temporal answers (here the suite's relay, sweeping) forwards the mark.
    await untilOrder(c.merchant, pending.orderNumber, (o) => o.status === 'at_wms');
    expect((await factsOf(pending.orderId)).map((f) => f.state)).toEqual(['delivered']);
  });

  /** An order imported by ShipStation, and a simulator with the same store talking to the dead app. */
  async function importedForDeadApp() {
    const c = await newConnection();
    const order = await postOrder(c.merchant);
    await c.sim.poll();
    await untilOrder(c.merchant, order.orderNumber, (o) => o.status === 'at_wms');
    const dead = simulatorFor(c, deadApp);
    for (const [k, v] of c.sim.store) dead.store.set(k, v);
    return { c, order, dead };
  }

  it('shipnotify answers 200 without Temporal, with the raw notice and its fact stored together; the shipment is recorded once', async () => {
    const { c, order, dead } = await importedForDeadApp();
    const notice = await dead.ship(order.orderId, { tracking: '1ZDEAD0000000001' });
    expect(notice.status, notice.text).toBe(200);
    expect((await latestLogEntry(c.username)).status).toBe(200);
    expect(await storedNotices(order.orderId)).toHaveLength(1);
    expect((await factsOf(order.orderId)).filter((f) => f.kind === 'shipmentReported')).toHaveLength(1);

    // ShipStation repeats itself: stored again, recorded once.
    expect((await dead.resend(notice)).status).toBe(200);
    const shipped = await untilOrder(c.merchant, order.orderNumber, (o) => o.status === 'shipped' && o.pendingFacts.length === 0);
    expect(shipped.shipments).toHaveLength(1);
    expect(shipped.timeline.find((t: any) => t.event === 'shipment recorded')?.detail).toMatch(/shipnotify received \d{4}-/);
    const notices = await storedNotices(order.orderId);
    expect(notices).toHaveLength(1);
    expect(notices[0]!.timesReceived).toBe(2);
  });

  it('a request to an order whose facts cannot be delivered answers 503 and changes nothing', async () => {
    const { c, order, dead } = await importedForDeadApp();
    await stack.relay.stop(); // nothing forwards the notice meanwhile
    try {
      expect((await dead.ship(order.orderId, { tracking: '1ZDEAD0000000003' })).status).toBe(200);
      const cancel = await deadApp.request(`/api/ops/orders/${c.merchant.id}/${order.orderNumber}/cancel`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ reason: 'too late' }),
      });
      expect(cancel.status).toBe(503);
      expect(await cancel.json()).toMatchObject({ error: 'facts_pending' });
      const view = await getOrder(c.merchant, order.orderNumber);
      expect(view.status).toBe('at_wms');
      expect(view.pendingFacts).toHaveLength(1);
      expect(view.pendingFacts[0]).toMatchObject({ kind: 'shipmentReported', state: 'pending' });
    } finally {
      stack.relay.start();
    }
    // With Temporal: the shipment goes first, so the cancel is refused for the right reason.
    const cancel = await app.request(`/api/ops/orders/${c.merchant.id}/${order.orderNumber}/cancel`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ reason: 'too late' }),
    });
    expect(cancel.status).toBe(409);
    expect(((await cancel.json()) as { message: string }).message).toMatch(/shipped/);
  });
});

// ---- ops CLI --------------------------------------------------------------------------------------

describe('ops CLI', () => {
  let server: Awaited<ReturnType<typeof startApiServer>> | null = null;
  let port = 0;
  const saved = { API_URL: process.env.API_URL, ADMIN_TOKEN: process.env.ADMIN_TOKEN };

  beforeAll(async () => {
    port = await freePort();
    const config = loadConfig({ PORT: String(port), HOST: '127.0.0.1', ADMIN_TOKEN: ADMIN, TEMPORAL_TASK_QUEUE: stack.taskQueue, LOG_LEVEL: 'silent' });
    server = await startApiServer({ config, db: stack.database.db, temporal: stack.client, logger: pino({ level: 'silent' }), secretDigest: stack.secretDigest });
    process.env.API_URL = server.url;
    process.env.ADMIN_TOKEN = ADMIN;
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (server) await server.stop(1000);
  });

  const ops = runOpsCaptured;

  it('connections create prints the URL, username, password and the five status strings; test reports what ShipStation would see; log shows the calls', async () => {
    const merchant = await stack.newMerchant('ops');
    const created = JSON.parse(await ops('connections', 'create', '--merchant', merchant.id, '--json'));
    expect(created).toMatchObject({
      url: `http://localhost:${port}/shipstation`,
      username: expect.any(String),
      password: expect.any(String),
      merchantId: merchant.id,
      statusMapping: DOCUMENTED_STATUS_FIELDS,
    });

    // The human form, for a per-source connection of another merchant.
    const other = await stack.newMerchant('ops');
    const sheet = await ops('connections', 'create', '--merchant', other.id, '--source', 'shopify');
    for (const text of ['/shipstation', 'await_payment', 'new,at_wms', 'shipped,confirmed', 'canceled', 'on_hold', 'shopify']) expect(sheet).toContain(text);
    expect(sheet).toMatch(/Password\s+\S{16,}/);

    await postOrder(merchant);
    await postOrder(merchant, { paid: false });
    const report = await ops('connections', 'test', created.username, '--password', created.password);
    expect(report).toMatch(/-> 200 text\/xml; charset=utf-8/);
    expect(report).toMatch(/import 2 order\(s\) on page 1 of 1/);
    expect(report).toMatch(/new: 1/);
    expect(report).toMatch(/await_payment: 1/);
    expect(report).toMatch(/Test Connection would succeed/);

    const wrong = await ops('connections', 'test', created.username, '--password', 'not-the-password');
    expect(wrong).toMatch(/-> 401/);
    expect(wrong).toMatch(/ShipStation would show the merchant: .*wrong password/);
    expect(wrong).not.toMatch(/would succeed/);

    const log = await ops('connections', 'log', created.username);
    expect(log).toContain(created.username);
    // The connection test is a dry run: logged as such, and it does not count as ShipStation's last export.
    expect(log).toMatch(/export-dry-run\s+200/);
    expect(log).not.toContain(created.password);
    const logJson = JSON.parse(await ops('connections', 'log', created.username, '--json'));
    expect(logJson.requests[0]).toMatchObject({ action: 'export-dry-run', status: 200, page: 1 });
    expect(logJson.connection.lastExportAt).toBeNull();

    const list = await ops('connections', 'list', '--merchant', merchant.id);
    expect(list).toContain(created.username);
    expect(list).toMatch(/^username\s+scope\s+state\s+lastExportAt\s+lastShipnotifyAt$/m);
    expect(list).toContain('whole account');
  });

  it('connections create refuses an overlapping scope with the reason', async () => {
    const merchant = await stack.newMerchant('ops');
    await ops('connections', 'create', '--merchant', merchant.id, '--json');
    await expect(runOps(['connections', 'create', '--merchant', merchant.id, '--source', 'x'])).rejects.toThrow(/409.*overlap/);
  });
});

// Keep the helpers honest: the simulator's own date encoding is ShipStation's.
describe('simulator', () => {
  it("formats and encodes dates as ShipStation does, and wraps text in split CDATA", () => {
    expect(shipStationDate(new Date('2012-01-23T17:28:59Z'))).toBe('01/23/2012 17:28');
    expect(encodeShipStationDate('01/23/2012 17:28')).toBe('01%2f23%2f2012+17%3a28');
    expect(cdata('a]]>b')).toBe('<![CDATA[a]]]]><![CDATA[>b]]>');
    const sim = new ShipStationSimulator({ fetch: () => new Response(''), url: 'http://x/shipstation', username: 'u', password: 'p' });
    expect(sim.shipStationStatus('new')).toBe('Awaiting Shipment');
    expect(sim.shipStationStatus('pending')).toBeNull();
    expect(sim.shipStationStatus('Canceled')).toBeNull();
  });
});

