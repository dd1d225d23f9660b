/**
 * What ops do to shipments and facts, shared by the ops API (api/routes/ops*.ts) and the console
 * (api/console/pages/), so both follow the same rules and answer the same refusals.
 */
import { findConfirmation } from '../db/confirmations';
import { discardFact, findFact, makeFactDue, findStoredNotice, recordFacts } from '../db/order-facts';
import { findOrderById } from '../db/orders';
import type { OrderFactRow } from '../db/schema';
import type { BulkRetryFilter } from '../activities/bulk-retry';
import { readNotice, toShipmentReport } from '../domain/shipstation/shipnotify';
import { STUCK_REASONS, STUCK_REASON_TEXT, type StuckReason } from '../domain/order';
import type { OpsAction } from '../domain/lifecycle';
import { cancelUpdate, holdUpdate, releaseUpdate, resendUpdate, retryUpdate, type OrderRequest, type RequestEnvelope } from '../workflows/messages';
import { describeWait, parseDuration } from '../domain/dates';
import { badRequest, conflict, notFound } from './errors';
import type { RouteServices } from './services';
import { noticeQuery } from './shipstation/shipnotify';

type Services = Pick<RouteServices, 'db' | 'relay'>;

/**
 * The actions ops take on one order (where availableOpsActions allows them): the update each sends,
 * and whether it asks for a reason. In this order the ops API registers its routes.
 */
export const ORDER_ACTIONS: Record<OpsAction, { update: OrderRequest<RequestEnvelope & { reason?: string }>; withReason: boolean }> = {
  retry: { update: retryUpdate, withReason: false },
  resend: { update: resendUpdate, withReason: false },
  release: { update: releaseUpdate, withReason: false },
  hold: { update: holdUpdate as never, withReason: true },
  cancel: { update: cancelUpdate as never, withReason: true },
};

/**
 * Re-runs a stored ShipNotice through the same idempotent path it took (stored as a fact, then
 * forwarded); units that matched no line are matched against the order as it is now. `delivered`
 * false: stored, and forwarded as soon as the order can take it.
 */
export async function replayShipment(services: Services, id: number): Promise<{ orderNumber: string; delivered: boolean }> {
  const { db, relay } = services;
  const shipment = await findConfirmation(db, null, id);
  if (!shipment) throw notFound(`no shipment ${id}`);
  const stored = await findStoredNotice(db, shipment.orderId, shipment.shipmentKey);
  if (!stored) throw conflict(`shipment ${id} did not come from a stored ShipNotice; there is nothing to replay`);
  // Read exactly as shipnotify read it when it arrived.
  const reading = readNotice(stored.body, noticeQuery(new URLSearchParams(stored.query)));
  if (!reading.ok) throw badRequest(`the stored notice no longer parses: ${reading.reason}`);
  const { report, details } = toShipmentReport(reading.merged, shipment.shipmentKey);
  const record = await findOrderById(db, shipment.orderId);
  if (!record) throw notFound(`order ${shipment.orderNumber} is gone`);
  // A replay is never collapsed with the original: it is a fact of its own.
  await recordFacts(db, [{ orderId: record.order.orderId, fact: { kind: 'shipmentReported', report: { ...report, details, reportedVia: 'replay' } }, via: 'replay' }]);
  const delivered = await relay.tryDeliverOrder(record.order.orderId);
  return { orderNumber: shipment.orderNumber, delivered };
}

async function pendingFact(services: Services, id: number): Promise<OrderFactRow> {
  const fact = await findFact(services.db, id);
  if (!fact) throw notFound(`no fact ${id}`);
  if (fact.state !== 'pending') throw conflict(`fact ${id} is ${fact.state.replace('_', ' ')}; only a pending fact can be retried or discarded`);
  return fact;
}

/** Delivers a pending fact now (its order's older pending facts first), whatever its backoff. */
export async function retryFact(services: Services, id: number): Promise<{ delivered: boolean; fact: OrderFactRow }> {
  const fact = await pendingFact(services, id);
  await makeFactDue(services.db, fact.id);
  const delivered = await services.relay.tryDeliverOrder(fact.orderId);
  return { delivered, fact: (await findFact(services.db, fact.id))! };
}

/** Gives up on a pending fact that cannot be delivered (the reason is kept); later facts of its order go ahead. */
export async function discardPendingFact(services: Services, id: number, reason: string): Promise<OrderFactRow> {
  await pendingFact(services, id);
  const discarded = await discardFact(services.db, id, reason);
  if (!discarded) throw conflict(`fact ${id} is being delivered right now, or was settled meanwhile; nothing discarded (look again, then retry or discard)`);
  services.relay.kick();
  return discarded;
}

/** A bulk retry's selection as a person gives it: each part optional (empty: any). */
export interface BulkRetrySelection {
  merchant?: string;
  reason?: string;
  stuckFor?: string;
}

/** The selection as a bulk retry takes it; a bad duration or reason is refused with the field's name. */
export function bulkRetryFilter(selection: BulkRetrySelection): Omit<BulkRetryFilter, 'requestedBy'> {
  if (selection.reason && !(STUCK_REASONS as readonly string[]).includes(selection.reason)) throw badRequest(`Stuck reason: "${selection.reason}" is not a stuck reason`);
  const stuckForMs = selection.stuckFor ? parseDuration(selection.stuckFor) : null;
  if (selection.stuckFor && !(stuckForMs && stuckForMs > 0)) throw badRequest(`Stuck for: "${selection.stuckFor}" is not a duration such as 30m, 4h or 3d`);
  return {
    ...(selection.merchant ? { merchantId: selection.merchant } : {}),
    ...(selection.reason ? { reason: selection.reason as StuckReason } : {}),
    ...(stuckForMs ? { stuckForMs } : {}),
  };
}

/** The bulk retry's title in the Web UI: what it selected. */
export function bulkRetrySummary(filter: BulkRetryFilter): string {
  const parts = [
    filter.merchantId ? ` of ${filter.merchantId}` : '',
    filter.reason ? ` (${STUCK_REASON_TEXT[filter.reason]})` : '',
    filter.stuckForMs ? `, stuck for at least ${describeWait(filter.stuckForMs)}` : '',
    filter.requestedBy ? `, ${filter.requestedBy}` : '',
  ];
  return `Bulk retry of stuck orders${parts.join('')}`;
}
