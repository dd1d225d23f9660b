/**
 * ShipStation's shipnotify (design doc section 5): the `<ShipNotice>` body and the query parameters
 * that come with it, read into one notice and turned into the ShipmentReport the order records.
 * Pure: no I/O and no `node:` imports, so the workflow bundle may import it. The API reads the raw
 * body (whatever its Content-Type), caps its size, looks the order up and hashes (see
 * `shipmentKeyFor`).
 *
 * Choices made here:
 * - Security (section 6): any `<!` declaration other than a comment or CDATA section (DOCTYPE,
 *   ENTITY, ELEMENT, ...) is refused before the parser sees the text, so neither external entities
 *   nor entity expansion can happen. The entity decoder handed to the parser only knows the five
 *   predefined entities and character references, and throws if asked to learn more.
 * - Values are kept exactly as sent (number parsing is off: SKU "00123" stays "00123"), trimmed; an
 *   empty element counts as absent.
 * - A Quantity that is not a positive whole number refuses the notice: it decides which units count
 *   as shipped. ShippingCost, LabelCreateDate, ShipDate and NotifyCustomer are informational: a value
 *   that does not parse is left out with a warning instead. Refusing would answer 4xx, which
 *   ShipStation shows as a store error and does not retry, so the package that really shipped would
 *   never be recorded.
 */

import { decodeXML } from 'entities';
import { XMLParser, XMLValidator, type EntityDecoderOptions } from 'fast-xml-parser';
import { MoneyFormatError, parseMoney } from '../money';
import type { ShipmentNoticeDetails, ShipmentReport } from '../order';
import { codePointLength, cutCodePoints, MAX_NOTICE_ITEMS, NOTICE_ITEM_KEY_MAX, TRACKING_NUMBER_MAX } from '../limits';
import { normalizeTrackingNumber } from '../shipments';
import { parseShipStationDateTime, parseShipStationDay } from './dates';
import { truncateCodePoints } from './text';

export interface ShipNoticeRecipient {
  name?: string;
  company?: string;
  address1?: string;
  address2?: string;
  city?: string;
  state?: string;
  postalCode?: string;
  country?: string;
}

export interface ShipNoticeItem {
  lineItemId?: string;
  sku?: string;
  name?: string;
  upc?: string;
  quantity: number;
}

/** Every `<ShipNotice>` field the contract lists; absent when the element is missing or empty. */
export interface ShipNotice {
  orderId?: string;
  orderNumber?: string;
  customerCode?: string;
  customerNotes?: string;
  internalNotes?: string;
  notesToCustomer?: string;
  notifyCustomer?: boolean;
  /** ISO 8601 UTC timestamp (LabelCreateDate). */
  labelCreatedAt?: string;
  /** ISO calendar date yyyy-mm-dd (ShipDate). */
  shipDate?: string;
  carrier?: string;
  service?: string;
  trackingNumber?: string;
  /** Decimal string with two places ("12.50"). */
  shippingCost?: string;
  /**
   * CustomField1..3 by position: an empty field before a filled one is kept as '' so CustomField2
   * stays at index 1; trailing empty fields are dropped ([] when there are none).
   */
  customFields: string[];
  recipient?: ShipNoticeRecipient;
  requestedWarehouse?: string;
  /** Absent when there is no Items element or it holds no Item: "everything still unshipped". */
  items?: ShipNoticeItem[];
  /** Items beyond MAX_NOTICE_ITEMS, left out (the order is flagged). */
  itemsOmitted?: number;
}

export type ShipNoticeParse =
  | { ok: true; notice: ShipNotice; warnings: string[] }
  | { ok: false; reason: string };

/** The shipnotify query parameters, as ShipStation names them. */
export interface NoticeQuery {
  order_number?: string;
  carrier?: string;
  service?: string;
  tracking_number?: string;
}

/** One way to find the notice's order; try them in the order given, first hit wins. */
export interface OrderReference {
  by: 'orderId' | 'orderNumber';
  value: string;
  source: 'body OrderID' | 'query order_number' | 'body OrderNumber';
}

