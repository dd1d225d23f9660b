/**
 * Merchant order API. Thin on purpose: validate, authenticate, read the read model, send the request
 * to the order's workflow, answer from the read model once the change is projected.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { findCreateHash, findOrderByNumber, listOrders } from '../../db/orders';
import { ORDER_MAX_BYTES } from '../../domain/limits';
import { canonicalJson, ORDER_STATUSES, STUCK_REASONS } from '../../domain/order';
import {
  cancelUpdate,
  holdUpdate,
  markPaidUpdate,
  releaseUpdate,
  resendUpdate,
  retryUpdate,
  updateOrderUpdate,
  type OrderRequest,
  type RequestEnvelope,
} from '../../workflows/messages';
import { requireMerchant, type MerchantEnv } from '../auth';
import { ApiError, badRequest, conflict, notFound } from '../errors';
import { sendOrderRequest } from '../order-requests';
import { requestedBy } from '../../domain/requester';
import { fieldsCut, normalizeOrderChanges, normalizeOrderPayload, OrderChangesSchema, OrderPayloadSchema, text } from '../order-payload';
import { createHashOf, decodeOrderCursor, encodeOrderCursor, orderIdFor, orderSummary, OrderSummarySchema, orderView, OrderViewSchema } from '../order-view';
import type { RouteServices } from '../services';
import { acceptedResponse, errorResponses, json, newRouter } from './common';

const OrderNumberParam = z.object({ orderNumber: text(50).min(1).openapi({ example: 'A-1001' }) });
const ReasonBody = z.object({ reason: text(500).min(1, { message: 'required' }) }).strict();

const secured = { security: [{ merchantKey: [] }], tags: ['orders'] };

/** The order as it now is, and which of the posted fields were cut or left out to fit ShipStation. */
const OrderAnswerSchema = OrderViewSchema.extend({
  warnings: z
    .array(z.string())
    .optional()
    .openapi({ description: 'Free text longer than ShipStation takes, cut (or left out): one line per field, e.g. "customerNotes: cut to 1000 characters"' }),
}).openapi('OrderAnswer');

/**
 * One order as posted is bounded (domain/limits.ts): its whole state travels in Temporal payloads
 * and it is served whole in an export page. Beyond it: 413 with the reason, before any parsing.
 */
const orderBodyLimit = bodyLimit({
  maxSize: ORDER_MAX_BYTES,
  onError: () => {
    throw new ApiError(413, 'payload_too_large', `an order is at most ${ORDER_MAX_BYTES} bytes (256 KiB) as posted`);
  },
});

/** The body as posted (already read and cached by the validator) beside what parsing made of it. */
const cutWarnings = async (c: Context, parsed: unknown) => {
  const warnings = fieldsCut(await c.req.json(), parsed);
  return warnings.length > 0 ? { warnings } : {};
};

const createOrderRoute = createRoute({
  ...secured,
  method: 'post',
  path: '/',
  summary: 'Create an order (idempotent per order number)',
  description:
    'Posting the same payload again answers 200 with the existing order; a different payload under an existing number is refused with 409. Once this answers, GET and the next ShipStation export see the order.',
  request: { body: { content: { 'application/json': { schema: OrderPayloadSchema } }, required: true } },
  responses: { 200: json(OrderAnswerSchema, 'The order already existed with this payload'), 201: json(OrderAnswerSchema, 'Created'), ...acceptedResponse, ...errorResponses },
});

const getOrderRoute = createRoute({
  ...secured,
  method: 'get',
  path: '/{orderNumber}',
  summary: 'One order with lines, shipments and timeline',
  request: { params: OrderNumberParam },
  responses: { 200: json(OrderViewSchema, 'The order'), ...errorResponses },
});

const listOrdersRoute = createRoute({
  ...secured,
  method: 'get',
  path: '/',
  summary: 'List orders, oldest first, by keyset pages',
  request: {
    query: z.object({
      status: z.enum(ORDER_STATUSES).optional(),
      stuck: z.enum(['true', 'false']).optional(),
      stuckReason: z.enum(STUCK_REASONS).optional(),
      source: text(50).optional(),
      cursor: z.string().max(200).optional().openapi({ description: 'nextCursor of the previous page' }),
      limit: z.coerce.number().int().min(1).max(500).default(50),
    }),
  },
  responses: {
    200: json(z.object({ orders: z.array(OrderSummarySchema), nextCursor: z.string().nullable() }), 'A page of orders'),
    ...errorResponses,
  },
});

const patchOrderRoute = createRoute({
  ...secured,
  method: 'patch',
  path: '/{orderNumber}',
  summary: 'Change address, lines or amounts (before export, or while on hold)',
  request: { params: OrderNumberParam, body: { content: { 'application/json': { schema: OrderChangesSchema } }, required: true } },
  responses: { 200: json(OrderAnswerSchema, 'The changed order'), ...acceptedResponse, ...errorResponses },
});

const actionRoute = (action: string, summary: string, withReason: boolean) =>
  createRoute({
    ...secured,
    method: 'post',
    path: `/{orderNumber}/${action}`,
    summary,
    request: {
      params: OrderNumberParam,
      ...(withReason ? { body: { content: { 'application/json': { schema: ReasonBody } }, required: true } } : {}),
    },
    responses: { 200: json(OrderViewSchema, 'Accepted; the order as it now is'), ...acceptedResponse, ...errorResponses },
  });

