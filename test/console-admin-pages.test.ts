/**
 * The ops console's Connections and Merchants pages over app.request against a real stack: lists,
 * a new connection's setup sheet, test connection (a dry run), rotating and disabling, the request
 * log's filters, merchants' keys, confirmation targets and deadlines. Secrets are shown only in the
 * answer that made them: never in the next page, the session's flash or a URL.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../db/connections';
import { findMerchant } from '../db/merchants';
import { consoleSessions, exportSnapshots, orderFacts } from '../db/schema';
import { shipStationStatusFields } from '../domain/order';
import { CONSOLE_ORIGIN, pageText, roleText, signIn, type ConsoleClient } from './support/console-client';
import { createOrder, readState } from './support/orders';
import { startTestStack, uniqueId, type TestStack } from './support/stack';

const ADMIN = 'console-admin-pages-token-0123456789';

let stack: TestStack;
let app: ReturnType<TestStack['app']>;
let ana: ConsoleClient;

beforeAll(async () => {
  stack = await startTestStack();
  app = stack.app({ adminToken: ADMIN });
  ana = await signIn(app, ADMIN, 'Ana');
});
afterAll(() => stack?.close());

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
const WINDOW = 'start_date=01%2f01%2f2020+00%3a00&end_date=12%2f31%2f2030+23%3a59';
const exportCall = (username: string, password: string) => app.request(`/shipstation?action=export&${WINDOW}`, { headers: { Authorization: basic(username, password) } });
const connectionPage = (username: string) => `/ops/connections/${encodeURIComponent(username)}`;
const merchantPage = (id: string) => `/ops/merchants/${encodeURIComponent(id)}`;
const copyable = (html: string, id: string) => new RegExp(`<code id="${id}"[^>]*>([^<]*)</code>`).exec(html)?.[1] ?? null;

/** Every flash any session holds now: a secret must never be among them. */
const storedFlashes = async () => JSON.stringify((await stack.database.db.select({ flash: consoleSessions.flash }).from(consoleSessions)).map((r) => r.flash));

