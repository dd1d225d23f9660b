/**
 * What a ShipStation export serves: a snapshot of a window's order ids, taken once and reused while
 * fresh, and the order rows of one page of it.
 */
import { randomBytes } from 'node:crypto';
import { and, desc, eq, gt, gte, inArray, isNull, lt, lte, notInArray, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from './client';
import { connectionScope } from './connections';
import { lockForExport, recordServedWindow } from './export-windows';
import { exportSnapshots, orderLines, orders, type ConnectionRow, type OrderLineRow } from './schema';

export interface SnapshotPage {
  id: string;
  /** How many orders the window matched when its snapshot was taken (the page count follows). */
  total: number;
  /** The ids of the page asked for, in snapshot order (empty beyond the last page). */
  pageIds: string[];
  reused: boolean;
}

/**
 * The most snapshots one connection keeps: ShipStation asks for about one window per poll, and each
 * snapshot holds a whole window's ids, so a caller asking for many distinct windows must not make
 * the database hold them all. 64 leaves room for walks over many windows at once (the benchmark
 * walks 35 in turn) within EXPORT_SNAPSHOT_TTL. Beyond it the oldest go: a snapshot is a cache of the walk over one
 * window's pages (a window asked for again is read afresh), never the only record of anything; a
 * window itself is never cut short.
 */
export const MAX_SNAPSHOTS_PER_CONNECTION = 64;

/**
 * The ids of one page of a snapshot, read inside the database: a page costs the same however many
 * orders the window holds, with no need to send the whole list to the API and parse it there.
 */
function pageOf(page: { offset: number; limit: number }) {
  if (!Number.isSafeInteger(page.offset) || page.offset < 0 || !Number.isSafeInteger(page.limit) || page.limit < 1) {
    throw new RangeError(`not a page: offset ${page.offset}, limit ${page.limit}`);
  }
  // A slice beyond the end is empty (lax mode), as is the part of one that reaches past it.
  const path = `$[${page.offset} to ${page.offset + page.limit - 1}]`;
  return {
    total: sql<number>`jsonb_array_length(${exportSnapshots.orderIds})`.mapWith(Number),
    pageIds: sql<string[]>`jsonb_path_query_array(${exportSnapshots.orderIds}, ${path}::jsonpath)`.mapWith(exportSnapshots.orderIds),
  };
}

/**
 * One page of the ordered ids of an export window, from a snapshot taken once and reused while fresh,
 * so ShipStation's walk over pages 1..N sees a list that does not move under it. Taking it locks out
 * projections of the merchant for a moment and records the window as served (db/export-windows.ts).
 * The list is built and sliced by the database; only the page's ids travel.
 */
export async function exportSnapshotPage(
  db: Db,
  connection: ConnectionRow,
  window: { start: Date; end: Date },
  page: { offset: number; limit: number },
  options: { ttlMs: number; maxClockSkewMs: number; dryRun?: boolean },
): Promise<SnapshotPage> {
  const start = window.start.toISOString();
  const end = window.end.toISOString();
  const slice = pageOf(page);
  // A purged order (db/retention.ts) is never served again: its addresses are gone, and
  // ShipStation has had it, closed, long ago.
  const inWindow = and(connectionScope(connection), gte(orders.lastModified, start), lte(orders.lastModified, end), isNull(orders.personalDataPurgedAt));
  // A dry run (ops' connection test, a HEAD) pages the window as a snapshot would, in the database,
  // and records nothing.
  if (options.dryRun) return dryRunPage(db, inWindow!, page);
  const freshAfter = new Date(Date.now() - options.ttlMs).toISOString();
  const [reusable] = await db
    .select({ id: exportSnapshots.id, ...slice })
    .from(exportSnapshots)
    .where(and(eq(exportSnapshots.connectionId, connection.id), eq(exportSnapshots.windowStart, start), eq(exportSnapshots.windowEnd, end), gt(exportSnapshots.createdAt, freshAfter)))
    .orderBy(desc(exportSnapshots.createdAt))
    .limit(1);
  if (reusable) return { ...reusable, reused: true };

  return db.transaction(async (tx) => {
    await lockForExport(tx, connection.merchantId);
    const id = `snap_${randomBytes(9).toString('base64url')}`;
    const orderIds = sql`(select coalesce(jsonb_agg(${orders.orderId} order by ${orders.lastModified}, ${orders.orderId}), '[]'::jsonb) from ${orders} where ${inWindow})`;
    const [taken] = await tx.insert(exportSnapshots).values({ id, connectionId: connection.id, windowStart: start, windowEnd: end, orderIds }).returning(slice);
    // A window reaching far into the future (a wrong clock) must not push every later stamp there.
    const servedUntil = new Date(Math.min(window.end.getTime(), Date.now() + options.maxClockSkewMs)).toISOString();
    await recordServedWindow(tx, connection.merchantId, servedUntil);
    await dropStaleSnapshots(tx, connection.id, freshAfter);
    return { id, total: taken!.total, pageIds: taken!.pageIds, reused: false };
  });
}

/** The connection's snapshots past the TTL, and beyond the newest MAX_SNAPSHOTS_PER_CONNECTION. */
async function dropStaleSnapshots(tx: Pick<Db, 'select' | 'delete'>, connectionId: string, freshAfter: string) {
  const newest = tx
    .select({ id: exportSnapshots.id })
    .from(exportSnapshots)
    .where(eq(exportSnapshots.connectionId, connectionId))
    .orderBy(desc(exportSnapshots.createdAt), desc(exportSnapshots.id))
    .limit(MAX_SNAPSHOTS_PER_CONNECTION);
  await tx
    .delete(exportSnapshots)
    .where(and(eq(exportSnapshots.connectionId, connectionId), or(lt(exportSnapshots.createdAt, freshAfter), notInArray(exportSnapshots.id, newest))));
}

/** One page of a window, counted and sliced by the database in the snapshot's order; nothing kept. */
async function dryRunPage(db: Db, inWindow: SQL, page: { offset: number; limit: number }): Promise<SnapshotPage> {
  const [counted, rows] = await Promise.all([
    db.select({ total: sql<number>`count(*)`.mapWith(Number) }).from(orders).where(inWindow),
    db.select({ orderId: orders.orderId }).from(orders).where(inWindow).orderBy(orders.lastModified, orders.orderId).offset(page.offset).limit(page.limit),
  ]);
  return { id: 'dry-run', total: counted[0]?.total ?? 0, pageIds: rows.map((r) => r.orderId), reused: false };
}

/**
 * Order rows and lines for one page, in the snapshot's order (content as it is now). An order purged
 * since the snapshot was taken (it is reused for EXPORT_SNAPSHOT_TTL) is left out.
 */
export async function loadExportPage(db: Db, orderIds: string[]) {
  if (orderIds.length === 0) return [];
  const [orderRows, lineRows] = await Promise.all([
    db.select().from(orders).where(and(inArray(orders.orderId, orderIds), isNull(orders.personalDataPurgedAt))),
    db.select().from(orderLines).where(inArray(orderLines.orderId, orderIds)).orderBy(orderLines.orderId, orderLines.position),
  ]);
  const byId = new Map(orderRows.map((o) => [o.orderId, o]));
  const linesOf = new Map<string, OrderLineRow[]>();
  for (const line of lineRows) {
    const lines = linesOf.get(line.orderId);
    if (lines) lines.push(line);
    else linesOf.set(line.orderId, [line]);
  }
  return orderIds.flatMap((id) => {
    const order = byId.get(id);
    return order ? [{ order, lines: linesOf.get(id) ?? [], shipments: [], pendingFacts: [] }] : [];
  });
}
