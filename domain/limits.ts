/**
 * How much one order may hold, and the helpers that keep it so. Pure (no I/O, no `node:` imports):
 * the workflow bundle imports it.
 *
 * Why there are caps at all: an order's whole state travels as one Temporal payload (the `state`
 * query, every projection's input, the continue-as-new input), and Temporal refuses payloads over
 * 2 MiB; an order is also served whole in an export page, whose size follows from the order cap.
 * Beyond a cap nothing is silent: the order API refuses (400/413 naming the field), free text is cut
 * (and the answer says so), and what a workflow leaves out is flagged or counted on the order.
 */

/** An order as posted (POST or PATCH), in bytes: 413 beyond it. */
export const ORDER_MAX_BYTES = 256 * 1024;
export const MAX_LINES_PER_ORDER = 500;
export const MAX_OPTIONS_PER_LINE = 20;

/**
 * Items of one ShipNotice: at least MAX_LINES_PER_ORDER, so one package holding a whole order still
 * names every line; the rest are left out and counted (flag `shipment_items_omitted`).
 */
export const MAX_NOTICE_ITEMS = MAX_LINES_PER_ORDER;

/** Shipment records per order; a package beyond it is flagged `shipment_not_recorded`. */
export const MAX_SHIPMENTS_PER_ORDER = 100;

/**
 * A shipment is recorded only while the order's state (JSON, UTF-8) stays under this with it. Well
 * under Temporal's 2 MiB, so what may still grow after the last shipment (a capped timeline and
 * flags, a PATCHed order within its own cap) cannot reach the limit either.
 */
export const SHIPMENTS_STATE_BUDGET_BYTES = 768 * 1024;

/** Temporal's limit on one payload (the state query, an activity input, the continue-as-new input). */
export const TEMPORAL_PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024;

/** The timeline keeps its first and its last entries; the ones between become one counted marker. */
export const TIMELINE_KEEP = { head: 10, tail: 90 } as const;
export const FLAGS_KEEP = { head: 10, tail: 40 } as const;

/** What a workflow writes into a timeline entry or a flag (a reason, a webhook's answer) is cut here. */
export const DETAIL_MAX = 500;

/** Key fields of a ShipNotice item longer than an order key (50) can never match a line. */
export const NOTICE_ITEM_KEY_MAX = 50;

/** Tracking numbers are at most a few dozen characters; the shipment key is part of a primary key. */
export const TRACKING_NUMBER_MAX = 100;

export const codePointLength = (value: string) => [...value].length;

/**
 * At most `max` code points, never splitting a surrogate pair. Plain code points (not graphemes), so
 * the result does not depend on the ICU data of the Node version a workflow replays under.
 */
export function cutCodePoints(value: string, max: number): string {
  if (value.length <= max) return value;
  const points = [...value];
  return points.length <= max ? value : points.slice(0, max).join('');
}

/** Bytes of the string as UTF-8 (without TextEncoder, which the workflow sandbox need not have). */
export function utf8Length(value: string): number {
  let bytes = 0;
  for (const char of value) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** Size of a value as Temporal's JSON payload converter sends it. */
export const jsonBytes = (value: unknown) => utf8Length(JSON.stringify(value) ?? '');

export interface OmittedMarker<T> {
  is: (item: T) => boolean;
  count: (marker: T) => number;
  /** The marker standing for `omitted` items, the newest of which was `last`. */
  make: (omitted: number, last: T) => T;
}

/**
 * Appends `item` to a list that keeps its first `head` and last `tail` items: those between are
 * replaced by one marker counting them, so the list never holds more than head + 1 + tail items and
 * never loses the fact that something was left out.
 */
export function appendKeepingEnds<T>(list: T[], item: T, keep: { head: number; tail: number }, marker: OmittedMarker<T>): void {
  list.push(item);
  if (list.length <= keep.head + 1 + keep.tail) return;
  const current = list[keep.head]!;
  if (marker.is(current)) {
    const [dropped] = list.splice(keep.head + 1, 1);
    list[keep.head] = marker.make(marker.count(current) + 1, dropped!);
  } else {
    const dropped = list.splice(keep.head, 2);
    list.splice(keep.head, 0, marker.make(2, dropped[1]!));
  }
}