describe('connections', () => {
  it('lists every connection with merchant, scope, state and times, each linked to its page, and offers "New connection"', async () => {
    const m = await stack.newMerchant('list');
    const { connection } = await createConnection(stack.database.db, stack.secretDigest, m.id, 'shopify');
    const { html, status } = await ana.get('/ops/connections');
    expect(status).toBe(200);
    expect(html).toContain(`<a href="${connectionPage(connection.username)}">${connection.username}</a>`);
    const text = pageText(html);
    expect(text).toContain('source shopify');
    expect(text).toContain('enabled');
    expect(html).toMatch(/<span>Merchant<\/span>\s*<select name="merchant">/);
    expect(html).toMatch(/<span>Order source<\/span>\s*<input type="text" name="source"/);
    expect(html).toContain('<button type="submit">New connection</button>');
    expect(html).toContain('aria-current="page">Connections</a>');
  });

  it('"New connection" answers the setup sheet with the password once and the five status strings; the next page and the flash never hold it', async () => {
    const m = await stack.newMerchant('new');
    const res = await ana.post('/ops/connections', { merchant: m.id, source: 'etsy' });
    expect(res.status).toBe(201);
    expect(roleText(res.html, 'status')).toContain('created for merchant');
    const password = copyable(res.html, 'sheet-password')!;
    const username = copyable(res.html, 'sheet-username')!;
    expect(password).toMatch(/^ssp_/);
    expect(copyable(res.html, 'sheet-url-to-custom-xml-page')).toBe('http://connector.test/shipstation');
    const statuses = shipStationStatusFields();
    for (const [id, value] of Object.entries({ unpaid: statuses.unpaid, paid: statuses.paid, shipped: statuses.shipped, cancelled: statuses.cancelled, 'on-hold': statuses.on_hold })) {
      expect(copyable(res.html, `sheet-${id}-status`), id).toBe(value);
    }
    expect(res.html).toContain('aria-label="Copy Password"');
    expect(pageText(res.html)).toContain('shown only this once');
    expect(pageText(res.html)).toContain('Settings > Selling Channels > Store Setup > Connect a Store > Custom Store');

    // The password works, and is nowhere after this answer.
    expect((await exportCall(username, password)).status).toBe(200);
    const next = await ana.get('/ops/connections');
    expect(next.html).not.toContain(password);
    expect(roleText(next.html, 'status')).toBeNull();
    expect((await ana.get(connectionPage(username))).html).not.toContain(password);
    expect(await storedFlashes()).not.toContain(password);
  });

  it('refuses an overlapping scope and an unknown merchant with a plain alert, and creates nothing', async () => {
    const m = await stack.newMerchant('clash');
    const { connection } = await createConnection(stack.database.db, stack.secretDigest, m.id, null);
    const clash = await ana.post('/ops/connections', { merchant: m.id, source: 'shopify' });
    expect(clash.status).toBe(303);
    expect(clash.location).toBe('/ops/connections');
    const outcome = await ana.outcome(clash);
    expect(outcome.kind).toBe('alert');
    expect(outcome.text).toContain(`connection ${connection.username} already covers the whole account`);
    expect(outcome.text).not.toContain('    at ');

    const unknown = await ana.outcome(await ana.post('/ops/connections', { merchant: 'no-such-merchant', source: '' }));
    expect(unknown).toMatchObject({ kind: 'alert', text: 'Refused: no merchant no-such-merchant' });
    const tooLong = await ana.outcome(await ana.post('/ops/connections', { merchant: m.id, source: 'x'.repeat(51) }));
    expect(tooLong.kind).toBe('alert');
    expect(tooLong.text).toContain('Order source: at most 50 characters');
  });

  it('refuses a new connection posted from another site (403) and creates nothing', async () => {
    const m = await stack.newMerchant('xsite');
    const res = await ana.post('/ops/connections', { merchant: m.id }, { origin: 'https://evil.test' });
    expect(res.status).toBe(403);
    expect((await ana.get('/ops/connections')).html).not.toContain(`>${m.id}</a>`);
  });

  it('"Test connection" shows what ShipStation would get, logs an export-dry-run and marks nothing', async () => {
    const m = await stack.newMerchant('test');
    const { connection } = await createConnection(stack.database.db, stack.secretDigest, m.id, null);
    const { ref } = await createOrder(stack, m.id);
    const res = await ana.post(`${connectionPage(connection.username)}/test`);
    expect(res.status).toBe(200);
    expect(roleText(res.html, 'status')).toContain('Test connection would succeed');
    const text = pageText(res.html);
    expect(text).toContain('HTTP status 200');
    expect(text).toContain('1 on page 1 of 1 page(s)');
    expect(text).toContain(`<OrderNumber><![CDATA[${ref.orderNumber}]]></OrderNumber>`);
    // The XML is shown as text, escaped: never markup of the page.
    expect(res.html).toMatch(/<pre class="xml">&lt;\?xml/);
    expect(res.html).not.toContain('<OrderNumber>');

    const log = await ana.get(`${connectionPage(connection.username)}?action=export-dry-run`);
    expect(log.html).toContain('<td>export-dry-run</td>');
    expect(pageText(log.html)).toContain('1 order(s), 1 page(s), by Ana');

    // Nothing moved: no export fact, no snapshot, the order still pending, and no "last export".
    await new Promise((r) => setTimeout(r, 500));
    expect(await stack.database.db.select().from(orderFacts).where(eq(orderFacts.orderId, ref.orderId))).toEqual([]);
    expect(await stack.database.db.select().from(exportSnapshots).where(eq(exportSnapshots.connectionId, connection.id))).toEqual([]);
    expect((await readState(stack, m.id, ref.orderNumber)).status).toBe('pending');
    expect(pageText(log.html)).toMatch(/Last export never/);
  });

  it('"Rotate password" shows the new password once; the old one stops working', async () => {
    const m = await stack.newMerchant('rotate');
    const { connection, password: old } = await createConnection(stack.database.db, stack.secretDigest, m.id, null);
    const res = await ana.post(`${connectionPage(connection.username)}/rotate-password`);
    expect(res.status).toBe(200);
    expect(roleText(res.html, 'status')).toContain('the old one stopped working');
    const password = copyable(res.html, 'sheet-password')!;
    expect(password).toMatch(/^ssp_/);
    expect(password).not.toBe(old);
    expect((await exportCall(connection.username, old)).status).toBe(401);
    expect((await exportCall(connection.username, password)).status).toBe(200);
    expect((await ana.get(connectionPage(connection.username))).html).not.toContain(password);
    expect(await storedFlashes()).not.toContain(password);
  });

  it('"Disable" needs a reason, which ShipStation then gets with 403; "Enable" lets it in again', async () => {
    const m = await stack.newMerchant('disable');
    const { connection, password } = await createConnection(stack.database.db, stack.secretDigest, m.id, null);
    const page = connectionPage(connection.username);
    expect((await ana.get(page)).html).toMatch(/<span>Reason<\/span>\s*<input type="text" name="reason" value="" required/);

    const blank = await ana.outcome(await ana.post(`${page}/disable`, { reason: '  ' }));
    expect(blank).toMatchObject({ kind: 'alert', text: 'Refused: Reason is required' });
    expect((await exportCall(connection.username, password)).status).toBe(200);

    const disabled = await ana.outcome(await ana.post(`${page}/disable`, { reason: 'store closed for stocktaking' }));
    expect(disabled.kind).toBe('status');
    expect(pageText(disabled.html)).toContain('disabled store closed for stocktaking');
    expect(disabled.html).toContain('<button type="submit">Enable</button>');
    const refused = await exportCall(connection.username, password);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('store closed for stocktaking');

    const enabled = await ana.outcome(await ana.post(`${page}/enable`));
    expect(enabled).toMatchObject({ kind: 'status', text: `${connection.username} enabled: ShipStation's calls are answered again.` });
    expect((await exportCall(connection.username, password)).status).toBe(200);
  });

  it('filters the request log by action and status (in the query), and the list counts recent errors', async () => {
    const m = await stack.newMerchant('log');
    const { connection, password } = await createConnection(stack.database.db, stack.secretDigest, m.id, null);
    const auth = { Authorization: basic(connection.username, password) };
    expect((await exportCall(connection.username, password)).status).toBe(200);
    expect((await app.request(`/shipstation?action=export&start_date=yesterday&end_date=today`, { headers: auth })).status).toBe(400);
    const notice = await app.request(`/shipstation?action=shipnotify&order_number=NOPE-1&carrier=USPS&tracking_number=1Z`, { method: 'POST', headers: { ...auth, 'Content-Type': 'text/xml' }, body: '<ShipNotice/>' });
    expect(notice.status).toBeGreaterThanOrEqual(400);
    const page = connectionPage(connection.username);
    const rows = (html: string) => [...html.matchAll(/<td>(export|export-dry-run|shipnotify)<\/td>\s*<td class="num">(?:<span class="warning">)?(\d{3})/g)].map((r) => `${r[1]} ${r[2]}`);

    expect(rows((await ana.get(page)).html)).toHaveLength(3);
    expect(rows((await ana.get(`${page}?action=export`)).html)).toEqual(['export 400', 'export 200']);
    expect(rows((await ana.get(`${page}?status=ok`)).html)).toEqual(['export 200']);
    expect(rows((await ana.get(`${page}?status=error`)).html)).toEqual([`shipnotify ${notice.status}`, 'export 400']);
    expect(rows((await ana.get(`${page}?action=shipnotify&status=ok`)).html)).toEqual([]);
    const filtered = await ana.get(`${page}?action=export&status=error`);
    expect(rows(filtered.html)).toEqual(['export 400']);
    expect(filtered.html).toContain('<option value="export" selected="">export</option>');
    // An unknown filter value is dropped, not an error.
    expect(rows((await ana.get(`${page}?action=drop-table&status=teapot`)).html)).toHaveLength(3);
    // The admin API filters the same way.
    const api = await app.request(`/api/admin/connections/${connection.username}/log?action=export&status=error`, { headers: { Authorization: `Bearer ${ADMIN}` } });
    expect(((await api.json()) as { requests: { action: string; status: number }[] }).requests.map((r) => `${r.action} ${r.status}`)).toEqual(['export 400']);

    const list = pageText((await ana.get('/ops/connections')).html);
    expect(list).toMatch(new RegExp(`${connection.username} .*2 in 24 h ?; latest ${notice.status} .*: order NOPE-1`));
  });

  it('answers 404 for an unknown connection, on its page and its actions', async () => {
    const page = await ana.get('/ops/connections/ss-nobody-00000000');
    expect(page.status).toBe(404);
    expect(roleText(page.html, 'alert')).toBe('no connection ss-nobody-00000000');
    expect((await ana.post('/ops/connections/ss-nobody-00000000/test')).status).toBe(404);
    expect((await ana.post('/ops/connections/ss-nobody-00000000/rotate-password')).status).toBe(404);
  });
});

