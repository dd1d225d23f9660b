/**
 * The order's rules as pure functions over OrderState: which requests are refused (and why) and what
 * every accepted request or reported fact does. The workflow adds time, messages and persistence;
 * everything that decides lives here and is unit-tested without Temporal.
 *
 * `check*` functions return a refusal reason or null. `apply*` functions mutate the state and return
 * whether anything changed (false = an idempotent repeat).
 */
import { allocateShipment, allUnitsShipped, itemsFingerprint, type Allocation } from './shipments';
import {
  appendKeepingEnds,
  cutCodePoints,
  DETAIL_MAX,
  FLAGS_KEEP,
  jsonBytes,
  MAX_NOTICE_ITEMS,
  MAX_SHIPMENTS_PER_ORDER,
  SHIPMENTS_STATE_BUDGET_BYTES,
  TIMELINE_KEEP,
  type OmittedMarker,
} from './limits';
import { parseDuration } from './dates';
import { moneyInRange } from './money';
import type { FactMessage } from './facts';
import {
  canonicalJson,
  computeOrderTotal,
  orderTotalCents,
  STATUS_MAPPING,
  type OrderChanges,
  type OrderContent,
  type OrderFlag,
  type OrderFlagCode,
  type OrderState,
  type OrderStatus,
  type ShipmentRecord,
  type ShipmentReport,
  type StuckReason,
  type TimelineEntry,
} from './order';

export interface OrderDeadlines {
  /** await_payment for this long -> stuck "unpaid_too_long". */
  awaitPaymentMs: number;
  /** pending (paid, not exported) for this long -> stuck "not_exported". */
  pendingExportMs: number;
  /** at_wms without any shipment for this long -> stuck "no_shipment". */
  atWmsShipmentMs: number;
  /** shipped with a confirmation not delivered for this long -> stuck "confirmation_undelivered". */
  confirmationMs?: number;
}

/** For orders started before the confirmation deadline existed. */
export const DEFAULT_CONFIRMATION_MS = 3 * 86_400_000;

export interface OrderSettings {
  deadlines: OrderDeadlines;
  /** How long a confirmed or canceled order's workflow stays open to absorb late facts. */
  terminalGraceMs: number;
}

export type DeadlineOverrides = Partial<Record<'awaitPayment' | 'pendingExport' | 'atWmsShipment' | 'confirmation', string>>;

/** The service's deadlines with a merchant's overrides (durations such as "2h") applied. */
export function withDeadlineOverrides(base: OrderSettings, overrides: DeadlineOverrides): OrderSettings {
  const ms = (value: string | undefined, fallback: number | undefined) => (value ? (parseDuration(value) ?? fallback) : fallback);
  return {
    ...base,
    deadlines: {
      awaitPaymentMs: ms(overrides.awaitPayment, base.deadlines.awaitPaymentMs)!,
      pendingExportMs: ms(overrides.pendingExport, base.deadlines.pendingExportMs)!,
      atWmsShipmentMs: ms(overrides.atWmsShipment, base.deadlines.atWmsShipmentMs)!,
      confirmationMs: ms(overrides.confirmation, base.deadlines.confirmationMs ?? DEFAULT_CONFIRMATION_MS)!,
    },
  };
}

/** A new order starts unpaid or paid, as its source says. */
export const initialStatus = (content: Pick<OrderContent, 'paid'>): OrderStatus => (content.paid ? 'pending' : 'await_payment');

export function newOrderState(init: {
  orderId: string;
  merchantId: string;
  content: OrderContent;
  createHash: string;
  now: string;
}): OrderState {
  const status = initialStatus(init.content);
  return {
    orderId: init.orderId,
    merchantId: init.merchantId,
    orderNumber: init.content.orderNumber,
    createHash: init.createHash,
    content: init.content,
    status,
    heldFrom: null,
    holdReason: null,
    cancelReason: null,
    servedToShipStation: false,
    shipped: {},
    shipments: [],
    timeline: [{ at: init.now, event: 'created', to: status }],
    stuck: null,
    flags: [],
    modifiedRevision: 1,
    lastModified: null,
    waitingSince: init.now,
    createdAt: init.now,
  };
}

