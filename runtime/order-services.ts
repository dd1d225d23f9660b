/**
 * The order side of a process, wired once: the fact relay (stored facts to workflows, through
 * temporal/fact-signals.ts), the gateway that sends requests after an order's pending facts, and
 * bulk retries. The API, the worker, `make dev`, the benchmarks and the test stack all build it here.
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../db/client';
import type { OrderSettings } from '../domain/lifecycle';
import { BulkRetries } from '../temporal/bulk-retries';
import { FactSignals } from '../temporal/fact-signals';
import { OrderGateway } from '../temporal/order-gateway';
import { FactRelay, type FactRelayOptions } from './fact-relay';

export interface OrderServiceOptions {
  taskQueue: string;
  orders: OrderSettings;
  /** The deadline of each request to an order (REQUEST_TIMEOUT). */
  requestTimeoutMs: number;
  /** The relay's logger, metrics observer and tuning. */
  relay: FactRelayOptions;
}

export interface OrderServices {
  /** Not started: the process that should sweep starts it (the API does; the worker only delivers per order). */
  relay: FactRelay;
  gateway: OrderGateway;
  bulkRetries: BulkRetries;
}

export function createOrderServices(db: Db, client: Client, options: OrderServiceOptions): OrderServices {
  const relay = new FactRelay(db, new FactSignals(client, { taskQueue: options.taskQueue, orders: options.orders }), options.relay);
  const gateway = new OrderGateway(client, relay, { taskQueue: options.taskQueue, requestTimeoutMs: options.requestTimeoutMs, orders: options.orders });
  return { relay, gateway, bulkRetries: new BulkRetries(client, options.taskQueue) };
}
