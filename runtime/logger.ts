import pino from 'pino';
import { currentLogContext } from './log-context';

/**
 * Keys whose values are secrets wherever they appear (one level deep, the shapes our log calls use).
 * A belt to the braces of never logging credentials in the first place.
 */
const SECRET_KEYS = ['password', 'apiKey', 'token', 'adminToken', 'secret', 'authorization', 'signature'];
export const REDACTED_PATHS = [...SECRET_KEYS, ...SECRET_KEYS.map((key) => `*.${key}`)];

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
    },
    destination,
  );
}
export type Logger = pino.Logger;
