/**
 * Who and what a log line is about, without passing a logger through every call: the API opens a
 * context per request (request id) and the code that learns more adds to it (merchant, connection,
 * order number, workflow id). The logger's mixin stamps every line written inside the request.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface LogContext {
  requestId?: string;
  merchant?: string;
  connection?: string;
  orderNumber?: string;
  workflowId?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

export function runWithLogContext<T>(context: LogContext, fn: () => T): T {
  return storage.run({ ...context }, fn);
}

/** Adds to the current request's context; a no-op outside one (the worker, start-up). */
export function addLogContext(fields: LogContext): void {
  const current = storage.getStore();
  if (current) Object.assign(current, fields);
}

export function currentLogContext(): LogContext {
  return storage.getStore() ?? {};
}
