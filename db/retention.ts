/**
 * Personal-data retention in the read model (PERSONAL_DATA_DAYS): the personal data of orders closed
 * longer than the retention is purged, what accounting and support need stays. Which fields go and
 * which stay, and why, is domain/retention.ts; this module finds the orders and writes the result.
 *
 * Table by table:
 * - orders: the personal columns are overwritten (redactOrderFields) and `personal_data_purged_at`
 *   is set. last_modified, modified_revision and version are not touched: the purge is not a change
 *   ShipStation must learn of, and a later projection of the workflow still applies.
 * - shipments: `details` (what the ShipNotice said besides the package: recipient, notes, custom
 *   fields) is redacted; carrier, service, tracking, dates, cost and lines stay.
 * - shipment_notices: deleted. The raw XML holds the recipient's name and address, and it exists
 *   only for ops' replay of a notice, which makes no sense for an order closed this long; what the
 *   notice established is on the shipment.
 * - order_lines, merchants, connections, confirmation_targets, export_watermarks: no customer data.
 * - export_snapshots: order ids only (and replaced within EXPORT_SNAPSHOT_TTL).
 * - connection_requests: kept REQUEST_LOG_DAYS by its own schedule (db/request-log.ts).
 *
 * A purged order stays purged: a projection written later (a workflow still in its grace period, or
 * one reopened by a late fact) is redacted again in its own transaction (db/orders.ts), a raw notice
 * arriving for it is not kept (recordNotice, db/order-facts.ts), and exports leave it out (db/export-pages.ts).
 */
import { and, asc, eq, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import { redactNoticeDetails, redactOrderFields, type PersonalOrderFields } from '../domain/retention';
import type { Db } from './client';
import { withoutPersonalDetails } from './order-facts';
import { orderFacts, orders, shipmentNotices, shipments } from './schema';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Orders per transaction: a big backlog is purged in many short transactions, never one huge one. */
export const PURGE_BATCH_SIZE = 500;

/** The columns the purge reads and rewrites. */
const personalColumns = {
  orderId: orders.orderId,
  customerCode: orders.customerCode,
  customerEmail: orders.customerEmail,
  billTo: orders.billTo,
  shipTo: orders.shipTo,
  customerNotes: orders.customerNotes,
  internalNotes: orders.internalNotes,
  giftMessage: orders.giftMessage,
  customFields: orders.customFields,
};

/**
 * Closed (TERMINAL_STATUSES) and not yet purged: the predicate of `orders_personal_data_due_idx`,
 * written the same way (literal statuses, not parameters) so the planner can prove it and use it.
 */
const dueForPurge = sql`${orders.personalDataPurgedAt} is null and ${orders.status} in ('confirmed', 'canceled')`;

export interface PurgeOptions {
  /** The clock the cutoff counts back from (tests); default now. */
  now?: Date;
  batchSize?: number;
  /** Called after each committed batch (the activity heartbeats here). */
  onBatch?: (purgedSoFar: number) => void;
}

/**
 * Purges the personal data of every order whose status has been confirmed or canceled since before
 * `olderThanDays` days ago, in transactions of at most `batchSize` orders (oldest closure first).
 * Returns how many orders were purged; a second run finds nothing (purged orders are marked).
 * Rows a projection is writing at that moment are skipped, not waited for: the next run takes them.
 */
export async function purgePersonalData(db: Db, olderThanDays: number, options: PurgeOptions = {}): Promise<number> {
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? PURGE_BATCH_SIZE;
  const cutoff = new Date(now.getTime() - olderThanDays * 86_400_000).toISOString();
  let purged = 0;
  for (;;) {
    const count = await db.transaction(async (tx) => {
      const due = await tx
        .select(personalColumns)
        .from(orders)
        .where(and(dueForPurge, lt(orders.statusSince, cutoff)))
        .orderBy(asc(orders.statusSince))
        .limit(batchSize)
        .for('no key update', { skipLocked: true });
      if (due.length > 0) await redact(tx, due, now.toISOString());
      return due.length;
    });
    purged += count;
    if (count > 0) options.onBatch?.(purged);
    if (count < batchSize) return purged;
  }
}

/**
 * For the projection: an order already purged was just written again from a workflow's state; redact
 * it again inside the same transaction, so its personal data is never visible (nor committed).
 */
export async function redactPurgedOrder(tx: Tx, orderId: string, purgedAt: string): Promise<void> {
  const rows = await tx.select(personalColumns).from(orders).where(eq(orders.orderId, orderId));
  if (rows.length > 0) await redact(tx, rows, purgedAt);
}

/** Overwrites the personal data of these orders, their shipments' details and their raw notices. */
async function redact(tx: Tx, rows: (PersonalOrderFields & { orderId: string })[], purgedAt: string): Promise<void> {
  const orderIds = rows.map((r) => r.orderId);
  const redacted = rows.map((row) => {
    const r = redactOrderFields(row);
    return {
      order_id: row.orderId,
      customer_code: r.customerCode,
      customer_email: r.customerEmail,
      bill_to: r.billTo,
      ship_to: r.shipTo,
      customer_notes: r.customerNotes,
      internal_notes: r.internalNotes,
      gift_message: r.giftMessage,
      custom_fields: r.customFields,
    };
  });
  // One statement per table and batch: the new values travel as one JSON parameter.
  await tx.execute(sql`
    update orders set
      customer_code = x.customer_code,
      customer_email = x.customer_email,
      bill_to = x.bill_to,
      ship_to = x.ship_to,
      customer_notes = x.customer_notes,
      internal_notes = x.internal_notes,
      gift_message = x.gift_message,
      custom_fields = x.custom_fields,
      personal_data_purged_at = coalesce(orders.personal_data_purged_at, ${purgedAt}::timestamptz)
    from jsonb_to_recordset(${JSON.stringify(redacted)}::jsonb) as x(
      order_id text, customer_code text, customer_email text, bill_to jsonb, ship_to jsonb,
      customer_notes text, internal_notes text, gift_message text, custom_fields jsonb)
    where orders.order_id = x.order_id`);

  const withDetails = await tx
    .select({ orderId: shipments.orderId, shipmentKey: shipments.shipmentKey, details: shipments.details })
    .from(shipments)
    .where(and(inArray(shipments.orderId, orderIds), isNotNull(shipments.details)));
  if (withDetails.length > 0) {
    const details = withDetails.map((s) => ({ order_id: s.orderId, shipment_key: s.shipmentKey, details: redactNoticeDetails(s.details!) }));
    await tx.execute(sql`
      update shipments set details = x.details
      from jsonb_to_recordset(${JSON.stringify(details)}::jsonb) as x(order_id text, shipment_key text, details jsonb)
      where shipments.order_id = x.order_id and shipments.shipment_key = x.shipment_key`);
  }

  await tx.delete(shipmentNotices).where(inArray(shipmentNotices.orderId, orderIds));

  // Facts carry a notice's details too (the recipient): keep what redactNoticeDetails keeps.
  await tx.execute(sql`
    update ${orderFacts} set fact = ${withoutPersonalDetails(sql.raw('fact'))}
    where ${inArray(orderFacts.orderId, orderIds)} and kind = 'shipmentReported' and jsonb_typeof(fact->'report'->'details') = 'object'`);
}
