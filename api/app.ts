/**
 * The Hono application: health checks, the admin API, the merchant order API and the OpenAPI
 * document, with one error handler for all of them.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Client } from '@temporalio/client';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { requestId } from 'hono/request-id';
import { matchedRoutes } from 'hono/route';
import { pingDatabase, type Db } from '../db/client';
import type { SecretDigest } from '../db/secret-digest';
import type { Config } from '../runtime/config';
import { runWithLogContext } from '../runtime/log-context';
import type { Logger } from '../runtime/logger';
import { requireAdmin, type AuthDeps, type MerchantEnv } from './auth';
import { CredentialThrottle, DEFAULT_THROTTLE, type ThrottleSettings } from './credential-throttle';
import { ApiError, errorResponse, type FieldProblem } from './errors';
import { bodyLimitOutsideShipStation, securityHeaders, SHIPSTATION_PATH } from './hardening';
import { ApiMetrics } from './metrics';
import type { OrderGateway } from '../temporal/order-gateway';
import { factBacklog } from '../db/order-facts';
import type { FactRelay } from '../runtime/fact-relay';
import { adminRoutes } from './routes/admin';
import { json } from './routes/common';
import { connectionRoutes } from './routes/connections';
import { merchantSettingsRoutes } from './routes/merchant-settings';
import { opsRoutes } from './routes/ops';
import { orderRoutes } from './routes/orders';
import { shipmentRoutes } from './routes/shipments';
import { shipstationRoutes } from './shipstation/routes';

export interface AppDeps {
  db: Db;
  temporal: Client;
  gateway: OrderGateway;
  /** Forwards stored facts to their orders; started and stopped by whoever owns the process. */
  relay: FactRelay;
  adminToken: string | null;
  /** One limit for every request body (the ShipStation endpoint has its own, in `shipstation`). */
  maxBodyBytes: number;
  /** Stores and checks API keys and connection passwords as keyed digests (SECRET_DIGEST_KEY). */
  secretDigest: SecretDigest;
  /** AUTH_FAILURE_LIMIT / AUTH_FAILURE_WINDOW; default DEFAULT_THROTTLE. */
  authThrottle?: ThrottleSettings;
  /** TRUST_PROXY_HOPS: proxies whose X-Forwarded-For entries name the client; default 0 (the socket). */
  trustProxyHops?: number;
  shipstation: Config['shipstation'];
  /** Where the order workflows run and where people look at them (ops API). */
  temporalSettings: { taskQueue: string; namespace: string; uiUrl: string };
  logger: Logger;
  /** Shared with the server so /metrics shows process metrics; each app gets its own otherwise. */
  metrics?: ApiMetrics;
  /** True once the server is stopping: /readyz then answers 503 so load balancers move on. */
  stopping?: () => boolean;
}

/**
 * The route pattern that answered (`/api/orders/:orderNumber`), for metric labels: the last matched
 * route that is not a middleware wildcard. Unknown paths share one label so scanners cannot blow up
 * the metrics' cardinality.
 */
function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    if (!routes[i]!.path.endsWith('*')) return routes[i]!.path;
  }
  return '(unmatched)';
}

/** zod problems become `400 {error, message, details: [{path, message}]}`. */
function validationHook(result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }, c: Context) {
  if (result.success || !result.error) return;
  const details: FieldProblem[] = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }));
  const first = details[0]!;
  const message = `${first.path}: ${first.message}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}`;
  return c.json({ error: 'invalid_request', message, details }, 400);
}

const requireJsonBody = createMiddleware(async (c, next) => {
  if (['POST', 'PUT', 'PATCH'].includes(c.req.method)) {
    const type = c.req.header('Content-Type');
    const length = c.req.header('Content-Length');
    const hasBody = type !== undefined || (length !== undefined && length !== '0') || c.req.header('Transfer-Encoding') !== undefined;
    if (hasBody && !/^application\/(?:[\w.+-]+\+)?json\s*(;|$)/i.test(type ?? '')) {
      throw new ApiError(415, 'unsupported_media_type', 'send the body as JSON with "Content-Type: application/json"');
    }
  }
  await next();
});

