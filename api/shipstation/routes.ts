/**
 * The ShipStation Custom Store endpoint: one URL, `action=export` (GET) and `action=shipnotify`
 * (POST; GET tolerated). Plain-text errors with the status codes ShipStation shows to the merchant,
 * and every call of a known connection in its request log. This file wires the pieces: who is calling
 * (credentials.ts), the two actions (export.ts, shipnotify.ts), what is kept of a call (request-log.ts).
 */
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ConnectionRow } from '../../db/schema';
import { isDatabaseUnavailable } from '../errors';
import { newRouter } from '../routes/common';
import type { RouteServices } from '../services';
import { connectionLogin, queryParam } from './credentials';
import { isDryRun, serveExport } from './export';
import { failure, send, text, type Outcome } from './outcome';
import { EXPORT_DRY_RUN_ACTION, recordCall } from './request-log';
import { receiveNotice } from './shipnotify';

/** Before a ShipStation call is answered 503 for the database, it is tried once more after this. */
const DATABASE_RETRY_MS = 250;

export function shipstationRoutes(services: RouteServices) {
  const { relay, logger, shipstation: settings } = services;
  const login = connectionLogin(services);
  const app = newRouter();

  app.use(
    '*',
    bodyLimit({
      maxSize: settings.maxNoticeBytes,
      onError: (c) => c.text(`the body is larger than ${settings.maxNoticeBytes} bytes`, 413),
    }),
  );

  // While ShipStation waits, the relay's sweeps hold back (briefly): its answers come first.
  app.all('/', (c) =>
    relay.whileShipStationWaits(async () => {
      // Only the database makes a call answer 503. A pooled connection that broke when PostgreSQL
      // restarted fails its next statement although the database is back; ShipStation never resends
      // a refused notice, so one more try, shortly after, comes before telling it 503. Safe to repeat:
      // a notice stored twice is a repeat its order recognises, an export page is read again.
      const first = await handle(c);
      if (first.status !== 503) return first;
      await new Promise((resolve) => setTimeout(resolve, DATABASE_RETRY_MS));
      c.header('Retry-After', undefined);
      return handle(c);
    }),
  );

  /** One answer; a database that cannot be reached is a plain-text 503 whatever step met it. */
  async function handle(c: Context) {
    const started = performance.now();
    const params = new URL(c.req.url).searchParams;
    const action = queryParam(params, 'action')?.trim().toLowerCase() ?? '';
    try {
      return await answer(c, params, action, started);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      return respond(c, { connection: null, action, outcome: failure(error, logger), started });
    }
  }

  async function answer(c: Context, params: URLSearchParams, action: string, started: number) {
    const caller = await login(c, params);
    if (!caller.ok) return respond(c, { connection: caller.connection, action, outcome: caller.refusal, started });
    // HEAD asks what a GET would answer: a dry run, so it moves no snapshot and marks nothing.
    const dryRun = action === 'export' && (isDryRun(c) || c.req.method === 'HEAD');
    let outcome: Outcome;
    try {
      outcome = await dispatch(c, caller.connection, params, action, started, dryRun);
    } catch (error) {
      outcome = failure(error, logger);
    }
    // A dry run is ops testing the connection, not ShipStation calling: log it apart.
    return respond(c, { connection: caller.connection, action: dryRun ? EXPORT_DRY_RUN_ACTION : action, outcome, started });
  }

  /** The action asked for, if the method fits it. */
  async function dispatch(c: Context, connection: ConnectionRow, params: URLSearchParams, action: string, started: number, dryRun: boolean): Promise<Outcome> {
    const method = c.req.method;
    if (action === 'export') {
      if (method !== 'GET' && method !== 'HEAD') return text(405, 'export is a GET request', {}, { Allow: 'GET' });
      return serveExport(services, connection, params, dryRun);
    }
    if (action === 'shipnotify') {
      if (method !== 'POST' && method !== 'GET') return text(405, 'shipnotify is a POST request', {}, { Allow: 'POST, GET' });
      return receiveNotice(services, connection, c, params, started);
    }
    return text(400, action ? `unknown action "${action}"; expected export or shipnotify` : 'the action parameter is required (export or shipnotify)');
  }

  async function respond(c: Context, call: { connection: ConnectionRow | null; action: string; outcome: Outcome; started: number }) {
    const { started, ...answered } = call;
    await recordCall(services, { ...answered, durationMs: performance.now() - started });
    return send(c, call.outcome);
  }

  return app;
}