function decodeCursor(cursor: string): { createdAt: string; orderId: string } {
  const after = decodeOrderCursor(cursor);
  if (!after) throw badRequest('cursor is not a cursor this API returned', [{ path: 'cursor', message: 'invalid cursor' }]);
  return after;
}

const BY_ORDER_SOURCE = requestedBy('order source');

export function orderRoutes(services: RouteServices) {
  const { db, gateway } = services;
  const app = newRouter<MerchantEnv>();
  app.use('*', requireMerchant(services));
  app.post('/', orderBodyLimit);
  app.patch('/:orderNumber', orderBodyLimit);

  const existing = async (merchantId: string, orderNumber: string) => {
    const record = await findOrderByNumber(db, merchantId, orderNumber);
    if (!record) throw notFound(`no order ${orderNumber}`);
    return record;
  };
  const reread = async (merchantId: string, orderNumber: string) => orderView(await existing(merchantId, orderNumber));
  const send = <R extends RequestEnvelope>(merchantId: string, orderNumber: string, update: OrderRequest<R>, args: Omit<R, 'expiresAt' | 'requestedBy'>) =>
    sendOrderRequest(db, gateway, { merchantId, orderNumber }, update, args, BY_ORDER_SOURCE);

  app.openapi(createOrderRoute, async (c) => {
    const merchant = c.get('merchant');
    const payload = c.req.valid('json');
    const content = normalizeOrderPayload(payload);
    const warnings = await cutWarnings(c, payload);
    const createHash = createHashOf(canonicalJson(content));
    // A repeat is answered from the read model; a new order costs one indexed read before its workflow starts.
    const existingHash = await findCreateHash(db, merchant.id, content.orderNumber);
    if (existingHash !== null) {
      if (existingHash !== createHash) throw conflict(`order ${content.orderNumber} already exists with a different payload`);
      const found = await findOrderByNumber(db, merchant.id, content.orderNumber);
      if (found) return c.json({ ...orderView(found), ...warnings }, 200);
    }
    const ref = { merchantId: merchant.id, orderNumber: content.orderNumber, orderId: orderIdFor(merchant.id, content.orderNumber) };
    await gateway.create(ref, content, createHash, merchant.deadlines);
    const created = await findOrderByNumber(db, merchant.id, content.orderNumber);
    if (!created) throw new ApiError(503, 'not_visible_yet', 'the order was accepted but is not visible yet; repeat the same request');
    if (created.order.createHash !== createHash) throw conflict(`order ${content.orderNumber} already exists with a different payload`);
    return c.json({ ...orderView(created), ...warnings }, 201);
  });

  app.openapi(listOrdersRoute, async (c) => {
    const q = c.req.valid('query');
    const rows = await listOrders(db, {
      merchantId: c.get('merchant').id,
      ...(q.status ? { status: q.status } : {}),
      ...(q.stuck ? { stuck: q.stuck === 'true' } : {}),
      ...(q.stuckReason ? { stuckReason: q.stuckReason } : {}),
      ...(q.source ? { source: q.source } : {}),
      ...(q.cursor ? { after: decodeCursor(q.cursor) } : {}),
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > q.limit && last ? encodeOrderCursor(last.createdAt, last.orderId) : null;
    return c.json({ orders: page.map(orderSummary), nextCursor }, 200);
  });

  app.openapi(getOrderRoute, async (c) => c.json(await reread(c.get('merchant').id, c.req.valid('param').orderNumber), 200));

  app.openapi(patchOrderRoute, async (c) => {
    const merchantId = c.get('merchant').id;
    const { orderNumber } = c.req.valid('param');
    await existing(merchantId, orderNumber);
    const changes = c.req.valid('json');
    await send(merchantId, orderNumber, updateOrderUpdate, { changes: normalizeOrderChanges(changes) });
    return c.json({ ...(await reread(merchantId, orderNumber)), ...(await cutWarnings(c, changes)) }, 200);
  });

  const simpleActions = [
    ['pay', 'Mark the order paid (await_payment -> pending)', markPaidUpdate],
    ['release', 'Release a held order to where it was', releaseUpdate],
    ['retry', 'Retry a stuck order (does what its stuck reason needs)', retryUpdate],
    ['resend', 'Re-offer a not-yet-shipped order to ShipStation', resendUpdate],
  ] as const;
  for (const [action, summary, update] of simpleActions) {
    app.openapi(actionRoute(action, summary, false), async (c) => {
      const merchantId = c.get('merchant').id;
      const { orderNumber } = c.req.valid('param');
      await existing(merchantId, orderNumber);
      await send(merchantId, orderNumber, update, {});
      return c.json(await reread(merchantId, orderNumber), 200);
    });
  }
  const reasonActions = [
    ['hold', 'Put the order on hold (reaches ShipStation with the next export)', holdUpdate],
    ['cancel', 'Cancel the order (refused once a package has shipped)', cancelUpdate],
  ] as const;
  for (const [action, summary, update] of reasonActions) {
    app.openapi(actionRoute(action, summary, true), async (c) => {
      const merchantId = c.get('merchant').id;
      const { orderNumber } = c.req.valid('param');
      const { reason } = c.req.valid('json' as never) as z.infer<typeof ReasonBody>;
      await existing(merchantId, orderNumber);
      await send(merchantId, orderNumber, update, { reason });
      return c.json(await reread(merchantId, orderNumber), 200);
    });
  }
  return app;
}
