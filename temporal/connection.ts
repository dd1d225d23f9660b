/** Temporal connections and the SDK's log routing, shared by the worker, the API and `make dev`. */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import type { SearchAttributeType } from '@temporalio/common';
// A CommonJS package: Node's ESM loader only offers its default export.
import protos from '@temporalio/proto';
import { ORDER_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import type { Config } from '../runtime/config';
import type { Logger } from '../runtime/logger';

/** Where and how to reach Temporal: the config's settings, or just an address for the dev server. */
export type TemporalTarget = Pick<Config['temporal'], 'address' | 'namespace'> & Partial<Pick<Config['temporal'], 'tls' | 'apiKey'>>;

/** The same address, TLS and API key for the client (API) and the worker's native connection. */
export function temporalConnectionOptions(target: TemporalTarget) {
  return {
    address: target.address,
    // An API key is only accepted over TLS; `{}` = TLS with the system's trusted roots.
    ...(target.tls || target.apiKey ? { tls: target.tls ?? {} } : {}),
    ...(target.apiKey ? { apiKey: target.apiKey } : {}),
  };
}

export async function connectClient(target: TemporalTarget): Promise<Client> {
  const connection = await Connection.connect(temporalConnectionOptions(target));
  return new Client({ connection, namespace: target.namespace });
}

/**
 * A client that connects on its first call and reconnects by itself: for processes that must start
 * and keep serving while Temporal is away. Every call made through it needs a deadline of its own.
 */
export function connectClientLazily(target: TemporalTarget): Client {
  return new Client({ connection: Connection.lazy(temporalConnectionOptions(target)), namespace: target.namespace });
}

export function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(target));
}

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The worker process's SDK runtime. Routes the SDK's logs (including `log` calls inside workflows and
 * activities, which carry the workflow id) into our structured logger and, when `metricsPort` is not
 * 0, serves the SDK's Prometheus metrics (and the activities' own, see activities/metrics.ts) on it.
 * Call once per process, before creating a worker.
 */
export function installWorkerRuntime(logger: Logger, options: { metricsPort: number; metricsHost?: string }) {
  Runtime.install({
    logger: new DefaultLogger('INFO', ({ level, message, meta }) => {
      logger[PINO_LEVEL[level]]({ ...meta }, message);
    }),
    ...(options.metricsPort !== 0 && {
      telemetryOptions: { metrics: { prometheus: { bindAddress: `${options.metricsHost ?? '0.0.0.0'}:${options.metricsPort}` } } },
    }),
  });
}

const { IndexedValueType } = protos.temporal.api.enums.v1;
const INDEXED_VALUE_TYPE: Record<SearchAttributeType, protos.temporal.api.enums.v1.IndexedValueType> = {
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Registers the order search attributes on a server that lacks them (an existing server named by
 * TEMPORAL_ADDRESS; the dev server gets them on its command line). Returns the names it added.
 */
export async function ensureSearchAttributes(client: Client): Promise<string[]> {
  const { namespace } = client.options;
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = ORDER_SEARCH_ATTRIBUTES.filter((key) => !(key.name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return [];
  await client.connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_VALUE_TYPE[key.type]])),
  });
  return missing.map((key) => key.name);
}

/** Whether a gRPC status code appears anywhere in an error's chain of causes. */
export function isGrpcCode(error: unknown, code: number): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}

/**
 * Temporal as a whole did not answer (refused, unreachable, frozen past the call's deadline, rate-limiting), as
 * opposed to refusing this one call: the difference between "wait for the server" and "this message
 * has a problem of its own".
 */
export function isTemporalUnreachable(error: unknown): boolean {
  return (
    isGrpcCode(error, 14 /* UNAVAILABLE */) ||
    isGrpcCode(error, 4 /* DEADLINE_EXCEEDED */) ||
    isGrpcCode(error, 1 /* CANCELLED */) ||
    // Rate-limited (namespace or frontend limits): the server's state, not the message's.
    isGrpcCode(error, 8 /* RESOURCE_EXHAUSTED */)
  );
}

/** A cheap call that succeeds while Temporal answers (readiness, the fact relay's probe). */
export async function pingTemporal(client: Client, deadline: number): Promise<void> {
  await client.connection.withDeadline(deadline, () => client.workflowService.getSystemInfo({}));
}
