/**
 * The order payload accepted by POST /api/orders and PATCH /api/orders/{orderNumber}: zod schemas
 * (which also feed /openapi.json) and the normalisation into the domain's OrderContent.
 */
import { z } from '@hono/zod-openapi';
import { parseIsoTimestamp } from '../domain/dates';
import { moneyInRange, moneyToCents, parseMoney, trimDecimal } from '../domain/money';
import { codePointLength, MAX_LINES_PER_ORDER, MAX_OPTIONS_PER_LINE } from '../domain/limits';
import { computeOrderTotal, orderTotalCents, type Address, type OrderChanges, type OrderContent, type OrderLine, type WeightUnit } from '../domain/order';
import { truncateCodePoints } from '../domain/shipstation/text';

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/**
 * Keys and parameters (order number, line id, SKU, source, path and query values): bounded, no
 * control characters (NUL included) and well-formed Unicode (no lone surrogates). They come back to
 * us (in ShipStation's notices, in lookups) and must match exactly, so they are refused, never cut.
 * Lengths count code points, as ShipStation, PostgreSQL, JSON Schema's maxLength and our notice
 * reading do (zod's max counts UTF-16 units, which would refuse 30 emoji as 60 characters).
 */
export const text = (max: number) =>
  z
    .string()
    .refine((v) => v.length <= max || codePointLength(v) <= max, { message: `at most ${max} characters` })
    .openapi({ maxLength: max })
    .refine((v) => !CONTROL_CHARACTERS.test(v), { message: 'contains control characters' })
    .refine((v) => v.isWellFormed(), { message: 'is not well-formed Unicode (lone surrogate)' });

/** What PostgreSQL cannot store in text: NUL, and lone surrogates (half of a character, nothing on its own). */
// eslint-disable-next-line no-control-regex
const NOT_STORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
export const storableText = (value: string) => value.replace(NOT_STORABLE, '');

/**
 * Free text (names, addresses, notes, options...): messy but meaningful, so cleaned rather than
 * refused. What the database cannot store is dropped; other control characters (a cart's copy-paste)
 * are kept, and the export strips what XML cannot carry (domain/shipstation/text.ts). Text longer
 * than ShipStation's limit for the field is cut to it by code point, never inside a character; the
 * answer's `warnings` name each field cut (fieldsCut). Only a required field left empty is refused.
 */
export const freeText = (max: number, required = false) =>
  (required ? z.string().min(1, { message: 'required' }) : z.string())
    .transform((v) => truncateCodePoints(storableText(v), max))
    .openapi({ description: `Free text; longer than ${max} characters is cut to ${max} (ShipStation's limit)` });

const IMAGE_URL_MAX = 500;

/** A URL cut short would point elsewhere: one longer than ShipStation takes is left out instead. */
const imageUrl = z
  .string()
  .transform((v) => storableText(v))
  .transform((v) => (codePointLength(v) > IMAGE_URL_MAX ? undefined : v))
  .openapi({ description: `Left out when longer than ${IMAGE_URL_MAX} characters (ShipStation's limit; a cut URL would point elsewhere)` });

/**
 * Which fields cleaning cut or left out, as `path: what happened`, found by walking the body as
 * posted beside the parsed one (only free text changes length in parsing).
 */
