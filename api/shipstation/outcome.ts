/**
 * What one ShipStation call answers: a status and a plain-text (or XML) body, the status codes
 * ShipStation shows to the merchant, and what the call's request-log entry and log line say.
 */
import type { Context } from 'hono';
import type { RequestLogEntry } from '../../db/request-log';
import type { Logger } from '../../runtime/logger';
import { isDatabaseUnavailable } from '../errors';

export interface Outcome {
  status: 200 | 400 | 401 | 403 | 404 | 405 | 413 | 429 | 500 | 503;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** The request-log entry was written with the call's own statement (an accepted notice). */
  logged?: true;
  log: Omit<RequestLogEntry, 'status' | 'durationMs' | 'action'> & { action?: string };
}

/** A plain-text answer; an error's text is also what the request log keeps as its error. */
export const text = (status: Outcome['status'], body: string, log: Outcome['log'] = {}, headers?: Record<string, string>): Outcome => ({
  status,
  body,
  headers,
  log: { ...log, ...(status >= 400 ? { error: body } : {}) },
});

/** A call that threw: only the database can make one fail, since nothing here waits on Temporal. */
export function failure(error: unknown, logger: Logger): Outcome {
  if (isDatabaseUnavailable(error)) {
    return text(503, 'the order database is unavailable; nothing was recorded, try again shortly', {}, { 'Retry-After': '30' });
  }
  logger.error({ err: error }, 'shipstation request failed');
  return text(500, 'internal error; it has been logged');
}

/** The HTTP response for an outcome. */
export function send(c: Context, outcome: Outcome): Response {
  for (const [name, value] of Object.entries(outcome.headers ?? {})) c.header(name, value);
  if (outcome.status === 401) c.header('WWW-Authenticate', 'Basic realm="ShipStation"');
  c.header('Content-Type', outcome.contentType ?? 'text/plain; charset=utf-8');
  return c.body(outcome.body, outcome.status);
}
