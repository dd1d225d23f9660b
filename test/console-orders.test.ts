/**
 * Ops console handlers over app.request against a real stack: sign-in and sessions, the checks every
 * form post passes, the overview, the orders list and its filters, one order's actions (and who asked,
 * on its timeline), bulk retry. The same flows in a real browser: test/console.browser.test.ts.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../db/connections';
import { listFacts, recordFacts } from '../db/order-facts';
import { createOrder, eventually, readState } from './support/orders';
import { CONSOLE_ORIGIN, pageText, roleText, signIn, type ConsoleClient } from './support/console-client';
import { startTestStack, type TestStack } from './support/stack';

const ADMIN = 'console-admin-token-0123456789';

describe('ops console: orders', () => {
  let stack: TestStack;
  let app: ReturnType<TestStack['app']>;
  let ana: ConsoleClient;
  beforeAll(async () => {
    // Paid orders get stuck (not_exported) a second after they are created.
    stack = await startTestStack({ settings: { deadlines: { awaitPaymentMs: 60_000, pendingExportMs: 1000, atWmsShipmentMs: 60_000, confirmationMs: 60_000 }, terminalGraceMs: 60_000 } });
    app = stack.app({ adminToken: ADMIN, authThrottle: { maxFailures: 3, windowMs: 60_000 } });
    ana = await signIn(app, ADMIN, 'Ana');
  });
  afterAll(() => stack?.close());

  const stuckOrder = async (merchantId: string) => {
    const order = await createOrder(stack, merchantId);
    await eventually(() => readState(stack, merchantId, order.ref.orderNumber), (s) => s.stuck !== null);
    return order.ref;
  };
  const orderPage = (ref: { merchantId: string; orderNumber: string }) => `/ops/orders/${ref.merchantId}/${encodeURIComponent(ref.orderNumber)}`;

  it('sends a visitor without a session to sign in, and back to the page asked for afterwards', async () => {
    const res = await app.request('/ops/orders?stuck=true');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ops/sign-in?next=%2Fops%2Forders%3Fstuck%3Dtrue');
    const signedIn = await app.request('/ops/sign-in', { method: 'POST', body: new URLSearchParams({ token: ADMIN, next: '/ops/orders?stuck=true' }), headers: { Origin: CONSOLE_ORIGIN } });
    expect(signedIn.headers.get('location')).toBe('/ops/orders?stuck=true');
    // Never to another site.
    const offsite = await app.request('/ops/sign-in', { method: 'POST', body: new URLSearchParams({ token: ADMIN, next: '//evil.test/x' }), headers: { Origin: CONSOLE_ORIGIN } });
    expect(offsite.headers.get('location')).toBe('/ops');
  });

  it('signs in with the admin token into an HttpOnly, SameSite=Strict session cookie, on pages with a strict CSP and no-store', async () => {
    const res = await app.request('/ops/sign-in', { method: 'POST', body: new URLSearchParams({ token: ADMIN, name: 'Bo' }), headers: { Origin: CONSOLE_ORIGIN } });
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^ops_session=[\w-]{40,}; Max-Age=28800; Path=\/ops; HttpOnly; SameSite=Strict$/);
    const page = await app.request('/ops', { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await page.text()).not.toMatch(/<script>|<script [^>]*>[^<]/);
  });

  it('refuses a wrong token with a plain message, and past the limit with 429 (the admin API\'s counters)', async () => {
    const throttled = stack.app({ adminToken: ADMIN, authThrottle: { maxFailures: 2, windowMs: 60_000 }, trustProxyHops: 1 });
    const attempt = () =>
      throttled.request('/ops/sign-in', { method: 'POST', body: new URLSearchParams({ token: 'wrong-token-wrong-token' }), headers: { Origin: CONSOLE_ORIGIN, 'X-Forwarded-For': '203.0.113.77' } });
    const first = await attempt();
    expect(first.status).toBe(401);
    expect(first.headers.get('set-cookie')).toBeNull();
    expect(roleText(await first.text(), 'alert')).toBe('The admin token is wrong.');
    await attempt();
    const third = await attempt();
    expect(third.status).toBe(429);
    expect(roleText(await third.text(), 'alert')).toMatch(/^Too many failed sign-ins from this address; try again in \d+ s\.$/);
  });

  it('sign out and expiry end the session on the server: the old cookie goes back to sign in', async () => {
    const bo = await signIn(app, ADMIN, 'Bo');
    expect((await bo.post('/ops/sign-out')).location).toBe('/ops/sign-in?out=1');
    const after = await bo.get('/ops/orders');
    expect(after.status).toBe(303);
    expect(after.location).toMatch(/^\/ops\/sign-in\?ended=1/);

    const cy = await signIn(app, ADMIN, 'Cy');
    await stack.database.db.execute(sql`update console_sessions set expires_at = now() - interval '1 second' where name = 'Cy'`);
    expect((await cy.get('/ops')).location).toBe('/ops/sign-in?ended=1');
  });

  it('refuses a post from another origin, or without the form token, with 403, and changes nothing', async () => {
    const m = await stack.newMerchant('csrf');
    const ref = await stuckOrder(m.id);
    const crossSite = await ana.post(`${orderPage(ref)}/retry`, {}, { origin: 'https://evil.test' });
    expect(crossSite.status).toBe(403);
    expect(roleText(crossSite.html, 'alert')).toMatch(/sent from https:\/\/evil\.test, not from the console at http:\/\/connector\.test/);
    const noToken = await ana.post(`${orderPage(ref)}/retry`, {}, { formToken: null });
    expect(noToken.status).toBe(403);
    const otherSessionsToken = await ana.post(`${orderPage(ref)}/retry`, {}, { formToken: 'not-this-sessions-token' });
    expect(otherSessionsToken.status).toBe(403);
    expect((await readState(stack, m.id, ref.orderNumber)).stuck?.reason).toBe('not_exported');
  });

  it('overview: stuck orders by reason link to the filtered list; orders by status per merchant; a connection never polled is flagged', async () => {
    const m = await stack.newMerchant('overview');
    await stuckOrder(m.id);
    await createConnection(stack.database.db, stack.secretDigest, m.id, null);
    const text = pageText((await ana.get('/ops')).html);
    expect((await ana.get('/ops')).html).toContain(`href="/ops/orders?merchant=${m.id}&amp;stuck=true&amp;reason=not_exported"`);
    expect(text).toContain('paid but not picked up by ShipStation before the export deadline');
    expect(text).toContain('ShipStation has never polled');
  });

  it('orders list: filters by merchant, stuck reason, order number and tracking number, and pages by keyset', async () => {
    const m = await stack.newMerchant('list');
    const refs = [await stuckOrder(m.id), await stuckOrder(m.id), await stuckOrder(m.id)];
    const html = (await ana.get(`/ops/orders?merchant=${m.id}&stuck=true&reason=not_exported`)).html;
    for (const ref of refs) expect(html).toContain(`href="${orderPage(ref)}"`);
    expect((await ana.get(`/ops/orders?merchant=${m.id}&reason=no_shipment`)).html).toContain('No order matches.');
    const one = (await ana.get(`/ops/orders?orderNumber=${encodeURIComponent(refs[1]!.orderNumber)}`)).html;
    expect(one).toContain(refs[1]!.orderNumber);
    expect(one).not.toContain(refs[0]!.orderNumber);

    await stack.sendFact({ orderId: refs[2]!.orderId }, { kind: 'shipmentReported', report: { shipmentKey: 'k1', carrier: 'UPS', trackingNumber: `1Z${m.id}`, reportedVia: 'test' } });
    await eventually(() => readState(stack, m.id, refs[2]!.orderNumber), (s) => s.shipments.length === 1);
    const tracked = (await ana.get(`/ops/orders?tracking=1Z${m.id}`)).html;
    expect(tracked).toContain(refs[2]!.orderNumber);
    expect(tracked).not.toContain(refs[0]!.orderNumber);

    // Keyset paging (oldest first): two per page here; a bad cursor starts from the first page.
    const first = (await ana.get(`/ops/orders?merchant=${m.id}&limit=2`)).html;
    expect(first).toContain(refs[1]!.orderNumber);
    expect(first).not.toContain(refs[2]!.orderNumber);
    const next = /<a href="([^"]+)">Next page<\/a>/.exec(first)![1]!.replace(/&amp;/g, '&');
    const second = (await ana.get(next)).html;
    expect(second).toContain(refs[2]!.orderNumber);
    expect(second).not.toContain(refs[0]!.orderNumber);
    expect(second).not.toContain('Next page');
    expect((await ana.get(`/ops/orders?merchant=${m.id}&after=not-a-cursor`)).html).toContain(refs[0]!.orderNumber);
  });

  it('order page: shows why it is stuck and only the actions its rules allow; Retry says who asked on the timeline; a stale Retry is refused with the rule\'s reason', async () => {
    const m = await stack.newMerchant('page');
    const ref = await stuckOrder(m.id);
    const page = await ana.get(orderPage(ref));
    const text = pageText(page.html);
    expect(text).toContain('paid but not picked up by ShipStation before the export deadline');
    expect(page.html).toContain('href="http://temporal-ui.test/namespaces/default/workflows/');
    const buttons = [...page.html.matchAll(/<button type="submit"[^>]*>([^<]+)<\/button>/g)].map((b) => b[1]);
    expect(buttons).toEqual(expect.arrayContaining(['Retry', 'Resend', 'Hold', 'Cancel']));
    expect(buttons).not.toContain('Release');

    const retried = await ana.outcome(await ana.post(`${orderPage(ref)}/retry`));
    expect(retried).toMatchObject({ kind: 'status', text: `Retried: order ${ref.orderNumber}.` });
    expect(pageText(retried.html)).toMatch(/retried from the console by Ana/);
    const timeline = (await readState(stack, m.id, ref.orderNumber)).timeline;
    expect(timeline.find((e) => e.event === 'retried')?.by).toBe('from the console by Ana');

    const stale = await ana.outcome(await ana.post(`${orderPage(ref)}/retry`));
    expect(stale.kind).toBe('alert');
    expect(stale.text).toMatch(/^Refused: the order is not stuck/);
  });

  it('Hold and Cancel need a reason; Release returns the order; Cancel ends it', async () => {
    const m = await stack.newMerchant('hold');
    const ref = await stuckOrder(m.id);
    const noReason = await ana.outcome(await ana.post(`${orderPage(ref)}/hold`, { reason: '  ' }));
    expect(noReason).toMatchObject({ kind: 'alert', text: 'Refused: Reason is required' });
    expect((await ana.outcome(await ana.post(`${orderPage(ref)}/hold`, { reason: 'address check' }))).kind).toBe('status');
    let state = await readState(stack, m.id, ref.orderNumber);
    expect(state).toMatchObject({ status: 'on_hold', holdReason: 'address check' });
    expect(state.timeline.at(-1)).toMatchObject({ event: 'held', by: 'from the console by Ana', detail: 'address check' });
    expect(pageText((await ana.get(orderPage(ref))).html)).toContain('Release');
    expect((await ana.outcome(await ana.post(`${orderPage(ref)}/release`))).kind).toBe('status');
    expect((await ana.outcome(await ana.post(`${orderPage(ref)}/cancel`, { reason: 'customer asked' }))).text).toBe(`Canceled: order ${ref.orderNumber}.`);
    state = await readState(stack, m.id, ref.orderNumber);
    expect(state).toMatchObject({ status: 'canceled', cancelReason: 'customer asked' });
  });

  it('the ops API stamps the CLI and its operator\'s name, or the ops API, on the timeline', async () => {
    const m = await stack.newMerchant('cli');
    const ref = await stuckOrder(m.id);
    const res = await app.request(`/api/ops/orders/${m.id}/${ref.orderNumber}/retry`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}`, 'X-Ops-Client': 'cli', 'X-Ops-Name': 'dee' } });
    expect(res.status).toBe(200);
    expect((await readState(stack, m.id, ref.orderNumber)).timeline.find((e) => e.event === 'retried')?.by).toBe('from the ops CLI by dee');
  });

  it('bulk retry: counts the matching stuck orders first, then retries them and shows the report', async () => {
    const m = await stack.newMerchant('bulkc');
    const refs = [await stuckOrder(m.id), await stuckOrder(m.id)];
    const counted = await ana.get(`/ops/bulk-retry?count=1&merchant=${m.id}&reason=not_exported&stuckFor=`);
    expect(pageText(counted.html)).toContain('2 orders match');
    const bad = await ana.get(`/ops/bulk-retry?count=1&merchant=${m.id}&stuckFor=forever`);
    expect(roleText(bad.html, 'alert')).toBe('Refused: Stuck for: "forever" is not a duration such as 30m, 4h or 3d');

    const run = await ana.post('/ops/bulk-retry', { merchant: m.id, reason: 'not_exported', stuckFor: '' });
    expect(run.location).toMatch(/^\/ops\/bulk-retries\/bulk-retry/);
    const report = await ana.outcome(run);
    expect(report.text).toBe('Bulk retry done: retried 2 of 2.');
    expect(pageText(report.html)).toContain('Retried 2');
    for (const ref of refs) {
      expect((await readState(stack, m.id, ref.orderNumber)).timeline.find((e) => e.event === 'retried')?.by).toBe('in a bulk retry from the console by Ana');
    }
  });

  it('facts that cannot reach their order show on the overview and the order page, where ops retry or discard them', async () => {
    const m = await stack.newMerchant('facts');
    const { ref } = await createOrder(stack, m.id);
    // Bigger than Temporal accepts in one payload: the server refuses this signal, always.
    const huge = { kind: 'shipmentReported', report: { shipmentKey: 'huge', carrier: 'UPS', trackingNumber: '1Zhuge', reportedVia: 'test', details: { internalNotes: 'x'.repeat(2_500_000) } } } as const;
    await recordFacts(stack.database.db, [{ orderId: ref.orderId, fact: huge as never, via: 'test' }]);
    stack.relay.kick();
    const [poison] = await eventually(() => listFacts(stack.database.db, { orderId: ref.orderId, state: 'pending', limit: 5 }), (f) => (f[0]?.fact.attempts ?? 0) > 0);
    const id = poison!.fact.id;

    expect((await ana.get('/ops')).html).toContain(`href="${orderPage(ref)}"`);
    const page = await ana.get(orderPage(ref));
    expect(pageText(page.html)).toMatch(/shipment UPS 1Zhuge/);
    const retried = await ana.outcome(await ana.post(`${orderPage(ref)}/facts/${id}/retry`));
    expect(retried).toMatchObject({ kind: 'status', text: `Fact ${id} could not be delivered yet; it stays pending.` });
    expect((await ana.outcome(await ana.post(`${orderPage(ref)}/facts/${id}/discard`))).text).toBe('Refused: Reason is required');
    const discarded = await ana.outcome(await ana.post(`${orderPage(ref)}/facts/${id}/discard`, { reason: 'notes too large' }));
    expect(discarded).toMatchObject({ kind: 'status', text: `Fact ${id} discarded.` });
    expect(discarded.html).not.toContain('Retry fact');
    const again = await ana.outcome(await ana.post(`${orderPage(ref)}/facts/${id}/discard`, { reason: 'twice' }));
    expect(again.text).toBe(`Refused: fact ${id} is discarded; only a pending fact can be retried or discarded`);
  });

  it('unknown pages and orders are 404 pages, not errors', async () => {
    const unknown = await ana.get('/ops/nowhere');
    expect(unknown.status).toBe(404);
    expect(roleText(unknown.html, 'alert')).toBe('There is no console page /ops/nowhere.');
    const noOrder = await ana.get('/ops/orders/nobody/NOPE-1');
    expect(noOrder.status).toBe(404);
    expect(roleText(noOrder.html, 'alert')).toBe('Merchant nobody has no order NOPE-1.');
  });
});
