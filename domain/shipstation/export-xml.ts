/**
 * The export document ShipStation polls for (design doc, section 4): `<Orders pages="N">` with one
 * `<Order>` per order, written exactly as `export.xsd` beside this file describes it.
 *
 * Two functions, because leaving an order out is the caller's decision: `importProblem` says why
 * ShipStation could not take an order (the caller leaves it out of the page and tells the operators),
 * and `buildExportDocument` writes whatever it is given. For every order `importProblem` passes, the
 * document is valid against export.xsd and building it does not throw.
 *
 * Text rules (entities, illegal characters, CDATA, truncation) live in text.ts. The values that come
 * back to us in shipnotify (OrderID, OrderNumber, LineItemID, SKU) are keys, not prose: they are
 * sent exactly as stored, never entity-decoded or cut, or the notice would no longer find its order
 * or line; `importProblem` refuses keys that cannot travel unchanged instead.
 */
import { formatShipStationDate } from '../dates';
import { moneyToCents, parseMoney } from '../money';
import { STATUS_MAPPING, type Address, type OrderContent, type OrderLine, type OrderStatus, type WeightUnit } from '../order';
import { cdata, escapeXml, stripIllegalXmlChars, xmlText } from './text';

export type ExportOrder = OrderContent & { orderId: string; status: OrderStatus; lastModified: string /* ISO */ };

const KEY_MAX = 50;
const IMAGE_URL_MAX = 500;

// ---------------------------------------------------------------------------------------------
// Values in ShipStation's forms

export type ShipStationWeightUnit = 'Pounds' | 'Ounces' | 'Grams';

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** Leading zeros of the whole part and trailing zeros of the fraction dropped: "007.50" -> "7.5". */
function canonicalDecimal(whole: string, fraction: string): string {
  const w = whole.replace(/^0+(?=\d)/, '');
  const f = fraction.replace(/0+$/, '');
  return f ? `${w}.${f}` : w;
}

/** ShipStation knows no kilograms: they become grams, the decimal point moved three places. */
const WEIGHT_UNITS: Record<WeightUnit, { units: ShipStationWeightUnit; shift: number }> = {
  lb: { units: 'Pounds', shift: 0 },
  oz: { units: 'Ounces', shift: 0 },
  g: { units: 'Grams', shift: 0 },
  kg: { units: 'Grams', shift: 3 },
};

/**
 * A line weight as ShipStation takes it. Kilograms are converted by string arithmetic ("1.2345" kg
 * -> "1234.5"), so no float residue such as 1004.9999999999999 for 1.005 kg. Weights keep their own
 * precision (rounding 0.125 lb to two places would change the postage); the two-place rule is money's.
 */
export function shipStationWeight(weight: { value: string; unit: WeightUnit }): { value: string; units: ShipStationWeightUnit } {
  const target = Object.hasOwn(WEIGHT_UNITS, weight.unit) ? WEIGHT_UNITS[weight.unit] : undefined;
  if (!target) throw new RangeError(`weight unit ${JSON.stringify(weight.unit)} is not lb, oz, g or kg`);
  const match = DECIMAL.exec(weight.value.trim());
  if (!match) throw new RangeError(`weight ${JSON.stringify(weight.value)} is not a non-negative decimal`);
  const [, whole = '', fraction = ''] = match;
  const digits = fraction.padEnd(target.shift, '0');
  return { value: canonicalDecimal(whole + digits.slice(0, target.shift), digits.slice(target.shift)), units: target.units };
}

const isBlank = (value: string | undefined) => value === undefined || xmlText(value).trim() === '';

/**
 * CustomerCode is required, and ShipStation groups an order history by it: the merchant's customer
 * code, else the customer's e-mail, else the ship-to e-mail, else the order number (unique, at least).
 */
export function customerCode(order: OrderContent): string {
  const candidates = [order.customer.code, order.customer.email, order.shipTo.email];
  return candidates.find((c): c is string => !isBlank(c)) ?? order.orderNumber;
}

/** ISO 3166-1 alpha-2 and ISO 4217 codes are upper case; the source may not have said so. */
const upperCode = (value: string | undefined) => value?.trim().toUpperCase() ?? '';

// ---------------------------------------------------------------------------------------------
// Import problems

const codePoints = (value: string) => [...value].length;

function keyProblem(label: string, value: string, required: boolean): string | null {
  if (required && value.trim() === '') return `${label} is empty`;
  if (stripIllegalXmlChars(value) !== value) return `${label} ${JSON.stringify(value)} contains characters XML cannot carry`;
  if (codePoints(value) > KEY_MAX) return `${label} ${JSON.stringify(value)} is longer than ${KEY_MAX} characters`;
  return null;
}

function moneyProblem(label: string, value: string): string | null {
  try {
    moneyToCents(value);
    return null;
  } catch {
    return `${label} ${JSON.stringify(value)} is not an amount with two decimals`;
  }
}

