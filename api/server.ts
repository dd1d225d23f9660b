/**
 * The API process (`npm run api`): Hono on Node's HTTP server. Stops accepting connections on
 * SIGINT/SIGTERM, lets in-flight requests finish, then closes the database and Temporal connections.
 */
import { pathToFileURL } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/client';
import { openDatabase } from '../db/client';
import { loadConfigOrExit, type Config } from '../runtime/config';
import { createLogger, type Logger } from '../runtime/logger';
import { connectClient } from '../runtime/temporal';
import { createApp } from './app';
import { OrderGateway } from './order-gateway';

export function startApiServer(deps: { config: Config; db: Db; temporal: Client; logger: Logger }): Promise<{ server: ServerType; url: string }> {
  const { config, db, temporal, logger } = deps;
  const gateway = new OrderGateway(temporal, {
    taskQueue: config.temporal.taskQueue,
    requestTimeoutMs: config.requestTimeoutMs,
    orders: config.orders,
  });
  const app = createApp({ db, temporal, gateway, adminToken: config.adminToken, maxBodyBytes: config.maxBodyBytes, shipstation: config.shipstation, temporalSettings: { taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace, uiUrl: config.temporal.uiUrl }, logger });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
      const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
      resolve({ server, url: `http://${host}:${info.port}` });
    });
  });
}

export function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

async function main() {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, 'api');
  const database = await openDatabase(config.database);
  const temporal = await connectClient(config.temporal.address, config.temporal.namespace);
  const { server, url } = await startApiServer({ config, db: database.db, temporal, logger });
  logger.info({ url }, 'API listening');
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping API');
    await closeServer(server);
    await temporal.connection.close();
    await database.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(`API failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
