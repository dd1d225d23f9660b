/**
 * The order workflow alone: a worker on the dev server whose activities are in-memory stand-ins (no
 * database, no webhook), with deadlines and grace periods of a second or two, so the timed paths
 * (deadlines, stuck and retry, the grace period, reopening, continue-as-new, confirmations) run in
 * seconds. The SDK's time-skipping server is a download these machines cannot make, so the timers
 * are real and short. State is read through the `state` query, the execution's search attributes and
 * what the stand-in projection received; never through what an update answers.
 *
 * Continue-as-new runs on a second dev server of this file's own, whose dynamic config suggests it
 * after a few dozen history events instead of thousands.
 */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure, Context, type Info as ActivityInfo } from '@temporalio/activity';
import { Client, Connection, WithStartWorkflowOperation, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, inject, it, type ExpectStatic } from 'vitest';
import type { OrderFact } from '../domain/facts';
import { applyCancel, applyConfirmationDelivered, applyExported, applyShipmentReported, newOrderState, type OrderDeadlines, type OrderSettings } from '../domain/lifecycle';
import { normalizeOrderPayload, OrderPayloadSchema } from '../api/order-payload';
import { FLAGS_KEEP, jsonBytes, MAX_LINES_PER_ORDER, ORDER_MAX_BYTES, SHIPMENTS_STATE_BUDGET_BYTES, TEMPORAL_PAYLOAD_LIMIT_BYTES } from '../domain/limits';
import { orderWorkflowId, type OrderContent, type OrderState, type OrderStatus, type ShipmentReport, type StuckReason } from '../domain/order';
import { cancelUpdate, factSignal, registerUpdate, retryUpdate, stateQuery, type RequestEnvelope } from '../workflows/messages';
import type { orderWorkflow, OrderWorkflowInput } from '../workflows/order';
import { MerchantIdKey, ORDER_SEARCH_ATTRIBUTES, OrderNumberKey, OrderSourceKey, OrderStatusKey, OrderStuckKey, StuckReasonKey } from '../workflows/search-attributes';
import { freePort, startDevServer, type RunningDevServer } from '../tooling/temporal-cli';
import { content } from './unit/builders';

const DAY = 86_400_000;
/**
 * Short enough to wait out in a test, long enough that "not before the deadline" means something: the
 * server fires a timer up to about a second late, so a wait of a tenth of it would pass for a 1 s one.
 */
const SHORT = 2_000;
/** History events after which the second dev server suggests continue-as-new (the default is 4096). */
const SUGGEST_CONTINUE_AS_NEW_AFTER = 30;

const settings = (deadlines: Partial<OrderDeadlines> = {}, terminalGraceMs = DAY): OrderSettings => ({
  deadlines: { awaitPaymentMs: DAY, pendingExportMs: DAY, atWmsShipmentMs: DAY, confirmationMs: DAY, ...deadlines },
  terminalGraceMs,
});

// ---- stand-in activities --------------------------------------------------------------------------

interface ProjectionSeen {
  workflowId: string;
  runId: string;
  local: boolean;
  version: number;
  state: OrderState;
  unchanged: { lines: boolean; shipments: boolean };
}
interface DeliverySeen {
  orderId: string;
  shipmentKey: string;
  activityId: string;
  attempt: number;
}
type DeliveryResult = { mode: 'pickup' } | { mode: 'push'; status: number };
type Deliver = (input: { orderId: string; shipmentKey: string }, info: ActivityInfo) => Promise<DeliveryResult>;
type Loaded = { state: OrderState; version: number; deadlines: Record<string, string> };

/** The activities the order workflow uses, in memory: they record what they were asked and answer as each test sets up. */
class StandIns {
  readonly projections: ProjectionSeen[] = [];
  readonly deliveries: DeliverySeen[] = [];
  readonly loads: string[] = [];
  /** What loadOrderState answers per order id (absent: not in the read model). */
  readonly stored = new Map<string, Loaded>();
  /** How each order's source takes confirmations (absent: pickup). */
  readonly modes = new Map<string, 'pickup' | 'push'>();
  /** How the push webhook answers per order (absent: 200). */
  readonly webhooks = new Map<string, Deliver>();

  projectionsOf(workflowId: string) {
    return this.projections.filter((p) => p.workflowId === workflowId);
  }
  deliveriesOf(orderId: string) {
    return this.deliveries.filter((d) => d.orderId === orderId);
  }

  activities() {
    const modeOf = (orderId: string) => this.modes.get(orderId) ?? 'pickup';
    return {
      projectOrder: async (input: { state: OrderState; version: number; workflowId: string; unchanged: { lines: boolean; shipments: boolean } }) => {
        const info = Context.current().info;
        this.projections.push({ workflowId: input.workflowId, runId: info.workflowExecution?.runId ?? '', local: info.isLocal, version: input.version, state: input.state, unchanged: input.unchanged });
        const { state } = input;
        // The read model stamps LastModified from the order's revision (one stamp per revision).
        const lastModified = new Date(Date.UTC(2026, 0, 1) + state.modifiedRevision * 1000).toISOString();
        const awaiting = state.shipments.some((s) => !s.confirmationDeliveredAt);
        return { lastModified, ...(awaiting ? { confirmationMode: modeOf(state.orderId) } : {}) };
      },
      loadOrderState: async (orderId: string): Promise<Loaded | null> => {
        this.loads.push(orderId);
        return this.stored.get(orderId) ?? null;
      },
      deliverConfirmation: async (input: { orderId: string; shipmentKey: string }): Promise<DeliveryResult> => {
        const info = Context.current().info;
        this.deliveries.push({ orderId: input.orderId, shipmentKey: input.shipmentKey, activityId: info.activityId, attempt: info.attempt });
        // Like the real activity, it reads the source's target again: pickup means nothing to send.
        if (modeOf(input.orderId) === 'pickup') return { mode: 'pickup' };
        const webhook = this.webhooks.get(input.orderId);
        return webhook ? webhook(input, info) : { mode: 'push', status: 200 };
      },
    };
  }
}