function dateProblem(label: string, value: string): string | null {
  const time = Date.parse(value);
  if (Number.isNaN(time)) return `${label} ${JSON.stringify(value)} is not a date`;
  // MM/dd/yyyy has room for four-digit years only.
  const year = new Date(time).getUTCFullYear();
  return year < 1000 || year > 9999 ? `${label} ${JSON.stringify(value)} is outside the years 1000-9999` : null;
}

function addressProblems(label: string, address: Address, shipTo: boolean): (string | null)[] {
  const country = upperCode(address.country);
  const state = address.state === undefined ? '' : xmlText(address.state).trim();
  return [
    isBlank(address.name) ? `the ${label} address has no name` : null,
    shipTo && isBlank(address.street1) ? `the ${label} address has no street (Address1)` : null,
    shipTo && isBlank(address.city) ? `the ${label} address has no city` : null,
    shipTo && country === '' ? `the ${label} address has no country (a 2-letter ISO 3166-1 code such as US)` : null,
    country !== '' && !/^[A-Z]{2}$/.test(country)
      ? `the ${label} country ${JSON.stringify(address.country)} is not a 2-letter ISO 3166-1 code such as US`
      : null,
    state !== '' && codePoints(state) < 2 ? `the ${label} state ${JSON.stringify(address.state)} is shorter than 2 characters` : null,
    (country === 'US' || country === 'CA') && state !== '' && !/^[A-Za-z]{2}$/.test(state)
      ? `the ${label} state ${JSON.stringify(address.state)} is not a 2-letter code, as ShipStation needs for ${country}`
      : null,
  ];
}

function lineProblems(line: OrderLine, position: number): (string | null)[] {
  const label = `line ${position} (${JSON.stringify(line.lineId)})`;
  let weight: string | null = null;
  if (line.weight) {
    try {
      shipStationWeight(line.weight);
    } catch (error) {
      weight = `${label} ${(error as Error).message}`;
    }
  }
  return [
    keyProblem(`line ${position} id`, line.lineId, true),
    keyProblem(`${label} SKU`, line.sku, false),
    isBlank(line.name) ? `${label} has no name` : null,
    Number.isInteger(line.quantity) && line.quantity >= 1 && line.quantity <= 99_999
      ? null
      : `${label} quantity ${line.quantity} is not a whole number from 1 to 99999`,
    moneyProblem(`${label} unit price`, line.unitPrice),
    weight,
  ];
}

/**
 * Why ShipStation could not import this order (every reason, joined by "; "), or null when it can.
 * Checks what ShipStation requires and what export.xsd enforces, so a null here means the order's
 * `<Order>` is valid.
 */
export function importProblem(order: ExportOrder): string | null {
  const currency = upperCode(order.currency);
  const lineIds = order.lines.map((l) => l.lineId);
  const duplicateIds = [...new Set(lineIds.filter((id, i) => lineIds.indexOf(id) !== i))];
  const problems = [
    keyProblem('the order id', order.orderId, true),
    keyProblem('the order number', order.orderNumber, true),
    Object.hasOwn(STATUS_MAPPING, order.status) ? null : `status ${JSON.stringify(order.status)} has no ShipStation equivalent`,
    dateProblem('the order date', order.orderDate),
    dateProblem('LastModified', order.lastModified),
    currency !== '' && !/^[A-Z]{3}$/.test(currency)
      ? `currency ${JSON.stringify(order.currency)} is not a 3-letter ISO 4217 code such as USD`
      : null,
    moneyProblem('the order total', order.total),
    moneyProblem('the tax amount', order.taxAmount),
    moneyProblem('the shipping amount', order.shippingAmount),
    ...addressProblems('ship-to', order.shipTo, true),
    ...addressProblems('bill-to', order.billTo, false),
    order.lines.length === 0 ? 'the order has no lines' : null,
    ...duplicateIds.map((id) => `line id ${JSON.stringify(id)} is used by more than one line`),
    ...order.lines.flatMap((line, i) => lineProblems(line, i + 1)),
  ].filter((p): p is string => p !== null);
  return problems.length === 0 ? null : problems.join('; ');
}

// ---------------------------------------------------------------------------------------------
// The document

/** A node of the document: a leaf (free text in CDATA, our own values as plain text) or a container. */
type XmlNode = { name: string; text: string; cdata: boolean } | { name: string; children: XmlNode[] };

const plain = (name: string, text: string): XmlNode => ({ name, text, cdata: false });
const money = (name: string, amount: string): XmlNode => plain(name, parseMoney(amount));
const bool = (name: string, value: boolean): XmlNode => plain(name, value ? 'true' : 'false');
const date = (name: string, iso: string): XmlNode => plain(name, formatShipStationDate(iso));
const key = (name: string, value: string): XmlNode => ({ name, text: stripIllegalXmlChars(value), cdata: true });
const text = (name: string, value: string, max: number): XmlNode => ({ name, text: xmlText(value, max), cdata: true });