export interface ShipNoticeReport {
  report: Omit<ShipmentReport, 'reportedVia' | 'details'>;
  /** What the notice says beyond the package itself; the caller stores it with the shipment. */
  details: ShipmentNoticeDetails;
}

/** An empty body (nothing but a byte-order mark and whitespace) means: the query alone is the notice. */
export function isBlankNoticeBody(rawBody: string): boolean {
  return rawBody.replace(/^\uFEFF/, '').trim() === '';
}

/** A shipnotify call read: `notice` is the body's (null for an empty body), `merged` what is recorded. */
export type NoticeReading =
  | { ok: true; notice: ShipNotice | null; merged: ShipNotice; warnings: string[] }
  | { ok: false; reason: string };

/**
 * A shipnotify call as ShipStation sent it, raw body and query: the body read when there is one, then
 * merged with the query. The one way a notice is read, when it arrives and when ops replay it.
 */
export function readNotice(rawBody: string, query: NoticeQuery): NoticeReading {
  if (isBlankNoticeBody(rawBody)) {
    const warnings: string[] = [];
    return { ok: true, notice: null, merged: fitNoticeToLimits(mergeNoticeWithQuery(null, query), warnings), warnings };
  }
  const parsed = parseShipNotice(rawBody);
  if (!parsed.ok) return parsed;
  const warnings = [...parsed.warnings];
  const merged = fitNoticeToLimits(mergeNoticeWithQuery(parsed.notice, query), warnings);
  return { ok: true, notice: parsed.notice, merged, warnings };
}

export function parseShipNotice(xml: string): ShipNoticeParse {
  const declaration = findMarkupDeclaration(xml);
  if (declaration) {
    return refuse(
      `the body contains a <!${declaration.keyword} declaration (line ${declaration.line}); DOCTYPE and ENTITY ` +
        'declarations are refused because they allow external-entity (XXE) and entity-expansion attacks. ' +
        'Send a plain <ShipNotice> document.',
    );
  }
  if (isBlankNoticeBody(xml)) return refuse('the body is empty: there is no <ShipNotice> document to read');

  // A BOM or blank lines before `<?xml` are not XML, but harmless: skip them and keep error positions
  // pointing into the body as received.
  const skipped = /^\uFEFF?\s*/.exec(xml)?.[0] ?? '';
  const text = xml.slice(skipped.length);
  const validation = XMLValidator.validate(text);
  if (validation !== true) {
    const { line, col, msg } = validation.err;
    const skippedLines = skipped.split('\n').length - 1;
    const column = line === 1 ? col + skipped.length - (skipped.lastIndexOf('\n') + 1) : col;
    return refuse(`the body is not well-formed XML (line ${line + skippedLines}, column ${column}): ${msg}`);
  }

  let document: unknown;
  try {
    document = parser.parse(text);
  } catch (error) {
    return refuse(`the body could not be read as XML: ${error instanceof Error ? error.message : String(error)}`);
  }
  const roots = isRecord(document) ? Object.keys(document) : [];
  if (roots.length !== 1 || roots[0] !== 'ShipNotice') {
    const found = roots.length === 0 ? 'there is no root element' : `the root element is <${roots.join('>, <')}>`;
    return refuse(`${found}; a shipnotify body must be a <ShipNotice> document`);
  }

  const warnings: string[] = [];
  const root = asElement((document as Record<string, unknown>).ShipNotice);
  const read = textReader(root, 'ShipNotice', warnings);

  const items = readItems(root, warnings);
  if (!items.ok) return items;

  const customFields = ['CustomField1', 'CustomField2', 'CustomField3'].map((name) => read(name) ?? '');
  while (customFields.length > 0 && customFields[customFields.length - 1] === '') customFields.pop();

  const notice: ShipNotice = compact({
    orderId: read('OrderID'),
    orderNumber: read('OrderNumber'),
    customerCode: read('CustomerCode'),
    customerNotes: read('CustomerNotes'),
    internalNotes: read('InternalNotes'),
    notesToCustomer: read('NotesToCustomer'),
    notifyCustomer: readNotifyCustomer(read('NotifyCustomer'), warnings),
    labelCreatedAt: readLabelCreateDate(read('LabelCreateDate'), warnings),
    shipDate: readShipDate(read('ShipDate'), warnings),
    carrier: read('Carrier'),
    service: read('Service'),
    trackingNumber: read('TrackingNumber'),
    shippingCost: readShippingCost(read('ShippingCost'), warnings),
    customFields,
    recipient: readRecipient(root, warnings),
    requestedWarehouse: read('RequestedWarehouse'),
    items: items.items,
    itemsOmitted: items.omitted,
  });
  return { ok: true, notice, warnings };
}

