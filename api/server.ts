/**
 * The API process: Hono on Node's HTTP server, started with `node dist/api.js` (built) or
 * `npm run api` (from source). On SIGTERM/SIGINT it stops accepting connections, answers /readyz
 * with 503, lets in-flight requests finish for up to SHUTDOWN_GRACE, then closes the database and
 * Temporal connections and exits.
 */
import { pathToFileURL } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/client';
import { openDatabase } from '../db/client';
import { SecretDigest } from '../db/secret-digest';
import { COMPOSE_DEFAULT_SECRET_DIGEST_KEY, ConfigError, loadConfigOrExit, resolveSecretDigestKey, type Config } from '../runtime/config';
import { createLogger, type Logger } from '../runtime/logger';
import { createOrderServices } from '../runtime/order-services';
import { connectClientLazily } from '../temporal/connection';
import { Hono } from 'hono';
import { createApp } from './app';
import { metricsHandler } from './routes/health';
import { ApiMetrics } from './metrics';

export interface ApiServer {
  server: ServerType;
  url: string;
  /** Where Prometheus scrapes: `${url}/metrics`, or the METRICS_PORT server's. */
  metricsUrl: string;
  /** Stops accepting, waits for in-flight requests up to `graceMs`, then cuts what is left. */
  stop(graceMs: number): Promise<{ forced: boolean }>;
}

/**
 * Starts the API. `secretDigest` defaults to the config's key (SECRET_DIGEST_KEY, or the key kept
 * beside embedded PGlite); without one on PostgreSQL that throws a ConfigError saying so.
 */
export function startApiServer(deps: { config: Config; db: Db; temporal: Client; logger: Logger; metrics?: ApiMetrics; secretDigest?: SecretDigest }): Promise<ApiServer> {
  const { config, db, temporal, logger } = deps;
  const secretDigest = deps.secretDigest ?? new SecretDigest(resolveSecretDigestKey(config));
  const metrics = deps.metrics ?? new ApiMetrics();
  // The relay runs in the API process, beside the handlers that store facts (docs/architecture.md).
  const orders = createOrderServices(db, temporal, {
    taskQueue: config.temporal.taskQueue,
    orders: config.orders,
    requestTimeoutMs: config.requestTimeoutMs,
    relay: { logger, observer: metrics.factObserver },
  });
  orders.relay.start();
  let stopping = false;
  const app = createApp({
    db,
    temporal,
    orders,
    adminToken: config.adminToken,
    maxBodyBytes: config.maxBodyBytes,
    secretDigest,
    authThrottle: config.authThrottle,
    trustProxyHops: config.trustProxyHops,
    shipstation: config.shipstation,
    console: config.console,
    webhooks: config.webhooks,
    temporalSettings: { taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace, uiUrl: config.temporal.uiUrl },
    logger,
    metrics,
    stopping: () => stopping,
    metricsRoute: config.metricsPort === 0,
  });
  const metricsServer = config.metricsPort ? serveMetrics(metrics, config.metricsPort, config.host) : null;
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
      // Node closes an idle keep-alive connection after 5 s by default, racing any client or load
      // balancer that reuses it at that moment (the request then fails with a reset). Idle for
      // longer than the usual load-balancer timeout (60 s) instead; shutdown still closes idle ones at once.
      if ('keepAliveTimeout' in server) {
        server.keepAliveTimeout = 65_000;
        server.headersTimeout = 66_000;
      }
      const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
      const url = `http://${host}:${info.port}`;
      resolve({
        server,
        url,
        metricsUrl: metricsServer ? `http://${host}:${config.metricsPort}/metrics` : `${url}/metrics`,
        stop: async (graceMs) => {
          stopping = true;
          const [closed] = await Promise.all([closeServer(server, graceMs), metricsServer ? closeServer(metricsServer, graceMs) : null]);
          // After the last request: facts stored by in-flight calls were kicked; whatever is left, another process sweeps up.
          await orders.relay.stop();
          return closed;
        },
      });
    });
  });
}

/** /metrics alone, on a port of its own (METRICS_PORT): scrapers reach it, the public never does. */
function serveMetrics(metrics: ApiMetrics, port: number, hostname: string): ServerType {
  const app = new Hono();
  app.get('/metrics', metricsHandler(metrics));
  return serve({ fetch: app.fetch, port, hostname });
}

/**
 * `server.close()` stops accepting and resolves once every connection has ended; Node closes idle
 * keep-alive connections at once and busy ones after their response. Past the grace time, whatever
 * is still open is cut so a hung client cannot hold the process.
 */
export function closeServer(server: ServerType, graceMs = 10_000): Promise<{ forced: boolean }> {
  return new Promise((resolve) => {
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      if ('closeAllConnections' in server) server.closeAllConnections();
    }, graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve({ forced });
    });
  });
}

async function main() {
  const config = loadConfigOrExit();
  // Before connecting anywhere: a missing key is a configuration error, told as such.
  let secretDigest: SecretDigest;
  try {
    secretDigest = new SecretDigest(resolveSecretDigestKey(config));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`configuration error: ${error.message}`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, 'api');
  if (config.secretDigestKey === COMPOSE_DEFAULT_SECRET_DIGEST_KEY) {
    logger.warn('SECRET_DIGEST_KEY is the public default of docker-compose.yml: set your own (openssl rand -hex 32) before real use; changing it later invalidates stored API keys and passwords');
  }
  const database = await openDatabase(config.database);
  // Connected on first use and reconnected as needed: the API serves ShipStation and order reads
  // while Temporal is unreachable (docs/architecture.md).
  const temporal = connectClientLazily(config.temporal);
  const api = await startApiServer({ config, db: database.db, temporal, logger, metrics: new ApiMetrics({ processMetrics: true }), secretDigest });
  logger.info({ url: api.url, metrics: api.metricsUrl }, 'API listening');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return; // a second signal while draining changes nothing; the grace time still bounds it
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'stopping API: no new connections, finishing in-flight requests');
    const { forced } = await api.stop(config.shutdownGraceMs);
    if (forced) logger.warn('requests still running after SHUTDOWN_GRACE were cut off');
    await temporal.connection.close();
    await database.close();
    logger.info('API stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(`API failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
