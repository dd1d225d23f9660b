/** The request log of ShipStation connections: every call of a known connection, kept REQUEST_LOG_DAYS. */
import { and, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from './client';
import { connectionRequests, connections } from './schema';

export interface RequestLogEntry {
  action: string;
  windowStart?: string;
  windowEnd?: string;
  page?: number;
  orderNumber?: string;
  status: number;
  durationMs: number;
  error?: string;
  detail?: Record<string, unknown>;
}

/**
 * How stale a connection's "last export / last shipnotify" time may get: moving it on every call
 * would make all of a connection's concurrent calls queue on its one row (ShipStation sends many at once).
 */
const LAST_CALL_RESOLUTION = sql.raw(`interval '5 seconds'`);

/**
 * Appends to the connection's request log and, on success, moves its "last export / last
 * shipnotify" time (to within LAST_CALL_RESOLUTION): one statement, one commit.
 */
export async function logConnectionRequest(db: Db, connectionId: string, entry: RequestLogEntry): Promise<void> {
  const insert = db.insert(connectionRequests).values({
    connectionId,
    action: entry.action,
    windowStart: entry.windowStart ?? null,
    windowEnd: entry.windowEnd ?? null,
    page: entry.page ?? null,
    orderNumber: entry.orderNumber ?? null,
    status: entry.status,
    durationMs: Math.round(entry.durationMs),
    error: entry.error ?? null,
    detail: entry.detail ?? null,
  });
  const column = entry.action === 'export' ? connections.lastExportAt : entry.action === 'shipnotify' ? connections.lastShipnotifyAt : null;
  if (entry.status >= 400 || column === null) {
    await insert;
    return;
  }
  await db.execute(sql`
    with logged as (${insert.getSQL()})
    update ${connections} set ${sql.identifier(column.name)} = now()
    where ${connections.id} = ${connectionId} and (${column} is null or ${column} < now() - ${LAST_CALL_RESOLUTION})`);
}

/**
 * The log entry of a shipnotify call whose notice is stored, as CTEs of the statement that stores it
 * (db/order-facts.ts recordNotice): the notice, its fact and its log entry commit together, in one
 * round trip. Reads the order from that statement's `targets` CTE; writes nothing when it is empty
 * (the call is then answered 404 and logged the usual way).
 */
export function noticeLogCtes(connectionId: string, entry: Omit<RequestLogEntry, 'action' | 'orderNumber' | 'status'>): SQL {
  const column = connections.lastShipnotifyAt;
  return sql`logged as (
      insert into ${connectionRequests} (connection_id, action, order_number, status, duration_ms, detail)
      select ${connectionId}, 'shipnotify', targets.order_number, 200, ${Math.round(entry.durationMs)}, ${entry.detail ? JSON.stringify(entry.detail) : null}::jsonb from targets
    ), touched as (
      update ${connections} set ${sql.identifier(column.name)} = now()
      where ${connections.id} = ${connectionId} and exists (select 1 from targets) and (${column} is null or ${column} < now() - ${LAST_CALL_RESOLUTION})
    )`;
}

/** Which entries of a log to read: one action, and answers that succeeded (2xx) or failed (4xx, 5xx). */
export interface LogFilter {
  action?: string | null;
  status?: 'ok' | 'error' | null;
}

const statusIs = (status: LogFilter['status']) =>
  status === 'ok'
    ? and(gte(connectionRequests.status, 200), lt(connectionRequests.status, 300))
    : status === 'error'
      ? gte(connectionRequests.status, 400)
      : undefined;

export async function readConnectionLog(db: Db, connectionId: string, limit: number, filter: LogFilter = {}) {
  return db
    .select()
    .from(connectionRequests)
    .where(and(eq(connectionRequests.connectionId, connectionId), filter.action ? eq(connectionRequests.action, filter.action) : undefined, statusIs(filter.status)))
    .orderBy(desc(connectionRequests.at), desc(connectionRequests.id))
    .limit(limit);
}

export interface RecentErrors {
  count: number;
  latestAt: string;
  latestStatus: number;
  latestError: string | null;
}

/** Per connection: its failed calls (4xx, 5xx) since `since`, and the latest one's answer. One grouped read for a whole list. */
export async function recentErrorsByConnection(db: Db, since: string): Promise<Map<string, RecentErrors>> {
  const newestFirst = sql`order by ${connectionRequests.at} desc, ${connectionRequests.id} desc`;
  const rows = await db
    .select({
      connectionId: connectionRequests.connectionId,
      count: sql<number>`count(*)`.mapWith(Number),
      latestAt: sql<string>`max(${connectionRequests.at})`.mapWith(connectionRequests.at),
      latestStatus: sql<number>`(array_agg(${connectionRequests.status} ${newestFirst}))[1]`.mapWith(Number),
      latestError: sql<string | null>`(array_agg(${connectionRequests.error} ${newestFirst}))[1]`,
    })
    .from(connectionRequests)
    .where(and(gte(connectionRequests.status, 400), gte(connectionRequests.at, since)))
    .groupBy(connectionRequests.connectionId);
  return new Map(rows.map(({ connectionId, ...errors }) => [connectionId, errors]));
}

export async function purgeRequestLog(db: Db, olderThanDays: number): Promise<number> {
  const cutoff = new Date(Date.now() - olderThanDays * 86_400_000).toISOString();
  const deleted = await db.delete(connectionRequests).where(lt(connectionRequests.at, cutoff)).returning({ id: connectionRequests.id });
  return deleted.length;
}
