/** Temporal connections and the SDK's log routing, shared by the worker, the API and `make dev`. */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from './logger';

export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace });
}

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Routes the SDK's logs (including `log` calls inside workflows and activities, which carry the
 * workflow id) into our structured logger. Call once per process, before creating a worker.
 */
export function installTemporalLogging(logger: Logger) {
  Runtime.install({
    logger: new DefaultLogger('INFO', ({ level, message, meta }) => {
      logger[PINO_LEVEL[level]]({ ...meta }, message);
    }),
  });
}
