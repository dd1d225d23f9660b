/**
 * The fact relay (runtime/fact-relay.ts) on both databases: several relays share the work and still
 * forward each order's facts once each, in arrival order; a fact that fails on its own stays pending
 * and visible without holding up other orders, and ops retry or discard it (API and CLI); an
 * unreachable Temporal costs the facts nothing.
 */
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { eq, inArray } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApiServer } from '../api/server';
import { claimFacts, discardFact, recordFacts, settleFacts } from '../db/order-facts';
import { orderFacts } from '../db/schema';
import { orderWorkflowId } from '../domain/order';
import type { FactMessage, OrderFact } from '../domain/facts';
import { loadConfig } from '../runtime/config';
import { FactRelay, FactsPendingError, type FactRelayOptions } from '../runtime/fact-relay';
import { FactSignals } from '../temporal/fact-signals';
import { freePort } from '../tooling/temporal-cli';
import { call, type Requester } from './support/api';
import { DATABASE_KINDS } from './support/database';
import { runOpsCaptured } from './support/ops';
import { createOrder, eventually, orderPayload } from './support/orders';
import { startTestStack, testWebhookSettings, type TestStack } from './support/stack';
import { startTcpGate } from './support/tcp-gate';

const ADMIN = 'fact-relay-admin-token-0123456789';
const silent = pino({ level: 'silent' });
const shipment = (key: string, extra: Partial<Extract<OrderFact, { kind: 'shipmentReported' }>['report']> = {}): OrderFact => ({
  kind: 'shipmentReported',
  report: { shipmentKey: key, carrier: 'UPS', trackingNumber: `1Z${key}`, items: [], reportedVia: 'test', ...extra },
});

