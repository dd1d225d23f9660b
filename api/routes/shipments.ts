/**
 * Shipment Confirmation Pickup - Detailed: the order source reads its confirmations in a stable
 * cursor order and acks each one; an ack confirms the order once everything is delivered.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { findShipmentToAck, listConfirmations } from '../../db/confirmations';
import { recordFacts } from '../../db/order-facts';
import { requireMerchant, type MerchantEnv } from '../auth';
import { badRequest, notFound } from '../errors';
import type { RouteServices } from '../services';
import { errorResponses, json, newRouter } from './common';

export const ConfirmationSchema = z
  .object({
    id: z.string(),
    orderNumber: z.string(),
    orderId: z.string(),
    source: z.string().nullable(),
    shipmentKey: z.string(),
    carrier: z.string(),
    service: z.string().nullable(),
    trackingNumber: z.string().nullable(),
    shipDate: z.string().nullable(),
    labelCreatedAt: z.string().nullable(),
    shippingCost: z.string().nullable(),
    lines: z.array(z.object({ lineId: z.string(), sku: z.string(), name: z.string(), quantity: z.number() })),
    orderFullyShipped: z.boolean(),
    recordedAt: z.string(),
    acked: z.boolean(),
  })
  .openapi('ShipmentConfirmation');

const secured = { security: [{ merchantKey: [] }], tags: ['shipments'] };
const Cursor = z.string().regex(/^\d{1,15}$/, { message: 'a cursor this API returned' });

export function shipmentRoutes(services: RouteServices) {
  const { db, relay, metrics } = services;
  const app = newRouter<MerchantEnv>();
  app.use('*', requireMerchant(services));

  app.openapi(
    createRoute({
      ...secured,
      method: 'get',
      path: '/',
      summary: 'Detailed shipment confirmations after a cursor (never skips or repeats)',
      request: {
        query: z.object({
          after: Cursor.optional().openapi({ description: 'nextCursor of the previous call; omit to start at the beginning' }),
          limit: z.coerce.number().int().min(1).max(500).default(100),
          acked: z.enum(['true', 'false']).optional().openapi({ description: 'false = only confirmations not acked yet' }),
        }),
      },
      responses: { 200: json(z.object({ shipments: z.array(ConfirmationSchema), nextCursor: z.string() }), 'A page of confirmations'), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      if (q.acked === 'true') throw badRequest('acked=true is not a filter; omit acked for every confirmation', [{ path: 'acked', message: 'use false or omit it' }]);
      const after = q.after ? Number(q.after) : 0;
      const shipments = await listConfirmations(db, c.get('merchant').id, { after, limit: q.limit, unackedOnly: q.acked === 'false' });
      const last = shipments[shipments.length - 1];
      return c.json({ shipments, nextCursor: last ? last.id : String(after) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...secured,
      method: 'post',
      path: '/{id}/ack',
      summary: 'Mark one confirmation delivered (idempotent)',
      request: { params: z.object({ id: Cursor }) },
      responses: { 200: json(z.object({ id: z.string(), acked: z.literal(true) }), 'Acked'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const merchantId = c.get('merchant').id;
      const confirmation = await findShipmentToAck(db, merchantId, Number(id));
      if (!confirmation) throw notFound(`no shipment ${id}`);
      if (!confirmation.acked) {
        // Durable once stored (a repeated ack is stored once); the relay forwards it to the order.
        const stored = await recordFacts(db, [{ orderId: confirmation.orderId, fact: { kind: 'confirmationDelivered', shipmentKey: confirmation.shipmentKey }, via: 'pickup ack' }]);
        relay.kick();
        if (stored) metrics.confirmationAcked();
      }
      return c.json({ id, acked: true as const }, 200);
    },
  );
  return app;
}