/**
 * The notice as recorded: carrier, service and tracking number from the query when it gives them (a
 * parameter sent empty, as `service=` often is, does not erase the body's value). With an empty body
 * (`notice` null) the query alone is the notice: no items, so everything still unshipped. A body
 * without OrderNumber takes the query's `order_number`.
 */
export function mergeNoticeWithQuery(notice: ShipNotice | null, query: NoticeQuery): ShipNotice {
  const base: ShipNotice = notice ?? { customFields: [] };
  return compact({
    ...base,
    orderNumber: base.orderNumber ?? given(query.order_number),
    carrier: given(query.carrier) ?? base.carrier,
    service: given(query.service) ?? base.service,
    trackingNumber: given(query.tracking_number) ?? base.trackingNumber,
  });
}

/**
 * The three ways a notice names its order, in the contract's order: the body's OrderID (when it is one
 * of ours), the query's `order_number`, the body's OrderNumber. Absent and repeated ones are left out.
 * The caller looks each up inside the connection's scope.
 */
export function orderReferences(notice: ShipNotice | null, query: NoticeQuery): OrderReference[] {
  const candidates: { by: OrderReference['by']; value: string | undefined; source: OrderReference['source'] }[] = [
    { by: 'orderId', value: notice?.orderId, source: 'body OrderID' },
    { by: 'orderNumber', value: given(query.order_number), source: 'query order_number' },
    { by: 'orderNumber', value: notice?.orderNumber, source: 'body OrderNumber' },
  ];
  const references: OrderReference[] = [];
  for (const { by, value, source } of candidates) {
    if (value === undefined) continue;
    // No order holds a NUL (the order API refuses one, the database cannot store one), and a lookup
    // with one fails in the database instead of finding nothing: such a reference names no order.
    if (value.includes('\u0000')) continue;
    if (references.some((r) => r.by === by && r.value === value)) continue;
    references.push({ by, value, source });
  }
  return references;
}

/**
 * The shipment's business key inside its order, so a notice delivered twice is one shipment:
 * - `trk:<normalised tracking number>` when there is one (the query's wins, as in mergeNoticeWithQuery);
 * - else `body:<bodyDigest>` when the body is not empty: the caller passes the sha256 hex of the raw
 *   body, or null when `isBlankNoticeBody` says it is empty;
 * - else `query:<carrier>|<service>|<order_number>`, canonical: trimmed, carrier and service
 *   lower-cased, each part URI-encoded (a `|` inside a value cannot collide) and cut to 100 code points
 *   (the key is part of a primary key).
 *
 * Hashing stays with the caller (node:crypto) so this module remains importable by the workflow
 * bundle; that is also why the query key is the canonical text itself rather than its digest.
 */
export function shipmentKeyFor(notice: ShipNotice, bodyDigest: string | null, query: NoticeQuery): string {
  // Cut like the recorded tracking number: the key is part of a primary key, and no carrier's is this long.
  const tracking = cutCodePoints(normalizeTrackingNumber(given(query.tracking_number) ?? notice.trackingNumber ?? ''), TRACKING_NUMBER_MAX);
  if (tracking !== '') return `trk:${tracking}`;
  if (bodyDigest !== null && bodyDigest.trim() !== '') return `body:${bodyDigest.trim().toLowerCase()}`;
  const carrier = (given(query.carrier) ?? notice.carrier ?? '').toLowerCase();
  const service = (given(query.service) ?? notice.service ?? '').toLowerCase();
  const orderNumber = given(query.order_number) ?? notice.orderNumber ?? '';
  const part = (value: string) => encodeURIComponent(Array.from(value).slice(0, 100).join(''));
  return `query:${[carrier, service, orderNumber].map(part).join('|')}`;
}