// ---- the order workflow on a dev server ----------------------------------------------------------

/** Polls `probe` until `check` holds; fails with what it last saw when `timeoutMs` passes. */
async function waitFor<T>(what: string, probe: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(value).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type OrderHandle = WorkflowHandle<typeof orderWorkflow>;

interface Order {
  orderId: string;
  orderNumber: string;
  workflowId: string;
  handle: OrderHandle;
}

class OrderBench {
  private facts = 0;
  private orders = 0;
  readonly merchantId = `m-standin-${randomBytes(3).toString('hex')}`;
  readonly taskQueue = `order-standins-${randomBytes(4).toString('hex')}`;
  readonly standIns = new StandIns();
  private worker: Worker | null = null;
  private running: Promise<void> | null = null;
  private constructor(
    readonly client: Client,
    private readonly connection: Connection,
    private readonly native: NativeConnection,
  ) {}

  static async start(address: string, namespace: string): Promise<OrderBench> {
    const [connection, native] = await Promise.all([Connection.connect({ address }), NativeConnection.connect({ address })]);
    const bench = new OrderBench(new Client({ connection, namespace }), connection, native);
    bench.worker = await Worker.create({
      connection: native,
      namespace,
      taskQueue: bench.taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: bench.standIns.activities(),
      shutdownGraceTime: '1 second',
    });
    bench.running = bench.worker.run();
    return bench;
  }

  async stop() {
    if (this.worker?.getState() === 'RUNNING') this.worker.shutdown();
    await this.running;
    await this.native.close();
    await this.connection.close();
  }

  private next(source = 'shop') {
    const orderNumber = `S-${++this.orders}-${randomBytes(2).toString('hex')}`;
    const orderId = `o-${this.merchantId}-${orderNumber}`;
    const workflowId = orderWorkflowId(this.merchantId, orderNumber);
    return { orderNumber, orderId, workflowId, source };
  }

  /** A new order, created as the gateway does (update-with-start of `register`), once its first projection is done. */
  async create(options: { settings: OrderSettings; paid?: boolean; source?: string; content?: Partial<OrderContent> }): Promise<Order> {
    const { orderNumber, orderId, workflowId, source } = this.next(options.source);
    const orderContent = content({ ...options.content, orderNumber, paid: options.paid ?? true, source });
    const input: OrderWorkflowInput = { kind: 'new', orderId, merchantId: this.merchantId, content: orderContent, createHash: 'hash-1', settings: options.settings, registerBy: expiry() };
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof orderWorkflow>('orderWorkflow', {
      workflowId,
      taskQueue: this.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: [
        { key: MerchantIdKey, value: this.merchantId },
        { key: OrderNumberKey, value: orderNumber },
        { key: OrderSourceKey, value: source },
        { key: OrderStatusKey, value: orderContent.paid ? 'pending' : 'await_payment' },
        { key: OrderStuckKey, value: false },
      ],
    });
    const update = await this.client.workflow.startUpdateWithStart(registerUpdate, {
      args: [{ createHash: 'hash-1', expiresAt: expiry() }],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
      startWorkflowOperation,
    });
    await update.result();
    return { orderId, orderNumber, workflowId, handle: this.client.workflow.getHandle(workflowId) };
  }

  /** A closed order's fact, as the fact relay sends it: signal-with-start of a run that reopens it from the read model. */
  async reopen(stored: (ids: { orderId: string; orderNumber: string }) => Loaded, fact: OrderFact, orderSettings: OrderSettings): Promise<Order> {
    const { orderNumber, orderId, workflowId } = this.next();
    this.standIns.stored.set(orderId, stored({ orderId, orderNumber }));
    const input: OrderWorkflowInput = { kind: 'reopen', orderId, merchantId: this.merchantId, orderNumber, settings: orderSettings };
    await this.client.workflow.signalWithStart<typeof orderWorkflow, [ReturnType<OrderBench['message']>]>('orderWorkflow', {
      workflowId,
      taskQueue: this.taskQueue,
      args: [input],
      signal: factSignal,
      signalArgs: [this.message(fact)],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: MerchantIdKey, value: this.merchantId },
        { key: OrderNumberKey, value: orderNumber },
      ],
    });
    return { orderId, orderNumber, workflowId, handle: this.client.workflow.getHandle(workflowId) };
  }

  private message(fact: OrderFact) {
    return { ...fact, factId: String(++this.facts), receivedAt: new Date().toISOString() };
  }

  fact(order: Order, fact: OrderFact) {
    return order.handle.signal(factSignal, this.message(fact));
  }

  /** An update with its deadline envelope. What it answers is not looked at: state is read by query. */
  async request<Ret, R extends RequestEnvelope>(order: Order, update: UpdateDefinition<Ret, [R]>, args: Omit<R, 'expiresAt'>): Promise<void> {
    await order.handle.executeUpdate(update, { args: [{ ...args, expiresAt: expiry() } as R] });
  }

  state(order: Order): Promise<OrderState> {
    return order.handle.query(stateQuery);
  }

  until(order: Order, what: string, check: (state: OrderState) => boolean, timeoutMs?: number) {
    return waitFor(what, () => this.state(order), check, timeoutMs);
  }

  async searchAttributes(order: Order) {
    const { typedSearchAttributes } = await order.handle.describe();
    return {
      status: typedSearchAttributes.get(OrderStatusKey),
      stuck: typedSearchAttributes.get(OrderStuckKey),
      stuckReason: typedSearchAttributes.get(StuckReasonKey),
    };
  }

  /** Waits until the run has closed; its status and close time. */
  closed(order: Order, timeoutMs?: number) {
    return waitFor('the workflow to close', () => order.handle.describe(), (d) => d.status.name !== 'RUNNING', timeoutMs);
  }
}