export function createApp(deps: AppDeps) {
  const { db, temporal, gateway, relay, logger } = deps;
  const metrics = deps.metrics ?? new ApiMetrics();
  metrics.watchFactBacklog(() => factBacklog(db));
  const app = new OpenAPIHono({ defaultHook: validationHook });
  const throttle = new CredentialThrottle({ db, settings: deps.authThrottle ?? DEFAULT_THROTTLE, trustProxyHops: deps.trustProxyHops ?? 0, logger, metrics });
  const auth: AuthDeps = { db, secretDigest: deps.secretDigest, throttle, adminToken: deps.adminToken };

  app.use('*', requestId());
  // Every log line written while serving the request carries its id (and what handlers add to it).
  app.use('*', (c, next) =>
    runWithLogContext({ requestId: c.get('requestId') }, async () => {
      const started = performance.now();
      await next();
      const seconds = (performance.now() - started) / 1000;
      const route = routeLabel(c);
      metrics.request(c.req.method, route, c.res.status, seconds);
      logger.info({ method: c.req.method, path: c.req.path, route, status: c.res.status, ms: Math.round(seconds * 1000) }, 'request');
    }),
  );
  app.use('*', securityHeaders());
  app.use('*', bodyLimitOutsideShipStation(deps.maxBodyBytes));
  app.use('/api/*', requireJsonBody);

  app.openapi(
    createRoute({ method: 'get', path: '/healthz', tags: ['health'], summary: 'The process is alive', responses: { 200: json(z.object({ status: z.literal('ok') }), 'Alive') } }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['health'],
      summary: 'Ready while the database is reachable; Temporal\'s state is reported, not required',
      description:
        'ShipStation\'s calls and order reads need only the database (facts are stored and forwarded to Temporal once it answers), so an API process stays in rotation while Temporal is down; `temporal` says whether it answers now.',
      responses: {
        200: json(z.object({ status: z.string(), database: z.string(), temporal: z.string() }), 'Ready'),
        503: json(z.object({ status: z.string(), database: z.string(), temporal: z.string() }), 'Not ready'),
      },
    }),
    async (c) => {
      const check = async (probe: () => Promise<unknown>, ms: number) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([probe(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ms)))]);
          return 'ok';
        } catch {
          return 'unreachable';
        } finally {
          clearTimeout(timer);
        }
      };
      const [database, temporalStatus] = await Promise.all([
        check(() => pingDatabase(db), 3000),
        check(() => temporal.connection.withDeadline(Date.now() + 1000, () => temporal.workflowService.getSystemInfo({})), 1000),
      ]);
      const stopping = deps.stopping?.() ?? false;
      const ready = database === 'ok' && !stopping;
      return c.json({ status: stopping ? 'stopping' : ready ? 'ready' : 'not_ready', database, temporal: temporalStatus }, ready ? 200 : 503);
    },
  );
  // Prometheus text format; not in the OpenAPI document (it is for scrapers, not API clients).
  app.get('/metrics', async (c) => c.body(await metrics.render(), 200, { 'Content-Type': metrics.contentType }));

  const admin = adminRoutes(db, auth, new OpenAPIHono({ defaultHook: validationHook }));
  connectionRoutes(db, deps.secretDigest, deps.shipstation.publicBaseUrl, admin);
  merchantSettingsRoutes(db, admin);
  app.route('/api/admin', admin);
  const ops = new OpenAPIHono({ defaultHook: validationHook });
  ops.use('*', requireAdmin(auth));
  app.route(
    '/api/ops',
    opsRoutes(
      { db, gateway, relay, temporal, taskQueue: deps.temporalSettings.taskQueue, namespace: deps.temporalSettings.namespace, temporalUiUrl: deps.temporalSettings.uiUrl },
      ops,
    ),
  );
  app.route(SHIPSTATION_PATH, shipstationRoutes({ db, relay, settings: deps.shipstation, logger, metrics, secretDigest: deps.secretDigest, throttle }));
  app.route('/api/orders', orderRoutes(db, gateway, auth, new OpenAPIHono<MerchantEnv>({ defaultHook: validationHook })));
  app.route('/api/shipments', shipmentRoutes(db, relay, metrics, auth, new OpenAPIHono<MerchantEnv>({ defaultHook: validationHook })));

  app.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'merchantKey', { type: 'http', scheme: 'bearer', description: 'A merchant API key' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'ShipStation WMS connector', version: '0.1.0', description: 'Order API, admin API and health checks.' },
  });

  app.notFound((c) => c.json({ error: 'not_found', message: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => errorResponse(error, c, (e) => logger.error({ err: e, path: c.req.path }, 'unhandled error')));
  return app;
}
