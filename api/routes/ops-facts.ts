/**
 * Ops API (admin token) for facts that have not reached their order: list them, deliver one now
 * (with its order's older facts first), or give up on one with a reason. The CLI's
 * `npm run ops -- facts ...` uses it.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { listFacts } from '../../db/order-facts';
import { requireAdmin } from '../auth';
import { discardPendingFact, retryFact } from '../ops-actions';
import { text } from '../order-payload';
import { factView, FactViewSchema } from '../order-view';
import type { RouteServices } from '../services';
import { errorResponses, json, newRouter } from './common';

const admin = { tags: ['ops'], security: [{ adminToken: [] }] };
const FactParams = z.object({ id: z.string().regex(/^\d{1,15}$/, { message: 'a fact id' }) });
const OpsFactSchema = FactViewSchema.extend({ merchantId: z.string(), orderNumber: z.string() });

export function opsFactRoutes(services: RouteServices) {
  const { db } = services;
  const app = newRouter();
  app.use('*', requireAdmin(services));

  app.openapi(
    createRoute({
      ...admin,
      method: 'get',
      path: '/facts',
      summary: 'Facts reported for orders, newest first: by default those still waiting to reach their order',
      request: {
        query: z.object({
          state: z.enum(['pending', 'delivered', 'not_needed', 'discarded']).default('pending'),
          merchant: text(50).optional(),
          before: z.string().regex(/^\d{1,15}$/).optional().openapi({ description: 'The last id of the previous page' }),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      },
      responses: { 200: json(z.object({ facts: z.array(OpsFactSchema) }), 'Facts'), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const rows = await listFacts(db, { state: q.state, ...(q.merchant ? { merchantId: q.merchant } : {}), ...(q.before ? { before: Number(q.before) } : {}), limit: q.limit });
      return c.json({ facts: rows.map((r) => ({ ...factView(r.fact), merchantId: r.merchantId, orderNumber: r.orderNumber })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...admin,
      method: 'post',
      path: '/facts/{id}/retry',
      summary: "Deliver a pending fact now (with its order's older pending facts first), whatever its backoff",
      request: { params: FactParams },
      responses: { 200: json(z.object({ delivered: z.boolean(), fact: FactViewSchema }), 'Tried; the fact as it now is'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { delivered, fact } = await retryFact(services, Number(id));
      return c.json({ delivered, fact: factView(fact) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...admin,
      method: 'post',
      path: '/facts/{id}/discard',
      summary: 'Give up on a pending fact that cannot be delivered (the reason is kept); later facts of its order go ahead',
      request: {
        params: FactParams,
        body: { content: { 'application/json': { schema: z.object({ reason: text(500).min(1) }).strict() } }, required: true },
      },
      responses: { 200: json(FactViewSchema, 'Discarded'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { reason } = c.req.valid('json');
      return c.json(factView(await discardPendingFact(services, Number(id), reason)), 200);
    },
  );

  return app;
}
