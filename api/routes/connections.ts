/** Admin API for ShipStation connections: create, list, rotate, disable/enable, delete, request log. */
import { createRoute, z } from '@hono/zod-openapi';
import {
  createConnection,
  deleteConnection,
  findConnection,
  listConnections,
  rotateConnectionPassword,
  ScopeConflictError,
  setConnectionDisabled,
  UnknownMerchantError,
} from '../../db/connections';
import { readConnectionLog } from '../../db/request-log';
import { toIso } from '../../db/orders';
import type { ConnectionRow } from '../../db/schema';
import { shipStationStatusFields } from '../../domain/order';
import { requireAdmin } from '../auth';
import { badRequest, conflict, notFound } from '../errors';
import { text } from '../order-payload';
import type { RouteServices } from '../services';
import { errorResponses, json, newRouter } from './common';

const MerchantParam = z.object({ id: text(50).min(1).openapi({ example: 'acme' }) });
const ConnectionParams = z.object({ username: text(100).min(1).openapi({ example: 'ss-acme-1a2b3c4d' }) });

const StatusMapping = z
  .object({ unpaid: z.string(), paid: z.string(), shipped: z.string(), cancelled: z.string(), on_hold: z.string() })
  .openapi('ShipStationStatusMapping', { description: "The five strings to paste into ShipStation's status fields" });

