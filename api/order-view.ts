/** How an order is shown by the order API: one shape for GET, list items and request answers. */
import { createHash } from 'node:crypto';
import { parseIsoTimestamp } from '../domain/dates';
import { z } from '@hono/zod-openapi';
import { packageFacts, toIso, type OrderRecord } from '../db/orders';
import { trimDecimal } from '../domain/money';
import type { OrderFactRow, OrderRow } from '../db/schema';
import { describeFact } from '../domain/facts';
import { ORDER_STATUSES, STUCK_REASONS } from '../domain/order';

/**
 * The short stable OrderID ShipStation sees: derived from the business key, so it needs no counter
 * and is the same however often the order is posted. 26 base32 characters = 130 bits.
 */
export function orderIdFor(merchantId: string, orderNumber: string): string {
  const digest = createHash('sha256').update(`${merchantId}\u0000${orderNumber}`).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return `o${out}`;
}

/** The keyset cursor of an order list (the order API's and the console's): the last row's (createdAt, orderId). */
export const encodeOrderCursor = (createdAt: string, orderId: string) => Buffer.from(JSON.stringify([toIso(createdAt), orderId])).toString('base64url');

/** A cursor encodeOrderCursor made, or null for anything else. */
export function decodeOrderCursor(cursor: string): { createdAt: string; orderId: string } | null {
  try {
    const [createdAt, orderId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const at = typeof createdAt === 'string' ? parseIsoTimestamp(createdAt) : null;
    if (at && typeof orderId === 'string') return { createdAt: at, orderId };
  } catch {
    // not one of ours
  }
  return null;
}

/** Where an order's workflow opens in the Temporal Web UI (ops API and console). */
export const temporalWorkflowUrl = (settings: { uiUrl: string; namespace: string }, workflowId: string) =>
  `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;

export const createHashOf = (canonical: string) => createHash('sha256').update(canonical).digest('hex');

export const FactViewSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['exported', 'exportRefused', 'shipmentReported', 'confirmationDelivered']),
    summary: z.string(),
    via: z.string(),
    receivedAt: z.string(),
    state: z.enum(['pending', 'delivered', 'not_needed', 'discarded']),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    nextAttemptAt: z.string().nullable().openapi({ description: 'While pending: not tried again on its own before this time' }),
    settledAt: z.string().nullable(),
    outcome: z.string().nullable().openapi({ description: 'signalled (to the running order), reopened (a closed order got a new run), order closed (an export mark a finished order does not need)' }),
    discardReason: z.string().nullable(),
  })
  .openapi('Fact');

export function factView(f: OrderFactRow) {
  return {
    id: String(f.id),
    kind: f.kind,
    summary: describeFact(f.fact),
    via: f.via,
    receivedAt: toIso(f.receivedAt),
    state: f.state,
    attempts: f.attempts,
    lastError: f.lastError,
    nextAttemptAt: f.state === 'pending' ? toIso(f.nextAttemptAt) : null,
    settledAt: f.settledAt ? toIso(f.settledAt) : null,
    outcome: f.outcome,
    discardReason: f.discardReason,
  };
}

export const OrderSummarySchema = z
  .object({
    orderNumber: z.string(),
    orderId: z.string(),
    status: z.enum(ORDER_STATUSES),
    statusSince: z.string(),
    lastModified: z.string(),
    paid: z.boolean(),
    source: z.string().nullable(),
    total: z.string(),
    currency: z.string(),
    stuck: z.object({ reason: z.enum(STUCK_REASONS), since: z.string(), detail: z.string().optional() }).nullable(),
    createdAt: z.string(),
  })
  .openapi('OrderSummary');

export const OrderViewSchema = OrderSummarySchema.extend({
  workflowId: z.string(),
  hold: z.object({ reason: z.string().nullable(), returnsTo: z.string().nullable() }).nullable(),
  cancelReason: z.string().nullable(),
  flags: z.array(z.object({ code: z.string(), at: z.string(), detail: z.string() })),
  personalDataPurgedAt: z.string().nullable().openapi({
    description:
      'When the personal data of this closed order was purged (PERSONAL_DATA_DAYS), else null. A purged order keeps its number, status, dates, amounts, lines, shipments (carrier, service, tracking) and timeline; its customer code and e-mail, notes, gift message and custom fields are null or empty, its addresses are `{"name": "[redacted]"}` plus country and state, and shipment details keep only notifyCustomer and requestedWarehouse.',
  }),
  order: z.record(z.string(), z.unknown()).openapi({ description: 'The order content as normalised' }),
  lines: z.array(z.record(z.string(), z.unknown())),
  shipments: z.array(z.record(z.string(), z.unknown())),
  timeline: z.array(z.object({ at: z.string(), event: z.string(), from: z.string().optional(), to: z.string().optional(), detail: z.string().optional(), by: z.string().optional() })),
  pendingFacts: z.array(FactViewSchema).openapi({
    description: 'Facts reported for the order (by ShipStation, a pickup ack, an ops replay) that have not reached its workflow yet, oldest first; normally empty within a second',
  }),
}).openapi('Order');

export function orderSummary(o: OrderRow) {
  return {
    orderNumber: o.orderNumber,
    orderId: o.orderId,
    status: o.status as (typeof ORDER_STATUSES)[number],
    statusSince: toIso(o.statusSince),
    lastModified: toIso(o.lastModified),
    paid: o.paid,
    source: o.source,
    total: o.total,
    currency: o.currency,
    stuck: o.stuckReason
      ? { reason: o.stuckReason as (typeof STUCK_REASONS)[number], since: toIso(o.stuckSince!), ...(o.stuckDetail ? { detail: o.stuckDetail } : {}) }
      : null,
    createdAt: toIso(o.createdAt),
  };
}

export function orderView({ order: o, lines, shipments, pendingFacts }: OrderRecord) {
  return {
    ...orderSummary(o),
    workflowId: o.workflowId,
    hold: o.status === 'on_hold' ? { reason: o.holdReason, returnsTo: o.heldFrom } : null,
    cancelReason: o.cancelReason,
    flags: o.flags,
    personalDataPurgedAt: o.personalDataPurgedAt ? toIso(o.personalDataPurgedAt) : null,
    order: {
      orderDate: toIso(o.orderDate),
      currency: o.currency,
      source: o.source,
      shippingMethod: o.shippingMethod,
      paymentMethod: o.paymentMethod,
      customer: { code: o.customerCode, email: o.customerEmail },
      billTo: o.billTo,
      shipTo: o.shipTo,
      shippingAmount: o.shippingAmount,
      taxAmount: o.taxAmount,
      total: o.total,
      customerNotes: o.customerNotes,
      internalNotes: o.internalNotes,
      gift: o.gift,
      giftMessage: o.giftMessage,
      customFields: o.customFields,
      requestedWarehouse: o.requestedWarehouse,
    },
    lines: lines.map((l) => ({
      lineId: l.lineId,
      sku: l.sku,
      name: l.name,
      quantity: l.quantity,
      shipped: l.shippedQuantity,
      unitPrice: l.unitPrice,
      weight: l.weightValue !== null ? { value: trimDecimal(l.weightValue), unit: l.weightUnit } : null,
      imageUrl: l.imageUrl,
      location: l.location,
      options: l.options,
      adjustment: l.adjustment,
    })),
    shipments: shipments.map((s) => ({
      id: String(s.id),
      ...packageFacts(s),
      lines: s.lines,
      details: s.details,
      unmatched: s.unmatched,
      deliveryRejected: s.deliveryRejected,
      reportedVia: s.reportedVia,
      recordedAt: toIso(s.recordedAt),
      confirmationDeliveredAt: s.confirmationDeliveredAt ? toIso(s.confirmationDeliveredAt) : null,
    })),
    timeline: o.timeline,
    pendingFacts: pendingFacts.map(factView),
  };
}
