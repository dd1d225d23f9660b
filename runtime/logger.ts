import pino from 'pino';
import { currentLogContext } from './log-context';

/**
 * Keys whose values are secrets wherever they appear (one level deep, the shapes our log calls use).
 * A belt to the braces of never logging credentials in the first place.
 */
const SECRET_KEYS = ['password', 'apiKey', 'token', 'adminToken', 'secret', 'authorization', 'signature'];
export const REDACTED_PATHS = [...SECRET_KEYS, ...SECRET_KEYS.map((key) => `*.${key}`)];

/** Credentials in a URL (`postgres://user:secret@host`): the password part is replaced. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi;
export const redactUrlCredentials = (text: string) => text.replace(URL_CREDENTIALS, '$1:***@');

/** Keys of database errors that carry a statement's values: an address, a notice, a signing secret. */
const QUERY_VALUE_KEYS = ['params', 'parameters', 'args'];

/**
 * Errors as logged: a failed statement keeps its SQL and SQLSTATE but never its values (drizzle puts
 * them in the message and `params`; postgres.js in `parameters` under debug), and URLs lose their
 * passwords. Applied down the `cause` chain.
 */
export function safeError(error: unknown): Record<string, unknown> {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  const sqlState = sqlStateOf(error);
  return { ...scrubError(serialized, 0), ...(sqlState ? { sqlState } : {}) };
}

/** The SQLSTATE of a database error, wherever it is in the cause chain (drizzle wraps the driver's). */
export function sqlStateOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

function scrubError(value: Record<string, unknown>, depth: number): Record<string, unknown> {
  const scrubbed: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (QUERY_VALUE_KEYS.includes(key)) continue;
    if (typeof field === 'string') scrubbed[key] = redactUrlCredentials(withoutParams(field));
    else if (key === 'cause' && field && typeof field === 'object' && depth < 5) scrubbed[key] = scrubError(field as Record<string, unknown>, depth + 1);
    else scrubbed[key] = field;
  }
  return scrubbed;
}

/** drizzle's "Failed query: <sql>\nparams: <values>": the values line goes (up to the stack, if any). */
const withoutParams = (text: string) => text.replace(/\nparams: [\s\S]*?(?=\n {4}at |$)/, '\nparams: [not logged]');

function redactUrlFields(object: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(object)) {
    if (typeof value === 'string' && value.includes('@')) object[key] = redactUrlCredentials(value);
  }
  return object;
}

/**
 * Structured JSON logs (pino) for the API, the worker and the dev runner. Lines written while serving
 * a request carry its request id, merchant, connection, order number and workflow id.
 *
 * Standard output is written asynchronously: a synchronous write per line was a fifth of the API's
 * busy time under a burst of notices (docs/performance.md). pino flushes what is queued when the
 * process exits; a SIGKILL loses at most the lines of the last moments.
 */
export function createLogger(level: pino.LevelWithSilent, name: string, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: false })) {
  return pino(
    {
      level,
      name,
      base: { service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: () => ({ ...currentLogContext() }),
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: safeError },
      // A webhook or database URL logged as a field (`url`, `target`) keeps its host, not its password.
      formatters: { log: redactUrlFields },
      hooks: {
        logMethod(args, method) {
          const last = args[args.length - 1];
          if (typeof last === 'string' && last.includes('@')) args[args.length - 1] = redactUrlCredentials(last);
          method.apply(this, args as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}
export type Logger = pino.Logger;
