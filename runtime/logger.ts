import pino from 'pino';

/** Structured JSON logs (pino) for the API, the worker and the dev runner. */
export function createLogger(level: pino.LevelWithSilent, name: string) {
  return pino({ level, name, base: { service: name } });
}
export type Logger = pino.Logger;
