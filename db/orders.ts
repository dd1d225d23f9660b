/**
 * Read-model queries for orders: the projection written by the workflow's activity, and the reads
 * the API and the reopen path need. Every write is an idempotent upsert keyed by business keys.
 */
import { and, asc, eq, gt, inArray, isNotNull, isNull, lt, notInArray, or, sql, type SQL } from 'drizzle-orm';
import type { OrderContent, OrderState, OrderStatus, ShipmentRecord, StuckReason } from '../domain/order';
import { trimDecimal } from '../domain/money';
import type { Db } from './client';
import { freshStamp, holdAgainstExport } from './export-windows';
import { redactPurgedOrder } from './retention';
import { orderFacts, orderLines, orders, shipments, type OrderFactRow, type OrderLineRow, type OrderRow, type ShipmentRow } from './schema';

/** Timestamps come back from PostgreSQL as text; the service speaks ISO 8601 UTC. */
export const toIso = (value: string) => new Date(value).toISOString();

/** A package as every answer shows it (order view, pickup, webhook): carrier, tracking, dates, cost. */
export function packageFacts(s: ShipmentRow) {
  return {
    shipmentKey: s.shipmentKey,
    carrier: s.carrier,
    service: s.service,
    trackingNumber: s.trackingNumber,
    shipDate: s.shipDate,
    labelCreatedAt: s.labelCreatedAt ? toIso(s.labelCreatedAt) : null,
    shippingCost: s.shippingCost,
  };
}
const toIsoOrNull = (value: string | null) => (value === null ? null : toIso(value));

export interface ProjectionInput {
  state: OrderState;
  version: number;
  workflowId: string;
  /**
   * Parts the workflow knows to be as its previous projection wrote them (most changes touch the
   * order row only: a status, a timeline entry): their statements are skipped. Absent = write all.
   */
  unchanged?: { lines?: boolean; shipments?: boolean };
}

/**
 * Writes one workflow version into the read model. A stale version (an activity retry overtaken by
 * a newer projection) changes nothing. LastModified is stamped by the database clock at the moment a
 * higher modified revision is written, never copied from the workflow.
 */