/** An optional free-text element: left out when there is nothing to say. */
const optionalText = (name: string, value: string | undefined, max: number): XmlNode | null =>
  value === undefined || isBlank(value) ? null : text(name, value, max);

const optionalCode = (name: string, value: string | undefined): XmlNode | null => {
  const code = upperCode(value);
  return code === '' ? null : { name, text: stripIllegalXmlChars(code), cdata: true };
};

const container = (name: string, children: (XmlNode | null)[]): XmlNode => ({
  name,
  children: children.filter((c): c is XmlNode => c !== null),
});

function render(node: XmlNode, depth: number): string {
  const indent = '  '.repeat(depth);
  if ('children' in node) {
    if (node.children.length === 0) return `${indent}<${node.name}></${node.name}>`;
    const inner = node.children.map((child) => render(child, depth + 1)).join('\n');
    return `${indent}<${node.name}>\n${inner}\n${indent}</${node.name}>`;
  }
  return `${indent}<${node.name}>${node.cdata ? cdata(node.text) : escapeXml(node.text)}</${node.name}>`;
}

function addressNode(name: 'BillTo' | 'ShipTo', address: Address): XmlNode {
  return container(name, [
    text('Name', address.name, 100),
    optionalText('Company', address.company, 100),
    optionalText('Address1', address.street1, 200),
    optionalText('Address2', address.street2, 200),
    optionalText('City', address.city, 100),
    optionalText('State', address.state, 100),
    optionalText('PostalCode', address.postalCode, 50),
    optionalCode('Country', address.country),
    optionalText('Phone', address.phone, 50),
    // The design doc gives BillTo an Email and ShipTo none.
    name === 'BillTo' ? optionalText('Email', address.email, 100) : null,
  ]);
}

function itemNode(line: OrderLine): XmlNode {
  const weight = line.weight ? shipStationWeight(line.weight) : null;
  // A URL cut short points at nothing (or at something else): one too long is left out instead.
  const imageUrl = line.imageUrl === undefined ? '' : xmlText(line.imageUrl).trim();
  return container('Item', [
    key('LineItemID', line.lineId),
    key('SKU', line.sku),
    text('Name', line.name, 200),
    imageUrl !== '' && codePoints(imageUrl) <= IMAGE_URL_MAX ? { name: 'ImageUrl', text: imageUrl, cdata: true } : null,
    weight ? plain('Weight', weight.value) : null,
    weight ? plain('WeightUnits', weight.units) : null,
    plain('Quantity', String(line.quantity)),
    money('UnitPrice', line.unitPrice),
    optionalText('Location', line.location, 100),
    bool('Adjustment', line.adjustment),
    line.options.length === 0
      ? null
      : container(
          'Options',
          line.options.map((option) => container('Option', [text('Name', option.name, 100), text('Value', option.value, 100)])),
        ),
  ]);
}

function orderNode(order: ExportOrder): XmlNode {
  return container('Order', [
    key('OrderID', order.orderId),
    key('OrderNumber', order.orderNumber),
    date('OrderDate', order.orderDate),
    plain('OrderStatus', STATUS_MAPPING[order.status].xml),
    date('LastModified', order.lastModified),
    optionalText('ShippingMethod', order.shippingMethod, 100),
    optionalText('PaymentMethod', order.paymentMethod, 50),
    optionalCode('CurrencyCode', order.currency),
    money('OrderTotal', order.total),
    money('TaxAmount', order.taxAmount),
    money('ShippingAmount', order.shippingAmount),
    optionalText('CustomerNotes', order.customerNotes, 1000),
    optionalText('InternalNotes', order.internalNotes, 1000),
    bool('Gift', order.gift),
    optionalText('GiftMessage', order.giftMessage, 1000),
    optionalText('CustomField1', order.customFields[0], 100),
    optionalText('CustomField2', order.customFields[1], 100),
    optionalText('CustomField3', order.customFields[2], 100),
    optionalText('RequestedWarehouse', order.requestedWarehouse, 100),
    optionalText('Source', order.source, 50),
    container('Customer', [
      text('CustomerCode', customerCode(order), 50),
      addressNode('BillTo', order.billTo),
      addressNode('ShipTo', order.shipTo),
    ]),
    container('Items', order.lines.map(itemNode)),
  ]);
}

/**
 * The whole response body for one page. `pages` is the window's page count (at least 1: an empty
 * window answers `<Orders pages="1">` with no orders, which ShipStation's Test Connection accepts).
 */
export function buildExportDocument(orders: readonly ExportOrder[], pages: number): string {
  if (!Number.isSafeInteger(pages) || pages < 1) throw new RangeError(`pages must be a whole number of at least 1, got ${pages}`);
  const body = orders.map((order) => render(orderNode(order), 1)).join('\n');
  const root = body === '' ? `<Orders pages="${pages}"></Orders>` : `<Orders pages="${pages}">\n${body}\n</Orders>`;
  return `<?xml version="1.0" encoding="utf-8"?>\n${root}\n`;
}
