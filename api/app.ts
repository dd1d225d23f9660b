/**
 * The Hono application: the middleware every request passes, the route sub-apps (api/routes/,
 * api/shipstation/) mounted with `app.route`, the OpenAPI document and one error handler for all.
 */
import type { Client } from '@temporalio/client';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { requestId } from 'hono/request-id';
import { matchedRoutes } from 'hono/route';
import type { Db } from '../db/client';
import { factBacklog } from '../db/order-facts';
import type { SecretDigest } from '../db/secret-digest';
import { DEFAULT_WEBHOOK_SETTINGS, type Config, type WebhookSettings } from '../runtime/config';
import type { OrderServices } from '../runtime/order-services';
import { runWithLogContext } from '../runtime/log-context';
import type { Logger } from '../runtime/logger';
import { CredentialThrottle, DEFAULT_THROTTLE, type ThrottleSettings } from './credential-throttle';
import { consoleRoutes, DEFAULT_CONSOLE_SETTINGS, type ConsoleSettings } from './console/routes';
import { CONSOLE_PATH } from './console/guard';
import { ApiError, errorResponse } from './errors';
import { bodyLimitOutsideShipStation, securityHeaders, SHIPSTATION_PATH } from './hardening';
import { ApiMetrics } from './metrics';
import { adminRoutes } from './routes/admin';
import { newRouter } from './routes/common';
import { connectionRoutes } from './routes/connections';
import { healthRoutes } from './routes/health';
import { merchantSettingsRoutes } from './routes/merchant-settings';
import { opsRoutes } from './routes/ops';
import { opsFactRoutes } from './routes/ops-facts';
import { orderRoutes } from './routes/orders';
import { shipmentRoutes } from './routes/shipments';
import type { RouteServices, TemporalSettings } from './services';
import { shipstationRoutes } from './shipstation/routes';

export interface AppDeps {
  db: Db;
  /** Only for /readyz's ping; everything else reaches Temporal through `orders`. */
  temporal: Client;
  /** The relay (started and stopped by whoever owns the process), the gateway and bulk retries. */
  orders: OrderServices;
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
  /** CONSOLE_SESSION_TTL / SHIPSTATION_POLL_WARNING; default DEFAULT_CONSOLE_SETTINGS. */
  console?: ConsoleSettings;
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS / WEBHOOK_SECRET_GRACE; default DEFAULT_WEBHOOK_SETTINGS (public https only). */
  webhooks?: WebhookSettings;
  temporalSettings: TemporalSettings;
  logger: Logger;
  /** Shared with the server so /metrics shows process metrics; each app gets its own otherwise. */
  metrics?: ApiMetrics;
  /** True once the server is stopping: /readyz then answers 503 so load balancers move on. */
  stopping?: () => boolean;
  /** False when /metrics is served on a port of its own (METRICS_PORT): the API's port then has none. */
  metricsRoute?: boolean;
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

/** The services every route sub-app is given, built once per app. */
function routeServices(deps: AppDeps): RouteServices {
  const { db, logger } = deps;
  const metrics = deps.metrics ?? new ApiMetrics();
  metrics.watchFactBacklog(() => factBacklog(db));
  const throttle = new CredentialThrottle({ db, settings: deps.authThrottle ?? DEFAULT_THROTTLE, trustProxyHops: deps.trustProxyHops ?? 0, logger, metrics });
  return {
    db,
    secretDigest: deps.secretDigest,
    throttle,
    adminToken: deps.adminToken,
    gateway: deps.orders.gateway,
    relay: deps.orders.relay,
    bulkRetries: deps.orders.bulkRetries,
    temporal: deps.temporal,
    temporalSettings: deps.temporalSettings,
    shipstation: deps.shipstation,
    console: deps.console ?? DEFAULT_CONSOLE_SETTINGS,
    webhooks: deps.webhooks ?? DEFAULT_WEBHOOK_SETTINGS,
    metrics,
    logger,
    stopping: deps.stopping ?? (() => false),
    metricsRoute: deps.metricsRoute ?? true,
  };
}

export function createApp(deps: AppDeps) {
  const services = routeServices(deps);
  const { metrics, logger } = services;
  const app = newRouter();

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

  // Mounted in this order so the OpenAPI document lists paths as it always has.
  app.route('/', healthRoutes(services));
  app.route('/api/admin', adminRoutes(services));
  app.route('/api/admin', connectionRoutes(services));
  app.route('/api/admin', merchantSettingsRoutes(services));
  app.route('/api/ops', opsRoutes(services));
  app.route('/api/ops', opsFactRoutes(services));
  app.route(SHIPSTATION_PATH, shipstationRoutes(services));
  app.route('/api/orders', orderRoutes(services));
  app.route('/api/shipments', shipmentRoutes(services));
  // The ops console (HTML); not part of the OpenAPI document.
  app.route(CONSOLE_PATH, consoleRoutes(services));

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
