/**
 * Detailed shipment confirmations for order sources: the one payload both delivery modes send
 * (pickup lists it, push posts it), and the per-merchant (optionally per-source) delivery target.
 */
import { and, asc, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Db } from './client';
import { newSigningSecret } from '../runtime/webhook-signing';
import { packageFacts, toIso } from './orders';
import { confirmationTargets, orderLines, orders, shipments, type ConfirmationTargetRow } from './schema';

export interface ShipmentConfirmation {
  /** The pickup id (also the webhook idempotency key's base). */
  id: string;
  orderNumber: string;
  orderId: string;
  source: string | null;
  shipmentKey: string;
  carrier: string;
  service: string | null;
  trackingNumber: string | null;
  shipDate: string | null;
  labelCreatedAt: string | null;
  shippingCost: string | null;
  lines: { lineId: string; sku: string; name: string; quantity: number }[];
  /** With this shipment, every unit of every (non-adjustment) line was covered by shipments. */
  orderFullyShipped: boolean;
  recordedAt: string;
  acked: boolean;
}

type ShipmentJoin = { shipment: typeof shipments.$inferSelect; order: typeof orders.$inferSelect };

async function toConfirmations(db: Db, rows: ShipmentJoin[]): Promise<ShipmentConfirmation[]> {
  if (rows.length === 0) return [];
  const orderIds = [...new Set(rows.map((r) => r.order.orderId))];
  const [lines, siblings] = await Promise.all([
    db.select().from(orderLines).where(inArray(orderLines.orderId, orderIds)),
    db.select({ orderId: shipments.orderId, id: shipments.id, lines: shipments.lines }).from(shipments).where(inArray(shipments.orderId, orderIds)).orderBy(asc(shipments.id)),
  ]);
  // Indexed once, so a page costs time linear in its orders' lines and shipments (not their product).
  const linesOf = groupBy(lines, (l) => l.orderId);
  const fullyShippedAt = fullyShippedShipments(linesOf, siblings);
  return rows.map(({ shipment: s, order: o }) => {
    const lineById = new Map((linesOf.get(o.orderId) ?? []).map((l) => [l.lineId, l]));
    return {
      id: String(s.id),
      orderNumber: o.orderNumber,
      orderId: o.orderId,
      source: o.source,
      ...packageFacts(s),
      lines: s.lines.map((l) => {
        const line = lineById.get(l.lineId);
        return { lineId: l.lineId, sku: line?.sku ?? '', name: line?.name ?? '', quantity: l.quantity };
      }),
      orderFullyShipped: fullyShippedAt.has(s.id),
      recordedAt: toIso(s.recordedAt),
      acked: s.confirmationDeliveredAt !== null,
    };
  });
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

/**
 * The shipments with which every unit of every (non-adjustment) line of their order was covered, as
 * of that shipment (it and the ones recorded before it), so the answer never changes later. One walk
 * per order in id order, counting the lines still short.
 */
function fullyShippedShipments(linesOf: Map<string, (typeof orderLines.$inferSelect)[]>, siblings: { orderId: string; id: number; lines: { lineId: string; quantity: number }[] }[]): Set<number> {
  const fully = new Set<number>();
  for (const [orderId, shipmentsOfOrder] of groupBy(siblings, (s) => s.orderId)) {
    const wanted = new Map((linesOf.get(orderId) ?? []).filter((l) => !l.adjustment).map((l) => [l.lineId, l.quantity]));
    if (wanted.size === 0) continue;
    let short = [...wanted.values()].filter((quantity) => quantity > 0).length;
    const shipped = new Map<string, number>();
    // In id order (the query's): each shipment sees only those recorded before it.
    for (const shipment of shipmentsOfOrder) {
      for (const { lineId, quantity } of shipment.lines) {
        const before = shipped.get(lineId) ?? 0;
        const need = wanted.get(lineId);
        shipped.set(lineId, before + quantity);
        if (need !== undefined && before < need && before + quantity >= need) short--;
      }
      if (short === 0) fully.add(shipment.id);
    }
  }
  return fully;
}

/** Pickup: a merchant's confirmations after the cursor, in id order (ids commit in order). */
export async function listConfirmations(db: Db, merchantId: string, options: { after: number; limit: number; unackedOnly: boolean }) {
  const rows = await db
    .select({ shipment: shipments, order: orders })
    .from(shipments)
    .innerJoin(orders, eq(orders.orderId, shipments.orderId))
    .where(and(eq(orders.merchantId, merchantId), gt(shipments.id, options.after), options.unackedOnly ? isNull(shipments.confirmationDeliveredAt) : undefined))
    .orderBy(asc(shipments.id))
    .limit(options.limit);
  return toConfirmations(db, rows);
}

export async function findConfirmation(db: Db, merchantId: string | null, id: number): Promise<ShipmentConfirmation | null> {
  const [row] = await db
    .select({ shipment: shipments, order: orders })
    .from(shipments)
    .innerJoin(orders, eq(orders.orderId, shipments.orderId))
    .where(and(eq(shipments.id, id), merchantId === null ? undefined : eq(orders.merchantId, merchantId)));
  return row ? (await toConfirmations(db, [row]))[0]! : null;
}

/** What acking a confirmation needs to know about it: its order and key, and whether it was acked already (one read). */
export async function findShipmentToAck(db: Db, merchantId: string, id: number) {
  const [row] = await db
    .select({ orderId: orders.orderId, orderNumber: orders.orderNumber, shipmentKey: shipments.shipmentKey, deliveredAt: shipments.confirmationDeliveredAt })
    .from(shipments)
    .innerJoin(orders, eq(orders.orderId, shipments.orderId))
    .where(and(eq(shipments.id, id), eq(orders.merchantId, merchantId)));
  return row ? { orderId: row.orderId, orderNumber: row.orderNumber, shipmentKey: row.shipmentKey, acked: row.deliveredAt !== null } : null;
}

export async function findConfirmationByKey(db: Db, orderId: string, shipmentKey: string): Promise<ShipmentConfirmation | null> {
  const [row] = await db
    .select({ shipment: shipments, order: orders })
    .from(shipments)
    .innerJoin(orders, eq(orders.orderId, shipments.orderId))
    .where(and(eq(shipments.orderId, orderId), eq(shipments.shipmentKey, shipmentKey)));
  return row ? (await toConfirmations(db, [row]))[0]! : null;
}

/** The target for an order: its source's own, else the merchant's default, else pickup. */
export async function confirmationTargetFor(db: Db, merchantId: string, source: string | null): Promise<ConfirmationTargetRow | null> {
  const rows = await db
    .select()
    .from(confirmationTargets)
    .where(and(eq(confirmationTargets.merchantId, merchantId), or(eq(confirmationTargets.source, ''), eq(confirmationTargets.source, source ?? ''))));
  return rows.find((r) => r.source !== '' && r.source === source) ?? rows.find((r) => r.source === '') ?? null;
}

export async function listConfirmationTargets(db: Db, merchantId: string): Promise<ConfirmationTargetRow[]> {
  return db.select().from(confirmationTargets).where(eq(confirmationTargets.merchantId, merchantId)).orderBy(confirmationTargets.source);
}

/** Every merchant's targets (the console's merchant list), by merchant then source. */
export async function listAllConfirmationTargets(db: Db): Promise<ConfirmationTargetRow[]> {
  return db.select().from(confirmationTargets).orderBy(confirmationTargets.merchantId, confirmationTargets.source);
}

/** Sets a target; a push target without a secret gets one (returned once). */
export async function setConfirmationTarget(
  db: Db,
  input: { merchantId: string; source: string | null; mode: 'pickup' | 'push'; webhookUrl: string | null },
): Promise<{ target: ConfirmationTargetRow; newSecret: string | null }> {
  const source = input.source ?? '';
  const existing = (await db.select().from(confirmationTargets).where(and(eq(confirmationTargets.merchantId, input.merchantId), eq(confirmationTargets.source, source))))[0];
  const newSecret = input.mode === 'push' && !existing?.signingSecret ? newSigningSecret() : null;
  const values = {
    mode: input.mode,
    webhookUrl: input.mode === 'push' ? input.webhookUrl : null,
    ...(newSecret ? { signingSecret: newSecret, secretRotatedAt: new Date().toISOString() } : {}),
    updatedAt: new Date().toISOString(),
  };
  const [target] = await db
    .insert(confirmationTargets)
    .values({ merchantId: input.merchantId, source, ...values })
    .onConflictDoUpdate({ target: [confirmationTargets.merchantId, confirmationTargets.source], set: values })
    .returning();
  return { target: target!, newSecret };
}

/**
 * A new secret for a target; the one it replaces keeps signing beside it for `graceMs` (0: stops at
 * once), so a receiver can switch to the new one without refusing deliveries meanwhile. A second
 * rotation within the grace drops the oldest: only one previous secret is kept.
 */
export async function rotateSigningSecret(db: Db, merchantId: string, source: string | null, graceMs: number): Promise<{ secret: string; previousValidUntil: string | null } | null> {
  const secret = newSigningSecret();
  const graceEnds = new Date(Date.now() + graceMs).toISOString();
  const updated = await db
    .update(confirmationTargets)
    .set({
      // In an UPDATE the column still holds the value before it: the secret being replaced.
      previousSigningSecret: sql`${confirmationTargets.signingSecret}`,
      previousSecretExpiresAt: sql`case when ${confirmationTargets.signingSecret} is null then null else ${graceEnds}::timestamptz end`,
      signingSecret: secret,
      legacySignatureKey: null,
      secretRotatedAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(confirmationTargets.merchantId, merchantId), eq(confirmationTargets.source, source ?? '')))
    .returning({ previousSecretExpiresAt: confirmationTargets.previousSecretExpiresAt });
  if (!updated.length) return null;
  const until = updated[0]!.previousSecretExpiresAt;
  return { secret, previousValidUntil: until && graceMs > 0 ? toIso(until) : null };
}

/** Until when a rotated-away secret still signs beside the new one, while it does (else null). */
export function previousSecretValidUntil(t: ConfirmationTargetRow, now = Date.now()): string | null {
  if (t.previousSigningSecret === null || t.previousSecretExpiresAt === null) return null;
  return Date.parse(t.previousSecretExpiresAt) > now ? toIso(t.previousSecretExpiresAt) : null;
}
