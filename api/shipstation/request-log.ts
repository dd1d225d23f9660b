/**
 * What is kept of each ShipStation call: an entry in its connection's request log (when the caller
 * named a known connection), a log line and the endpoint's metrics.
 */
import { storable } from '../../db/orders';
import { logConnectionRequest } from '../../db/request-log';
import type { ConnectionRow } from '../../db/schema';
import type { RouteServices } from '../services';
import type { Outcome } from './outcome';

/** How a dry run of the export (HEAD, ?dryRun, the console's "Test connection") is logged: ops testing, not ShipStation calling. */
export const EXPORT_DRY_RUN_ACTION = 'export-dry-run';

export interface AnsweredCall {
  /** Null when the credentials named no connection (or a wrong password): there is no log to write to. */
  connection: ConnectionRow | null;
  /** `export`, `export-dry-run`, `shipnotify`, or what the caller sent. */
  action: string;
  outcome: Outcome;
  durationMs: number;
}

export async function recordCall(services: Pick<RouteServices, 'db' | 'logger' | 'metrics'>, call: AnsweredCall): Promise<void> {
  const { db, logger, metrics } = services;
  const { connection, action, outcome, durationMs } = call;
  if (connection && !outcome.logged) {
    // The entry quotes the request (action, order number, the reason's echo of a bad value): made
    // storable, so a NUL sent by the caller cannot make the database refuse the whole entry.
    const entry = storable({ action: action || '(none)', ...outcome.log, status: outcome.status, durationMs });
    await logConnectionRequest(db, connection.id, entry).catch(
      (error: unknown) => logger.warn({ err: error, connection: connection.username }, 'could not write the connection request log'),
    );
  }
  logger.info({ action, status: outcome.status, ms: Math.round(durationMs), ...(outcome.log.error ? { error: outcome.log.error } : {}) }, 'shipstation');
  if (action === 'shipnotify') metrics.shipnotifyAnswered(outcome.status);
  if (action === 'export' && outcome.status === 200) {
    const detail = outcome.log.detail as { orders: number; leftOut?: string[] };
    metrics.exportServed(detail.orders, detail.leftOut?.length ?? 0);
  }
}
