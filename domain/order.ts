/**
 * The order as the whole service sees it: statuses, the one status-mapping table, and the shapes
 * that travel between the API, the workflow, the activities and the read model. Pure: no I/O, so the
 * workflow bundle can import it.
 */

import { formatCents, moneyToCents } from './money';

export const ORDER_STATUSES = [
  'await_payment',
  'pending',
  'at_wms',
  'on_hold',
  'shipped',
  'confirmed',
  'canceled',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** The five status groups a ShipStation Custom Store connection is configured with. */
export type ShipStationCategory = 'unpaid' | 'paid' | 'shipped' | 'cancelled' | 'on_hold';

/** The one status-mapping table: our status, what `<OrderStatus>` says, and ShipStation's group. */
export const STATUS_MAPPING: Record<OrderStatus, { xml: string; category: ShipStationCategory }> = {
  await_payment: { xml: 'await_payment', category: 'unpaid' },
  pending: { xml: 'new', category: 'paid' },
  at_wms: { xml: 'at_wms', category: 'paid' },
  on_hold: { xml: 'on_hold', category: 'on_hold' },
  shipped: { xml: 'shipped', category: 'shipped' },
  confirmed: { xml: 'confirmed', category: 'shipped' },
  canceled: { xml: 'canceled', category: 'cancelled' },
};

/** The strings a merchant pastes into ShipStation's five status fields, derived from the table. */
export function shipStationStatusFields(): Record<ShipStationCategory, string> {
  const fields: Record<ShipStationCategory, string[]> = {
    unpaid: [],
    paid: [],
    shipped: [],
    cancelled: [],
    on_hold: [],
  };
  for (const status of ORDER_STATUSES) {
    const { xml, category } = STATUS_MAPPING[status];
    fields[category].push(xml);
  }
  return {
    unpaid: fields.unpaid.join(','),
    paid: fields.paid.join(','),
    shipped: fields.shipped.join(','),
    cancelled: fields.cancelled.join(','),
    on_hold: fields.on_hold.join(','),
  };
}

export const TERMINAL_STATUSES: readonly OrderStatus[] = ['confirmed', 'canceled'];
export const isTerminal = (status: OrderStatus) => TERMINAL_STATUSES.includes(status);

export type WeightUnit = 'lb' | 'oz' | 'g' | 'kg';

export interface Address {
  name: string;
  company?: string;
  street1?: string;
  street2?: string;
  city?: string;
  state?: string;
  postalCode?: string;
  country?: string;
  phone?: string;
  email?: string;
}

export interface OrderLine {
  lineId: string;
  sku: string;
  name: string;
  quantity: number;
  /** Decimal string with two places, e.g. "9.99"; negative on discount lines. */
  unitPrice: string;
  weight?: { value: string; unit: WeightUnit };
  imageUrl?: string;
  location?: string;
  options: { name: string; value: string }[];
  /** Discount or fee line: never shipped, never counted towards "all units shipped". */
  adjustment: boolean;
}

/** Everything the order source told us about the order, normalised (money as decimal strings). */
export interface OrderContent {
  orderNumber: string;
  /** ISO 8601 UTC. */
  orderDate: string;
  paid: boolean;
  currency: string;
  source?: string;
  shippingMethod?: string;
  paymentMethod?: string;
  customer: { code?: string; email?: string };
  billTo: Address;
  shipTo: Address;
  lines: OrderLine[];
  shippingAmount: string;
  taxAmount: string;
  total: string;
  customerNotes?: string;
  internalNotes?: string;
  gift: boolean;
  giftMessage?: string;
  customFields: string[];
  requestedWarehouse?: string;
}

/** The fields a PATCH may change: address, lines and what goes with them. */
export type OrderChanges = Partial<
  Pick<
    OrderContent,
    | 'billTo'
    | 'shipTo'
    | 'lines'
    | 'shippingMethod'
    | 'shippingAmount'
    | 'taxAmount'
    | 'total'
    | 'customerNotes'
    | 'internalNotes'
    | 'gift'
    | 'giftMessage'
    | 'customFields'
    | 'requestedWarehouse'
  >
>;

export interface ShipmentLine {
  lineId: string;
  quantity: number;
}

/** What a label tells about one package. */
export interface ShipmentDetails {
  carrier: string;
  service?: string;
  trackingNumber?: string;
  /** ISO date (yyyy-mm-dd) the package ships. */
  shipDate?: string;
  /** ISO timestamp the label was created. */
  labelCreatedAt?: string;
  /** Decimal string. */
  shippingCost?: string;
}

/** What else a ShipStation notice said about the package, kept as received. */
export interface ShipmentNoticeDetails {
  recipient?: Partial<Record<'name' | 'company' | 'address1' | 'address2' | 'city' | 'state' | 'postalCode' | 'country', string>>;
  notifyCustomer?: boolean;
  notesToCustomer?: string;
  customerNotes?: string;
  internalNotes?: string;
  customFields?: string[];
  requestedWarehouse?: string;
}

/** One package as reported (by ShipStation's shipnotify or the order API). */
export interface ShipmentReport extends ShipmentDetails {
  details?: ShipmentNoticeDetails;
  /** Business key: the same package always has the same key, however often it is reported. */
  shipmentKey: string;
  /** Requested items; absent means "everything still unshipped". */
  items?: { lineId?: string; sku?: string; quantity: number }[];
  /** Where the report came from, e.g. "shipnotify" or "api". */
  reportedVia: string;
  /** Items the notice named beyond MAX_NOTICE_ITEMS (domain/limits.ts): left out, and flagged. */
  itemsOmitted?: number;
}

/** One package as recorded: the lines it really covered, and whether its confirmation was delivered. */
export interface ShipmentRecord extends ShipmentDetails {
  shipmentKey: string;
  details?: ShipmentNoticeDetails;
  /**
   * The requested items of the notice that recorded it (domain/shipments.ts itemsFingerprint), so a
   * repeat naming other items is told apart from a plain repeat. Kept in the workflow only: absent
   * on shipments recorded before it existed or loaded back from the read model.
   */
  itemsFingerprint?: string;
  /** Reported units that matched no line (or exceeded what was unshipped) when recorded. */
  unmatched?: { lineId?: string; sku?: string; quantity: number }[];
  lines: ShipmentLine[];
  reportedVia: string;
  recordedAt: string;
  /** When the detailed confirmation reached the order source; null while it has not. */
  confirmationDeliveredAt: string | null;
  /** Why the source's webhook refused the confirmation, until it is retried or delivered. */
  deliveryRejected?: string;
}

export const STUCK_REASONS = ['unpaid_too_long', 'not_exported', 'no_shipment', 'confirmation_undelivered', 'confirmation_rejected'] as const;
export type StuckReason = (typeof STUCK_REASONS)[number];

export const STUCK_REASON_TEXT: Record<StuckReason, string> = {
  unpaid_too_long: 'unpaid for longer than the await-payment deadline',
  not_exported: 'paid but not picked up by ShipStation before the export deadline',
  no_shipment: 'at ShipStation without a shipment before the shipment deadline',
  confirmation_undelivered: 'shipped, but a shipment confirmation was not delivered to the order source before the confirmation deadline',
  confirmation_rejected: "the order source's webhook refused a shipment confirmation",
};

export type OrderFlagCode =
  | 'shipment_on_canceled_order'
  | 'shipment_beyond_ordered_quantity'
  | 'shipment_items_unmatched'
  | 'late_fact_after_close'
  | 'not_importable'
  /** A notice named more items than MAX_NOTICE_ITEMS; the rest were left out. */
  | 'shipment_items_omitted'
  /** A notice repeated a recorded shipment's key (its tracking number) with other items. */
  | 'shipment_items_differ'
  /** A package beyond the shipments cap or the state budget (domain/limits.ts) was not recorded. */
  | 'shipment_not_recorded'
  /** Stands for the flags left out between the first and the last ones kept (FLAGS_KEEP). */
  | 'flags_omitted';

export interface OrderFlag {
  code: OrderFlagCode;
  at: string;
  detail: string;
  /** On a `flags_omitted` marker: how many flags it stands for. */
  omitted?: number;
}

export interface TimelineEntry {
  at: string;
  event: string;
  from?: OrderStatus;
  to?: OrderStatus;
  detail?: string;
  /** Who asked, for entries a request added: "from the console by Ana" (domain/requester.ts). */
  by?: string;
  /** On an `entries omitted` marker: how many entries it stands for (TIMELINE_KEEP). */
  omitted?: number;
}

export interface OrderLineView {
  lineId: string;
  sku: string;
  name: string;
  adjustment: boolean;
  ordered: number;
  shipped: number;
}

/** The answer of the workflow's `state` query and the source of every projection. */
export interface OrderState {
  orderId: string;
  merchantId: string;
  orderNumber: string;
  createHash: string;
  content: OrderContent;
  status: OrderStatus;
  /** The status an on_hold order returns to when released. */
  heldFrom: OrderStatus | null;
  holdReason: string | null;
  cancelReason: string | null;
  /** ShipStation has been served this order as a paid order at least once. */
  servedToShipStation: boolean;
  shipped: Record<string, number>;
  shipments: ShipmentRecord[];
  timeline: TimelineEntry[];
  stuck: { reason: StuckReason; since: string; detail?: string } | null;
  flags: OrderFlag[];
  /**
   * Bumped whenever ShipStation must learn something (status category or content changed, or a
   * re-offer). The read model stamps LastModified when it commits a higher revision.
   */
  modifiedRevision: number;
  /** LastModified as stamped by the read model (ISO); null until the first projection. */
  lastModified: string | null;
  /** When the current wait began (status entered or retried): deadlines count from here. */
  waitingSince: string;
  createdAt: string;
}

/**
 * Sum of line totals plus shipping and tax, in cents. Beyond MAX_MONEY_CENTS the figure may be
 * inexact; callers only compare it with the limit then.
 */
export function orderTotalCents(lines: readonly Pick<OrderLine, 'unitPrice' | 'quantity'>[], shippingAmount: string, taxAmount: string): number {
  return lines.reduce((sum, l) => sum + moneyToCents(l.unitPrice) * l.quantity, 0) + moneyToCents(shippingAmount) + moneyToCents(taxAmount);
}

/** The total when the source sends none. Check `moneyInRange(orderTotalCents(...))` first. */
export function computeOrderTotal(lines: readonly Pick<OrderLine, 'unitPrice' | 'quantity'>[], shippingAmount: string, taxAmount: string): string {
  return formatCents(orderTotalCents(lines, shippingAmount, taxAmount));
}

/** Ids and names derived from an order's business keys. */
export const orderWorkflowId = (merchantId: string, orderNumber: string) =>
  `order:${merchantId}:${orderNumber}`;

export function lineViews(state: Pick<OrderState, 'content' | 'shipped'>): OrderLineView[] {
  return state.content.lines.map((line) => ({
    lineId: line.lineId,
    sku: line.sku,
    name: line.name,
    adjustment: line.adjustment,
    ordered: line.quantity,
    shipped: state.shipped[line.lineId] ?? 0,
  }));
}

/** Canonical JSON (sorted keys) so equal payloads hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