/**
 * The package as a ShipmentReport (the caller adds `reportedVia`), and the rest of the notice as
 * details. No carrier anywhere means 'Other', ShipStation's own catch-all code.
 */
export function toShipmentReport(notice: ShipNotice, shipmentKey: string): ShipNoticeReport {
  const report: ShipNoticeReport['report'] = compact({
    shipmentKey,
    carrier: notice.carrier ?? 'Other',
    service: notice.service,
    trackingNumber: notice.trackingNumber,
    shipDate: notice.shipDate,
    labelCreatedAt: notice.labelCreatedAt,
    shippingCost: notice.shippingCost,
    items: notice.items?.map((item) => compact({ lineId: item.lineItemId, sku: item.sku, quantity: item.quantity })),
    itemsOmitted: notice.itemsOmitted,
  });
  const details: ShipmentNoticeDetails = compact({
    recipient: notice.recipient,
    notifyCustomer: notice.notifyCustomer,
    notesToCustomer: notice.notesToCustomer,
    customerNotes: notice.customerNotes,
    internalNotes: notice.internalNotes,
    customFields: notice.customFields,
    requestedWarehouse: notice.requestedWarehouse,
  });
  return { report, details };
}

// ---------------------------------------------------------------------------------------------------

const refuseEntities = () => {
  throw new Error('entity declarations are refused');
};

/**
 * fast-xml-parser's own decoder leaves character references (`&#233;`) undecoded; this one decodes
 * them and the five predefined entities in text (the parser never passes CDATA through it).
 */
const predefinedEntitiesOnly: EntityDecoderOptions = {
  decode: (text) => decodeXML(text),
  reset: () => {},
  setXmlVersion: () => {},
  setExternalEntities: refuseEntities,
  addInputEntities: refuseEntities,
};

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  entityDecoder: predefinedEntitiesOnly,
});

/**
 * The first `<!` that is neither a comment nor a CDATA section. Scanned in document order (a `<!DOCTYPE`
 * inside a CDATA note is text, not a declaration), in linear time: once a closing `-->` or `]]>` is
 * known not to exist, later openings are not searched again. An unclosed comment or CDATA section is
 * scanned through, so nothing can hide inside it.
 */
function findMarkupDeclaration(text: string): { keyword: string; line: number } | null {
  const closerMissing = new Set<string>();
  const skipPast = (at: number, opener: string, closer: string): number => {
    if (!closerMissing.has(closer)) {
      const end = text.indexOf(closer, at + opener.length);
      if (end !== -1) return end + closer.length;
      closerMissing.add(closer);
    }
    return at + opener.length;
  };
  let at = text.indexOf('<!');
  while (at !== -1) {
    if (text.startsWith('<!--', at)) at = skipPast(at, '<!--', '-->');
    else if (text.startsWith('<![CDATA[', at)) at = skipPast(at, '<![CDATA[', ']]>');
    else {
      const keyword = /^\s*([A-Za-z]*)/.exec(text.slice(at + 2, at + 42))?.[1] ?? '';
      const line = text.slice(0, at).split('\n').length;
      return { keyword: keyword.toUpperCase() || text.slice(at + 2, at + 12), line };
    }
    at = text.indexOf('<!', at);
  }
  return null;
}

type Element = Record<string, unknown>;

function isRecord(value: unknown): value is Element {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An element with no children parses as a string ('' for `<Items/>`): read it as having none. */
function asElement(value: unknown): Element {
  return isRecord(value) ? value : {};
}

function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** A child that must appear at most once; a repeat is ignored with a warning. */
function single(element: Element, name: string, path: string, warnings: string[]): unknown {
  const value = element[name];
  if (!Array.isArray(value)) return value;
  warnings.push(`${path}/${name} appears ${value.length} times; the first is used`);
  return value[0];
}

function textReader(element: Element, path: string, warnings: string[]) {
  return (name: string): string | undefined => textOf(single(element, name, path, warnings));
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }
  if (isRecord(value)) return textOf(value['#text']);
  return undefined;
}