describe('merchants', () => {
  const newId = () => uniqueId('shop').toLowerCase();
  const apiCall = (key: string) => app.request('/api/orders', { headers: { Authorization: `Bearer ${key}` } });

  it('lists merchants with their confirmation targets and deadlines, and offers "Create merchant"', async () => {
    const m = await stack.newMerchant('listed');
    const { html, status } = await ana.get('/ops/merchants');
    expect(status).toBe(200);
    expect(html).toContain(`<a href="${merchantPage(m.id)}">${m.id}</a>`);
    expect(pageText(html)).toContain(`Merchant ${m.id}`);
    expect(pageText(html)).toMatch(/pickup \(no target set\) service defaults/);
    expect(html).toMatch(/<span>Merchant id<\/span>\s*<input type="text" name="id"/);
    expect(html).toMatch(/<span>Name<\/span>\s*<input type="text" name="name"/);
    expect(html).toContain('<button type="submit">Create merchant</button>');
  });

  it('"Create merchant" shows the API key once; it works, and is nowhere after', async () => {
    const id = newId();
    const res = await ana.post('/ops/merchants', { id, name: 'Shop & Co' });
    expect(res.status).toBe(201);
    expect(roleText(res.html, 'status')).toBe(`Merchant ${id} (Shop & Co) created. Give its order source this API key.`);
    const key = copyable(res.html, 'secret')!;
    expect(key).toMatch(/^ssk_/);
    expect((await apiCall(key)).status).toBe(200);
    const list = await ana.get('/ops/merchants');
    expect(list.html).not.toContain(key);
    expect(list.html).toContain('Shop &amp; Co');
    expect(await storedFlashes()).not.toContain(key);

    const again = await ana.outcome(await ana.post('/ops/merchants', { id, name: 'Other' }));
    expect(again).toMatchObject({ kind: 'alert', text: `Refused: merchant ${id} already exists` });
    const bad = await ana.outcome(await ana.post('/ops/merchants', { id: 'Bad Id', name: 'x' }));
    expect(bad.kind).toBe('alert');
    expect(bad.text).toContain('Merchant id: lowercase letters');
    const noName = await ana.outcome(await ana.post('/ops/merchants', { id: newId(), name: ' ' }));
    expect(noName).toMatchObject({ kind: 'alert', text: 'Refused: Name is required' });
  });

  it('"Rotate API key" shows the new key once; the old one stops working', async () => {
    const m = await stack.newMerchant('rekey');
    const res = await ana.post(`${merchantPage(m.id)}/rotate-key`);
    expect(res.status).toBe(200);
    const key = copyable(res.html, 'secret')!;
    expect(key).toMatch(/^ssk_/);
    expect((await apiCall(m.apiKey)).status).toBe(401);
    expect((await apiCall(key)).status).toBe(200);
    expect((await ana.get(merchantPage(m.id))).html).not.toContain(key);
  });

  it('a push confirmation target needs a webhook URL; a new one shows its signing secret once, which can be rotated', async () => {
    const m = await stack.newMerchant('push');
    const target = `${merchantPage(m.id)}/confirmation-target`;
    const noUrl = await ana.outcome(await ana.post(target, { mode: 'push', webhookUrl: '', source: '' }));
    expect(noUrl).toMatchObject({ kind: 'alert', text: 'Refused: Webhook URL: required for push' });
    const badUrl = await ana.outcome(await ana.post(target, { mode: 'push', webhookUrl: 'ftp://x', source: '' }));
    expect(badUrl).toMatchObject({ kind: 'alert', text: 'Refused: Webhook URL: an http(s) URL' });

    const push = await ana.post(target, { mode: 'push', webhookUrl: 'https://shop.test/hooks', source: '' });
    expect(push.status).toBe(200);
    expect(roleText(push.html, 'status')).toContain('now go by push to https://shop.test/hooks');
    const secret = copyable(push.html, 'secret')!;
    expect(secret).toMatch(/^whsec_/);

    const page = await ana.get(merchantPage(m.id));
    expect(page.html).not.toContain(secret);
    expect(pageText(page.html)).toContain('all sources push https://shop.test/hooks');
    const rotated = await ana.post(`${merchantPage(m.id)}/rotate-secret`, { source: '' });
    expect(rotated.status).toBe(200);
    expect(copyable(rotated.html, 'secret')).toMatch(/^whsec_/);
    expect(copyable(rotated.html, 'secret')).not.toBe(secret);

    // Back to pickup: no secret to show, so back to the page with a message.
    const pickup = await ana.outcome(await ana.post(target, { mode: 'pickup', webhookUrl: '', source: '' }));
    expect(pickup).toMatchObject({ kind: 'status', text: `Confirmations of ${m.id} (all sources) now go by pickup.` });
    expect(await storedFlashes()).not.toContain('whsec_');
  });

  it('deadlines: a bad duration is refused, good ones are saved, blank ones are the defaults', async () => {
    const m = await stack.newMerchant('deadline');
    const deadlines = `${merchantPage(m.id)}/deadlines`;
    const bad = await ana.outcome(await ana.post(deadlines, { awaitPayment: 'soon', pendingExport: '', atWmsShipment: '', confirmation: '' }));
    expect(bad).toMatchObject({ kind: 'alert', text: 'Refused: Await payment: a duration such as 30m, 4h or 3d, at most 3650d' });
    expect((await findMerchant(stack.database.db, m.id))!.deadlines).toEqual({});

    const saved = await ana.outcome(await ana.post(deadlines, { awaitPayment: '4h', pendingExport: ' ', atWmsShipment: '3d', confirmation: '' }));
    expect(saved.kind).toBe('status');
    expect((await findMerchant(stack.database.db, m.id))!.deadlines).toEqual({ awaitPayment: '4h', atWmsShipment: '3d' });
    expect(saved.html).toMatch(/<span>Await payment<\/span>\s*<input type="text" name="awaitPayment" value="4h"/);

    const cleared = await ana.outcome(await ana.post(deadlines, { awaitPayment: '', pendingExport: '', atWmsShipment: '', confirmation: '' }));
    expect(cleared.text).toContain('service defaults');
    expect((await findMerchant(stack.database.db, m.id))!.deadlines).toEqual({});
  });

  it('answers 404 for an unknown merchant', async () => {
    const page = await ana.get('/ops/merchants/no-such-shop');
    expect(page.status).toBe(404);
    expect(roleText(page.html, 'alert')).toBe('no merchant no-such-shop');
    expect((await ana.post('/ops/merchants/no-such-shop/rotate-key')).status).toBe(404);
  });

  it('needs a session for every page', async () => {
    for (const path of ['/ops/connections', '/ops/merchants', merchantPage('x'), connectionPage('x')]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location'), path).toMatch(/^\/ops\/sign-in/);
    }
    const post = await app.request('/ops/merchants', { method: 'POST', body: new URLSearchParams({ id: 'sneaky', name: 'x' }), headers: { Origin: CONSOLE_ORIGIN } });
    expect(post.status).toBe(303);
    expect(await findMerchant(stack.database.db, 'sneaky')).toBeNull();
  });
});
