/**
 * What every route sub-app is given: one object, built once by createApp (api/app.ts). Each sub-app
 * takes what it needs and applies its own authentication, which reads the AuthDeps part.
 */
import type { Client } from '@temporalio/client';
import type { Config, WebhookSettings } from '../runtime/config';
import type { FactRelay } from '../runtime/fact-relay';
import type { Logger } from '../runtime/logger';
import type { AuthDeps } from './auth';
import type { ApiMetrics } from './metrics';
import type { BulkRetries } from '../temporal/bulk-retries';
import type { OrderGateway } from '../temporal/order-gateway';
import type { ConsoleSettings } from './console/routes';

/** Where the order workflows run and where people look at them (ops API). */
export interface TemporalSettings {
  taskQueue: string;
  namespace: string;
  uiUrl: string;
}

export interface RouteServices extends AuthDeps {
  /** Sends requests to orders and waits for their answer. */
  gateway: OrderGateway;
  /** Forwards stored facts to their orders; no route waits on Temporal for a fact. */
  relay: FactRelay;
  /** Starts bulk retries and reads their reports (ops). */
  bulkRetries: BulkRetries;
  /** Only for /readyz's ping (temporal/connection.ts); every other call goes through the services above. */
  temporal: Client;
  temporalSettings: TemporalSettings;
  shipstation: Config['shipstation'];
  /** The ops console's session lifetime and polling warning. */
  console: ConsoleSettings;
  /** Which webhook targets may be configured, and how long a rotated-away signing secret keeps signing. */
  webhooks: WebhookSettings;
  metrics: ApiMetrics;
  logger: Logger;
  /** True once the server is stopping: /readyz then answers 503 so load balancers move on. */
  stopping: () => boolean;
  /** Whether /metrics is on this port (METRICS_PORT unset). */
  metricsRoute: boolean;
}