function given(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function refuse(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/** Leaves out undefined properties, so notices and reports serialise and compare cleanly. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function readItems(
  root: Element,
  warnings: string[],
): { ok: true; items: ShipNoticeItem[] | undefined; omitted?: number } | { ok: false; reason: string } {
  const elements = asList(root.Items).flatMap((items) => asList(asElement(items).Item));
  if (elements.length === 0) return { ok: true, items: undefined };
  const items: ShipNoticeItem[] = [];
  for (const [index, element] of elements.entries()) {
    const read = textReader(asElement(element), `Items/Item[${index + 1}]`, warnings);
    const item = { lineItemId: read('LineItemID'), sku: read('SKU'), name: read('Name'), upc: read('UPC') };
    const quantityText = read('Quantity');
    const quantity = quantityText !== undefined && /^\d+$/.test(quantityText) ? Number(quantityText) : Number.NaN;
    if (!Number.isSafeInteger(quantity) || quantity < 1) {
      const problem = quantityText === undefined ? 'has no Quantity' : `has Quantity "${quantityText}"`;
      return refuse(`${describeItem(index + 1, item)} ${problem}; a quantity must be a whole number of at least 1`);
    }
    items.push(compact({ ...item, lineItemId: cutItemKey(item.lineItemId, index + 1, 'LineItemID', warnings), sku: cutItemKey(item.sku, index + 1, 'SKU', warnings), quantity }));
  }
  // Every item is read (a bad quantity anywhere refuses the notice), but only so many are recorded.
  if (items.length <= MAX_NOTICE_ITEMS) return { ok: true, items };
  const omitted = items.length - MAX_NOTICE_ITEMS;
  warnings.push(`Items holds ${items.length} items; the first ${MAX_NOTICE_ITEMS} are recorded and ${omitted} left out (the order is flagged)`);
  return { ok: true, items: items.slice(0, MAX_NOTICE_ITEMS), omitted };
}

/**
 * An item key longer than any order's (50) can never match a line. Cut, it keeps an ellipsis, so it
 * still matches nothing (a plain cut could equal a real line's key) while its size stays bounded.
 */
function cutItemKey(value: string | undefined, position: number, name: string, warnings: string[]): string | undefined {
  if (value === undefined || codePointLength(value) <= NOTICE_ITEM_KEY_MAX) return value;
  warnings.push(`Item ${position} ${name} is longer than ${NOTICE_ITEM_KEY_MAX} characters (no line has such a key); it is cut`);
  return `${cutCodePoints(value, NOTICE_ITEM_KEY_MAX)}…`;
}

/**
 * ShipStation's field limits for the notice's text. The design doc gives them for the same fields of
 * an order (section 4); TrackingNumber and Carrier have none there, so ours (domain/limits.ts).
 * Country is a code in ShipStation's notices, but a longer value is kept readable rather than cut to 2.
 */
const NOTICE_TEXT_LIMITS = [
  ['customerCode', 'CustomerCode', 50],
  ['customerNotes', 'CustomerNotes', 1000],
  ['internalNotes', 'InternalNotes', 1000],
  ['notesToCustomer', 'NotesToCustomer', 1000],
  ['carrier', 'Carrier', 50],
  ['service', 'Service', 100],
  ['trackingNumber', 'TrackingNumber', TRACKING_NUMBER_MAX],
  ['requestedWarehouse', 'RequestedWarehouse', 100],
] as const satisfies readonly (readonly [keyof ShipNotice, string, number])[];

const RECIPIENT_LIMITS = [
  ['name', 'Name', 100],
  ['company', 'Company', 100],
  ['address1', 'Address1', 200],
  ['address2', 'Address2', 200],
  ['city', 'City', 100],
  ['state', 'State', 100],
  ['postalCode', 'PostalCode', 50],
  ['country', 'Country', 50],
] as const satisfies readonly (readonly [keyof ShipNoticeRecipient, string, number])[];

const CUSTOM_FIELD_MAX = 100;

/**
 * The notice cut to ShipStation's field limits, a warning for each field cut: what is recorded (and
 * kept in the order's state with every shipment) stays bounded whatever a notice holds.
 */
export function fitNoticeToLimits(notice: ShipNotice, warnings: string[]): ShipNotice {
  const cut = (value: string | undefined, max: number, name: string) => {
    if (value === undefined || codePointLength(value) <= max) return value;
    warnings.push(`${name} is longer than ${max} characters; it is cut`);
    return truncateCodePoints(value, max);
  };
  const fitted: ShipNotice = { ...notice };
  for (const [field, name, max] of NOTICE_TEXT_LIMITS) fitted[field] = cut(notice[field], max, name);
  fitted.customFields = notice.customFields.map((value, i) => cut(value, CUSTOM_FIELD_MAX, `CustomField${i + 1}`)!);
  if (notice.recipient) {
    const recipient: ShipNoticeRecipient = { ...notice.recipient };
    for (const [field, name, max] of RECIPIENT_LIMITS) recipient[field] = cut(notice.recipient[field], max, `Recipient/${name}`);
    fitted.recipient = compact(recipient);
  }
  return compact(fitted);
}

function describeItem(position: number, item: { lineItemId?: string; sku?: string; name?: string }): string {
  const names = [
    item.lineItemId !== undefined ? `LineItemID "${item.lineItemId}"` : undefined,
    item.sku !== undefined ? `SKU "${item.sku}"` : undefined,
    item.lineItemId === undefined && item.sku === undefined && item.name !== undefined ? `Name "${item.name}"` : undefined,
  ].filter((n) => n !== undefined);
  return `Item ${position}${names.length > 0 ? ` (${names.join(', ')})` : ''}`;
}

function readRecipient(root: Element, warnings: string[]): ShipNoticeRecipient | undefined {
  const read = textReader(asElement(single(root, 'Recipient', 'ShipNotice', warnings)), 'Recipient', warnings);
  const recipient: ShipNoticeRecipient = compact({
    name: read('Name'),
    company: read('Company'),
    address1: read('Address1'),
    address2: read('Address2'),
    city: read('City'),
    state: read('State'),
    postalCode: read('PostalCode'),
    country: read('Country'),
  });
  return Object.keys(recipient).length > 0 ? recipient : undefined;
}

function readNotifyCustomer(text: string | undefined, warnings: string[]): boolean | undefined {
  if (text === undefined) return undefined;
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  warnings.push(`NotifyCustomer "${text}" is neither true nor false; it is left out`);
  return undefined;
}

function readLabelCreateDate(text: string | undefined, warnings: string[]): string | undefined {
  if (text === undefined) return undefined;
  const parsed = parseShipStationDateTime(text);
  if (parsed.ok) return parsed.date.toISOString();
  warnings.push(`LabelCreateDate: ${parsed.reason}; it is left out`);
  return undefined;
}

function readShipDate(text: string | undefined, warnings: string[]): string | undefined {
  if (text === undefined) return undefined;
  const day = parseShipStationDay(text);
  if (day === null) warnings.push(`ShipDate "${text}" is not a date in the form MM/dd/yyyy; it is left out`);
  return day ?? undefined;
}

function readShippingCost(text: string | undefined, warnings: string[]): string | undefined {
  if (text === undefined) return undefined;
  // "4.9500" is exactly 4.95: zeros past the cents are dropped, a significant third decimal never rounded.
  const exact = text.replace(/^(-?\d+\.\d{2})0+$/, '$1');
  try {
    return parseMoney(exact);
  } catch (error) {
    if (!(error instanceof MoneyFormatError)) throw error;
    warnings.push(`ShippingCost "${text}" is not an amount with at most two decimals; it is left out`);
    return undefined;
  }
}
