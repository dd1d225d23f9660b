/**
 * The ops console in a real browser: Debian's chromium driven by playwright-core against the real
 * stack (the shared Temporal dev server, a worker, a real database) served over HTTP on 127.0.0.1.
 * Everything is found by its accessible name, as a screen reader would (issue 15 fixes the names).
 * Without chromium these tests fail in CI and are skipped elsewhere (test/support/browser.ts).
 */
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OrderPayloadSchema, normalizeOrderPayload, type OrderPayload } from '../api/order-payload';
import { createHashOf, orderIdFor } from '../api/order-view';
import { createConnection, listConnections } from '../db/connections';
import { findOrderByNumber, stateFromRecord } from '../db/orders';
import type { DeadlineOverrides } from '../domain/lifecycle';
import { canonicalJson, shipStationStatusFields, STUCK_REASON_TEXT, type OrderState } from '../domain/order';
import { browserAvailability, launchBrowser, serveApp, serveHtml, type ServedApp } from './support/browser';
import { eventually, orderPayload } from './support/orders';
import { startTestStack, type TestStack } from './support/stack';

const ADMIN = 'console-admin-token-0123456789';
const availability = browserAvailability();

/** How long a browser step may wait for a page or an element (the stack shares two cores with other suites). */
const STEP_MS = 20_000;