const POLL = { timeout: 15_000, interval: 50 };
const expiry = () => new Date(Date.now() + 30_000).toISOString();
const ms = (iso: string | null | undefined) => Date.parse(iso ?? '');
const shipment = (shipmentKey: string, items?: { lineId: string; quantity: number }[]): OrderFact => ({
  kind: 'shipmentReported',
  report: { shipmentKey, carrier: 'UPS', trackingNumber: `1Z-${shipmentKey}`, reportedVia: 'test', ...(items ? { items } : {}) },
});

/** The checks every "stuck past its deadline" test makes: query, search attributes, projection, and the wait was the deadline's. */
async function expectStuck(expect: ExpectStatic, bench: OrderBench, order: Order, reason: StuckReason, status: OrderStatus, deadlineMs: number) {
  const state = await bench.until(order, `stuck ${reason}`, (s) => s.stuck !== null);
  expect(state.stuck?.reason).toBe(reason);
  expect(state.status).toBe(status);
  // Not before the deadline: workflow time from the start of the wait to the stuck mark.
  expect(ms(state.stuck?.since) - ms(state.waitingSince)).toBeGreaterThanOrEqual(deadlineMs);
  // The query sees the change first; the projection and the search attributes follow it.
  await expect.poll(() => bench.standIns.projectionsOf(order.workflowId).at(-1)?.state.stuck?.reason, POLL).toBe(reason);
  await expect.poll(() => bench.searchAttributes(order), POLL).toEqual({ status, stuck: true, stuckReason: reason });
  return state;
}

// ---- a maximum-size order ------------------------------------------------------------------------

/** `n` characters of `char`, for filling fields to their limits. */
const fill = (char: string, n: number) => char.repeat(n);
/** Four UTF-8 bytes per character: the most a code point can cost in a payload. */
const WIDE = '😀';

/**
 * An order as the order API makes it from a body of just under ORDER_MAX_BYTES: every free-text field
 * at ShipStation's limit in four-byte characters, MAX_LINES_PER_ORDER lines whose keys are at their
 * limit (in three-byte characters: keys are bounded in UTF-16 units), line names filling the rest.
 */
function maxSizeOrderContent(unitsPerLine: number): { orderContent: OrderContent; posted: number } {
  const address = { name: fill(WIDE, 100), company: fill(WIDE, 100), street1: fill(WIDE, 200), street2: fill(WIDE, 200), city: fill(WIDE, 100), state: fill(WIDE, 100), postalCode: fill(WIDE, 50), country: 'US', phone: fill(WIDE, 50), email: fill(WIDE, 100) };
  const line = (i: number, name: string) => ({ lineId: `${i}`.padEnd(50, '€'), sku: `S${i}`.padEnd(50, '€'), name, quantity: unitsPerLine, unitPrice: '1.00' });
  const payload = (nameLength: number) => ({
    orderNumber: 'MAX-1',
    orderDate: '2026-11-20T09:30:00Z',
    paid: true,
    shippingMethod: fill(WIDE, 100),
    paymentMethod: fill(WIDE, 50),
    customer: { code: fill(WIDE, 50), email: fill(WIDE, 100) },
    shipTo: address,
    billTo: address,
    customerNotes: fill(WIDE, 1000),
    internalNotes: fill(WIDE, 1000),
    giftMessage: fill(WIDE, 1000),
    customFields: [fill(WIDE, 100), fill(WIDE, 100), fill(WIDE, 100)],
    requestedWarehouse: fill(WIDE, 100),
    lines: Array.from({ length: MAX_LINES_PER_ORDER }, (_, i) => line(i, fill('n', nameLength))),
  });
  let nameLength = 200;
  while (Buffer.byteLength(JSON.stringify(payload(nameLength))) > ORDER_MAX_BYTES) nameLength--;
  const body = payload(nameLength);
  return { orderContent: normalizeOrderPayload(OrderPayloadSchema.parse(body)), posted: Buffer.byteLength(JSON.stringify(body)) };
}