const ConnectionSchema = z
  .object({
    username: z.string(),
    merchantId: z.string(),
    source: z.string().nullable().openapi({ description: 'null = the whole account' }),
    url: z.string(),
    disabled: z.object({ at: z.string(), reason: z.string().nullable() }).nullable(),
    lastExportAt: z.string().nullable(),
    lastShipnotifyAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Connection');

const NewCredentials = ConnectionSchema.extend({
  password: z.string().openapi({ description: 'Shown once; paste it into ShipStation now' }),
  statusMapping: StatusMapping,
}).openapi('ConnectionCredentials');

const NewConnectionBody = z
  .object({ source: text(50).min(1).optional().openapi({ description: 'Only orders of this source; omit for the whole account' }) })
  .strict();

const admin = { tags: ['connections'], security: [{ adminToken: [] }] };

export function connectionRoutes(services: RouteServices) {
  const { db, secretDigest } = services;
  const app = newRouter();
  app.use('*', requireAdmin(services));
  const endpointUrl = `${services.shipstation.publicBaseUrl}/shipstation`;
  const view = (c: ConnectionRow) => ({
    username: c.username,
    merchantId: c.merchantId,
    source: c.source,
    url: endpointUrl,
    disabled: c.disabledAt ? { at: toIso(c.disabledAt), reason: c.disabledReason } : null,
    lastExportAt: c.lastExportAt ? toIso(c.lastExportAt) : null,
    lastShipnotifyAt: c.lastShipnotifyAt ? toIso(c.lastShipnotifyAt) : null,
    createdAt: toIso(c.createdAt),
  });
  const existing = async (username: string) => {
    const connection = await findConnection(db, username);
    if (!connection) throw notFound(`no connection ${username}`);
    return connection;
  };

  app.openapi(
    createRoute({
      ...admin,
      method: 'post',
      path: '/merchants/{id}/connections',
      summary: 'Create a ShipStation connection for the whole account or one order source',
      request: {
        params: MerchantParam,
        body: { content: { 'application/json': { schema: NewConnectionBody } }, required: false },
      },
      responses: { 201: json(NewCredentials, 'Created: URL, username, password (once) and status strings'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      // The body is optional (no body = the whole account), so it is read and checked here.
      const raw = await c.req.text();
      let body: unknown = {};
      try {
        body = raw.trim() ? JSON.parse(raw) : {};
      } catch {
        throw badRequest('the body is not valid JSON');
      }
      const parsed = NewConnectionBody.safeParse(body);
      if (!parsed.success) throw invalidSource(parsed.error);
      try {
        const { connection, password } = await createConnection(db, secretDigest, id, parsed.data.source ?? null);
        return c.json({ ...view(connection), password, statusMapping: shipStationStatusFields() }, 201);
      } catch (error) {
        if (error instanceof UnknownMerchantError) throw notFound(error.message);
        if (error instanceof ScopeConflictError) throw conflict(error.message);
        throw error;
      }
    },
  );

  app.openapi(
    createRoute({ ...admin, method: 'get', path: '/merchants/{id}/connections', summary: "A merchant's connections, with last export and shipnotify times", request: { params: MerchantParam }, responses: { 200: json(z.object({ connections: z.array(ConnectionSchema) }), 'Connections'), ...errorResponses } }),
    async (c) => c.json({ connections: (await listConnections(db, c.req.valid('param').id)).map(view) }, 200),
  );

  app.openapi(
    createRoute({ ...admin, method: 'post', path: '/connections/{username}/rotate-password', summary: 'New password (shown once); the old one stops working', request: { params: ConnectionParams }, responses: { 200: json(ConnectionSchema.extend({ password: z.string() }), 'New password'), ...errorResponses } }),
    async (c) => {
      const { username } = c.req.valid('param');
      await existing(username);
      const password = (await rotateConnectionPassword(db, secretDigest, username))!;
      return c.json({ ...view((await findConnection(db, username))!), password }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...admin,
      method: 'post',
      path: '/connections/{username}/disable',
      summary: 'Disable: ShipStation gets 403 with the reason',
      request: { params: ConnectionParams, body: { content: { 'application/json': { schema: z.object({ reason: text(500).min(1) }).strict() } }, required: true } },
      responses: { 200: json(ConnectionSchema, 'Disabled'), ...errorResponses },
    }),
    async (c) => {
      const { username } = c.req.valid('param');
      await existing(username);
      return c.json(view((await setConnectionDisabled(db, username, c.req.valid('json').reason))!), 200);
    },
  );

  app.openapi(
    createRoute({ ...admin, method: 'post', path: '/connections/{username}/enable', summary: 'Enable again', request: { params: ConnectionParams }, responses: { 200: json(ConnectionSchema, 'Enabled'), ...errorResponses } }),
    async (c) => {
      const { username } = c.req.valid('param');
      await existing(username);
      return c.json(view((await setConnectionDisabled(db, username, null))!), 200);
    },
  );

  app.openapi(
    createRoute({ ...admin, method: 'delete', path: '/connections/{username}', summary: 'Delete (frees its scope for a new connection)', request: { params: ConnectionParams }, responses: { 200: json(z.object({ deleted: z.literal(true) }), 'Deleted'), ...errorResponses } }),
    async (c) => {
      const { username } = c.req.valid('param');
      await existing(username);
      await deleteConnection(db, username);
      return c.json({ deleted: true as const }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...admin,
      method: 'get',
      path: '/connections/{username}/log',
      summary: 'The connection request log, newest first',
      request: { params: ConnectionParams, query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }) },
      responses: {
        200: json(
          z.object({
            connection: ConnectionSchema,
            requests: z.array(
              z.object({
                at: z.string(),
                action: z.string(),
                windowStart: z.string().nullable(),
                windowEnd: z.string().nullable(),
                page: z.number().nullable(),
                orderNumber: z.string().nullable(),
                status: z.number(),
                durationMs: z.number(),
                error: z.string().nullable(),
                detail: z.record(z.string(), z.unknown()).nullable(),
              }),
            ),
          }),
          'Log',
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { username } = c.req.valid('param');
      const connection = await existing(username);
      const rows = await readConnectionLog(db, connection.id, c.req.valid('query').limit);
      return c.json(
        {
          connection: view(connection),
          requests: rows.map((r) => ({
            at: toIso(r.at),
            action: r.action,
            windowStart: r.windowStart ? toIso(r.windowStart) : null,
            windowEnd: r.windowEnd ? toIso(r.windowEnd) : null,
            page: r.page,
            orderNumber: r.orderNumber,
            status: r.status,
            durationMs: r.durationMs,
            error: r.error,
            detail: r.detail,
          })),
        },
        200,
      );
    },
  );
  return app;
}

function invalidSource(error: z.ZodError) {
  return badRequest(`source: ${error.issues[0]?.message ?? 'invalid'}`, error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })));
}