export function fieldsCut(raw: unknown, parsed: unknown, path: string[] = []): string[] {
  const at = path.join('.');
  if (typeof raw === 'string') {
    if (parsed === undefined && raw !== '') return [`${at}: longer than ShipStation takes and cannot be cut; left out`];
    if (typeof parsed !== 'string') return [];
    const kept = codePointLength(parsed);
    return kept < codePointLength(storableText(raw)) ? [`${at}: cut to ${kept} characters (ShipStation's limit for the field)`] : [];
  }
  if (Array.isArray(raw) && Array.isArray(parsed)) return raw.flatMap((item, i) => fieldsCut(item, parsed[i], [...path, String(i)]));
  if (isPlainObject(raw) && isPlainObject(parsed)) return Object.keys(raw).flatMap((key) => fieldsCut(raw[key], parsed[key], [...path, key]));
  return [];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isMoney = (v: number | string) => {
  try {
    moneyToCents(v);
    return true;
  } catch {
    return false;
  }
};
const Money = z
  .union([z.number(), z.string()])
  .refine(isMoney, { message: 'an amount with at most 2 decimals, as a number or a string ("12.50")' })
  .openapi({ example: '12.50', description: 'A JSON number or a decimal string with at most 2 decimals' });

const NonNegativeMoney = Money.refine((v) => !isMoney(v) || moneyToCents(v) >= 0, { message: 'must not be negative' });

const Decimal = z
  .union([z.number(), z.string()])
  .refine((v) => /^\d{1,8}(\.\d{1,4})?$/.test(typeof v === 'number' ? String(v) : v.trim()), {
    message: 'a non-negative decimal with at most 4 decimals',
  });

export const AddressSchema = z
  .object({
    name: freeText(100, true),
    company: freeText(100).optional(),
    street1: freeText(200).optional(),
    street2: freeText(200).optional(),
    city: freeText(100).optional(),
    state: freeText(100).optional(),
    postalCode: freeText(50).optional(),
    country: z
      .string()
      .regex(/^[A-Za-z]{2}$/, { message: 'an ISO 3166-1 alpha-2 country code such as US' })
      .optional(),
    phone: freeText(50).optional(),
    email: freeText(100).optional(),
  })
  .strict()
  .openapi('Address');

const WEIGHT_UNITS = ['lb', 'oz', 'g', 'kg'] as const;

export const LineSchema = z
  .object({
    lineId: text(50).min(1).optional().openapi({ description: 'Stable per-line key; defaults to the line position (1, 2, ...)' }),
    sku: text(50).default(''),
    name: freeText(200, true),
    quantity: z.number().int().min(1).max(99_999),
    unitPrice: Money,
    weight: z.object({ value: Decimal, unit: z.enum(WEIGHT_UNITS) }).strict().optional(),
    imageUrl: imageUrl.optional(),
    location: freeText(100).optional(),
    options: z
      .array(z.object({ name: freeText(100, true), value: freeText(100) }).strict())
      .max(MAX_OPTIONS_PER_LINE, { message: `at most ${MAX_OPTIONS_PER_LINE} options per line` })
      .default([]),
    adjustment: z.boolean().default(false).openapi({ description: 'A discount or fee line: never shipped' }),
  })
  .strict()
  .refine((line) => line.adjustment || !isMoney(line.unitPrice) || moneyToCents(line.unitPrice) >= 0, {
    path: ['unitPrice'],
    message: 'a negative price is only allowed on an adjustment line',
  })
  .openapi('OrderLine');

const linesSchema = z
  .array(LineSchema)
  .max(MAX_LINES_PER_ORDER, { message: `at most ${MAX_LINES_PER_ORDER} lines per order` })
  .refine((lines) => lines.some((l) => !l.adjustment), { message: 'at least one line that is not an adjustment (an order with nothing to ship can never ship)' })
  .superRefine((lines, ctx) => {
    const seen = new Set<string>();
    lines.forEach((line, i) => {
      const id = line.lineId ?? String(i + 1);
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: [i, 'lineId'], message: `duplicate lineId ${id}` });
      seen.add(id);
    });
  });

const editable = {
  shippingMethod: freeText(100).optional(),
  billTo: AddressSchema.optional(),
  shipTo: AddressSchema.optional(),
  lines: linesSchema.optional(),
  shippingAmount: NonNegativeMoney.optional(),
  taxAmount: NonNegativeMoney.optional(),
  total: NonNegativeMoney.optional(),
  customerNotes: freeText(1000).optional(),
  internalNotes: freeText(1000).optional(),
  gift: z.boolean().optional(),
  giftMessage: freeText(1000).optional(),
  customFields: z.array(freeText(100)).max(3, { message: 'at most 3 custom fields' }).optional(),
  requestedWarehouse: freeText(100).optional(),
};