export async function projectOrder(db: Db, input: ProjectionInput): Promise<{ lastModified: string; applied: boolean }> {
  const { version, workflowId } = input;
  // The API refuses such text, but a projection must never be poisoned by it: PostgreSQL rejects NUL
  // and lone surrogates, and an order whose projection fails forever is frozen in the read model.
  const state = storable(input.state);
  const c = state.content;
  const lastTransition = [...state.timeline].reverse().find((e) => e.to !== undefined);
  const row = {
    orderId: state.orderId,
    merchantId: state.merchantId,
    orderNumber: state.orderNumber,
    workflowId,
    status: state.status,
    source: c.source ?? null,
    createHash: state.createHash,
    version,
    modifiedRevision: state.modifiedRevision,
    paid: c.paid,
    orderDate: c.orderDate,
    currency: c.currency,
    shippingMethod: c.shippingMethod ?? null,
    paymentMethod: c.paymentMethod ?? null,
    customerCode: c.customer.code ?? null,
    customerEmail: c.customer.email ?? null,
    billTo: c.billTo,
    shipTo: c.shipTo,
    shippingAmount: c.shippingAmount,
    taxAmount: c.taxAmount,
    total: c.total,
    customerNotes: c.customerNotes ?? null,
    internalNotes: c.internalNotes ?? null,
    gift: c.gift,
    giftMessage: c.giftMessage ?? null,
    customFields: c.customFields,
    requestedWarehouse: c.requestedWarehouse ?? null,
    heldFrom: state.heldFrom,
    holdReason: state.holdReason,
    servedToShipStation: state.servedToShipStation,
    cancelReason: state.cancelReason,
    stuckReason: state.stuck?.reason ?? null,
    stuckSince: state.stuck?.since ?? null,
    stuckDetail: state.stuck?.detail ?? null,
    flags: state.flags,
    timeline: state.timeline,
    statusSince: lastTransition?.at ?? state.createdAt,
    waitingSince: state.waitingSince,
    createdAt: state.createdAt,
  };
  const excluded = (column: string) => sql.raw(`excluded."${column}"`);
  const updatable = Object.fromEntries(
    Object.entries(orders)
      .filter(([key]) => key in row && key !== 'orderId' && key !== 'createdAt')
      .map(([key, column]) => [key, excluded((column as { name: string }).name)]),
  );

  return db.transaction(async (tx) => {
    await holdAgainstExport(tx, state.merchantId);
    const written = await tx
      .insert(orders)
      .values({ ...row, lastModified: freshStamp(state.merchantId) })
      .onConflictDoUpdate({
        target: orders.orderId,
        set: {
          ...updatable,
          lastModified: sql`case when excluded.modified_revision > ${orders.modifiedRevision} then ${freshStamp(state.merchantId)} else ${orders.lastModified} end`,
          updatedAt: sql`now()`,
        },
        setWhere: sql`${orders.version} < excluded.version`,
      })
      .returning({ lastModified: orders.lastModified, personalDataPurgedAt: orders.personalDataPurgedAt });

    if (written.length === 0) {
      const [current] = await tx.select({ lastModified: orders.lastModified }).from(orders).where(eq(orders.orderId, state.orderId));
      return { lastModified: toIso(current!.lastModified), applied: false };
    }

    const lineIds = c.lines.map((l) => l.lineId);
    if (!input.unchanged?.lines) await tx
      .delete(orderLines)
      .where(lineIds.length ? and(eq(orderLines.orderId, state.orderId), notInArray(orderLines.lineId, lineIds)) : eq(orderLines.orderId, state.orderId));
    if (c.lines.length && !input.unchanged?.lines) {
      await tx
        .insert(orderLines)
        .values(
          c.lines.map((line, position) => ({
            orderId: state.orderId,
            lineId: line.lineId,
            position,
            sku: line.sku,
            name: line.name,
            quantity: line.quantity,
            shippedQuantity: state.shipped[line.lineId] ?? 0,
            unitPrice: line.unitPrice,
            weightValue: line.weight?.value ?? null,
            weightUnit: line.weight?.unit ?? null,
            imageUrl: line.imageUrl ?? null,
            location: line.location ?? null,
            options: line.options,
            adjustment: line.adjustment,
          })),
        )
        .onConflictDoUpdate({
          target: [orderLines.orderId, orderLines.lineId],
          set: Object.fromEntries(
            ['position', 'sku', 'name', 'quantity', 'shipped_quantity', 'unit_price', 'weight_value', 'weight_unit', 'image_url', 'location', 'options', 'adjustment'].map(
              (column) => [camel(column), excluded(column)],
            ),
          ),
        });
    }
    if (state.shipments.length && !input.unchanged?.shipments) {
      const known = await tx.select({ key: shipments.shipmentKey }).from(shipments).where(eq(shipments.orderId, state.orderId));
      if (state.shipments.some((s) => !known.some((k) => k.key === s.shipmentKey))) {
        // New shipments of a merchant are inserted one transaction at a time, so their ids commit
        // in order and the pickup cursor never skips one.
        await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`shipments:${state.merchantId}`}, 0))`);
      }
      await tx
        .insert(shipments)
        .values(
          state.shipments.map((s) => ({
            orderId: state.orderId,
            shipmentKey: s.shipmentKey,
            carrier: s.carrier,
            service: s.service ?? null,
            trackingNumber: s.trackingNumber ?? null,
            shipDate: s.shipDate ?? null,
            labelCreatedAt: s.labelCreatedAt ?? null,
            shippingCost: s.shippingCost ?? null,
            lines: s.lines,
            details: s.details ?? null,
            unmatched: s.unmatched ?? null,
            reportedVia: s.reportedVia,
            recordedAt: s.recordedAt,
            confirmationDeliveredAt: s.confirmationDeliveredAt,
            deliveryRejected: s.deliveryRejected ?? null,
            itemsFingerprint: s.itemsFingerprint ?? null,
          })),
        )
        .onConflictDoUpdate({
          target: [shipments.orderId, shipments.shipmentKey],
          set: {
            confirmationDeliveredAt: excluded('confirmation_delivered_at'),
            lines: excluded('lines'),
            unmatched: excluded('unmatched'),
            deliveryRejected: excluded('delivery_rejected'),
          },
        });
    }
    // A purged order stays purged: what this projection brought back (a workflow still holding the
    // data, or a late notice's recipient) is redacted before anyone can read it (db/retention.ts).
    const purgedAt = written[0]!.personalDataPurgedAt;
    if (purgedAt !== null) await redactPurgedOrder(tx, state.orderId, purgedAt);
    return { lastModified: toIso(written[0]!.lastModified), applied: true };
  });
}

/** Deep copy with every string made storable: NUL removed, lone surrogates replaced (U+FFFD). */
export function storable<T>(value: T): T {
  if (typeof value === 'string') return value.replace(/\u0000/g, '').toWellFormed() as T;
  if (Array.isArray(value)) return value.map(storable) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, storable(v)])) as T;
  }
  return value;
}

const camel = (snake: string) => snake.replace(/_(\w)/g, (_, ch: string) => ch.toUpperCase());

export interface OrderRecord {
  order: OrderRow;
  lines: OrderLineRow[];
  shipments: ShipmentRow[];
  /** Facts stored for the order that have not reached its workflow yet (db/order-facts.ts), oldest first. */
  pendingFacts: OrderFactRow[];
}

export async function findOrderByNumber(db: Db, merchantId: string, orderNumber: string): Promise<OrderRecord | null> {
  return readRecord(db, and(eq(orders.merchantId, merchantId), eq(orders.orderNumber, orderNumber))!);
}

/** The payload digest an order was created with, or null when the merchant has no such order (one indexed read). */
export async function findCreateHash(db: Db, merchantId: string, orderNumber: string): Promise<string | null> {
  const [row] = await db
    .select({ createHash: orders.createHash })
    .from(orders)
    .where(and(eq(orders.merchantId, merchantId), eq(orders.orderNumber, orderNumber)));
  return row?.createHash ?? null;
}

export async function findOrderById(db: Db, orderId: string): Promise<OrderRecord | null> {
  return readRecord(db, eq(orders.orderId, orderId));
}

/**
 * The order row, its lines, shipments and pending facts from one snapshot: read separately, a projection committing
 * in between would pair new shipments with old shipped quantities. The three reads go out together
 * (pipelined on the transaction's connection), so they cost one round trip, not four.
 */
async function readRecord(db: Db, where: SQL): Promise<OrderRecord | null> {
  return db.transaction(
    async (tx) => {
      const orderId = sql`(select ${orders.orderId} from ${orders} where ${where})`;
      const [[order], lines, shipmentRows, pendingFacts] = await Promise.all([
        tx.select().from(orders).where(where),
        tx.select().from(orderLines).where(eq(orderLines.orderId, orderId)).orderBy(asc(orderLines.position)),
        tx.select().from(shipments).where(eq(shipments.orderId, orderId)).orderBy(asc(shipments.recordedAt)),
        tx.select().from(orderFacts).where(and(eq(orderFacts.orderId, orderId), eq(orderFacts.state, 'pending'))).orderBy(asc(orderFacts.id)),
      ]);
      return order ? { order, lines, shipments: shipmentRows, pendingFacts } : null;
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

export interface OrderListFilter {
  /** Undefined = every merchant (ops only). */
  merchantId?: string;
  /** Only orders stuck since before this ISO time. */
  stuckBefore?: string;
  status?: OrderStatus;
  stuck?: boolean;
  stuckReason?: StuckReason;
  source?: string;
  orderNumber?: string;
  /** Orders with a shipment under this tracking number. */
  trackingNumber?: string;
  /** Keyset cursor: list continues after this (createdAt, orderId). */
  after?: { createdAt: string; orderId: string };
  limit: number;
}

/** What listOrders and countOrders select by: every filter but the page. */
function orderConditions(filter: Omit<OrderListFilter, 'after' | 'limit'>): SQL[] {
  const conditions: SQL[] = [];
  if (filter.merchantId) conditions.push(eq(orders.merchantId, filter.merchantId));
  if (filter.stuckBefore) conditions.push(lt(orders.stuckSince, filter.stuckBefore));
  if (filter.status) conditions.push(eq(orders.status, filter.status));
  if (filter.stuck === true) conditions.push(isNotNull(orders.stuckReason));
  if (filter.stuck === false) conditions.push(isNull(orders.stuckReason));
  if (filter.stuckReason) conditions.push(eq(orders.stuckReason, filter.stuckReason));
  if (filter.source) conditions.push(eq(orders.source, filter.source));
  if (filter.orderNumber) conditions.push(eq(orders.orderNumber, filter.orderNumber));
  if (filter.trackingNumber) {
    conditions.push(
      sql`exists (select 1 from ${shipments} where ${shipments.orderId} = ${orders.orderId} and ${shipments.trackingNumber} = ${filter.trackingNumber})`,
    );
  }
  return conditions;
}

export async function listOrders(db: Db, filter: OrderListFilter): Promise<OrderRow[]> {
  const conditions = orderConditions(filter);
  if (filter.after) {
    const { createdAt, orderId } = filter.after;
    conditions.push(
      or(gt(orders.createdAt, createdAt), and(eq(orders.createdAt, createdAt), gt(orders.orderId, orderId)))!,
    );
  }
  return db
    .select()
    .from(orders)
    .where(and(...conditions))
    .orderBy(asc(orders.createdAt), asc(orders.orderId))
    .limit(filter.limit);
}

/** How many orders a filter selects (a bulk retry shows it before it runs). */
export async function countOrders(db: Db, filter: Omit<OrderListFilter, 'after' | 'limit'>): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)`.mapWith(Number) })
    .from(orders)
    .where(and(...orderConditions(filter)));
  return row?.count ?? 0;
}

