/**
 * The durable path of facts (domain/facts.ts): every call that reports one writes it here, in the
 * same statement as the rest of what the call records, and the relay (runtime/fact-relay.ts) claims,
 * delivers and settles it.
 *
 * Per-order order: the insert locks the order's row (`for no key update`) before the fact's id is
 * drawn, so facts of one order commit in id order and a relay taking "the order's oldest pending
 * fact" never skips one that commits later. Several relays share the table: a fact is claimed with a
 * lease in one short statement, delivered outside any transaction, then settled; only an order's
 * oldest pending fact can be claimed, and only while no lease on it is live, so one order's facts go
 * out one after another, whichever process sends them.
 */
import { and, asc, desc, eq, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { factDedupeKey, type OrderFact } from '../domain/facts';
import type { OrderReference } from '../domain/shipstation/shipnotify';
import { rowsOf, type Db } from './client';
import { connectionScope } from './connections';
import { orderFacts, orders, shipmentNotices, type ConnectionRow, type FactState, type OrderFactRow, type ShipmentNoticeRow } from './schema';

export interface NewFact {
  orderId: string;
  fact: OrderFact;
  /** Who reported it: shipnotify, export, pickup ack, replay... */
  via: string;
}

/** The facts as one JSON parameter, in arrival order; orders not in the read model are left out. */
function factInsert(facts: NewFact[]): SQL {
  const values = facts.map((f, i) => ({ n: i, order_id: f.orderId, kind: f.fact.kind, fact: f.fact, dedupe_key: factDedupeKey(f.fact), via: f.via }));
  const ids = [...new Set(facts.map((f) => f.orderId))];
  return sql`
    with targets as (
      select ${orders.orderId} as order_id, ${orders.personalDataPurgedAt} as purged_at from ${orders}
      where ${inArray(orders.orderId, ids)} order by ${orders.orderId} for no key update
    )
    insert into ${orderFacts} (order_id, kind, fact, dedupe_key, via)
    select v.order_id, v.kind, v.fact, v.dedupe_key, v.via
    from jsonb_to_recordset(${JSON.stringify(values)}::jsonb) as v(n int, order_id text, kind text, fact jsonb, dedupe_key text, via text)
    join targets on targets.order_id = v.order_id
    order by v.n
    on conflict do nothing
    returning id`;
}

/**
 * Stores facts (a repeat under the same dedupe key is stored once). Returns how many are new. Facts
 * of orders not in the read model are not stored (callers look the order up first).
 */
export async function recordFacts(db: Db, facts: NewFact[]): Promise<number> {
  if (facts.length === 0) return 0;
  return rowsOf(await db.execute(factInsert(facts))).length;
}

/**
 * A shipment fact as a purged order keeps it (db/retention.ts): the notice's details reduced to what
 * `redactNoticeDetails` keeps (no recipient, notes or custom fields). Other facts carry no personal data.
 */
export function withoutPersonalDetails(fact: SQL): SQL {
  return sql`(case when jsonb_typeof(${fact}->'report'->'details') = 'object' then jsonb_set(${fact}, '{report,details}', coalesce(
    (select jsonb_object_agg(key, value) from jsonb_each(${fact}->'report'->'details') where key in ('notifyCustomer', 'requestedWarehouse')),
    '{}'::jsonb)) else ${fact} end)`;
}

/** Which order a notice is for: the first of its references that names an order of the connection's scope. */
export interface NoticeTarget {
  scope: Pick<ConnectionRow, 'merchantId' | 'source'>;
  /** In the contract's order (domain/shipstation/shipnotify.ts orderReferences); at least one. */
  references: OrderReference[];
}

/** The target as a condition on `orders` and a rank that puts the match of the earliest reference first. */
function targetMatch(target: NoticeTarget): { where: SQL; rank: SQL } {
  const matches = target.references.map((r) => eq(r.by === 'orderId' ? orders.orderId : orders.orderNumber, r.value));
  const rank = sql`case ${sql.join(
    matches.map((match, i) => sql`when ${match} then ${sql.raw(String(i))}`),
    sql` `,
  )} end`;
  return { where: and(connectionScope(target.scope), or(...matches))!, rank };
}

/**
 * A shipment notice, in one statement: finds its order (locked, as every fact insert locks it), keeps
 * the raw copy (for replay; a repeat only counts) and stores the fact it carries, so the 200
 * ShipStation gets means both are durable. An order whose personal data was purged keeps no raw copy
 * (it names the recipient); its fact is stored all the same. Returns the order, or null when no
 * order matches (nothing stored).
 */
export async function recordNotice(
  db: Db,
  target: NoticeTarget,
  notice: { connectionId: string; shipmentKey: string; query: string; contentType: string | null; body: string },
  fact: Omit<NewFact, 'orderId'>,
  /** More CTEs of the same statement, reading `targets` (the call's log entry: db/request-log.ts noticeLogCtes). */
  alsoWrite?: SQL,
): Promise<{ orderId: string; orderNumber: string; merchantId: string } | null> {
  const { where, rank } = targetMatch(target);
  const result = await db.execute(sql`
    with targets as (
      select ${orders.orderId} as order_id, ${orders.orderNumber} as order_number, ${orders.merchantId} as merchant_id, ${orders.personalDataPurgedAt} as purged_at
      from ${orders} where ${where} order by ${rank} limit 1 for no key update
    ), kept as (
      insert into ${shipmentNotices} (connection_id, order_id, shipment_key, query, content_type, body)
      select ${notice.connectionId}, targets.order_id, ${notice.shipmentKey}, ${notice.query}, ${notice.contentType}, ${notice.body}
      from targets where targets.purged_at is null
      on conflict (connection_id, order_id, shipment_key) do update set times_received = ${shipmentNotices.timesReceived} + 1
      returning 1
    ), stored as (
      insert into ${orderFacts} (order_id, kind, fact, dedupe_key, via)
      select targets.order_id, ${fact.fact.kind},
        case when targets.purged_at is null then ${JSON.stringify(fact.fact)}::jsonb else ${withoutPersonalDetails(sql`${JSON.stringify(fact.fact)}::jsonb`)} end,
        ${factDedupeKey(fact.fact)}, ${fact.via}
      from targets
      returning 1
    )${alsoWrite ? sql`, ${alsoWrite}` : sql``}
    select order_id, order_number, merchant_id from targets`);
  const [row] = rowsOf<{ order_id: string; order_number: string; merchant_id: string }>(result);
  return row ? { orderId: row.order_id, orderNumber: row.order_number, merchantId: row.merchant_id } : null;
}

/** The raw copy of the notice that reported this shipment of an order (for replay), or null. */
export async function findStoredNotice(db: Db, orderId: string, shipmentKey: string): Promise<ShipmentNoticeRow | null> {
  const [row] = await db.select().from(shipmentNotices).where(and(eq(shipmentNotices.orderId, orderId), eq(shipmentNotices.shipmentKey, shipmentKey)));
  return row ?? null;
}

export interface ClaimedFact {
  id: number;
  orderId: string;
  merchantId: string;
  orderNumber: string;
  workflowId: string;
  fact: OrderFact;
  via: string;
  receivedAt: string;
  attempts: number;
  /** The claim's lease: settling it takes effect only while this lease is still the fact's. */
  lease: string;
}

/**
 * Leases up to `limit` facts, each the oldest pending fact of its order, for `leaseMs`. Skips orders
 * whose oldest fact is leased by someone else or (unless `ignoreBackoff`) waiting out its backoff. The
 * lease conditions are checked again on the row being updated, so two relays never both take a fact.
 */
export async function claimFacts(db: Db, options: { limit: number; leaseMs: number; orderId?: string; ignoreBackoff?: boolean }): Promise<ClaimedFact[]> {
  const ofOrder = options.orderId ? sql`and order_id = ${options.orderId}` : sql``;
  const due = options.ignoreBackoff ? sql`` : sql`and next_attempt_at <= now()`;
  const free = sql`(lease_until is null or lease_until < now())`;
  const result = await db.execute(sql`
    with heads as (
      select id from (
        select distinct on (order_id) id, lease_until, next_attempt_at from ${orderFacts}
        where state = 'pending' ${ofOrder}
        order by order_id, id
      ) head
      where ${free} ${due}
      order by id limit ${options.limit}
    ), claimed as (
      update ${orderFacts} f set lease_until = date_trunc('milliseconds', clock_timestamp()) + ${options.leaseMs} * interval '1 millisecond'
      from heads where f.id = heads.id and f.state = 'pending' and (f.lease_until is null or f.lease_until < now())
      returning f.id, f.order_id, f.fact, f.via, f.received_at, f.attempts, f.lease_until::text as lease
    )
    select c.id, c.order_id, c.fact, c.via, c.received_at, c.attempts, c.lease, o.merchant_id, o.order_number, o.workflow_id
    from claimed c join ${orders} o on o.order_id = c.order_id
    order by c.id`);
  return rowsOf<Record<string, unknown>>(result).map((r) => ({
    id: Number(r.id),
    orderId: String(r.order_id),
    merchantId: String(r.merchant_id),
    orderNumber: String(r.order_number),
    workflowId: String(r.workflow_id),
    fact: (typeof r.fact === 'string' ? JSON.parse(r.fact) : r.fact) as OrderFact,
    via: String(r.via),
    receivedAt: new Date(r.received_at as string | Date).toISOString(),
    attempts: Number(r.attempts),
    lease: String(r.lease),
  }));
}

const stillPending = (id: number) => and(eq(orderFacts.id, id), eq(orderFacts.state, 'pending'));

/** What became of one delivery attempt, as the relay records it. */
export type FactSettlement = { id: number; lease: string } & (
  /** Reached its order (a signal to the running order, or a new run of the closed one). */
  | { result: 'delivered'; outcome: 'signalled' | 'reopened'; runId?: string }
  /** An export mark for an order whose workflow has closed: a finished order does not need it. */
  | { result: 'not_needed' }
  /** Temporal did not answer: given back uncounted (not the fact's fault, no backoff of its own). */
  | { result: 'released'; error: string }
  /** Failed on its own: counted, with its reason, and not tried again before `retryInMs`. */
  | { result: 'failed'; error: string; retryInMs: number }
);

/**
 * Records a round of delivery attempts in one statement (a round is up to a batch of facts): each
 * row is updated only while it is still pending under the lease its attempt held, so a fact whose
 * lease expired and was taken over (or that ops discarded) is left to its new owner.
 */
export async function settleFacts(db: Db, settlements: FactSettlement[]): Promise<void> {
  if (settlements.length === 0) return;
  const rows = settlements.map((s) => ({
    id: s.id,
    lease: s.lease,
    result: s.result,
    outcome: s.result === 'delivered' ? s.outcome : s.result === 'not_needed' ? 'order closed' : null,
    run_id: s.result === 'delivered' ? (s.runId ?? null) : null,
    error: s.result === 'released' || s.result === 'failed' ? s.error.slice(0, 2000) : null,
    retry_ms: s.result === 'failed' ? s.retryInMs : null,
  }));
  await db.execute(sql`
    update ${orderFacts} f set
      state = case when x.result = 'delivered' then 'delivered' when x.result = 'not_needed' then 'not_needed' else 'pending' end,
      settled_at = case when x.result in ('delivered', 'not_needed') then now() else null end,
      outcome = x.outcome,
      reopened_run_id = x.run_id,
      lease_until = null,
      last_error = case when x.result in ('released', 'failed') then x.error else f.last_error end,
      attempts = f.attempts + case when x.result = 'failed' then 1 else 0 end,
      next_attempt_at = case when x.result = 'failed' then now() + x.retry_ms * interval '1 millisecond' else f.next_attempt_at end
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(id bigint, lease timestamptz, result text, outcome text, run_id text, error text, retry_ms int)
    where f.id = x.id and f.state = 'pending' and f.lease_until = x.lease`);
}

/** Makes a pending fact due now (ops "retry now"); returns false when it is not pending. */
export async function makeFactDue(db: Db, id: number): Promise<OrderFactRow | null> {
  const [row] = await db.update(orderFacts).set({ nextAttemptAt: sql`now()` }).where(stillPending(id)).returning();
  return row ?? null;
}

/**
 * Ops gave up on a fact that cannot be delivered: it leaves the work list, with the reason kept. Not
 * while a relay is sending it (null): its order's next fact must not overtake it.
 */
export async function discardFact(db: Db, id: number, reason: string): Promise<OrderFactRow | null> {
  const [row] = await db
    .update(orderFacts)
    .set({ state: 'discarded', discardReason: reason, settledAt: sql`now()`, leaseUntil: null })
    .where(and(stillPending(id), or(isNull(orderFacts.leaseUntil), lt(orderFacts.leaseUntil, sql`now()`))))
    .returning();
  return row ?? null;
}

export async function hasPendingFacts(db: Db, orderId: string): Promise<boolean> {
  const [row] = await db.select({ id: orderFacts.id }).from(orderFacts).where(and(eq(orderFacts.orderId, orderId), eq(orderFacts.state, 'pending'))).limit(1);
  return row !== undefined;
}

export async function findFact(db: Db, id: number): Promise<OrderFactRow | null> {
  const [row] = await db.select().from(orderFacts).where(eq(orderFacts.id, id));
  return row ?? null;
}

export interface FactListFilter {
  state?: FactState;
  merchantId?: string;
  orderId?: string;
  /** Ids below this one (keyset paging, newest first). */
  before?: number;
  limit: number;
}

/** Facts with their order's merchant and number, newest first. */
export async function listFacts(db: Db, filter: FactListFilter) {
  const conditions = [
    filter.state ? eq(orderFacts.state, filter.state) : undefined,
    filter.merchantId ? eq(orders.merchantId, filter.merchantId) : undefined,
    filter.orderId ? eq(orderFacts.orderId, filter.orderId) : undefined,
    filter.before !== undefined ? lt(orderFacts.id, filter.before) : undefined,
  ].filter((c): c is SQL => c !== undefined);
  return db
    .select({ fact: orderFacts, merchantId: orders.merchantId, orderNumber: orders.orderNumber })
    .from(orderFacts)
    .innerJoin(orders, eq(orders.orderId, orderFacts.orderId))
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(orderFacts.id))
    .limit(filter.limit);
}