describe.skipIf(!availability.available)('ops console in a real browser', () => {
  let stack: TestStack;
  let served: ServedApp<ReturnType<TestStack['app']>>;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    // Long deadlines by default; each order that should get stuck gets a short one of its own.
    stack = await startTestStack({
      settings: { deadlines: { awaitPaymentMs: 600_000, pendingExportMs: 600_000, atWmsShipmentMs: 600_000, confirmationMs: 600_000 }, terminalGraceMs: 600_000 },
    });
    served = await serveApp((origin) => stack.app({ adminToken: ADMIN, shipstation: { publicBaseUrl: origin } }));
    browser = await launchBrowser(availability.available ? availability.executablePath : null);
  });
  afterAll(async () => {
    await browser?.close();
    await served?.close();
    await stack?.close();
  });
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  // ---- helpers ----------------------------------------------------------------------------------

  /** A fresh browser profile (no cookies) on the console's origin. */
  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ baseURL: served.origin, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(STEP_MS);
    context.setDefaultNavigationTimeout(STEP_MS);
    contexts.push(context);
    return context.newPage();
  }

  async function signIn(page: Page, name?: string, next = '/ops'): Promise<void> {
    await page.goto(`/ops/sign-in?next=${encodeURIComponent(next)}`);
    await page.getByLabel('Admin token').fill(ADMIN);
    if (name) await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  /** A select gets the option, anything else is typed into. */
  async function setField(field: Locator, value: string): Promise<void> {
    const tag = await field.evaluate((el) => el.tagName.toLowerCase());
    if (tag === 'select') await field.selectOption(value);
    else await field.fill(value);
  }

  const status = (page: Page) => page.getByRole('status');
  const alert = (page: Page) => page.getByRole('alert');
  const textOf = async (locator: Locator) => ((await locator.first().textContent()) ?? '').replace(/\s+/g, ' ').trim();
  const bodyText = (page: Page) => textOf(page.locator('main'));

  /** An order created the way POST /api/orders does, with deadlines of its own (e.g. pendingExport '1s' to get it stuck). */
  async function newOrder(merchantId: string, deadlines: DeadlineOverrides = {}, payload = orderPayload()) {
    const content = normalizeOrderPayload(OrderPayloadSchema.parse(payload) as OrderPayload);
    const ref = { merchantId, orderNumber: content.orderNumber, orderId: orderIdFor(merchantId, content.orderNumber) };
    await stack.gateway.create(ref, content, createHashOf(canonicalJson(content)), deadlines);
    return ref;
  }

  const state = async (merchantId: string, orderNumber: string): Promise<OrderState | null> => {
    const record = await findOrderByNumber(stack.database.db, merchantId, orderNumber);
    return record ? stateFromRecord(record) : null;
  };
  async function until(merchantId: string, orderNumber: string, check: (s: OrderState) => boolean, what: string): Promise<OrderState> {
    const last = await eventually(() => state(merchantId, orderNumber), (s) => s !== null && check(s), 30_000);
    if (!last || !check(last)) throw new Error(`order ${orderNumber} never became ${what}; last: ${JSON.stringify({ status: last?.status, stuck: last?.stuck })}`);
    return last;
  }
  /** A paid order stuck as not_exported (its export deadline is one second). */
  async function stuckOrder(merchantId: string) {
    const ref = await newOrder(merchantId, { pendingExport: '1s' });
    await until(merchantId, ref.orderNumber, (s) => s.stuck?.reason === 'not_exported', 'stuck (not_exported)');
    return ref;
  }
  const orderUrl = (merchantId: string, orderNumber: string) => `/ops/orders/${encodeURIComponent(merchantId)}/${encodeURIComponent(orderNumber)}`;

  /** The ops JSON API, as another person (or the CLI) would use it while a page is open. */
  async function opsApi(method: string, path: string, body?: unknown) {
    const res = await fetch(`${served.origin}${path}`, {
      method,
      headers: { Authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  // ---- sign in and out --------------------------------------------------------------------------

  it('signs in with the admin token and a name, shows the navigation, and signs out', async () => {
    const page = await newPage();
    await signIn(page, 'Ana');
    expect(new URL(page.url()).pathname).toBe('/ops');
    for (const name of ['Overview', 'Orders', 'Connections', 'Merchants']) {
      expect(await page.getByRole('navigation').getByRole('link', { name, exact: true }).count(), name).toBe(1);
    }
    expect(await textOf(page.locator('header'))).toContain('Signed in as Ana');

    // The session cookie is HttpOnly and SameSite=Strict, and not readable from the page.
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'ops_session', httpOnly: true, sameSite: 'Strict', secure: false });
    expect(await page.evaluate('document.cookie')).toBe('');

    await page.getByRole('navigation').getByRole('link', { name: 'Orders', exact: true }).click();
    await page.waitForURL(/\/ops\/orders/);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/ops\/sign-in/);
    expect(await textOf(status(page))).toContain('Signed out');
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    // The old session no longer opens a page.
    await page.goto('/ops/orders');
    expect(new URL(page.url()).pathname).toBe('/ops/sign-in');
  });

  it('refuses a wrong token with an alert and stays signed out', async () => {
    const page = await newPage();
    await page.goto('/ops/sign-in');
    await page.getByLabel('Admin token').fill('not-the-admin-token-at-all');
    const answer = page.waitForResponse((r) => r.url().endsWith('/ops/sign-in') && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect((await answer).status()).toBe(401);
    expect(await textOf(alert(page))).toContain('The admin token is wrong');
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    expect(await page.context().cookies()).toEqual([]);
    await page.goto('/ops');
    expect(new URL(page.url()).pathname).toBe('/ops/sign-in');
  });

  it('sends an unauthenticated visitor to sign in, and back to the page asked for afterwards', async () => {
    const page = await newPage();
    await page.goto('/ops/orders?stuck=true');
    expect(new URL(page.url()).pathname).toBe('/ops/sign-in');
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/ops\/orders\?stuck=true$/);
    await page.getByRole('button', { name: 'Filter' }).waitFor();
  });

  // ---- security ---------------------------------------------------------------------------------

  it('refuses with 403 a form posted to the console from a page of another origin, and changes nothing', async () => {
    const page = await newPage();
    await signIn(page, 'Ana');
    // Another origin on the same host: the session cookie goes along (same site), so only the
    // console's origin check stands between this page and the action.
    const evil = await serveHtml({
      '/': `<!doctype html><html><body>
        <form id="f" method="post" action="${served.origin}/ops/sign-out"><input name="_form" value="guessed"></form>
        <script>document.getElementById('f').submit()</script></body></html>`,
    });
    try {
      const answer = page.waitForResponse((r) => r.url() === `${served.origin}/ops/sign-out`);
      await page.goto(`${evil.origin}/`);
      const response = await answer;
      expect(response.status()).toBe(403);
      expect(response.request().headers().origin).toBe(evil.origin);
      await alert(page).waitFor();
      expect(await textOf(alert(page))).toContain(`not from the console at ${served.origin}`);
    } finally {
      await evil.close();
    }
    // Still signed in: the sign-out never happened.
    await page.goto('/ops');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });

  it('refuses with 403 a same-origin post without the form token', async () => {
    const page = await newPage();
    await signIn(page);
    const res = await page.request.post('/ops/sign-out', { headers: { Origin: served.origin }, form: { nothing: 'here' }, maxRedirects: 0 });
    expect(res.status()).toBe(403);
    expect(await res.text()).toContain('form token');
  });

  it('answers every page with a CSP without inline script, no-store, and 404 for an unknown page', async () => {
    const page = await newPage();
    await signIn(page);
    const res = await page.goto('/ops/no-such-page');
    expect(res!.status()).toBe(404);
    const csp = res!.headers()['content-security-policy'] ?? '';
    expect(csp).toMatch(/script-src[^;]*'self'/);
    expect(csp).not.toContain("'unsafe-inline'");
    expect(res!.headers()['cache-control']).toContain('no-store');
    expect(await textOf(alert(page))).toContain('/ops/no-such-page');
  });

  // ---- orders -----------------------------------------------------------------------------------

  it('filters the orders: stuck only and a stuck reason narrow the list, and each number links to its order', async () => {
    const m = await stack.newMerchant('filt');
    const notExported = await stuckOrder(m.id);
    const unpaid = await newOrder(m.id, { awaitPayment: '1s' }, orderPayload({ paid: false }));
    const waiting = await newOrder(m.id, {}, orderPayload({ paid: false }));
    await until(m.id, unpaid.orderNumber, (s) => s.stuck?.reason === 'unpaid_too_long', 'stuck (unpaid_too_long)');

    const page = await newPage();
    await signIn(page, 'Ana', `/ops/orders?merchant=${m.id}`);
    const table = page.getByRole('table');
    const listed = async () => ((await table.textContent()) ?? '').replace(/\s+/g, ' ');
    let text = await listed();
    for (const o of [notExported, unpaid, waiting]) expect(text).toContain(o.orderNumber);

    await page.getByLabel('Stuck only').check();
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/stuck=/);
    text = await listed();
    expect(text).toContain(notExported.orderNumber);
    expect(text).toContain(unpaid.orderNumber);
    expect(text).not.toContain(waiting.orderNumber);

    await setField(page.getByLabel('Stuck reason'), 'unpaid_too_long');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/reason=unpaid_too_long/);
    text = await listed();
    expect(text).toContain(unpaid.orderNumber);
    expect(text).not.toContain(notExported.orderNumber);
    expect(text).not.toContain(waiting.orderNumber);
    // The filter keeps what was asked for.
    expect(await page.getByLabel('Stuck only').isChecked()).toBe(true);

    await page.getByRole('link', { name: unpaid.orderNumber, exact: true }).click();
    await page.waitForURL((url) => url.pathname === orderUrl(m.id, unpaid.orderNumber));
    expect(await bodyText(page)).toContain('unpaid_too_long');
  });

  it('pages the orders list by keyset with "Next page"', async () => {
    const m = await stack.newMerchant('page');
    const numbers: string[] = [];
    for (let i = 0; i < 3; i++) numbers.push((await newOrder(m.id)).orderNumber);
    const page = await newPage();
    await signIn(page, 'Ana', `/ops/orders?merchant=${m.id}&limit=2`);
    const rowNumbers = async () => {
      const links = page.getByRole('table').getByRole('link');
      return (await links.allTextContents()).map((t) => t.trim()).filter((t) => numbers.includes(t));
    };
    const first = await rowNumbers();
    expect(first).toHaveLength(2);
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.waitForURL((url) => url.search !== `?merchant=${m.id}&limit=2`);
    const second = await rowNumbers();
    expect(second).toHaveLength(1);
    expect([...first, ...second].sort()).toEqual([...numbers].sort());
    expect(await page.getByRole('link', { name: 'Next page' }).count()).toBe(0);
  });

  it('links each stuck reason on the overview to the filtered list', async () => {
    const m = await stack.newMerchant('over');
    const ref = await stuckOrder(m.id);
    const page = await newPage();
    await signIn(page, 'Ana');
    // The stuck table has a row per merchant and reason; this merchant's links to its orders.
    const link = page.getByRole('row').filter({ hasText: m.id }).getByRole('link', { name: STUCK_REASON_TEXT.not_exported });
    const href = (await link.getAttribute('href'))!;
    expect(href).toMatch(/^\/ops\/orders\?(.*&)?stuck=true/);
    await link.click();
    await page.waitForURL(/reason=not_exported/);
    expect(((await page.getByRole('table').textContent()) ?? '')).toContain(ref.orderNumber);
  });

  it('retries a stuck order from its page; the timeline says who asked', async () => {
    const m = await stack.newMerchant('retry');
    const ref = await stuckOrder(m.id);
    const page = await newPage();
    await signIn(page, 'Ana', orderUrl(m.id, ref.orderNumber));
    expect(await bodyText(page)).toContain('not_exported');
    // Release is not allowed on an order that is not on hold, so it is not offered.
    expect(await page.getByRole('button', { name: 'Release', exact: true }).count()).toBe(0);

    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    await status(page).waitFor();
    expect(await textOf(status(page))).toMatch(/retr/i);
    const after = await until(m.id, ref.orderNumber, (s) => s.timeline.some((e) => e.event === 'retried'), 'retried');
    expect(after.timeline.find((e) => e.event === 'retried')).toBeTruthy();
    expect(await bodyText(page)).toContain('from the console by Ana');
  });

  it('holds a stuck order with a reason, releases it, and cancels it with a reason', async () => {
    const m = await stack.newMerchant('hold');
    const ref = await stuckOrder(m.id);
    const page = await newPage();
    await signIn(page, 'Ana', orderUrl(m.id, ref.orderNumber));

    const hold = page.getByRole('form', { name: 'Hold order' });
    await hold.getByLabel('Reason').fill('address looks wrong');
    await hold.getByRole('button', { name: 'Hold', exact: true }).click();
    await status(page).waitFor();
    await until(m.id, ref.orderNumber, (s) => s.status === 'on_hold', 'on hold');
    await page.reload();
    expect(await bodyText(page)).toContain('address looks wrong');
    expect(await bodyText(page)).toMatch(/held from the console by Ana|from the console by Ana/);
    expect(await page.getByRole('form', { name: 'Hold order' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Release', exact: true }).click();
    await status(page).waitFor();
    await until(m.id, ref.orderNumber, (s) => s.status === 'pending', 'released');
    await page.reload();
    expect(await page.getByRole('button', { name: 'Release', exact: true }).count()).toBe(0);

    const cancel = page.getByRole('form', { name: 'Cancel order' });
    await cancel.getByLabel('Reason').fill('customer changed their mind');
    await cancel.getByRole('button', { name: 'Cancel', exact: true }).click();
    await status(page).waitFor();
    const canceled = await until(m.id, ref.orderNumber, (s) => s.status === 'canceled', 'canceled');
    expect(canceled.timeline.filter((e) => /from the console by Ana/.test(JSON.stringify(e))).length).toBeGreaterThanOrEqual(3);
    await page.reload();
    const text = await bodyText(page);
    expect(text).toContain('customer changed their mind');
    expect(text).toContain('from the console by Ana');
    // Nothing is left to do to a canceled order.
    for (const name of ['Retry', 'Hold', 'Release', 'Cancel']) expect(await page.getByRole('button', { name, exact: true }).count(), name).toBe(0);
  });

  it('resends an order that is at ShipStation', async () => {
    const m = await stack.newMerchant('resend');
    const ref = await newOrder(m.id);
    await stack.sendFact(ref, { kind: 'exported', exportKey: 'page-1' });
    await until(m.id, ref.orderNumber, (s) => s.status === 'at_wms', 'at_wms');
    const page = await newPage();
    await signIn(page, 'Ana', orderUrl(m.id, ref.orderNumber));
    // Not stuck: nothing to retry.
    expect(await page.getByRole('button', { name: 'Retry', exact: true }).count()).toBe(0);
    await page.getByRole('button', { name: 'Resend', exact: true }).click();
    await status(page).waitFor();
    await until(m.id, ref.orderNumber, (s) => s.timeline.some((e) => e.event === 'resent'), 'resent');
    await page.reload();
    expect(await bodyText(page)).toContain('from the console by Ana');
  });

  it("shows the rule's refusal as an alert when the order changed since the page was loaded", async () => {
    const m = await stack.newMerchant('stale');
    const ref = await stuckOrder(m.id);
    const page = await newPage();
    await signIn(page, 'Ana', orderUrl(m.id, ref.orderNumber));
    await page.getByRole('button', { name: 'Retry', exact: true }).waitFor();

    // Meanwhile someone cancels it through the ops API.
    const canceled = await opsApi('POST', `/api/ops/orders/${m.id}/${ref.orderNumber}/cancel`, { reason: 'duplicate' });
    expect(canceled.status).toBe(200);

    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    await alert(page).waitFor();
    expect(await textOf(alert(page))).toMatch(/^Refused: .*not stuck/);
    expect((await state(m.id, ref.orderNumber))!.status).toBe('canceled');
  });

  // ---- bulk retry -------------------------------------------------------------------------------

  it('bulk retry counts the matching orders first, then retries them and reports', async () => {
    const m = await stack.newMerchant('bulk');
    const refs = [await newOrder(m.id, { pendingExport: '1s' }), await newOrder(m.id, { pendingExport: '1s' }), await newOrder(m.id, { pendingExport: '1s' })];
    const stuck = [];
    for (const ref of refs) stuck.push(await until(m.id, ref.orderNumber, (s) => s.stuck?.reason === 'not_exported', 'stuck'));
    // "Stuck for 1s" counts only orders stuck for a whole second: on a fast machine the browser gets
    // to the count sooner than that after the last one got stuck.
    const lastStuck = Math.max(...stuck.map((s) => Date.parse(s.stuck!.since)));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastStuck + 1_500 - Date.now())));

    const page = await newPage();
    await signIn(page, 'Ana', '/ops/bulk-retry');
    await setField(page.getByLabel('Merchant'), m.id);
    await setField(page.getByLabel('Stuck reason'), 'not_exported');
    await page.getByLabel('Stuck for').fill('1s');
    await page.getByRole('button', { name: 'Count matching' }).click();
    await page.getByText('3 orders match').waitFor();

    await page.getByRole('button', { name: 'Retry matching orders' }).click();
    await page.getByText(/Retried 3/).waitFor();
    for (const ref of refs) {
      const s = await until(m.id, ref.orderNumber, (x) => x.timeline.some((e) => e.event === 'retried'), 'retried');
      expect(JSON.stringify(s.timeline.find((e) => e.event === 'retried'))).toContain('Ana');
    }
  });

  // ---- connections ------------------------------------------------------------------------------

  it('answers a new connection with its setup sheet', async () => {
    const m = await stack.newMerchant('conn');
    const page = await newPage();
    await signIn(page, 'Ana', '/ops/connections');
    const form = page.getByRole('form', { name: 'New connection' });
    await setField(form.getByLabel('Merchant'), m.id);
    await form.getByLabel('Order source').fill('shopify');
    await form.getByRole('button', { name: 'New connection' }).click();
    const sheet = page.getByRole('region', { name: 'ShipStation setup sheet' });
    await sheet.waitFor();
    expect(await textOf(status(page))).toBeTruthy();
    const text = await textOf(sheet);
    // ShipStation's Custom Store form, field by field, each value ready to copy.
    for (const label of ['URL to custom XML page', 'Username', 'Password', 'Unpaid Status', 'Paid Status', 'Shipped Status', 'Cancelled Status', 'On-Hold Status']) {
      expect(text, label).toContain(label);
    }
    expect(text).toContain(`${served.origin}/shipstation`);
    expect(text).toMatch(/ssp_[A-Za-z0-9_-]{20,}/);
    for (const value of Object.values(shipStationStatusFields())) expect(text).toContain(value);
    // The connection exists, for this merchant and source.
    const [created] = await listConnections(stack.database.db, m.id);
    expect(created).toMatchObject({ merchantId: m.id, source: 'shopify' });
    expect(text).toContain(created!.username);
  });

  it('tests a connection: shows what ShipStation would see', async () => {
    const m = await stack.newMerchant('dry');
    const { connection } = await createConnection(stack.database.db, stack.secretDigest, m.id, null);
    const ref = await newOrder(m.id);
    const page = await newPage();
    await signIn(page, 'Ana', `/ops/connections/${encodeURIComponent(connection.username)}`);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await status(page).waitFor();
    expect(await textOf(status(page))).toContain('Test connection would succeed');
    const text = await bodyText(page);
    expect(text).toMatch(/Orders\s*1 on page 1 of 1/);
    expect(text).toContain('<Orders');
    expect(text).toMatch(new RegExp(`<OrderNumber>(<!\\[CDATA\\[)?${ref.orderNumber}`));
    // A dry run: the order was not marked exported, and the request log says who tested it.
    expect((await state(m.id, ref.orderNumber))!.status).toBe('pending');
    await page.getByRole('link', { name: `Back to ${connection.username}` }).click();
    const log = page.getByRole('region', { name: 'Request log' });
    await log.waitFor();
    expect(await textOf(log)).toContain('export-dry-run');
  });
});