/** A package has left: any recorded shipment counts, even one whose items matched no line. */
const hasShipment = (state: OrderState) => state.shipments.length > 0;

function transition(state: OrderState, to: OrderStatus, now: string, event: string, detail?: string) {
  const from = state.status;
  appendTimeline(state, { at: now, event, from, to, ...(detail ? { detail } : {}) });
  state.status = to;
  state.waitingSince = now;
  state.stuck = null;
  keepRejectionVisible(state, now);
  if (STATUS_MAPPING[from].category !== STATUS_MAPPING[to].category) state.modifiedRevision++;
}

/**
 * A confirmation the source's webhook refused stays a stuck reason until it is delivered or retried,
 * whatever else happens to the order (a status change must not hide it).
 */
function keepRejectionVisible(state: OrderState, now: string) {
  const rejected = state.shipments.find((s) => s.deliveryRejected && !s.confirmationDeliveredAt);
  if (rejected && !state.stuck) state.stuck = { reason: 'confirmation_rejected', since: now, detail: rejected.deliveryRejected! };
}

export const TIMELINE_OMITTED_EVENT = 'entries omitted';

const timelineMarker: OmittedMarker<TimelineEntry> = {
  is: (entry) => entry.event === TIMELINE_OMITTED_EVENT,
  count: (entry) => entry.omitted ?? 0,
  make: (omitted, last) => ({
    at: last.at,
    event: TIMELINE_OMITTED_EVENT,
    detail: `${omitted} entries left out between the first ${TIMELINE_KEEP.head} and the last ${TIMELINE_KEEP.tail}`,
    omitted,
  }),
};

const flagMarker: OmittedMarker<OrderFlag> = {
  is: (f) => f.code === 'flags_omitted',
  count: (f) => f.omitted ?? 0,
  make: (omitted, last) => ({ code: 'flags_omitted', at: last.at, detail: `${omitted} flags left out between the first ${FLAGS_KEEP.head} and the last ${FLAGS_KEEP.tail}`, omitted }),
};

/** Details quote what others wrote (a reason, a webhook's answer): cut, so no entry can grow the state much. */
const cutDetail = (detail: string) => cutCodePoints(detail, DETAIL_MAX);

/** Every timeline entry goes through here: the timeline keeps its first and last entries (TIMELINE_KEEP). */
function appendTimeline(state: OrderState, entry: TimelineEntry) {
  appendKeepingEnds(state.timeline, entry.detail !== undefined ? { ...entry, detail: cutDetail(entry.detail) } : entry, TIMELINE_KEEP, timelineMarker);
}

function note(state: OrderState, now: string, event: string, detail?: string) {
  appendTimeline(state, { at: now, event, ...(detail ? { detail } : {}) });
}

function flag(state: OrderState, code: OrderFlagCode, now: string, detail: string) {
  appendKeepingEnds(state.flags, { code, at: now, detail: cutDetail(detail) }, FLAGS_KEEP, flagMarker);
  note(state, now, 'flagged', `${code}: ${detail}`);
}

/** Flags once: false when the order already carries this flag with this detail (a repeated notice). */
function flagOnce(state: OrderState, code: OrderFlagCode, now: string, detail: string): boolean {
  if (state.flags.some((f) => f.code === code && f.detail === cutDetail(detail))) return false;
  flag(state, code, now, detail);
  return true;
}

// ---- requests (updates) -------------------------------------------------------------------------

export function checkMarkPaid(state: OrderState): string | null {
  if (state.status === 'canceled') return 'the order is canceled';
  return null;
}

export function applyMarkPaid(state: OrderState, now: string): boolean {
  if (state.content.paid) return false;
  state.content = { ...state.content, paid: true };
  if (state.status === 'await_payment') {
    transition(state, 'pending', now, 'paid');
  } else {
    // Held while unpaid: it will be released to pending; the payment itself is worth a line.
    if (state.heldFrom === 'await_payment') state.heldFrom = 'pending';
    note(state, now, 'paid');
  }
  return true;
}