export interface FactBacklog {
  pending: number;
  /** Pending facts that failed on their own at least once (an unreachable Temporal counts against none). */
  failing: number;
  oldestReceivedAt: string | null;
}

/** What the metrics and readiness report: how many facts wait, and since when. */
export async function factBacklog(db: Db): Promise<FactBacklog> {
  const [row] = await db
    .select({
      pending: sql<number>`count(*)`.mapWith(Number),
      failing: sql<number>`count(*) filter (where ${orderFacts.attempts} > 0)`.mapWith(Number),
      oldest: sql<string | null>`min(${orderFacts.receivedAt})`,
    })
    .from(orderFacts)
    .where(eq(orderFacts.state, 'pending'));
  return { pending: row?.pending ?? 0, failing: row?.failing ?? 0, oldestReceivedAt: row?.oldest ? new Date(row.oldest).toISOString() : null };
}

/** Settled facts older than the request-log retention; returns how many were deleted. */
export async function purgeSettledFacts(db: Db, olderThanDays: number): Promise<number> {
  const cutoff = new Date(Date.now() - olderThanDays * 86_400_000).toISOString();
  const expired = db.delete(orderFacts).where(lt(orderFacts.settledAt, cutoff));
  const result = await db.execute(sql`with expired as (${expired.getSQL()} returning 1) select count(*)::int as deleted from expired`);
  return Number(rowsOf<{ deleted: number }>(result)[0]?.deleted ?? 0);
}