export const OrderPayloadSchema = z
  .object({
    orderNumber: text(50)
      .min(1, { message: 'required' })
      .refine((v) => v.trim() === v && !v.includes('/'), { message: 'no leading or trailing spaces and no "/"' }),
    orderDate: z.string().refine((v) => parseIsoTimestamp(v) !== null, {
      message: 'an ISO 8601 timestamp with a zone, e.g. 2026-11-25T14:03:00Z',
    }),
    paid: z.boolean(),
    currency: z
      .string()
      .regex(/^[A-Za-z]{3}$/, { message: 'an ISO 4217 code such as USD' })
      .default('USD'),
    // The source scopes ShipStation connections and filters lists: a key, refused rather than cut.
    source: text(50).optional(),
    paymentMethod: freeText(50).optional(),
    customer: z.object({ code: freeText(50).optional(), email: freeText(100).optional() }).strict().default({}),
    ...editable,
    shipTo: AddressSchema,
    billTo: AddressSchema.optional(),
    lines: linesSchema,
    shippingAmount: NonNegativeMoney.default(0),
    taxAmount: NonNegativeMoney.default(0),
    gift: z.boolean().default(false),
    customFields: editable.customFields.default([]),
  })
  .strict()
  .superRefine((order, ctx) => {
    // Each amount fits; their sum must too, or the read model could not store the order.
    if (order.total !== undefined) return;
    try {
      const lines = order.lines.map((l) => ({ unitPrice: parseMoney(l.unitPrice), quantity: l.quantity }));
      const cents = orderTotalCents(lines, parseMoney(order.shippingAmount), parseMoney(order.taxAmount));
      if (!moneyInRange(cents)) ctx.addIssue({ code: 'custom', path: ['total'], message: 'the computed order total exceeds 999999999999.99' });
    } catch {
      // A malformed amount already has its own issue.
    }
  })
  .openapi('OrderPayload');

export const OrderChangesSchema = z
  .object(editable)
  .strict()
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: 'nothing to change' })
  .openapi('OrderChanges');

export type OrderPayload = z.infer<typeof OrderPayloadSchema>;
export type OrderChangesPayload = z.infer<typeof OrderChangesSchema>;

function normalizeAddress(address: z.infer<typeof AddressSchema>): Address {
  return { ...address, ...(address.country ? { country: address.country.toUpperCase() } : {}) };
}

function normalizeLines(lines: z.infer<typeof linesSchema>): OrderLine[] {
  return lines.map((line, i) => ({
    lineId: line.lineId ?? String(i + 1),
    sku: line.sku,
    name: line.name,
    quantity: line.quantity,
    unitPrice: parseMoney(line.unitPrice),
    ...(line.weight ? { weight: { value: trimDecimal(String(line.weight.value).trim()), unit: line.weight.unit as WeightUnit } } : {}),
    ...(line.imageUrl !== undefined ? { imageUrl: line.imageUrl } : {}),
    ...(line.location !== undefined ? { location: line.location } : {}),
    options: line.options,
    adjustment: line.adjustment,
  }));
}

const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

export function normalizeOrderPayload(payload: OrderPayload): OrderContent {
  const lines = normalizeLines(payload.lines);
  const shippingAmount = parseMoney(payload.shippingAmount);
  const taxAmount = parseMoney(payload.taxAmount);
  const shipTo = normalizeAddress(payload.shipTo);
  return defined({
    orderNumber: payload.orderNumber,
    orderDate: parseIsoTimestamp(payload.orderDate)!,
    paid: payload.paid,
    currency: payload.currency.toUpperCase(),
    source: payload.source,
    shippingMethod: payload.shippingMethod,
    paymentMethod: payload.paymentMethod,
    customer: defined(payload.customer),
    billTo: payload.billTo ? normalizeAddress(payload.billTo) : shipTo,
    shipTo,
    lines,
    shippingAmount,
    taxAmount,
    total: payload.total !== undefined ? parseMoney(payload.total) : computeOrderTotal(lines, shippingAmount, taxAmount),
    customerNotes: payload.customerNotes,
    internalNotes: payload.internalNotes,
    gift: payload.gift,
    giftMessage: payload.giftMessage,
    customFields: payload.customFields,
    requestedWarehouse: payload.requestedWarehouse,
  });
}

export function normalizeOrderChanges(payload: OrderChangesPayload): OrderChanges {
  return defined({
    ...payload,
    billTo: payload.billTo ? normalizeAddress(payload.billTo) : undefined,
    shipTo: payload.shipTo ? normalizeAddress(payload.shipTo) : undefined,
    lines: payload.lines ? normalizeLines(payload.lines) : undefined,
    shippingAmount: payload.shippingAmount !== undefined ? parseMoney(payload.shippingAmount) : undefined,
    taxAmount: payload.taxAmount !== undefined ? parseMoney(payload.taxAmount) : undefined,
    total: payload.total !== undefined ? parseMoney(payload.total) : undefined,
  }) as OrderChanges;
}