export function checkHold(state: OrderState): string | null {
  if (state.status === 'on_hold') return null;
  if (state.status === 'shipped' || state.status === 'confirmed') return `the order has already shipped (status ${state.status})`;
  if (state.status === 'canceled') return 'the order is canceled';
  return null;
}

export function applyHold(state: OrderState, reason: string, now: string): boolean {
  if (state.status === 'on_hold') return false;
  state.heldFrom = state.status;
  state.holdReason = reason;
  transition(state, 'on_hold', now, 'held', reason);
  return true;
}

export function checkRelease(state: OrderState): string | null {
  return state.status === 'on_hold' ? null : `the order is not on hold (status ${state.status})`;
}

export function applyRelease(state: OrderState, now: string): boolean {
  let to: OrderStatus = state.heldFrom ?? 'pending';
  // ShipStation may have been served the order (or shipped part of it) while it was held.
  if (to === 'pending' && (state.servedToShipStation || hasShipment(state))) to = 'at_wms';
  // A change while held may have left only shipped units (lines cut down to what has shipped).
  if (hasShipment(state) && allUnitsShipped(state.content.lines, state.shipped)) {
    to = state.shipments.every((s) => s.confirmationDeliveredAt) ? 'confirmed' : 'shipped';
  }
  state.heldFrom = null;
  state.holdReason = null;
  transition(state, to, now, 'released');
  return true;
}

export function checkCancel(state: OrderState): string | null {
  if (state.status === 'canceled') return null;
  if (hasShipment(state) || state.status === 'shipped' || state.status === 'confirmed') {
    const tracking = state.shipments.find((s) => s.trackingNumber)?.trackingNumber;
    return `a package has already shipped${tracking ? ` (tracking ${tracking})` : ''}; it can no longer be canceled`;
  }
  return null;
}

export function applyCancel(state: OrderState, reason: string, now: string): boolean {
  if (state.status === 'canceled') return false;
  state.cancelReason = reason;
  state.heldFrom = null;
  state.holdReason = null;
  transition(state, 'canceled', now, 'canceled', reason);
  return true;
}

export function checkUpdateOrder(state: OrderState, changes: OrderChanges): string | null {
  const editable = state.status === 'await_payment' || state.status === 'pending' || state.status === 'on_hold';
  if (!editable) {
    return state.status === 'at_wms'
      ? 'the order is already at ShipStation; put it on hold before changing it'
      : `the order can no longer be changed (status ${state.status})`;
  }
  const amountsChanged = changes.lines !== undefined || changes.shippingAmount !== undefined || changes.taxAmount !== undefined;
  if (amountsChanged && changes.total === undefined) {
    const next = { ...state.content, ...changes };
    if (!moneyInRange(orderTotalCents(next.lines, next.shippingAmount, next.taxAmount))) {
      return 'the order total would exceed 999999999999.99';
    }
  }
  if (changes.lines) {
    const ids = new Set<string>();
    for (const line of changes.lines) {
      if (ids.has(line.lineId)) return `line ${line.lineId} appears twice`;
      ids.add(line.lineId);
    }
    for (const [lineId, shipped] of Object.entries(state.shipped)) {
      const kept = changes.lines.find((l) => l.lineId === lineId);
      if (shipped > 0 && (!kept || kept.quantity < shipped)) {
        return `line ${lineId} has ${shipped} unit(s) shipped already; it cannot go below that`;
      }
    }
  }
  return null;
}

export function applyUpdateOrder(state: OrderState, changes: OrderChanges, now: string): boolean {
  const fields = Object.keys(changes).filter((k) => (changes as Record<string, unknown>)[k] !== undefined);
  if (fields.length === 0) return false;
  const next = { ...state.content, ...changes };
  if (canonicalJson(next) === canonicalJson(state.content)) return false;
  // New lines or amounts without a new total: the old total would be wrong, so recompute it.
  const amountsChanged = changes.lines !== undefined || changes.shippingAmount !== undefined || changes.taxAmount !== undefined;
  if (amountsChanged && changes.total === undefined) next.total = computeOrderTotal(next.lines, next.shippingAmount, next.taxAmount);
  state.content = next;
  state.modifiedRevision++;
  note(state, now, 'changed', fields.sort().join(', '));
  return true;
}

