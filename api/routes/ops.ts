/**
 * Ops API (admin token): find orders across merchants, act on one, bulk-retry stuck ones through a
 * durable workflow, replay a stored ShipNotice. Facts that have not reached their order are
 * api/routes/ops-facts.ts. The CLI (`npm run ops -- orders ...`) uses both.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { findOrderByNumber, listOrders } from '../../db/orders';
import { parseDuration } from '../../domain/dates';
import { ORDER_STATUSES, STUCK_REASONS } from '../../domain/order';
import { requireAdmin } from '../auth';
import { notFound } from '../errors';
import { bulkRetryFilter, bulkRetrySummary, ORDER_ACTIONS, replayShipment } from '../ops-actions';
import { opsRequester, sendOrderRequest } from '../order-requests';
import { text } from '../order-payload';
import { orderSummary, OrderSummarySchema, orderView, OrderViewSchema, temporalWorkflowUrl } from '../order-view';
import type { RouteServices } from '../services';
import { errorResponses, json, newRouter } from './common';

const admin = { tags: ['ops'], security: [{ adminToken: [] }] };
const OrderParams = z.object({ merchant: text(50).min(1), orderNumber: text(50).min(1) });
const Duration = z.string().refine((v) => (parseDuration(v) ?? 0) > 0, { message: 'a duration such as 30m, 4h or 3d' });

const BulkRetryReportSchema = z
  .object({
    workflowId: z.string(),
    matched: z.number(),
    retried: z.number(),
    refused: z.array(z.object({ merchantId: z.string(), orderNumber: z.string(), reason: z.string() })),
  })
  .openapi('BulkRetryReport');

const BulkRetryRunning = z.object({ workflowId: z.string(), status: z.literal('running') }).openapi('BulkRetryRunning');

export function opsRoutes(services: RouteServices) {
  const { db, gateway, bulkRetries, temporalSettings } = services;
  const app = newRouter();
  app.use('*', requireAdmin(services));
  const existing = async (merchant: string, orderNumber: string) => {
    const record = await findOrderByNumber(db, merchant, orderNumber);
    if (!record) throw notFound(`merchant ${merchant} has no order ${orderNumber}`);
    return record;
  };

  app.openapi(
    createRoute({
      ...admin,
      method: 'get',
      path: '/orders',
      summary: 'Orders across merchants: stuck ones, by status, merchant, reason or source',
      request: {
        query: z.object({
          merchant: text(50).optional(),
          status: z.enum(ORDER_STATUSES).optional(),
          stuck: z.enum(['true', 'false']).optional(),
          reason: z.enum(STUCK_REASONS).optional(),
          source: text(50).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      },
      responses: { 200: json(z.object({ orders: z.array(OrderSummarySchema.extend({ merchantId: z.string(), stuckDetail: z.string().nullable() })) }), 'Orders'), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const rows = await listOrders(db, {
        ...(q.merchant ? { merchantId: q.merchant } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.stuck ? { stuck: q.stuck === 'true' } : {}),
        ...(q.reason ? { stuckReason: q.reason } : {}),
        ...(q.source ? { source: q.source } : {}),
        limit: q.limit,
      });
      return c.json({ orders: rows.map((o) => ({ ...orderSummary(o), merchantId: o.merchantId, stuckDetail: o.stuckDetail })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...admin,
      method: 'get',
      path: '/orders/{merchant}/{orderNumber}',
      summary: 'One order: state, timeline, shipments and its Temporal Web UI link',
      request: { params: OrderParams },
      responses: { 200: json(OrderViewSchema.extend({ merchantId: z.string(), temporalUrl: z.string() }), 'The order'), ...errorResponses },
    }),
    async (c) => {
      const { merchant, orderNumber } = c.req.valid('param');
      const record = await existing(merchant, orderNumber);
      return c.json({ ...orderView(record), merchantId: merchant, temporalUrl: temporalWorkflowUrl(temporalSettings, record.order.workflowId) }, 200);
    },
  );

  for (const [action, { update, withReason }] of Object.entries(ORDER_ACTIONS)) {
    app.openapi(
      createRoute({
        ...admin,
        method: 'post',
        path: `/orders/{merchant}/{orderNumber}/${action}`,
        summary: `${action[0]!.toUpperCase()}${action.slice(1)} one order`,
        request: {
          params: OrderParams,
          ...(withReason ? { body: { content: { 'application/json': { schema: z.object({ reason: text(500).min(1) }).strict() } }, required: true } } : {}),
        },
        responses: { 200: json(OrderViewSchema, 'Accepted; the order as it now is'), ...errorResponses },
      }),
      async (c) => {
        const { merchant, orderNumber } = c.req.valid('param');
        await existing(merchant, orderNumber);
        const args = withReason ? { reason: (c.req.valid('json' as never) as { reason: string }).reason } : {};
        await sendOrderRequest(db, gateway, { merchantId: merchant, orderNumber }, update, args, opsRequester((name) => c.req.header(name)));
        return c.json(orderView(await existing(merchant, orderNumber)), 200);
      },
    );
  }

  app.openapi(
    createRoute({
      ...admin,
      method: 'post',
      path: '/orders/retry',
      summary: 'Retry every stuck order that matches (merchant, reason, stuck for at least); durable, with a report',
      request: {
        body: {
          content: { 'application/json': { schema: z.object({ merchant: text(50).optional(), reason: z.enum(STUCK_REASONS).optional(), stuckFor: Duration.optional() }).strict() } },
          required: true,
        },
      },
      responses: {
        200: json(BulkRetryReportSchema, 'What was retried and what was refused, and why'),
        202: json(BulkRetryRunning, 'Still running after a few seconds; follow GET /api/ops/bulk-retries/{workflowId}'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      // The schema above has refused a bad reason or duration already.
      const filter = { ...bulkRetryFilter(body), requestedBy: opsRequester((name) => c.req.header(name)) };
      // Most runs finish in seconds; a long one goes on durably and is followed by its id.
      const bulk = await bulkRetries.start(filter, bulkRetrySummary(filter));
      return 'status' in bulk ? c.json(bulk, 202) : c.json(bulk, 200);
    },
  );

  app.openapi(
    createRoute({
      ...admin,
      method: 'get',
      path: '/bulk-retries/{workflowId}',
      summary: "A bulk retry's report, or that it is still running",
      request: { params: z.object({ workflowId: text(200).min(1) }) },
      responses: { 200: json(BulkRetryReportSchema, 'Done'), 202: json(BulkRetryRunning, 'Still running'), ...errorResponses },
    }),
    async (c) => {
      const { workflowId } = c.req.valid('param');
      const bulk = await bulkRetries.status(workflowId);
      if (!bulk) throw notFound(`no bulk retry ${workflowId}`);
      return 'status' in bulk ? c.json(bulk, 202) : c.json(bulk, 200);
    },
  );

  app.openapi(
    createRoute({
      ...admin,
      method: 'post',
      path: '/shipments/{id}/replay',
      summary: 'Re-run a stored ShipNotice through the same idempotent path (unmatched units are matched against the order as it is now)',
      request: { params: z.object({ id: z.string().regex(/^\d{1,15}$/) }) },
      responses: {
        200: json(
          z.object({
            id: z.string(),
            orderNumber: z.string(),
            replayed: z.literal(true),
            delivered: z.boolean().openapi({ description: 'false: stored, and forwarded to the order as soon as it can be (see the order\'s pendingFacts)' }),
          }),
          'Replayed',
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { orderNumber, delivered } = await replayShipment(services, Number(id));
      return c.json({ id, orderNumber, replayed: true as const, delivered }, 200);
    },
  );

  return app;
}