export async function findOrdersByIds(db: Db, orderIds: string[]): Promise<OrderRow[]> {
  if (orderIds.length === 0) return [];
  return db.select().from(orders).where(inArray(orders.orderId, orderIds));
}

/** The order content as the source sent it (normalised), from its read-model rows. */
export function contentFromRows(o: OrderRow, lines: OrderLineRow[]): OrderContent {
  return {
    orderNumber: o.orderNumber,
    orderDate: toIso(o.orderDate),
    paid: o.paid,
    currency: o.currency,
    ...(o.source !== null ? { source: o.source } : {}),
    ...(o.shippingMethod !== null ? { shippingMethod: o.shippingMethod } : {}),
    ...(o.paymentMethod !== null ? { paymentMethod: o.paymentMethod } : {}),
    customer: {
      ...(o.customerCode !== null ? { code: o.customerCode } : {}),
      ...(o.customerEmail !== null ? { email: o.customerEmail } : {}),
    },
    billTo: o.billTo,
    shipTo: o.shipTo,
    lines: lines.map((l) => ({
      lineId: l.lineId,
      sku: l.sku,
      name: l.name,
      quantity: l.quantity,
      unitPrice: l.unitPrice,
      ...(l.weightValue !== null && l.weightUnit !== null
        ? { weight: { value: trimDecimal(l.weightValue), unit: l.weightUnit as 'lb' | 'oz' | 'g' | 'kg' } }
        : {}),
      ...(l.imageUrl !== null ? { imageUrl: l.imageUrl } : {}),
      ...(l.location !== null ? { location: l.location } : {}),
      options: l.options,
      adjustment: l.adjustment,
    })),
    shippingAmount: o.shippingAmount,
    taxAmount: o.taxAmount,
    total: o.total,
    ...(o.customerNotes !== null ? { customerNotes: o.customerNotes } : {}),
    ...(o.internalNotes !== null ? { internalNotes: o.internalNotes } : {}),
    gift: o.gift,
    ...(o.giftMessage !== null ? { giftMessage: o.giftMessage } : {}),
    customFields: o.customFields,
    ...(o.requestedWarehouse !== null ? { requestedWarehouse: o.requestedWarehouse } : {}),
  };
}