export function checkRetry(state: OrderState, expectedReason?: StuckReason): string | null {
  if (!state.stuck) return `the order is not stuck (status ${state.status})`;
  if (expectedReason && state.stuck.reason !== expectedReason) return `the order is now stuck for ${state.stuck.reason}, not ${expectedReason}`;
  return null;
}

/** Clears the stuck mark and does what the reason needs; the deadline starts counting again. */
export function applyRetry(state: OrderState, now: string): boolean {
  const reason = state.stuck?.reason;
  if (!reason) return false;
  state.stuck = null;
  state.waitingSince = now;
  if (reason === 'confirmation_rejected') for (const s of state.shipments) delete s.deliveryRejected;
  // Re-offering means moving LastModified so that ShipStation's next poll picks the order up again;
  // for confirmations the workflow redelivers at once.
  const reoffer = reason === 'not_exported' || reason === 'no_shipment';
  if (reoffer) state.modifiedRevision++;
  const redeliver = reason === 'confirmation_undelivered' || reason === 'confirmation_rejected';
  note(state, now, 'retried', reoffer ? `${reason}: re-offered to ShipStation` : redeliver ? `${reason}: confirmations redelivered` : reason);
  return true;
}

export function checkResend(state: OrderState): string | null {
  if (state.status === 'shipped' || state.status === 'confirmed') return `the order has already shipped (status ${state.status})`;
  return null;
}

export function applyResend(state: OrderState, now: string): boolean {
  state.modifiedRevision++;
  // A deliberate re-offer answers whatever the order was stuck on; its deadline starts again.
  if (state.stuck) {
    state.stuck = null;
    state.waitingSince = now;
  }
  note(state, now, 'resent', 're-offered to ShipStation');
  return true;
}

// ---- facts (signals) ----------------------------------------------------------------------------

/** ShipStation was served the order in an export. pending -> at_wms; LastModified stays put. */
export function applyExported(state: OrderState, now: string): boolean {
  // Served while unpaid (or held while unpaid) is not "served as a paid order".
  if (state.status === 'await_payment' || (state.status === 'on_hold' && state.heldFrom === 'await_payment')) return false;
  const first = !state.servedToShipStation;
  state.servedToShipStation = true;
  if (state.status === 'pending') {
    transition(state, 'at_wms', now, 'exported');
    return true;
  }
  if (state.status === 'on_hold' && state.heldFrom === 'pending') {
    state.heldFrom = 'at_wms';
    note(state, now, 'exported', 'served while on hold');
    return true;
  }
  return first;
}

/**
 * What became of a reported package: recorded, more of its units matched on a repeat, a plain repeat,
 * a repeat naming other items (flagged), or not recorded because the order is full (flagged).
 */
export type ShipmentOutcome = 'recorded' | 'rematched' | 'duplicate' | 'items_differ' | 'not_recorded';

/** What newly shipped units do to the status (the shipment itself is already recorded). */
function applyUnitsShipped(state: OrderState, units: number, now: string) {
  if (allUnitsShipped(state.content.lines, state.shipped)) {
    if (state.status === 'confirmed') {
      // A late extra package: its confirmation is still owed.
      transition(state, 'shipped', now, 'shipment after confirmation');
    } else if (state.status !== 'shipped') {
      state.heldFrom = null;
      state.holdReason = null;
      transition(state, 'shipped', now, 'all units shipped');
    }
  } else if (units > 0) {
    // A partial shipment: the order is evidently at ShipStation.
    state.servedToShipStation = true;
    if (state.status === 'pending' || state.status === 'await_payment') {
      transition(state, 'at_wms', now, 'partially shipped');
    } else if (state.status === 'on_hold' && state.heldFrom !== 'at_wms') {
      state.heldFrom = 'at_wms';
    } else if (state.status === 'at_wms' && state.stuck?.reason === 'no_shipment') {
      state.stuck = null;
    }
  }
}