/** A package as large as a ShipNotice can make it (every text at its limit) naming one unit of every line. */
function maxSizeShipment(n: number, orderContent: OrderContent): ShipmentReport {
  const tracking = `${n}`.padEnd(100, 'T');
  const recipient = { name: fill(WIDE, 100), company: fill(WIDE, 100), address1: fill(WIDE, 200), address2: fill(WIDE, 200), city: fill(WIDE, 100), state: fill(WIDE, 100), postalCode: fill(WIDE, 50), country: fill(WIDE, 50) };
  return {
    shipmentKey: `trk:${tracking}`,
    carrier: fill(WIDE, 50),
    service: fill(WIDE, 100),
    trackingNumber: tracking,
    shipDate: '2026-11-21',
    labelCreatedAt: '2026-11-21T10:00:00.000Z',
    shippingCost: '999999.99',
    details: {
      recipient,
      notifyCustomer: true,
      notesToCustomer: fill(WIDE, 1000),
      customerNotes: fill(WIDE, 1000),
      internalNotes: fill(WIDE, 1000),
      customFields: [fill(WIDE, 100), fill(WIDE, 100), fill(WIDE, 100)],
      requestedWarehouse: fill(WIDE, 100),
    },
    items: orderContent.lines.map((l) => ({ lineId: l.lineId, sku: l.sku, quantity: 1 })),
    reportedVia: 'shipnotify',
  };
}

/** How many maximum-size shipments the rules record for this order before the state budget stops them. */
function maxShipmentsOf(orderContent: OrderContent): number {
  const many = { ...orderContent, lines: orderContent.lines.map((l) => ({ ...l, quantity: 99_999 })) };
  const now = () => new Date().toISOString();
  const state = newOrderState({ orderId: 'o-max', merchantId: 'm-max', content: many, createHash: 'hash-1', now: now() });
  state.lastModified = now();
  let n = 0;
  while (applyShipmentReported(state, maxSizeShipment(n + 1, orderContent), now(), now()) === 'recorded') n++;
  return n;
}

/** The runs of an order's workflow that projected, in order (the first one first). */
const runsOf = (b: OrderBench, order: Order) => [...new Set(b.standIns.projectionsOf(order.workflowId).map((p) => p.runId))];

