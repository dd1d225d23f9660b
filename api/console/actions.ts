/**
 * How a console action answers: it runs, then sends the browser back (303) to the page it came from
 * with its outcome, "done" (role=status) or the refusal's plain reason (role=alert). Form fields are
 * read here too, so every action refuses bad input the same way.
 */
import type { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { setFlash, type Flash } from '../../db/console-sessions';
import { requestedBy } from '../../domain/requester';
import type { Logger } from '../../runtime/logger';
import { AcceptedNotProjectedError } from '../../temporal/errors';
import { badRequest, toApiError } from '../errors';
import type { RouteServices } from '../services';
import { consolePath, FORM_TOKEN_FIELD, type ConsoleEnv } from './guard';

export type ConsoleContext = Context<ConsoleEnv>;

/** Who asked, for the order's timeline: "from the console by Ana". */
export const consoleRequester = (c: ConsoleContext) => requestedBy('console', c.get('session').name);

/** What a failure tells the person who clicked: the rule's or the input's reason, never a stack trace. */
export function failureFlash(error: unknown, logger: Logger): Flash {
  const known = toApiError(error);
  if (known) return { kind: 'alert', text: `${known.status >= 500 ? 'Failed' : 'Refused'}: ${known.message}` };
  logger.error({ err: error }, 'console action failed');
  return { kind: 'alert', text: 'Failed: something went wrong on our side; it has been logged. Nothing is known to have changed.' };
}

export async function act(c: ConsoleContext, services: Pick<RouteServices, 'db' | 'logger'>, back: string, action: () => Promise<string>): Promise<Response> {
  let flash: Flash;
  try {
    flash = { kind: 'status', text: await action() };
  } catch (error) {
    flash =
      error instanceof AcceptedNotProjectedError
        ? { kind: 'status', text: `Accepted: ${error.message}` }
        : failureFlash(error, services.logger);
  }
  await setFlash(services.db, c.get('session'), flash);
  return c.redirect(consolePath(back), 303);
}

/** The posted form's fields (the form token left out). */
export async function formFields(c: ConsoleContext): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    if (name !== FORM_TOKEN_FIELD && typeof value === 'string') fields[name] = value;
  }
  return fields;
}

/** A text field, trimmed: absent or blank is null unless required; longer than `max` is refused. */
export function textField(fields: Record<string, string>, name: string, label: string, options: { max: number; required: true }): string;
export function textField(fields: Record<string, string>, name: string, label: string, options: { max: number; required?: false }): string | null;
export function textField(fields: Record<string, string>, name: string, label: string, options: { max: number; required?: boolean }): string | null {
  const value = (fields[name] ?? '').trim();
  if (!value) {
    if (options.required) throw badRequest(`${label} is required`);
    return null;
  }
  if ([...value].length > options.max) throw badRequest(`${label} is longer than ${options.max} characters`);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw badRequest(`${label} contains control characters`);
  return value;
}

/**
 * An action whose success is a page of its own, not a redirect: what it shows (a password, an API
 * key, a test's answer) must never pass through the session's flash. A refusal goes back like act's.
 */
export async function actAndShow(c: ConsoleContext, services: Pick<RouteServices, 'db' | 'logger'>, back: string, action: () => Promise<Response>): Promise<Response> {
  try {
    return await action();
  } catch (error) {
    await setFlash(services.db, c.get('session'), failureFlash(error, services.logger));
    return c.redirect(consolePath(back), 303);
  }
}

/**
 * The fields named in `labels` (trimmed; blank ones left out, as an API body would leave them out),
 * checked by the JSON API's own schema so the console refuses exactly what the API refuses. The
 * message names the field as the form labels it.
 */
export function validForm<T>(schema: z.ZodType<T>, fields: Record<string, string>, labels: Record<string, string>): T {
  const input: Record<string, string> = {};
  for (const name of Object.keys(labels)) {
    const value = (fields[name] ?? '').trim();
    if (value) input[name] = value;
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const name = issue.path.map(String).join('.');
  const label = labels[name] ?? (name || 'The form');
  throw badRequest(name && input[name] === undefined && issue.code === 'invalid_type' ? `${label} is required` : `${label}: ${issue.message}`);
}
