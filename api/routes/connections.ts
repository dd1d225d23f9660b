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
import type { Db } from '../../db/client';
import type { SecretDigest } from '../../db/secret-digest';
import type { ConnectionRow } from '../../db/schema';
import { formatShipStationDate } from '../../domain/dates';
import { shipStationStatusFields } from '../../domain/order';
import { requireAdmin } from '../auth';
import { badRequest, conflict, notFound } from '../errors';
import { text } from '../order-payload';
import type { RouteServices } from '../services';
import { errorResponses, json, newRouter } from './common';

/*
 * What the admin API, the ops console and the CLI share about connections: the rules live here once.
 */

/** The URL ShipStation is given ("URL to custom XML page"). */
export const shipStationEndpoint = (services: Pick<RouteServices, 'shipstation'>) => `${services.shipstation.publicBaseUrl}/shipstation`;

/** Where in ShipStation the setup sheet's values go. */
export const SHIPSTATION_SETUP_MENU = 'Settings > Selling Channels > Store Setup > Connect a Store > Custom Store';

/**
 * ShipStation's Custom Store form, field by field in its order, as the setup sheet fills it in. The
 * password is null when it is not being shown (only its digest is stored).
 */
export function setupSheetFields(c: { url: string; username: string; password: string | null }): { label: string; value: string | null }[] {
  const mapping = shipStationStatusFields();
  return [
    { label: 'URL to custom XML page', value: c.url },
    { label: 'Username', value: c.username },
    { label: 'Password', value: c.password },
    { label: 'Unpaid Status', value: mapping.unpaid },
    { label: 'Paid Status', value: mapping.paid },
    { label: 'Shipped Status', value: mapping.shipped },
    { label: 'Cancelled Status', value: mapping.cancelled },
    { label: 'On-Hold Status', value: mapping.on_hold },
  ];
}

/** An order source a connection may be limited to. */
export const ConnectionSource = text(50).min(1);
/** Why a connection is disabled: ShipStation shows it to the merchant. */
export const DisableReason = text(500).min(1);

export async function existingConnection(db: Db, username: string): Promise<ConnectionRow> {
  const connection = await findConnection(db, username);
  if (!connection) throw notFound(`no connection ${username}`);
  return connection;
}

/** A new connection and its password (shown once); an unknown merchant is 404, an overlapping scope 409. */
export async function openConnection(db: Db, digest: SecretDigest, merchantId: string, source: string | null) {
  try {
    return await createConnection(db, digest, merchantId, source);
  } catch (error) {
    if (error instanceof UnknownMerchantError) throw notFound(error.message);
    if (error instanceof ScopeConflictError) throw conflict(error.message);
    throw error;
  }
}

/** A new password (shown once); the old one stops working at once. */
export async function rotatePassword(db: Db, digest: SecretDigest, username: string): Promise<{ connection: ConnectionRow; password: string }> {
  const password = await rotateConnectionPassword(db, digest, username);
  if (password === null) throw notFound(`no connection ${username}`);
  return { connection: await existingConnection(db, username), password };
}

/** Disables (with the reason ShipStation will show) or, with null, enables again. */
export async function switchConnection(db: Db, username: string, reason: string | null): Promise<ConnectionRow> {
  const row = await setConnectionDisabled(db, username, reason);
  if (!row) throw notFound(`no connection ${username}`);
  return row;
}

/** How far back a test export looks, as `connections test` does by default. */
export const TEST_EXPORT_DAYS = 30;

/** The query ShipStation sends for page 1 of the last `days` days: what testing a connection asks. */
export function testExportQuery(days = TEST_EXPORT_DAYS, now = new Date()): URLSearchParams {
  return new URLSearchParams({
    action: 'export',
    start_date: formatShipStationDate(new Date(now.getTime() - days * 86_400_000)),
    end_date: formatShipStationDate(now),
    page: '1',
  });
}

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
  .object({ source: ConnectionSource.optional().openapi({ description: 'Only orders of this source; omit for the whole account' }) })
  .strict();

const admin = { tags: ['connections'], security: [{ adminToken: [] }] };

export function connectionRoutes(services: RouteServices) {
  const { db, secretDigest } = services;
  const app = newRouter();
  app.use('*', requireAdmin(services));
  const endpointUrl = shipStationEndpoint(services);
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
  const existing = (username: string) => existingConnection(db, username);

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
      const { connection, password } = await openConnection(db, secretDigest, id, parsed.data.source ?? null);
      return c.json({ ...view(connection), password, statusMapping: shipStationStatusFields() }, 201);
    },
  );

  app.openapi(
    createRoute({ ...admin, method: 'get', path: '/merchants/{id}/connections', summary: "A merchant's connections, with last export and shipnotify times", request: { params: MerchantParam }, responses: { 200: json(z.object({ connections: z.array(ConnectionSchema) }), 'Connections'), ...errorResponses } }),
    async (c) => c.json({ connections: (await listConnections(db, c.req.valid('param').id)).map(view) }, 200),
  );

  app.openapi(
    createRoute({ ...admin, method: 'post', path: '/connections/{username}/rotate-password', summary: 'New password (shown once); the old one stops working', request: { params: ConnectionParams }, responses: { 200: json(ConnectionSchema.extend({ password: z.string() }), 'New password'), ...errorResponses } }),
    async (c) => {
      const { connection, password } = await rotatePassword(db, secretDigest, c.req.valid('param').username);
      return c.json({ ...view(connection), password }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...admin,
      method: 'post',
      path: '/connections/{username}/disable',
      summary: 'Disable: ShipStation gets 403 with the reason',
      request: { params: ConnectionParams, body: { content: { 'application/json': { schema: z.object({ reason: DisableReason }).strict() } }, required: true } },
      responses: { 200: json(ConnectionSchema, 'Disabled'), ...errorResponses },
    }),
    async (c) => {
      return c.json(view(await switchConnection(db, c.req.valid('param').username, c.req.valid('json').reason)), 200);
    },
  );

  app.openapi(
    createRoute({ ...admin, method: 'post', path: '/connections/{username}/enable', summary: 'Enable again', request: { params: ConnectionParams }, responses: { 200: json(ConnectionSchema, 'Enabled'), ...errorResponses } }),
    async (c) => {
      return c.json(view(await switchConnection(db, c.req.valid('param').username, null)), 200);
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
      request: {
        params: ConnectionParams,
        query: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          action: text(50).min(1).optional().openapi({ description: 'Only this action: export, export-dry-run, shipnotify' }),
          status: z.enum(['ok', 'error']).optional().openapi({ description: 'ok: answered 2xx; error: answered 4xx or 5xx' }),
        }),
      },
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
      const { limit, action, status } = c.req.valid('query');
      const rows = await readConnectionLog(db, connection.id, limit, { action, status });
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
