/**
 * Every error a caller can see: JSON `{error, message}` with the right status code, never a stack
 * trace. Routes throw ApiError (or a gateway error); `onError` turns it into the response.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { FactsPendingError } from '../runtime/fact-relay';
import { sqlStateOf } from '../runtime/logger';
import { isTemporalUnreachable } from '../temporal/connection';
import { AcceptedNotProjectedError, NoWorkerError, OrderClosedError, RequestRefusedError, TemporalUnavailableError } from '../temporal/errors';

export interface FieldProblem {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: FieldProblem[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: FieldProblem[]) => new ApiError(400, 'invalid_request', message, details);
export const notFound = (message: string) => new ApiError(404, 'not_found', message);
export const conflict = (message: string) => new ApiError(409, 'conflict', message);

/** Maps anything thrown inside a request to a response; unknown errors are logged, not shown. */
export function errorResponse(error: unknown, c: Context, logError: (error: unknown) => void): Response {
  if (error instanceof AcceptedNotProjectedError) return c.json({ status: 'accepted', message: error.message }, 202);
  const known = toApiError(error);
  if (!known) {
    logError(error);
    return c.json({ error: 'internal_error', message: 'something went wrong on our side; it has been logged' }, 500);
  }
  for (const [name, value] of Object.entries(known.headers ?? {})) c.header(name, value);
  const body = { error: known.code, message: known.message, ...(known.details ? { details: known.details } : {}) };
  return c.json(body, known.status);
}

export function toApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  if (error instanceof RequestRefusedError) return conflict(error.message);
  if (error instanceof OrderClosedError) return conflict(error.message);
  if (error instanceof FactsPendingError) return new ApiError(503, 'facts_pending', error.message, undefined, { 'Retry-After': '5' });
  if (error instanceof NoWorkerError) return new ApiError(503, 'no_worker', error.message, undefined, { 'Retry-After': '5' });
  if (error instanceof TemporalUnavailableError || isTemporalUnreachable(error)) {
    return new ApiError(503, 'temporal_unavailable', 'Temporal is unreachable; nothing changed, try again shortly', undefined, { 'Retry-After': '5' });
  }
  if (isDatabaseUnavailable(error)) {
    return new ApiError(503, 'database_unavailable', 'the database is unreachable; nothing changed, try again shortly', undefined, { 'Retry-After': '5' });
  }
  if (error instanceof HTTPException) {
    if (error.status === 413) return new ApiError(413, 'payload_too_large', 'the request body is too large');
    // Hono's JSON body parser reports a malformed body this way.
    if (error.status === 400) return badRequest('the body is not valid JSON', [{ path: '(body)', message: error.message || 'malformed JSON' }]);
    return new ApiError(error.status as ContentfulStatusCode, 'http_error', error.message || 'request failed');
  }
  if (error instanceof SyntaxError) return badRequest('the body is not valid JSON');
  // The database refused a value (bad encoding, NUL...): the caller's input, not our failure.
  const sqlState = sqlStateOf(error);
  if (sqlState?.startsWith('22')) return badRequest('a value in the request cannot be stored (invalid characters or out of range)');
  return null;
}

/** Node's and postgres.js's names for a connection that could not be made or was lost. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT']);

/**
 * The read model cannot be reached: the connection was refused, lost or timed out, or the server is
 * shutting down, starting up or recovering from a crash (SQLSTATE class 08, 57P01-57P03), or has no
 * connection slot left (53300). All pass with time; none is the caller's fault.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (CONNECTION_ERRORS.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300') return true;
  }
  return false;
}