/** The largest payload (bytes) anywhere in one run's history. */
async function largestPayloadInHistory(b: OrderBench, workflowId: string, runId: string): Promise<number> {
  const history = await b.client.workflow.getHandle(workflowId, runId).fetchHistory();
  let largest = 0;
  const walk = (value: unknown): void => {
    if (value instanceof Uint8Array) largest = Math.max(largest, value.byteLength);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(history.events);
  return largest;
}

// ---- the suite ------------------------------------------------------------------------------------

let bench: OrderBench;
/** A second dev server whose history-count threshold for suggesting continue-as-new is tiny. */
let shortHistoryServer: RunningDevServer | undefined;
let shortHistoryBench: OrderBench;

beforeAll(async () => {
  // The SDK's INFO and WARN lines (activity failures the tests provoke) would bury the output.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const namespace = inject('temporalNamespace');
  const [main, second] = await Promise.all([
    OrderBench.start(inject('temporalAddress'), namespace),
    freePort().then((port) =>
      startDevServer({
        port,
        namespace,
        searchAttributes: ORDER_SEARCH_ATTRIBUTES,
        dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': SUGGEST_CONTINUE_AS_NEW_AFTER },
      }),
    ),
  ]);
  bench = main;
  shortHistoryServer = second;
  shortHistoryBench = await OrderBench.start(second.address, namespace);
});

afterAll(async () => {
  await Promise.all([bench?.stop(), shortHistoryBench?.stop()]);
  await shortHistoryServer?.stop();
});

// Every test has an order (and workflow id) of its own, so all of them run at once: the file takes
// about as long as its longest test.
describe.concurrent('order workflow with stand-in activities', () => {
  describe('deadlines', () => {
    it('a paid order not exported by its deadline is stuck not_exported', async ({ expect }) => {
      const order = await bench.create({ settings: settings({ pendingExportMs: SHORT }) });
      await expectStuck(expect, bench, order, 'not_exported', 'pending', SHORT);
    });

    it('an order at ShipStation without a shipment by its deadline is stuck no_shipment (the export deadline no longer counts)', async ({ expect }) => {
      // The export deadline is the shorter one: a wait still counting against it would end as not_exported.
      const order = await bench.create({ settings: settings({ pendingExportMs: SHORT, atWmsShipmentMs: 2 * SHORT }) });
      await bench.fact(order, { kind: 'exported', exportKey: 'page-1' });
      const stuck = await expectStuck(expect, bench, order, 'no_shipment', 'at_wms', 2 * SHORT);
      expect(stuck.timeline.find((e) => e.event === 'exported')?.at).toBe(stuck.waitingSince);
    });

    it('an unpaid order past its deadline is stuck unpaid_too_long', async ({ expect }) => {
      const order = await bench.create({ settings: settings({ awaitPaymentMs: SHORT }), paid: false });
      await expectStuck(expect, bench, order, 'unpaid_too_long', 'await_payment', SHORT);
    });
  });

  describe('stuck and retry', () => {
    it('retry clears not_exported, re-offers the order to ShipStation and restarts the clock', async ({ expect }) => {
      const order = await bench.create({ settings: settings({ pendingExportMs: SHORT }) });
      const stuck = await expectStuck(expect, bench, order, 'not_exported', 'pending', SHORT);

      await bench.request(order, retryUpdate, { reason: 'not_exported' });
      const retried = await bench.state(order);
      expect(retried.stuck).toBeNull();
      expect(retried.timeline.at(-1)?.event).toBe('retried');
      // Re-offered: a new revision, so the read model moves LastModified and ShipStation's next poll sees it.
      expect(retried.modifiedRevision).toBe(stuck.modifiedRevision + 1);
      expect(ms(retried.lastModified)).toBeGreaterThan(ms(stuck.lastModified));
      expect(ms(retried.waitingSince)).toBeGreaterThanOrEqual(ms(stuck.stuck?.since));
      const projected = bench.standIns.projectionsOf(order.workflowId).at(-1)!;
      expect(projected.state.stuck).toBeNull();
      expect(projected.state.modifiedRevision).toBe(retried.modifiedRevision);
      // An update's change goes through a regular activity (a local one would hold its acceptance back).
      expect(projected.local).toBe(false);
      await expect.poll(() => bench.searchAttributes(order), POLL).toEqual({ status: 'pending', stuck: false, stuckReason: undefined });

      // The deadline counts again from the retry.
      const again = await expectStuck(expect, bench, order, 'not_exported', 'pending', SHORT);
      expect(again.waitingSince).toBe(retried.waitingSince);
    });

    it('confirmation_undelivered: retry redelivers at once, as a new activity rather than the attempt backing off', async ({ expect }) => {
      const order = await bench.create({ settings: settings({ confirmationMs: 1_500 }), source: 'push-shop' });
      bench.standIns.modes.set(order.orderId, 'push');
      // The first delivery activity never gets through (its retries back off); any later one does.
      let first: string | undefined;
      bench.standIns.webhooks.set(order.orderId, async (_input, info) => {
        first ??= info.activityId;
        if (info.activityId === first) throw ApplicationFailure.retryable('webhook answered 503', 'WebhookUnavailable');
        return { mode: 'push', status: 200 };
      });
      await bench.fact(order, shipment('pkg-1'));
      await expectStuck(expect, bench, order, 'confirmation_undelivered', 'shipped', 1_500);
      const before = bench.standIns.deliveriesOf(order.orderId);
      expect(before.length).toBeGreaterThanOrEqual(1);
      expect(new Set(before.map((d) => d.activityId))).toEqual(new Set([first]));

      await bench.request(order, retryUpdate, { reason: 'confirmation_undelivered' });
      const confirmed = await bench.until(order, 'confirmed', (s) => s.status === 'confirmed');
      expect(confirmed.stuck).toBeNull();
      expect(confirmed.shipments[0]?.confirmationDeliveredAt).not.toBeNull();
      const delivered = bench.standIns.deliveriesOf(order.orderId).at(-1)!;
      expect(delivered.activityId).not.toBe(first);
      expect(delivered.attempt).toBe(1);
      expect(delivered.shipmentKey).toBe('pkg-1');
      await expect.poll(() => bench.searchAttributes(order), POLL).toEqual({ status: 'confirmed', stuck: false, stuckReason: undefined });
    });
  });

  describe('confirmations', () => {
    it('push: the delivered confirmation confirms the order', async ({ expect }) => {
      const order = await bench.create({ settings: settings(), source: 'push-shop' });
      bench.standIns.modes.set(order.orderId, 'push');
      await bench.fact(order, shipment('pkg-1'));
      const confirmed = await bench.until(order, 'confirmed', (s) => s.status === 'confirmed');
      expect(confirmed.shipments.map((s) => s.confirmationDeliveredAt !== null)).toEqual([true]);
      expect(bench.standIns.deliveriesOf(order.orderId).map((d) => d.shipmentKey)).toEqual(['pkg-1']);
      await expect.poll(() => bench.standIns.projectionsOf(order.workflowId).at(-1)?.state.status, POLL).toBe('confirmed');
    });

    it('push: a rejected confirmation (ConfirmationRejected, not retried) makes the order stuck confirmation_rejected; retry redelivers', async ({ expect }) => {
      const order = await bench.create({ settings: settings(), source: 'push-shop' });
      bench.standIns.modes.set(order.orderId, 'push');
      let calls = 0;
      bench.standIns.webhooks.set(order.orderId, async () => {
        if (++calls === 1) throw ApplicationFailure.create({ type: 'ConfirmationRejected', message: 'confirmation rejected: 422 unknown order', nonRetryable: true });
        return { mode: 'push', status: 200 };
      });
      await bench.fact(order, shipment('pkg-1'));
      // No deadline is short here: only the rejection can make it stuck.
      const stuck = await expectStuck(expect, bench, order, 'confirmation_rejected', 'shipped', 0);
      expect(stuck.stuck?.detail).toContain('422 unknown order');
      expect(stuck.shipments[0]?.deliveryRejected).toContain('422 unknown order');
      // Non-retryable: one call, the order stuck right after it.
      expect(bench.standIns.deliveriesOf(order.orderId)).toHaveLength(1);

      await bench.request(order, retryUpdate, { reason: 'confirmation_rejected' });
      const confirmed = await bench.until(order, 'confirmed', (s) => s.status === 'confirmed');
      expect(confirmed.stuck).toBeNull();
      expect(confirmed.shipments[0]?.deliveryRejected).toBeUndefined();
      expect(bench.standIns.deliveriesOf(order.orderId)).toHaveLength(2);
    });

    it('pickup: nothing is pushed; the source\'s ack (a confirmationDelivered fact) confirms the order', async ({ expect }) => {
      const order = await bench.create({ settings: settings() });
      await bench.fact(order, shipment('pkg-1'));
      const shipped = await bench.until(order, 'shipped', (s) => s.status === 'shipped');
      expect(shipped.shipments[0]?.confirmationDeliveredAt).toBeNull();
      await bench.fact(order, { kind: 'confirmationDelivered', shipmentKey: 'pkg-1' });
      await bench.until(order, 'confirmed', (s) => s.status === 'confirmed');
      expect(bench.standIns.deliveriesOf(order.orderId)).toEqual([]);
    });
  });

  describe('the grace period', () => {
    it('a terminal order\'s workflow completes once terminalGraceMs has passed quietly', async ({ expect }) => {
      const order = await bench.create({ settings: settings({}, SHORT) });
      await bench.request(order, cancelUpdate, { reason: 'customer changed their mind' });
      const canceled = await bench.state(order);
      expect(canceled.status).toBe('canceled');
      const closed = await bench.closed(order);
      expect(closed.status.name).toBe('COMPLETED');
      expect(await order.handle.result()).toEqual({ orderId: order.orderId, status: 'canceled', shipments: 0 });
      const canceledAt = ms(canceled.timeline.at(-1)?.at);
      expect(closed.closeTime!.getTime() - canceledAt).toBeGreaterThanOrEqual(SHORT);
    });

    it('a late fact within the grace period is applied by the same run, which closes a quiet grace period later', async ({ expect }) => {
      const grace = 4_000;
      const order = await bench.create({ settings: settings({}, grace) });
      await bench.request(order, cancelUpdate, { reason: 'fraud' });
      const { runId } = await order.handle.describe();
      await bench.fact(order, shipment('late-1'));
      const late = await bench.until(order, 'the late shipment', (s) => s.shipments.length === 1);
      expect(late.status).toBe('canceled');
      expect(late.flags.map((f) => f.code)).toEqual(['shipment_on_canceled_order']);
      await expect.poll(() => bench.standIns.projectionsOf(order.workflowId).at(-1)?.state.shipments.map((s) => s.shipmentKey), POLL).toEqual(['late-1']);
      // A fact's change is projected by a local activity, in the workflow task that made it.
      expect(bench.standIns.projectionsOf(order.workflowId).at(-1)?.local).toBe(true);

      const closed = await bench.closed(order);
      expect(closed.status.name).toBe('COMPLETED');
      expect(closed.runId).toBe(runId);
      expect(bench.standIns.loads).not.toContain(order.orderId);
      // The grace period started again with the late fact.
      expect(closed.closeTime!.getTime() - ms(late.shipments[0]?.recordedAt)).toBeGreaterThanOrEqual(grace);
    });
  });

  describe('reopening a closed order', () => {
    /** A confirmed order as the read model would hold it: one shipment (pkg-1), its confirmation picked up. */
    const confirmedOrder = ({ orderId, orderNumber }: { orderId: string; orderNumber: string }, merchantId: string): Loaded => {
      const at = (minute: number) => new Date(Date.UTC(2026, 0, 2, 10, minute)).toISOString();
      const state = newOrderState({ orderId, merchantId, content: content({ orderNumber }), createHash: 'hash-1', now: at(0) });
      applyExported(state, at(1));
      applyShipmentReported(state, { shipmentKey: 'pkg-1', carrier: 'UPS', reportedVia: 'test' }, at(2));
      applyConfirmationDelivered(state, 'pkg-1', at(3));
      if (state.status !== 'confirmed') throw new Error(`the stored order should be confirmed, is ${state.status}`);
      return { state, version: 7, deadlines: {} };
    };
    const canceledOrder = ({ orderId, orderNumber }: { orderId: string; orderNumber: string }, merchantId: string): Loaded => {
      const state = newOrderState({ orderId, merchantId, content: content({ orderNumber }), createHash: 'hash-1', now: '2026-01-02T10:00:00.000Z' });
      applyCancel(state, 'customer changed their mind', '2026-01-02T10:01:00.000Z');
      return { state, version: 5, deadlines: {} };
    };

    it('a repeat fact reopens the order from the read model, changes nothing and ends the run at once', async ({ expect }) => {
      const order = await bench.reopen((ids) => confirmedOrder(ids, bench.merchantId), shipment('pkg-1'), settings({}, DAY));
      // A grace period of a day: only the "nothing changed" path can close it within the wait.
      const closed = await bench.closed(order);
      expect(closed.status.name).toBe('COMPLETED');
      expect(await order.handle.result()).toEqual({ orderId: order.orderId, status: 'confirmed', shipments: 1 });
      expect(bench.standIns.loads.filter((id) => id === order.orderId)).toHaveLength(1);
      expect(bench.standIns.projectionsOf(order.workflowId)).toEqual([]);
    });

    it('a new fact reopens the order: applied with a late-fact flag, projected above the stored version, then a grace period again', async ({ expect }) => {
      const order = await bench.reopen((ids) => canceledOrder(ids, bench.merchantId), shipment('late-1'), settings({}, SHORT));
      const closed = await bench.closed(order);
      expect(closed.status.name).toBe('COMPLETED');
      expect(await order.handle.result()).toEqual({ orderId: order.orderId, status: 'canceled', shipments: 1 });

      const projections = bench.standIns.projectionsOf(order.workflowId);
      expect(projections.length).toBeGreaterThanOrEqual(1);
      const last = projections.at(-1)!.state;
      expect(last.status).toBe('canceled');
      expect(last.shipments.map((s) => s.shipmentKey)).toEqual(['late-1']);
      expect(last.flags.map((f) => f.code).sort()).toEqual(['late_fact_after_close', 'shipment_on_canceled_order']);
      // Above what the read model holds (it ignores versions not higher), and written in full: a new run.
      expect(projections[0]!.version).toBeGreaterThan(5);
      expect(projections[0]!.unchanged).toEqual({ lines: false, shipments: false });
      expect(projections.map((p) => p.version)).toEqual([...projections.map((p) => p.version)].sort((a, b) => a - b));
      expect(closed.typedSearchAttributes.get(OrderStatusKey)).toBe('canceled');
      // Closed after its grace period, counted from the late fact.
      expect(closed.closeTime!.getTime() - ms(last.shipments[0]?.recordedAt)).toBeGreaterThanOrEqual(SHORT);
    });
  });

  describe('continue-as-new', () => {
    /** Each export refusal with a reason other than the last is a change: a flag, a new version, a projection. */
    const refusal = (n: number): OrderFact => ({ kind: 'exportRefused', exportKey: `page-${n}`, reason: `reason ${n}` });
    const reasons = (count: number) => Array.from({ length: count }, (_, i) => `reason ${i + 1}`);
    /** Every refusal stays a flag of its own below this (flags keep their first and last ones: FLAGS_KEEP). */
    const MAX_REFUSALS = FLAGS_KEEP.head + FLAGS_KEEP.tail;
    const runsProjecting = (b: OrderBench, order: Order) => [...new Set(b.standIns.projectionsOf(order.workflowId).map((p) => p.runId))];

    /** What every continue-as-new test checks once its facts are in: one state and rising versions across the runs. */
    async function expectCarriedAcrossRuns(expect: ExpectStatic, b: OrderBench, order: Order, firstRunId: string, sent: number) {
      // Once the last fact is projected (a run may still continue as new while it is projected).
      await expect.poll(() => b.standIns.projectionsOf(order.workflowId).at(-1)?.state.flags.length, POLL).toBe(sent);
      const current = await order.handle.describe();
      expect(current.status.name).toBe('RUNNING');
      expect(current.runId).not.toBe(firstRunId);
      expect((await b.client.workflow.getHandle(order.workflowId, firstRunId).describe()).status.name).toBe('CONTINUED_AS_NEW');

      const state = await b.state(order);
      expect(state.orderId).toBe(order.orderId);
      expect(state.status).toBe('pending');
      expect(state.flags.map((f) => f.detail)).toEqual(reasons(sent));

      const projections = b.standIns.projectionsOf(order.workflowId);
      const runs = runsProjecting(b, order);
      expect(runs.length).toBeGreaterThanOrEqual(3);
      expect(runs[0]).toBe(firstRunId);
      // The newest run projects only what the one before it left unprojected (a run may continue as new
      // with every change already in the read model): the last run that projected is this one or an earlier one of the chain.
      if (runs.at(-1) !== current.runId) expect((await b.client.workflow.getHandle(order.workflowId, runs.at(-1)).describe()).status.name).toBe('CONTINUED_AS_NEW');
      // Versions keep rising across runs, or the read model would take a new run's changes for stale ones.
      const versions = projections.map((p) => p.version);
      for (let i = 1; i < versions.length; i++) expect(versions[i], `projection ${i} of ${versions.join(', ')}`).toBeGreaterThan(versions[i - 1]!);
      // Each new run writes the order in full once; after that, only what changed (here: the order row).
      for (const runId of runs.slice(1)) {
        const ofRun = projections.filter((p) => p.runId === runId);
        expect(ofRun[0]!.unchanged, `first projection of run ${runId}`).toEqual({ lines: false, shipments: false });
        if (ofRun[1]) expect(ofRun[1].unchanged, `second projection of run ${runId}`).toEqual({ lines: true, shipments: true });
      }
    }

    it('a long-lived order continues as new when the server suggests it, carrying its state and version; later facts still apply', async ({ expect }) => {
      const b = shortHistoryBench;
      const order = await b.create({ settings: settings() });
      const firstRunId = (await order.handle.describe()).runId;
      let sent = 0;
      // One fact at a time, each sent once the order is quiet (its projection done, no workflow task
      // pending): no fact races a continue-as-new here (the next test does that).
      const sendQuietly = async () => {
        await b.fact(order, refusal(++sent));
        await waitFor(
          `fact ${sent} projected and the order quiet`,
          async () => ({ projected: b.standIns.projectionsOf(order.workflowId).at(-1)?.state.flags.length, pending: (await order.handle.describe()).raw.pendingWorkflowTask ?? null }),
          ({ projected, pending }) => projected === sent && pending === null,
        );
      };
      // Until two runs after the first have projected (bounded: the threshold is a few facts' worth of events).
      while (runsProjecting(b, order).length < 3 && sent < MAX_REFUSALS) await sendQuietly();
      await expectCarriedAcrossRuns(expect, b, order, firstRunId, sent);
    });

    it('facts arriving while the order continues as new are all applied, none lost between the runs', async ({ expect }) => {
      const b = shortHistoryBench;
      const order = await b.create({ settings: settings() });
      const firstRunId = (await order.handle.describe()).runId;
      let sent = 0;
      // Each fact is sent the moment the previous one shows in the `state` query: that is when the
      // workflow task that projected it has completed and the next one (which continues as new once
      // the server suggests it) starts, so facts keep arriving while a run is continuing as new. The
      // server then fails that task, and the workflow must apply those facts before it continues.
      // (A fact that never shows ends the stream; the check below then names the ones missing.)
      let applied = true;
      while (applied && sent < MAX_REFUSALS) {
        await b.fact(order, refusal(++sent));
        applied = await waitFor(`fact ${sent} in the state`, () => b.state(order), (s) => s.flags.at(-1)?.detail === `reason ${sent}`, 5_000).then(() => true, () => false);
      }
      const missing = async () => {
        const state = await b.state(order).catch((error: unknown) => {
          // Under a loaded machine a timer can fire just as the worker cancels it, which the SDK's core
          // fails the workflow task over (temporalio/sdk-rust#680); the server retries that task (after
          // its timeout) and the retry applies the history as it is. Not a loss: look again.
          if (/Workflow Task in failed state/.test(String(error))) return null;
          throw error;
        });
        if (!state) return ['(the workflow task is being retried)'];
        const applied = new Set(state.flags.map((f) => f.detail));
        return reasons(sent).filter((reason) => !applied.has(reason));
      };
      // Long enough for a failed workflow task's retry (its 10 s timeout, then the retry's own work).
      await expect.poll(missing, { timeout: 60_000, interval: 250, message: `facts lost while the order continued as new (of ${sent} sent)` }).toEqual([]);
      await expectCarriedAcrossRuns(expect, b, order, firstRunId, sent);
    });

    // Sequential: its payloads of most of a MiB would slow the tests beside it past their waits.
    it.sequential('an order of maximum size with the maximum number of maximum-size shipments goes through its lifecycle and continue-as-new, every payload well under 2 MiB', async ({ expect }) => {
      const b = shortHistoryBench;
      const { orderContent, posted } = maxSizeOrderContent(1);
      expect(posted).toBeGreaterThan(0.95 * ORDER_MAX_BYTES);
      expect(posted).toBeLessThanOrEqual(ORDER_MAX_BYTES);
      // As many maximum-size shipments as one order records (found with the same rules, in memory);
      // each line has one unit per shipment, so the last of them ships the order.
      const count = maxShipmentsOf(orderContent);
      expect(count).toBeGreaterThanOrEqual(3);
      const order = await b.create({ settings: settings(), content: maxSizeOrderContent(count).orderContent });
      const firstRunId = (await order.handle.describe()).runId;
      const querySizes: number[] = [];
      const measure = async () => querySizes.push(jsonBytes(await b.state(order)));

      for (let i = 1; i <= count; i++) {
        await b.fact(order, { kind: 'shipmentReported', report: maxSizeShipment(i, orderContent) });
        await b.until(order, `shipment ${i}`, (s) => s.shipments.length === i, 30_000);
        await measure();
      }
      const shipped = await b.until(order, 'shipped', (s) => s.status === 'shipped');
      expect(shipped.flags.filter((f) => f.code === 'shipment_not_recorded')).toEqual([]);
      for (const s of shipped.shipments) await b.fact(order, { kind: 'confirmationDelivered', shipmentKey: s.shipmentKey });
      await b.until(order, 'confirmed', (s) => s.status === 'confirmed', 30_000);
      // One more package: beyond what the order can hold, flagged rather than recorded.
      await b.fact(order, { kind: 'shipmentReported', report: maxSizeShipment(count + 1, orderContent) });
      const full = await b.until(order, 'the package beyond the cap flagged', (s) => s.flags.some((f) => f.code === 'shipment_not_recorded'), 30_000);
      expect(full.shipments).toHaveLength(count);
      expect(full.status).toBe('confirmed');
      await measure();

      // It continued as new on the way, carrying the whole state.
      await expect.poll(async () => runsOf(b, order).length, POLL).toBeGreaterThanOrEqual(2);
      expect(runsOf(b, order)[0]).toBe(firstRunId);

      // Every payload each run's history holds (start and continue-as-new inputs, signals, activity
      // inputs and results, markers) and every query answer: none near Temporal's 2 MiB.
      const historyLargest = Math.max(...(await Promise.all(runsOf(b, order).map((runId) => largestPayloadInHistory(b, order.workflowId, runId)))));
      const projectionLargest = Math.max(...b.standIns.projectionsOf(order.workflowId).map((p) => jsonBytes({ state: p.state, version: p.version })));
      const largest = Math.max(historyLargest, projectionLargest, ...querySizes);
      console.log(`maximum-size order: ${posted} bytes posted, ${count} shipments; largest payload ${largest} bytes (history ${historyLargest}, projection ${projectionLargest}, query ${Math.max(...querySizes)}) of Temporal's ${TEMPORAL_PAYLOAD_LIMIT_BYTES}`);
      expect(largest).toBeGreaterThan(SHIPMENTS_STATE_BUDGET_BYTES * 0.8);
      expect(largest).toBeLessThan(TEMPORAL_PAYLOAD_LIMIT_BYTES * 0.5);
    }, 180_000);
  });
});