/** A package left the warehouse. Accepted in every status; recorded once per shipment key. */
/** `receivedAt`: when the notice reached us, shown beside when it took effect (now). */
export function applyShipmentReported(state: OrderState, report: ShipmentReport, now: string, receivedAt?: string): ShipmentOutcome {
  const known = state.shipments.find((s) => s.shipmentKey === report.shipmentKey);
  if (known) return repeatedShipment(state, known, report, now);
  const allocation = allocateShipment(state.content.lines, state.shipped, report.items);
  const record = shipmentRecord(report, allocation, now);
  const full = noRoomForShipment(state, record);
  if (full) {
    return flagOnce(state, 'shipment_not_recorded', now, `package ${packageName(report)} was not recorded: ${full}`) ? 'not_recorded' : 'duplicate';
  }
  for (const line of allocation.lines) state.shipped[line.lineId] = (state.shipped[line.lineId] ?? 0) + line.quantity;
  state.shipments.push(record);
  const units = allocation.lines.reduce((n, l) => n + l.quantity, 0);
  const received = receivedAt ? `; ${report.reportedVia} received ${receivedAt}` : '';
  note(state, now, 'shipment recorded', `${report.carrier}${report.trackingNumber ? ` ${report.trackingNumber}` : ''}, ${units} unit(s)${received}`);

  if (report.itemsOmitted) {
    flag(state, 'shipment_items_omitted', now, `package ${packageName(report)} named ${report.itemsOmitted} item(s) beyond the first ${MAX_NOTICE_ITEMS}; they were left out`);
  }
  for (const miss of allocation.unallocated) {
    const what = miss.item.lineId ?? miss.item.sku ?? '(no line id or SKU)';
    if (miss.why === 'no_matching_line') {
      flag(state, 'shipment_items_unmatched', now, `${miss.quantity} unit(s) of ${what} match no line of the order`);
    } else {
      flag(state, 'shipment_beyond_ordered_quantity', now, `${miss.quantity} unit(s) of ${what} exceed what was still unshipped`);
    }
  }

  if (!report.items && units === 0) {
    flag(state, 'shipment_beyond_ordered_quantity', now, `package ${packageName(report)} reported with every unit already shipped`);
  }

  if (state.status === 'canceled') {
    flag(state, 'shipment_on_canceled_order', now, `shipment ${packageName(report)} reported after cancel`);
    return 'recorded';
  }
  applyUnitsShipped(state, units, now);
  return 'recorded';
}

const packageName = (report: Pick<ShipmentReport, 'trackingNumber' | 'shipmentKey'>) => report.trackingNumber ?? report.shipmentKey;

function shipmentRecord(report: ShipmentReport, allocation: Allocation, now: string): ShipmentRecord {
  return {
    shipmentKey: report.shipmentKey,
    carrier: report.carrier,
    ...(report.service ? { service: report.service } : {}),
    ...(report.trackingNumber ? { trackingNumber: report.trackingNumber } : {}),
    ...(report.shipDate ? { shipDate: report.shipDate } : {}),
    ...(report.labelCreatedAt ? { labelCreatedAt: report.labelCreatedAt } : {}),
    ...(report.shippingCost ? { shippingCost: report.shippingCost } : {}),
    ...(report.details ? { details: report.details } : {}),
    itemsFingerprint: itemsFingerprint(report.items),
    lines: allocation.lines,
    ...(allocation.unallocated.length ? { unmatched: allocation.unallocated.map((u) => ({ ...u.item, quantity: u.quantity })) } : {}),
    reportedVia: report.reportedVia,
    recordedAt: now,
    confirmationDeliveredAt: null,
  };
}

/**
 * Why the order cannot take one more shipment record, or null. The order's whole state is one
 * Temporal payload (2 MiB at most): shipments are the one part that grows with what others send, so
 * they stop at a count and at a size budget (domain/limits.ts). Measured in JSON, as it travels.
 */
function noRoomForShipment(state: OrderState, record: ShipmentRecord): string | null {
  if (state.shipments.length >= MAX_SHIPMENTS_PER_ORDER) return `the order already has ${MAX_SHIPMENTS_PER_ORDER} shipments, the most one order records`;
  const bytes = jsonBytes(state) + jsonBytes(record);
  if (bytes > SHIPMENTS_STATE_BUDGET_BYTES) return `with it the order would hold ${bytes} bytes, more than the ${SHIPMENTS_STATE_BUDGET_BYTES} one order may`;
  return null;
}

