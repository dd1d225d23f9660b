/**
 * Personal-data retention (PERSONAL_DATA_DAYS) end to end: real orders driven through the API, the
 * ShipStation endpoint (export, shipnotify) and the workflows; closure backdated in SQL; the purge run
 * by its Temporal schedule; results read from the database, the order API and ShipStation exports.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderGateway } from '../temporal/order-gateway';
import { recordNotice } from '../db/order-facts';
import { purgePersonalData } from '../db/retention';
import { connectionRequests, connections, orderFacts, orderLines, orders, shipmentNotices, shipments } from '../db/schema';
import { orderWorkflowId } from '../domain/order';
import { REDACTED } from '../domain/retention';
import { cancelUpdate } from '../workflows/messages';
import { ensureMaintenanceSchedule, maintenanceScheduleIds } from '../temporal/schedules';
import { call, type TestApp } from './support/api';
import { DATABASE_KINDS } from './support/database';
import { createOrder, eventually, orderPayload } from './support/orders';
import { shipStationDate, ShipStationSimulator } from './support/shipstation-simulator';
import { DAY, LONG_SETTINGS, startTestStack, uniqueId, type TestStack } from './support/stack';

const ADMIN = 'admin-token-for-the-retention-suite';
const RETENTION_DAYS = 90;

/** Everything personal an order can carry, so the test can tell what went and what stayed. */
const personalPayload = (orderNumber: string) =>
  orderPayload({
    orderNumber,
    customer: { code: 'CUST-77', email: 'ada@example.com' },
    billTo: { name: 'Ada Lovelace', company: 'Engines Ltd', street1: '12 Bill St', city: 'London', postalCode: 'N1 9GU', country: 'GB', phone: '+44 20 0000', email: 'bill@example.com' },
    shipTo: { name: 'Charles Babbage', street1: '1 Main St', street2: 'Apt 2', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US', phone: '555-0100' },
    customerNotes: 'ring twice, ask for Charles',
    internalNotes: 'customer phoned from 555-0199',
    gift: true,
    giftMessage: 'Happy birthday Charles!',
    customFields: ['loyalty 12345'],
  });

/** The personal values above: none may remain anywhere in a purged order's rows. */
const PERSONAL_VALUES = ['Ada', 'Lovelace', 'Charles', 'Babbage', 'Bill St', 'Main St', 'Austin', '78701', 'N1 9GU', '555-01', 'example.com', 'CUST-77', 'loyalty', 'birthday', 'Engines'];

describe.each(DATABASE_KINDS)('personal-data retention (read model on %s)', (kind) => {
  let stack: TestStack;
  let app: TestApp;
  let merchant: { id: string; apiKey: string };
  let sim: ShipStationSimulator;
  let connection: { url: string; username: string; password: string };
  const idPrefix = uniqueId('retention-test');
  const ids = maintenanceScheduleIds(idPrefix);

  const db = () => stack.database.db;
  const row = async (orderNumber: string) => (await db().select().from(orders).where(eq(orders.orderNumber, orderNumber)))[0]!;
  const linesOf = (orderId: string) => db().select().from(orderLines).where(eq(orderLines.orderId, orderId)).orderBy(orderLines.position);
  const shipmentsOf = (orderId: string) => db().select().from(shipments).where(eq(shipments.orderId, orderId)).orderBy(shipments.id);
  const noticesOf = (orderId: string) => db().select().from(shipmentNotices).where(eq(shipmentNotices.orderId, orderId));
  const snapshot = async (orderNumber: string) => {
    const order = await row(orderNumber);
    return { order, lines: await linesOf(order.orderId), shipments: await shipmentsOf(order.orderId), notices: await noticesOf(order.orderId) };
  };
  const untilRow = (orderNumber: string, check: (o: typeof orders.$inferSelect) => boolean) => eventually(() => row(orderNumber), check);
  const workflowDone = (orderNumber: string) => stack.client.workflow.getHandle(orderWorkflowId(merchant.id, orderNumber)).result();

  /** As if the order's status had been reached `days` ago (and nothing had changed since). */
  const backdate = (orderNumber: string, days: number) =>
    db().execute(sql`update orders set status_since = now() - make_interval(days => ${days}), last_modified = now() - make_interval(days => ${days})
                     where merchant_id = ${merchant.id} and order_number = ${orderNumber}`);

  /** One run of the schedule, as Temporal starts it; its result is the number of orders purged. */
  async function runSchedule(): Promise<number> {
    const handle = stack.client.schedule.getHandle(ids.personalData);
    const before = (await handle.describe()).info.recentActions.length;
    await handle.trigger();
    const described = await eventually(() => handle.describe(), (d) => d.info.recentActions.length > before);
    const { workflow } = described.info.recentActions.at(-1)!.action;
    return stack.client.workflow.getHandle(workflow.workflowId, workflow.firstExecutionRunId).result();
  }

  /**
   * ShipStation's clock, a little ahead of ours and moving on with every call: an export records the
   * window end it served and later changes are stamped beyond it (db/export-windows.ts), so each
   * export must reach further than the one before to see them.
   */
  let clock = Date.now();
  const shipStationNow = () => new Date((clock = Math.max(clock, Date.now()) + 2 * 60_000));
  let wideWindow: { start: Date; end: Date };

  /** What ShipStation gets for one export window, every page. */
  async function exported(start: Date, end: Date): Promise<string[]> {
    const first = await sim.exportPage(shipStationDate(start), shipStationDate(end), 1);
    expect(first.error).toBeNull();
    const numbers = first.orders.map((o) => o.OrderNumber);
    for (let page = 2; page <= first.pages!; page++) numbers.push(...(await sim.exportPage(shipStationDate(start), shipStationDate(end), page)).orders.map((o) => o.OrderNumber));
    return numbers;
  }

  /** Posted, served to ShipStation, shipped through shipnotify (recipient, notes), acked: confirmed. */
  async function confirmedOrder(orderNumber: string) {
    expect((await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: personalPayload(orderNumber) })).status).toBe(201);
    const poll = await sim.poll(shipStationNow());
    expect(poll.orders.map((o) => o.OrderNumber)).toContain(orderNumber);
    await untilRow(orderNumber, (o) => o.status === 'at_wms');
    const notice = await sim.ship(orderNumber, {
      carrier: 'UPS',
      service: 'UPS Ground',
      tracking: `1Z${orderNumber.replace(/\W/g, '')}`,
      notesToCustomer: 'Thanks Charles!',
      customerNotes: 'ring twice, ask for Charles',
      internalNotes: 'customer phoned from 555-0199',
      customFields: ['loyalty 12345'],
    });
    expect(notice.status, notice.text).toBe(200);
    await untilRow(orderNumber, (o) => o.status === 'shipped');
    const [shipment] = await shipmentsOf((await row(orderNumber)).orderId);
    expect(shipment!.details?.recipient?.name).toBe('Charles Babbage');
    expect((await noticesOf(shipment!.orderId)).length).toBe(1);
    expect((await call(app, 'POST', `/api/shipments/${shipment!.id}/ack`, { token: merchant.apiKey })).status).toBe(200);
    await untilRow(orderNumber, (o) => o.status === 'confirmed');
    await workflowDone(orderNumber);
  }

  async function canceledOrder(orderNumber: string) {
    expect((await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: personalPayload(orderNumber) })).status).toBe(201);
    expect((await call(app, 'POST', `/api/orders/${orderNumber}/cancel`, { token: merchant.apiKey, json: { reason: 'out of stock' } })).status).toBe(200);
    await workflowDone(orderNumber);
  }

  const tag = kind === 'pglite' ? 'L' : 'P';
  const OLD_CONFIRMED = `RET-${tag}-old-confirmed`;
  const OLD_CANCELED = `RET-${tag}-old-canceled`;
  const OLD_CANCELED_RUNNING = `RET-${tag}-old-canceled-running`;
  const RECENT_CONFIRMED = `RET-${tag}-recent-confirmed`;
  const OLD_OPEN = `RET-${tag}-old-open`;
  const OLD_UNPAID = `RET-${tag}-old-unpaid`;
  const all = [OLD_CONFIRMED, OLD_CANCELED, OLD_CANCELED_RUNNING, RECENT_CONFIRMED, OLD_OPEN, OLD_UNPAID];
  const purgedOnes = [OLD_CONFIRMED, OLD_CANCELED, OLD_CANCELED_RUNNING];
  const untouchedOnes = [RECENT_CONFIRMED, OLD_OPEN, OLD_UNPAID];
  /** Each order as it was before the purge, and the purged ones as the purge left them. */
  const before: Record<string, Awaited<ReturnType<typeof snapshot>>> = {};
  const purged: Record<string, Awaited<ReturnType<typeof snapshot>>> = {};

  beforeAll(async () => {
    // Workflows of closed orders end 1.5 s after closing, so a late fact reopens them from the read model.
    stack = await startTestStack({ db: kind, settings: { terminalGraceMs: 1500 } });
    app = stack.app({ adminToken: ADMIN });
    merchant = await stack.newMerchant('ret');
    const res = await call(app, 'POST', `/api/admin/merchants/${merchant.id}/connections`, { token: ADMIN, json: {} });
    expect(res.status).toBe(201);
    connection = res.body;
    sim = new ShipStationSimulator({ fetch: (url, init) => app.request(url, init), url: connection.url, username: connection.username, password: connection.password });

    await confirmedOrder(OLD_CONFIRMED);
    await confirmedOrder(RECENT_CONFIRMED);
    await canceledOrder(OLD_CANCELED);
    // Open orders: one at ShipStation (served, not shipped), one never paid.
    expect((await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: personalPayload(OLD_OPEN) })).status).toBe(201);
    await sim.poll(shipStationNow());
    await untilRow(OLD_OPEN, (o) => o.status === 'at_wms');
    expect((await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: { ...personalPayload(OLD_UNPAID), paid: false } })).status).toBe(201);
    // Canceled, its workflow still in a long grace period (still holding the data) when the purge runs.
    const longGrace = new OrderGateway(stack.client, stack.relay, { taskQueue: stack.taskQueue, requestTimeoutMs: 10_000, orders: LONG_SETTINGS });
    const running = await createOrder({ ...stack, gateway: longGrace }, merchant.id, personalPayload(OLD_CANCELED_RUNNING));
    await longGrace.request(running.ref, cancelUpdate, { reason: 'fraud' });
    await untilRow(OLD_CANCELED_RUNNING, (o) => o.status === 'canceled');

    for (const n of [OLD_CONFIRMED, OLD_CANCELED, OLD_CANCELED_RUNNING]) await backdate(n, RETENTION_DAYS + 10);
    await backdate(RECENT_CONFIRMED, RETENTION_DAYS - 10);
    for (const n of [OLD_OPEN, OLD_UNPAID]) await backdate(n, RETENTION_DAYS + 100);
    for (const n of all) before[n] = await snapshot(n);

    await ensureMaintenanceSchedule(stack.client, stack.taskQueue, { requestLogDays: 30, personalDataDays: RETENTION_DAYS }, { idPrefix });
  });

  afterAll(async () => {
    for (const id of Object.values(ids)) await stack?.client.schedule.getHandle(id).delete().catch(() => {});
    await stack?.close();
  });

  it('is an hourly schedule of its own, created and then updated in place', async () => {
    const retention = { requestLogDays: 30, personalDataDays: 45 };
    await ensureMaintenanceSchedule(stack.client, stack.taskQueue, retention, { idPrefix });
    const described = await stack.client.schedule.getHandle(ids.personalData).describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'purgePersonalDataWorkflow', args: [45], taskQueue: stack.taskQueue });
    expect(described.spec.intervals).toEqual([{ every: 3_600_000, offset: 1_800_000 }]);
    // Back to the suite's retention.
    await ensureMaintenanceSchedule(stack.client, stack.taskQueue, { requestLogDays: 30, personalDataDays: RETENTION_DAYS }, { idPrefix });
    expect((await stack.client.schedule.getHandle(ids.personalData).describe()).action).toMatchObject({ args: [RETENTION_DAYS] });
  });

  it('before the purge, a wide export window serves the old closed orders', async () => {
    wideWindow = { start: new Date(Date.now() - 400 * DAY), end: shipStationNow() };
    const served = await exported(wideWindow.start, wideWindow.end);
    expect(served).toEqual(expect.arrayContaining([OLD_CONFIRMED, OLD_CANCELED, RECENT_CONFIRMED]));
  });

  it('purges exactly the personal fields of orders closed longer than PERSONAL_DATA_DAYS, nothing else', async () => {
    expect(await runSchedule()).toBe(purgedOnes.length);

    for (const n of purgedOnes) {
      const was = before[n]!;
      const now = await snapshot(n);
      expect(now.order, n).toEqual({
        ...was.order,
        customerCode: null,
        customerEmail: null,
        billTo: { name: REDACTED, country: 'GB' },
        shipTo: { name: REDACTED, state: 'TX', country: 'US' },
        customerNotes: null,
        internalNotes: null,
        giftMessage: null,
        customFields: [],
        personalDataPurgedAt: expect.any(String),
      });
      expect(Date.now() - Date.parse(now.order.personalDataPurgedAt!)).toBeLessThan(10 * 60_000);
      expect(now.lines, n).toEqual(was.lines);
      // Shipments keep carrier, service, tracking, dates, cost and lines; their notice details lose the person.
      expect(now.shipments, n).toEqual(was.shipments.map((s) => ({ ...s, details: s.details ? { notifyCustomer: true } : null })));
      expect(now.notices, n).toEqual([]);
      const text = JSON.stringify(now);
      for (const value of PERSONAL_VALUES) expect(text, `${n} still holds ${value}`).not.toContain(value);
      purged[n] = now;
    }
    const confirmed = await snapshot(OLD_CONFIRMED);
    expect(confirmed.shipments).toHaveLength(1);
    expect(confirmed.shipments[0]).toMatchObject({ carrier: 'UPS', service: 'UPS Ground', trackingNumber: expect.stringMatching(/^1Z/), shippingCost: '7.45' });
    expect(confirmed.order.timeline.map((e) => e.event)).toEqual(before[OLD_CONFIRMED]!.order.timeline.map((e) => e.event));

    // Recently closed and open orders (however old) are untouched, their raw notices too.
    for (const n of untouchedOnes) expect(await snapshot(n), n).toEqual(before[n]);
    expect((await snapshot(RECENT_CONFIRMED)).notices).toHaveLength(1);
  });

  it('a second run finds nothing and changes nothing', async () => {
    const first = Object.fromEntries(await Promise.all(all.map(async (n) => [n, await snapshot(n)] as const)));
    expect(await runSchedule()).toBe(0);
    for (const n of all) expect(await snapshot(n), n).toEqual(first[n]);
  });

  it('the order API answers 200 for a purged order and says it was purged', async () => {
    const res = await call(app, 'GET', `/api/orders/${OLD_CONFIRMED}`, { token: merchant.apiKey });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      orderNumber: OLD_CONFIRMED,
      status: 'confirmed',
      personalDataPurgedAt: expect.any(String),
      total: before[OLD_CONFIRMED]!.order.total,
      order: {
        customer: { code: null, email: null },
        billTo: { name: REDACTED, country: 'GB' },
        shipTo: { name: REDACTED, state: 'TX', country: 'US' },
        customerNotes: null,
        internalNotes: null,
        giftMessage: null,
        customFields: [],
        gift: true,
      },
      shipments: [{ carrier: 'UPS', service: 'UPS Ground', trackingNumber: expect.stringMatching(/^1Z/), details: { notifyCustomer: true } }],
    });
    expect(res.body.lines.map((l: { sku: string }) => l.sku)).toEqual(['MUG-1', 'TEE-M', '']);
    expect(res.body.timeline.length).toBeGreaterThan(3);
    const open = await call(app, 'GET', `/api/orders/${OLD_OPEN}`, { token: merchant.apiKey });
    expect(open.body.personalDataPurgedAt).toBeNull();
    expect(open.body.order.shipTo.name).toBe('Charles Babbage');
    // The ops view too.
    const ops = await call(app, 'GET', `/api/ops/orders/${merchant.id}/${OLD_CANCELED}`, { token: ADMIN });
    expect(ops.status).toBe(200);
    expect(ops.body.personalDataPurgedAt).toEqual(expect.any(String));
  });

  it('a purged order is never served to ShipStation again, whatever the window', async () => {
    // The window read before the purge (its snapshot, taken before the purge, is reused) and a new one.
    for (const window of [wideWindow, { start: new Date(wideWindow.start.getTime() + 60_000), end: shipStationNow() }]) {
      const served = await exported(window.start, window.end);
      expect(served).toContain(RECENT_CONFIRMED);
      for (const n of purgedOnes) expect(served).not.toContain(n);
      // Not even considered: a purged order is no candidate "left out as not importable" (that would
      // tell its workflow it was refused, flag it, and reopen it).
      const [logged] = await db()
        .select({ detail: connectionRequests.detail })
        .from(connectionRequests)
        .innerJoin(connections, eq(connections.id, connectionRequests.connectionId))
        .where(and(eq(connections.username, connection.username), eq(connectionRequests.action, 'export')))
        .orderBy(desc(connectionRequests.id))
        .limit(1);
      expect(logged!.detail).not.toHaveProperty('leftOut');
    }
    // ShipStation's own polling (windows since its last poll) does not reach them either.
    const poll = await sim.poll(shipStationNow());
    expect(poll.ok).toBe(true);
    for (const n of purgedOnes) expect(poll.orders.map((o) => o.OrderNumber)).not.toContain(n);
  });

  it('late facts do not bring personal data back: a reopened order and a still-running one stay purged', async () => {
    const shipLate = (orderNumber: string, tracking: string) =>
      sim.ship(orderNumber, {
        carrier: 'FedEx',
        tracking,
        noItems: true,
        notesToCustomer: 'Sorry Charles',
        recipient: { Name: 'Charles Babbage', Address1: '1 Main St', City: 'Austin', PostalCode: '78701', Country: 'US' },
      });
    // OLD_CONFIRMED's workflow has ended: the notice reopens it from the (purged) read model.
    // OLD_CANCELED_RUNNING's workflow still holds the data it was created with, and projects it.
    for (const [n, tracking] of [[OLD_CONFIRMED, 'FDX-LATE-1'], [OLD_CANCELED_RUNNING, 'FDX-LATE-2']] as const) {
      const notice = await shipLate(n, tracking);
      expect(notice.status, notice.text).toBe(200);
      const orderId = before[n]!.order.orderId;
      const recorded = await eventually(() => shipmentsOf(orderId), (rows) => rows.some((s) => s.trackingNumber === tracking));
      const late = recorded.find((s) => s.trackingNumber === tracking)!;
      expect(late.carrier).toBe('FedEx');
      expect(late.details).toEqual({ notifyCustomer: true });
      const now = await snapshot(n);
      // The mark stays as the purge set it; the order did take the new version.
      expect(now.order.personalDataPurgedAt).toBe(purged[n]!.order.personalDataPurgedAt);
      expect(now.order.version).toBeGreaterThan(purged[n]!.order.version);
      expect(now.order.billTo).toEqual({ name: REDACTED, country: 'GB' });
      expect(now.order.shipTo).toEqual({ name: REDACTED, state: 'TX', country: 'US' });
      expect(now.notices).toEqual([]);
      const text = JSON.stringify(now);
      for (const value of PERSONAL_VALUES) expect(text, `${n} holds ${value} again`).not.toContain(value);
    }
    const reopened = await row(OLD_CONFIRMED);
    expect(reopened.flags.map((f) => f.code)).toContain('late_fact_after_close');
    for (const n of purgedOnes) expect((await row(n)).flags.map((f) => f.code), n).not.toContain('not_importable');

    // Still never exported, whatever moved.
    const served = await exported(new Date(wideWindow.start.getTime() + 120_000), shipStationNow());
    for (const n of purgedOnes) expect(served).not.toContain(n);
    // And the purge has nothing to do: they are marked.
    expect(await runSchedule()).toBe(0);
  });

  it('a raw notice arriving for a purged order is not kept (whichever commits first, notice or projection); its fact is', async () => {
    const [con] = await db().select().from(connections).where(eq(connections.username, connection.username));
    // ShipStation sends a notice of each order's package again: the raw copy goes with the fact, in one statement.
    const resent = (n: string) => {
      const orderId = before[n]!.order.orderId;
      // The confirmed order's package again (a repeat); the canceled one never shipped: a late package.
      const shipmentKey = before[n]!.shipments[0]?.shipmentKey ?? 'trk:RAW1';
      const notice = { connectionId: con!.id, shipmentKey, query: 'action=shipnotify', contentType: 'application/xml', body: '<ShipNotice><Recipient><Name>Charles Babbage</Name></Recipient></ShipNotice>' };
      const fact = { fact: { kind: 'shipmentReported' as const, report: { shipmentKey, carrier: 'UPS', reportedVia: 'shipnotify', details: { recipient: { name: 'Charles Babbage' } } } }, via: 'shipnotify' };
      return recordNotice(db(), { scope: con!, references: [{ by: 'orderId', value: orderId, source: 'body OrderID' }] }, notice, fact);
    };
    expect(await resent(OLD_CANCELED)).toMatchObject({ orderId: before[OLD_CANCELED]!.order.orderId });
    expect(await noticesOf(before[OLD_CANCELED]!.order.orderId)).toEqual([]);
    expect(await resent(RECENT_CONFIRMED)).toMatchObject({ orderId: before[RECENT_CONFIRMED]!.order.orderId });
    expect((await noticesOf(before[RECENT_CONFIRMED]!.order.orderId)).map((n) => n.timesReceived)).toEqual([2]);
    // The repeats reach their orders and change nothing there.
    const factsOf = (n: string) => db().select().from(orderFacts).where(and(eq(orderFacts.orderId, before[n]!.order.orderId), eq(orderFacts.kind, 'shipmentReported'))).orderBy(desc(orderFacts.id));
    for (const n of [OLD_CANCELED, RECENT_CONFIRMED]) await eventually(() => factsOf(n), (facts) => facts.length > 0 && facts.every((f) => f.state === 'delivered'));
    expect((await row(RECENT_CONFIRMED)).status).toBe('confirmed');
    // A purged order's facts keep what its shipments keep: not the recipient (redacted as the reopened order is projected).
    await eventually(() => factsOf(OLD_CANCELED), (facts) => !JSON.stringify(facts[0]!.fact).includes('Charles Babbage'));
    expect(JSON.stringify((await factsOf(OLD_CANCELED))[0]!.fact)).not.toContain('Charles Babbage');
    expect(JSON.stringify((await factsOf(RECENT_CONFIRMED))[0]!.fact)).toContain('Charles Babbage');
  });

  it('works through a backlog in batches of its own transaction each', async () => {
    const backlog = [1, 2, 3].map((i) => `RET-${tag}-backlog-${i}`);
    for (const n of backlog) await canceledOrder(n);
    for (const n of backlog) await backdate(n, RETENTION_DAYS + 1);
    const progress: number[] = [];
    expect(await purgePersonalData(db(), RETENTION_DAYS, { batchSize: 2, onBatch: (soFar) => progress.push(soFar) })).toBe(3);
    expect(progress).toEqual([2, 3]);
    for (const n of backlog) expect((await row(n)).shipTo, n).toEqual({ name: REDACTED, state: 'TX', country: 'US' });
    // The cutoff counts back from `now`: 20 days later, RECENT_CONFIRMED (closed 80 days ago) is due.
    expect(await purgePersonalData(db(), RETENTION_DAYS, { now: new Date(Date.now() + 20 * DAY) })).toBe(1);
    expect((await row(RECENT_CONFIRMED)).personalDataPurgedAt).not.toBeNull();
    expect(await noticesOf(before[RECENT_CONFIRMED]!.order.orderId)).toEqual([]);
    for (const n of [OLD_OPEN, OLD_UNPAID]) expect(await snapshot(n), n).toEqual(before[n]);
  });
});