describe.each(DATABASE_KINDS)('fact relay on %s', (kind) => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ db: kind });
  });
  afterAll(() => stack?.close());

  const db = () => stack.database.db;
  /** Another relay on this suite's database and task queue (as in another API process), not started. */
  const relayOf = (client: Client, options: Omit<FactRelayOptions, 'logger'> = {}) =>
    new FactRelay(db(), new FactSignals(client, { taskQueue: stack.taskQueue, orders: stack.settings }), { logger: silent, ...options });
  const factsOf = (orderIds: string[]) => db().select().from(orderFacts).where(inArray(orderFacts.orderId, orderIds)).orderBy(orderFacts.id);

  /** The fact ids each signal carried, in the order the workflow's history received them. */
  async function signalledFactIds(merchantId: string, orderNumber: string): Promise<string[]> {
    const history = await stack.client.workflow.getHandle(orderWorkflowId(merchantId, orderNumber)).fetchHistory();
    return (history.events ?? []).flatMap((e) => {
      const signal = e.workflowExecutionSignaledEventAttributes;
      if (signal?.signalName !== 'fact') return [];
      return [defaultPayloadConverter.fromPayload<FactMessage>(signal.input!.payloads![0]!).factId];
    });
  }

  it('several relays forward each order\'s facts exactly once each, in arrival order, while facts keep arriving', async () => {
    const merchant = await stack.newMerchant('relay');
    const orders = await Promise.all(Array.from({ length: 6 }, () => createOrder(stack, merchant.id)));
    // Three relays at once (the suite's and two more): as with three API processes on one database.
    const extra = [1, 2].map(() => relayOf(stack.client, { lanes: 3, batch: 4 }));
    extra.forEach((r) => r.start());
    try {
      // Eight facts per order, stored concurrently (as concurrent notices would be) while the relays run.
      await Promise.all(
        orders.flatMap(({ ref }) => Array.from({ length: 8 }, (_, i) => recordFacts(db(), [{ orderId: ref.orderId, fact: shipment(`${ref.orderNumber}-${i}`), via: 'test' }]))),
      );
      extra.forEach((r) => r.kick());
      const ids = orders.map((o) => o.ref.orderId);
      const settled = await eventually(() => factsOf(ids), (facts) => facts.every((f) => f.state === 'delivered'), 30_000);
      expect(settled.filter((f) => f.state !== 'delivered')).toEqual([]);
      expect(settled).toHaveLength(48);
      for (const { ref } of orders) {
        const stored = settled.filter((f) => f.orderId === ref.orderId).map((f) => String(f.id));
        // A signal accepted while a workflow task is running joins the history when that task completes.
        const received = await eventually(() => signalledFactIds(ref.merchantId, ref.orderNumber), (ids) => ids.length >= stored.length);
        expect(received, `facts of ${ref.orderNumber} as the workflow received them`).toEqual(stored);
      }
    } finally {
      await Promise.all(extra.map((r) => r.stop()));
    }
  });

  it('a fact that fails on its own stays pending with its error, holds up only its order, and ops retry or discard it', async () => {
    const merchant = await stack.newMerchant('poison');
    const poisoned = await createOrder(stack, merchant.id, orderPayload({ paid: true }));
    const healthy = await createOrder(stack, merchant.id, orderPayload({ paid: true }));
    // Bigger than Temporal accepts in one payload (2 MiB by default): the server refuses this signal, always.
    await recordFacts(db(), [{ orderId: poisoned.ref.orderId, fact: shipment('huge', { details: { internalNotes: 'x'.repeat(2_500_000) } }), via: 'test' }]);
    await recordFacts(db(), [{ orderId: poisoned.ref.orderId, fact: { kind: 'exported', exportKey: 'behind-the-poison' }, via: 'test' }]);
    await recordFacts(db(), [{ orderId: healthy.ref.orderId, fact: { kind: 'exported', exportKey: 'beside-the-poison' }, via: 'test' }]);
    stack.relay.kick();

    const [poison, behind] = await eventually(() => factsOf([poisoned.ref.orderId]), (facts) => facts[0]!.attempts > 0);
    expect(poison).toMatchObject({ state: 'pending', lastError: expect.stringMatching(/size|limit/i) });
    expect(poison!.attempts).toBeGreaterThan(0);
    expect(behind!.state, 'a later fact of the same order waits behind the failing one').toBe('pending');
    const [beside] = await eventually(() => factsOf([healthy.ref.orderId]), (facts) => facts[0]!.state === 'delivered');
    expect(beside!.state, "another order's fact is not held up").toBe('delivered');

    const config = loadConfig({ PORT: String(await freePort()), HOST: '127.0.0.1', ADMIN_TOKEN: ADMIN, TEMPORAL_TASK_QUEUE: stack.taskQueue, LOG_LEVEL: 'silent', WEBHOOK_ALLOW_PRIVATE_NETWORKS: testWebhookSettings().allowPrivateNetworks ? 'true' : 'false' });
    const server = await startApiServer({ config: { ...config, orders: stack.settings }, db: db(), temporal: stack.client, logger: silent, secretDigest: stack.secretDigest });
    const api: Requester = { request: (path, init) => fetch(new URL(path, server.url), init) };
    const saved = { API_URL: process.env.API_URL, ADMIN_TOKEN: process.env.ADMIN_TOKEN };
    process.env.API_URL = server.url;
    process.env.ADMIN_TOKEN = ADMIN;
    try {
      // Visible: the order's view, the ops list and CLI, the metrics.
      const view = await call(api, 'GET', `/api/orders/${poisoned.ref.orderNumber}`, { token: merchant.apiKey });
      expect(view.body.pendingFacts.map((f: { id: string }) => f.id)).toEqual([String(poison!.id), String(behind!.id)]);
      expect(view.body.pendingFacts[0]).toMatchObject({ kind: 'shipmentReported', state: 'pending', lastError: expect.stringMatching(/size|limit/i) });
      const listed = await call(api, 'GET', `/api/ops/facts?merchant=${merchant.id}`, { token: ADMIN });
      expect(listed.body.facts.map((f: { id: string }) => f.id)).toEqual([String(behind!.id), String(poison!.id)]);
      expect(await runOpsCaptured('facts', 'list', '--merchant', merchant.id)).toMatch(new RegExp(`${poison!.id}\\s+${merchant.id}\\s+${poisoned.ref.orderNumber}\\s+shipment UPS 1Zhuge`));
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(Number(/^order_facts_failing (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
      expect(Number(/^order_facts_oldest_pending_age_seconds (\S+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);

      // A request to the order waits for its facts: they cannot go, so nothing is sent.
      const paid = await call(api, 'POST', `/api/orders/${poisoned.ref.orderNumber}/hold`, { token: merchant.apiKey, json: { reason: 'check' } });
      expect(paid.status).toBe(503);
      expect(paid.body).toMatchObject({ error: 'facts_pending' });

      // Retry now: still refused, and says so.
      const retried = await call(api, 'POST', `/api/ops/facts/${poison!.id}/retry`, { token: ADMIN });
      expect(retried.status).toBe(200);
      expect(retried.body).toMatchObject({ delivered: false, fact: { state: 'pending' } });
      expect(retried.body.fact.attempts).toBeGreaterThan(poison!.attempts);

      // Discard with a reason (CLI): the fact behind it goes ahead.
      expect(await runOpsCaptured('facts', 'discard', String(poison!.id), '--reason', 'notes too large; shipped by hand')).toMatch(/discarded/);
      const discarded = await call(api, 'POST', `/api/ops/facts/${poison!.id}/discard`, { token: ADMIN, json: { reason: 'again' } });
      expect(discarded.status).toBe(409);
      const after = await eventually(() => factsOf([poisoned.ref.orderId]), (facts) => facts[1]!.state === 'delivered');
      expect(after.map((f) => [f.state, f.discardReason])).toEqual([
        ['discarded', 'notes too large; shipped by hand'],
        ['delivered', null],
      ]);
      expect((await call(api, 'POST', `/api/orders/${poisoned.ref.orderNumber}/hold`, { token: merchant.apiKey, json: { reason: 'check' } })).status).toBe(200);
      expect((await call(api, 'POST', '/api/ops/facts/999999999/retry', { token: ADMIN })).status).toBe(404);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await server.stop(1000);
    }
  });

  it('bookkeeping: a stale lease settles nothing, a leased fact is not discarded, a discarded repeat can be stored again', async () => {
    const merchant = await stack.newMerchant('book');
    const { ref } = await createOrder(stack, merchant.id);
    await stack.relay.stop(); // this test claims by hand
    try {
      const ack: OrderFact = { kind: 'confirmationDelivered', shipmentKey: 'never-shipped' };
      expect(await recordFacts(db(), [{ orderId: ref.orderId, fact: ack, via: 'test' }])).toBe(1);
      expect(await recordFacts(db(), [{ orderId: ref.orderId, fact: ack, via: 'test' }]), 'a repeated ack is stored once').toBe(0);
      const [first] = await claimFacts(db(), { limit: 1, leaseMs: 1, orderId: ref.orderId });
      await new Promise((r) => setTimeout(r, 20));
      // The first lease expired; another relay takes the fact over.
      const [second] = await claimFacts(db(), { limit: 1, leaseMs: 60_000, orderId: ref.orderId });
      expect(second!.id).toBe(first!.id);
      expect(second!.lease).not.toBe(first!.lease);
      await settleFacts(db(), [{ id: first!.id, lease: first!.lease, result: 'failed', error: 'late news from the first relay', retryInMs: 60_000 }]);
      const [untouched] = await factsOf([ref.orderId]);
      expect(untouched).toMatchObject({ state: 'pending', attempts: 0, lastError: null });
      // While the second relay holds it, ops cannot discard it (its order's next fact would overtake it).
      expect(await discardFact(db(), first!.id, 'no such shipment')).toBeNull();
      await settleFacts(db(), [{ id: second!.id, lease: second!.lease, result: 'failed', error: 'no such shipment', retryInMs: 60_000 }]);
      expect((await factsOf([ref.orderId]))[0]).toMatchObject({ state: 'pending', attempts: 1, lastError: 'no such shipment' });
      expect(await discardFact(db(), first!.id, 'no such shipment')).toMatchObject({ state: 'discarded' });
      // Discarded, the same ack may come again (the source retrying after ops fixed something).
      expect(await recordFacts(db(), [{ orderId: ref.orderId, fact: ack, via: 'test' }])).toBe(1);
    } finally {
      stack.relay.start();
    }
  });

  it('a relay that does not sweep (the worker\'s) notices Temporal back on a request, however often requests failed meanwhile', async () => {
    const merchant = await stack.newMerchant('back');
    const { ref } = await createOrder(stack, merchant.id);
    const gate = await startTcpGate(inject('temporalAddress'));
    const connection = Connection.lazy({ address: gate.address });
    const relay = relayOf(new Client({ connection, namespace: inject('temporalNamespace') }), { callTimeoutMs: 1000 });
    await stack.relay.stop(); // only the relay under test delivers
    try {
      await recordFacts(db(), [{ orderId: ref.orderId, fact: { kind: 'exported', exportKey: 'while-away' }, via: 'test' }]);
      gate.close();
      await expect(relay.deliverOrder(ref.orderId, Date.now() + 3000)).rejects.toThrow(FactsPendingError);
      expect(relay.temporalState.reachable).toBe(false);
      // Requests keep coming while Temporal is away (a bulk retry, clients retrying): they fail fast
      // and must not keep postponing the next probe.
      const away = Date.now();
      while (Date.now() - away < 3000) {
        await expect(relay.deliverOrder(ref.orderId, Date.now() + 3000)).rejects.toThrow(FactsPendingError);
        await new Promise((r) => setTimeout(r, 100));
      }
      gate.open();
      await eventually(
        () => relay.deliverOrder(ref.orderId, Date.now() + 3000).then(() => true, () => false),
        (delivered) => delivered,
        20_000,
      );
      expect(relay.temporalState.reachable).toBe(true);
      const [fact] = await factsOf([ref.orderId]);
      expect(fact).toMatchObject({ state: 'delivered', outcome: 'signalled', attempts: 0 });
      // The reason is said once, not once per failed request ("Temporal unreachable: Temporal unreachable: ...").
      expect(fact!.lastError ?? '').not.toMatch(/Temporal unreachable: Temporal unreachable/);
    } finally {
      await connection.close().catch(() => {});
      await gate.stop();
      stack.relay.start();
    }
  });

  it('an unreachable Temporal opens one circuit: the facts wait uncounted and flow once a relay reaches it', async () => {
    const merchant = await stack.newMerchant('dark');
    const { ref } = await createOrder(stack, merchant.id);
    const connection = Connection.lazy({ address: '127.0.0.1:1' });
    const dark = relayOf(new Client({ connection, namespace: 'default' }), { callTimeoutMs: 1000 });
    await stack.relay.stop(); // only the dark relay runs for now
    try {
      dark.start();
      await recordFacts(db(), [{ orderId: ref.orderId, fact: { kind: 'exported', exportKey: 'in-the-dark' }, via: 'test' }]);
      dark.kick();
      const [waiting] = await eventually(() => factsOf([ref.orderId]), (facts) => facts[0]!.lastError !== null);
      expect(waiting).toMatchObject({ state: 'pending', attempts: 0, lastError: expect.stringMatching(/^Temporal unreachable/) });
      expect(dark.temporalState.reachable).toBe(false);
    } finally {
      await dark.stop();
      await connection.close().catch(() => {});
      stack.relay.start();
    }
    const [delivered] = await eventually(() => factsOf([ref.orderId]), (facts) => facts[0]!.state === 'delivered');
    expect(delivered).toMatchObject({ state: 'delivered', outcome: 'signalled', attempts: 0 });
    expect(stack.relay.temporalState.reachable).toBe(true);
    const row = await db().select({ status: orderFacts.state }).from(orderFacts).where(eq(orderFacts.orderId, ref.orderId));
    expect(row).toEqual([{ status: 'delivered' }]);
  });
});