/**
 * A notice under a key already recorded (the same tracking number). With the same items it is a
 * plain repeat (ShipStation delivers some twice; ops replay stored ones). With other items it is
 * something else, say a label reused for another box: the first notice stands, and the order is
 * flagged so that someone looks, rather than the second notice vanishing as a repeat.
 */
function repeatedShipment(state: OrderState, known: ShipmentRecord, report: ShipmentReport, now: string): ShipmentOutcome {
  // Only notices that both name their items can contradict each other: one naming none ("everything
  // still unshipped") says nothing about which units this package held.
  const bothNameItems = known.itemsFingerprint !== undefined && known.itemsFingerprint !== itemsFingerprint(undefined) && report.items !== undefined;
  const differs = bothNameItems && known.itemsFingerprint !== itemsFingerprint(report.items);
  const flagged =
    differs &&
    flagOnce(state, 'shipment_items_differ', now, `package ${packageName(report)} was reported again with other items (${describeItems(report.items)}); the first notice's items stand`);
  const rematched = rematchShipment(state, known, now);
  return rematched === 'duplicate' && flagged ? 'items_differ' : rematched;
}

function describeItems(items: ShipmentReport['items']): string {
  if (!items) return 'no items: everything still unshipped';
  const shown = items.slice(0, 5).map((i) => `${i.quantity} x ${i.lineId ?? i.sku ?? '?'}`);
  return `${shown.join(', ')}${items.length > shown.length ? ` and ${items.length - shown.length} more` : ''}`;
}

/**
 * A notice seen before changes nothing, except that units it could not place then (an unknown SKU,
 * no unshipped quantity left) are matched against the order as it is now, e.g. after ops fixed its
 * lines. This is what replaying a stored notice does.
 */
function rematchShipment(state: OrderState, shipment: ShipmentRecord, now: string): ShipmentOutcome {
  if (!shipment.unmatched?.length || state.status === 'canceled') return 'duplicate';
  const allocation = allocateShipment(state.content.lines, state.shipped, shipment.unmatched);
  if (allocation.lines.length === 0) return 'duplicate';
  for (const line of allocation.lines) {
    state.shipped[line.lineId] = (state.shipped[line.lineId] ?? 0) + line.quantity;
    const existing = shipment.lines.find((l) => l.lineId === line.lineId);
    if (existing) existing.quantity += line.quantity;
    else shipment.lines.push({ ...line });
  }
  if (allocation.unallocated.length) shipment.unmatched = allocation.unallocated.map((u) => ({ ...u.item, quantity: u.quantity }));
  else delete shipment.unmatched;
  const units = allocation.lines.reduce((n, l) => n + l.quantity, 0);
  note(state, now, 'shipment re-matched', `${shipment.trackingNumber ?? shipment.shipmentKey}: ${units} more unit(s) matched`);
  applyUnitsShipped(state, units, now);
  return 'rematched';
}

/** The order source received the detailed confirmation of one shipment. */
export function applyConfirmationDelivered(state: OrderState, shipmentKey: string, now: string): boolean {
  const shipment = state.shipments.find((s) => s.shipmentKey === shipmentKey);
  if (!shipment || shipment.confirmationDeliveredAt) return false;
  shipment.confirmationDeliveredAt = now;
  delete shipment.deliveryRejected;
  if (state.stuck?.reason === 'confirmation_rejected' && !state.shipments.some((s) => s.deliveryRejected && !s.confirmationDeliveredAt)) state.stuck = null;
  note(state, now, 'confirmation delivered', shipment.trackingNumber ?? shipmentKey);
  if (state.status === 'shipped' && state.shipments.every((s) => s.confirmationDeliveredAt)) {
    transition(state, 'confirmed', now, 'confirmed');
  }
  return true;
}

// ---- deadlines ----------------------------------------------------------------------------------

