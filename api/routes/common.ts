/** What every route sub-app shares: how one is made, and the error and response shapes of the OpenAPI document. */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context, Env } from 'hono';
import type { FieldProblem } from '../errors';

export const ErrorSchema = z
  .object({
    error: z.string().openapi({ example: 'conflict' }),
    message: z.string().openapi({ example: 'the order is not on hold (status at_wms)' }),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Error');

const error = (description: string) => ({ content: { 'application/json': { schema: ErrorSchema } }, description });

export const errorResponses = {
  400: error('The request is invalid; `details` names each bad field'),
  401: error('Missing or unknown credentials'),
  403: error('Credentials are valid but not allowed here'),
  404: error('No such resource for this caller'),
  409: error('Refused by the order: the message says why; nothing changed'),
  413: error('The body is too large'),
  415: error('The body is not JSON'),
  429: error('Too many failed credential attempts from this address (only failed attempts are refused; Retry-After says when to try again)'),
  503: error('Temporal, a worker or the database is unavailable; nothing changed'),
} as const;

/** A request the order accepted whose change is not in the read model yet (database slow or down). */
export const acceptedResponse = {
  202: {
    content: { 'application/json': { schema: z.object({ status: z.literal('accepted'), message: z.string() }).openapi('Accepted') } },
    description: 'Accepted by the order; it will show once the read model catches up',
  },
} as const;

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

/** zod problems become `400 {error, message, details: [{path, message}]}`. */
function validationHook(result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }, c: Context) {
  if (result.success || !result.error) return;
  const details: FieldProblem[] = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }));
  const first = details[0]!;
  const message = `${first.path}: ${first.message}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}`;
  return c.json({ error: 'invalid_request', message, details }, 400);
}

/**
 * A router for one route file (or the application itself): its routes answer invalid input the one
 * way above, and createApp mounts it with `app.route`, which also merges its OpenAPI paths.
 */
export const newRouter = <E extends Env = Env>() => new OpenAPIHono<E>({ defaultHook: validationHook });