/** Rebuilds the workflow state from the read model (used when a closed order is reopened by a late fact). */
export function stateFromRecord(record: OrderRecord): OrderState {
  const { order: o, lines, shipments: shipmentRows } = record;
  const content = contentFromRows(o, lines);
  return {
    orderId: o.orderId,
    merchantId: o.merchantId,
    orderNumber: o.orderNumber,
    createHash: o.createHash,
    content,
    status: o.status as OrderStatus,
    heldFrom: o.heldFrom as OrderStatus | null,
    holdReason: o.holdReason,
    cancelReason: o.cancelReason,
    servedToShipStation: o.servedToShipStation,
    shipped: Object.fromEntries(lines.filter((l) => l.shippedQuantity > 0).map((l) => [l.lineId, l.shippedQuantity])),
    shipments: shipmentRows.map(shipmentFromRow),
    timeline: o.timeline,
    stuck: o.stuckReason
      ? { reason: o.stuckReason as StuckReason, since: toIso(o.stuckSince!), ...(o.stuckDetail !== null ? { detail: o.stuckDetail } : {}) }
      : null,
    flags: o.flags,
    modifiedRevision: o.modifiedRevision,
    lastModified: toIso(o.lastModified),
    waitingSince: toIso(o.waitingSince),
    createdAt: toIso(o.createdAt),
  };
}

export function shipmentFromRow(s: ShipmentRow): ShipmentRecord {
  return {
    shipmentKey: s.shipmentKey,
    carrier: s.carrier,
    ...(s.service !== null ? { service: s.service } : {}),
    ...(s.trackingNumber !== null ? { trackingNumber: s.trackingNumber } : {}),
    ...(s.shipDate !== null ? { shipDate: s.shipDate } : {}),
    ...(s.labelCreatedAt !== null ? { labelCreatedAt: toIso(s.labelCreatedAt) } : {}),
    ...(s.shippingCost !== null ? { shippingCost: s.shippingCost } : {}),
    lines: s.lines,
    ...(s.details !== null ? { details: s.details } : {}),
    ...(s.unmatched !== null ? { unmatched: s.unmatched } : {}),
    reportedVia: s.reportedVia,
    recordedAt: toIso(s.recordedAt),
    confirmationDeliveredAt: toIsoOrNull(s.confirmationDeliveredAt),
    ...(s.deliveryRejected !== null ? { deliveryRejected: s.deliveryRejected } : {}),
    ...(s.itemsFingerprint !== null ? { itemsFingerprint: s.itemsFingerprint } : {}),
  };
}