/** The deadline the order is waiting against right now, if any (epoch ms). */
export function currentDeadline(state: OrderState, deadlines: OrderDeadlines): { reason: StuckReason; at: number } | null {
  if (state.stuck) return null;
  const since = Date.parse(state.waitingSince);
  switch (state.status) {
    case 'await_payment':
      return { reason: 'unpaid_too_long', at: since + deadlines.awaitPaymentMs };
    case 'pending':
      return { reason: 'not_exported', at: since + deadlines.pendingExportMs };
    case 'at_wms':
      return hasShipment(state) ? null : { reason: 'no_shipment', at: since + deadlines.atWmsShipmentMs };
    case 'shipped':
      return { reason: 'confirmation_undelivered', at: since + (deadlines.confirmationMs ?? DEFAULT_CONFIRMATION_MS) };
    default:
      return null;
  }
}

export function applyStuck(state: OrderState, reason: StuckReason, now: string, detail?: string): boolean {
  if (state.stuck?.reason === reason && state.stuck.detail === detail) return false;
  if (state.stuck && reason !== 'confirmation_rejected') return false;
  state.stuck = { reason, since: now, ...(detail ? { detail } : {}) };
  note(state, now, 'stuck', detail ? `${reason}: ${detail}` : reason);
  return true;
}

/** The source's webhook refused this shipment's confirmation: recorded on it, and the order is stuck. */
export function applyDeliveryRejected(state: OrderState, shipmentKey: string, detail: string, now: string): boolean {
  const shipment = state.shipments.find((s) => s.shipmentKey === shipmentKey);
  if (!shipment || shipment.confirmationDeliveredAt) return false;
  // A receiver's answer is quoted here and in the stuck mark: cut like any other detail.
  shipment.deliveryRejected = cutDetail(detail);
  return applyStuck(state, 'confirmation_rejected', now, shipment.deliveryRejected);
}

/** Shipments whose confirmation the order source has not received yet. */
export const undeliveredShipments = (state: OrderState) => state.shipments.filter((s) => !s.confirmationDeliveredAt);

/**
 * ShipStation could not import the order as it stands (no country, no lines...): it was left out of
 * an export page. Flagged once per reason, so ops see it; fixing the order re-offers it.
 */
export function applyExportRefused(state: OrderState, reason: string, now: string): boolean {
  const last = [...state.flags].reverse().find((f) => f.code === 'not_importable');
  if (last?.detail === reason) return false;
  flag(state, 'not_importable', now, reason);
  return true;
}

/**
 * Records one fact (a signal never refuses): returns whether the order changed (false = a repeat,
 * recognised by its business key) and, for a shipment, what became of it.
 */
export function applyFact(state: OrderState, message: FactMessage, now: string): { changed: boolean; shipment?: ShipmentOutcome } {
  switch (message.kind) {
    case 'exported':
      return { changed: applyExported(state, now) };
    case 'exportRefused':
      return { changed: applyExportRefused(state, message.reason, now) };
    case 'shipmentReported': {
      const shipment = applyShipmentReported(state, message.report, now, message.receivedAt);
      return { changed: shipment !== 'duplicate', shipment };
    }
    case 'confirmationDelivered':
      return { changed: applyConfirmationDelivered(state, message.shipmentKey, now) };
  }
}

export function applyLateFact(state: OrderState, now: string, detail: string) {
  flag(state, 'late_fact_after_close', now, detail);
}

export type OpsAction = 'retry' | 'resend' | 'hold' | 'release' | 'cancel';

/**
 * The ops actions that would change the order now (the console shows only these): each rule allows
 * it, and it is not a repeat (holding a held order, canceling a canceled one).
 */
export function availableOpsActions(state: OrderState): OpsAction[] {
  const allowed: Record<OpsAction, boolean> = {
    retry: checkRetry(state) === null,
    resend: checkResend(state) === null,
    hold: checkHold(state) === null && state.status !== 'on_hold',
    release: checkRelease(state) === null,
    cancel: checkCancel(state) === null && state.status !== 'canceled',
  };
  return (Object.keys(allowed) as OpsAction[]).filter((action) => allowed[action]);
}
