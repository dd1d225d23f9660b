/** ShipStation connections, their export snapshots and request log (owned by the API). Raw notices are kept with their fact: db/order-facts.ts. */
import { randomBytes } from 'node:crypto';
import { and, desc, eq, exists, gt, gte, inArray, isNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from './client';
import { clearFailuresWhen, type FailurePair } from './credential-failures';
import { lockForExport, recordServedWindow } from './export-windows';
import type { SecretDigest } from './secret-digest';
import { connectionRequests, connections, exportSnapshots, merchants, orderLines, orders, shipmentNotices, type ConnectionRow, type OrderLineRow } from './schema';

export class ScopeConflictError extends Error {}
export class UnknownMerchantError extends Error {}

const randomToken = (bytes: number) => randomBytes(bytes).toString('base64url');
/** Usernames are what a merchant types into ShipStation: short, unambiguous, unique. */
const newUsername = (merchantId: string) => `ss-${merchantId.slice(0, 20)}-${randomBytes(4).toString('hex')}`;
/** Prefixed like the other secrets (secret scanners spot it; it never starts with "-", which a CLI would read as an option). */
export const newConnectionPassword = () => `ssp_${randomToken(24)}`;

/**
 * Creates a connection. Scopes of one merchant never overlap: a whole-account connection excludes
 * every other, and one source has at most one connection (or an order would reach two stores).
 */
export async function createConnection(db: Db, digest: SecretDigest, merchantId: string, source: string | null): Promise<{ connection: ConnectionRow; password: string }> {
  const password = newConnectionPassword();
  return db.transaction(async (tx) => {
    // Serialises connection changes of this merchant so two creates cannot both pass the check.
    const [merchant] = await tx.select({ id: merchants.id }).from(merchants).where(eq(merchants.id, merchantId)).for('update');
    if (!merchant) throw new UnknownMerchantError(`no merchant ${merchantId}`);
    const existing = await tx.select().from(connections).where(eq(connections.merchantId, merchantId));
    const clash = existing.find((c) => c.source === null || source === null || c.source === source);
    if (clash) {
      const what = clash.source === null ? 'the whole account' : `source "${clash.source}"`;
      throw new ScopeConflictError(
        `connection ${clash.username} already covers ${what} of merchant ${merchantId}${clash.disabledAt ? ' (disabled)' : ''}; scopes may not overlap`,
      );
    }
    const [connection] = await tx
      .insert(connections)
      .values({ id: `con_${randomToken(9)}`, merchantId, source, username: newUsername(merchantId), passwordHash: digest.digest(password) })
      .returning();
    return { connection: connection!, password };
  });
}

export async function listConnections(db: Db, merchantId: string): Promise<ConnectionRow[]> {
  return db.select().from(connections).where(eq(connections.merchantId, merchantId)).orderBy(connections.createdAt);
}

export async function findConnection(db: Db, username: string): Promise<ConnectionRow | null> {
  const [row] = await db.select().from(connections).where(eq(connections.username, username));
  return row ?? null;
}

/**
 * The connection a ShipStation call names, to check its password against. With `clearFailures`, the
 * same statement deletes the pair's counter of failed attempts when the password matches one of
 * `passwordDigests` (its keyed and legacy digests), so a success costs no round trip of its own. The
 * caller still decides by its own constant-time check; the comparison here is of keyed digests,
 * whose timing tells nothing about a password to someone without SECRET_DIGEST_KEY.
 */
export async function findConnectionForLogin(
  db: Db,
  username: string,
  options: { clearFailures?: { pair: FailurePair; passwordDigests: string[] } } = {},
): Promise<ConnectionRow | null> {
  const named = eq(connections.username, username);
  const clear = options.clearFailures;
  const query = clear
    ? db
        .with(clearFailuresWhen(db, clear.pair, exists(db.select({ id: connections.id }).from(connections).where(and(named, inArray(connections.passwordHash, clear.passwordDigests))))))
        .select()
        .from(connections)
        .where(named)
    : db.select().from(connections).where(named);
  const [row] = await query;
  return row ?? null;
}

/** Replaces a legacy password digest that just matched by the keyed one (unless a rotation got there first). */
export async function upgradePasswordDigest(db: Db, connectionId: string, legacy: string, keyed: string): Promise<void> {
  await db.update(connections).set({ passwordHash: keyed }).where(and(eq(connections.id, connectionId), eq(connections.passwordHash, legacy)));
}

export async function rotateConnectionPassword(db: Db, digest: SecretDigest, username: string): Promise<string | null> {
  const password = newConnectionPassword();
  const updated = await db
    .update(connections)
    .set({ passwordHash: digest.digest(password), passwordRotatedAt: new Date().toISOString() })
    .where(eq(connections.username, username))
    .returning({ id: connections.id });
  return updated.length ? password : null;
}

export async function setConnectionDisabled(db: Db, username: string, reason: string | null): Promise<ConnectionRow | null> {
  const [row] = await db
    .update(connections)
    .set(reason === null ? { disabledAt: null, disabledReason: null } : { disabledAt: new Date().toISOString(), disabledReason: reason })
    .where(eq(connections.username, username))
    .returning();
  return row ?? null;
}

export async function deleteConnection(db: Db, username: string): Promise<boolean> {
  const deleted = await db.delete(connections).where(eq(connections.username, username)).returning({ id: connections.id });
  return deleted.length > 0;
}

/** The orders a connection may see: its merchant's, and only its source's when it has one. */
export function connectionScope(connection: Pick<ConnectionRow, 'merchantId' | 'source'>) {
  return connection.source === null
    ? eq(orders.merchantId, connection.merchantId)
    : and(eq(orders.merchantId, connection.merchantId), eq(orders.source, connection.source))!;
}

export interface SnapshotPage {
  id: string;
  /** How many orders the window matched when its snapshot was taken (the page count follows). */
  total: number;
  /** The ids of the page asked for, in snapshot order (empty beyond the last page). */
  pageIds: string[];
  reused: boolean;
}

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
  // A dry run (ops' connection test) shows what ShipStation would get and records nothing.
  if (options.dryRun) {
    const rows = await db.select({ orderId: orders.orderId }).from(orders).where(inWindow).orderBy(orders.lastModified, orders.orderId);
    return { id: 'dry-run', total: rows.length, pageIds: rows.slice(page.offset, page.offset + page.limit).map((r) => r.orderId), reused: false };
  }
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
    const id = `snap_${randomToken(9)}`;
    const orderIds = sql`(select coalesce(jsonb_agg(${orders.orderId} order by ${orders.lastModified}, ${orders.orderId}), '[]'::jsonb) from ${orders} where ${inWindow})`;
    const [taken] = await tx.insert(exportSnapshots).values({ id, connectionId: connection.id, windowStart: start, windowEnd: end, orderIds }).returning(slice);
    // A window reaching far into the future (a wrong clock) must not push every later stamp there.
    const servedUntil = new Date(Math.min(window.end.getTime(), Date.now() + options.maxClockSkewMs)).toISOString();
    await recordServedWindow(tx, connection.merchantId, servedUntil);
    await tx.delete(exportSnapshots).where(and(eq(exportSnapshots.connectionId, connection.id), lt(exportSnapshots.createdAt, freshAfter)));
    return { id, total: taken!.total, pageIds: taken!.pageIds, reused: false };
  });
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

export async function readConnectionLog(db: Db, connectionId: string, limit: number) {
  return db.select().from(connectionRequests).where(eq(connectionRequests.connectionId, connectionId)).orderBy(desc(connectionRequests.at), desc(connectionRequests.id)).limit(limit);
}

export async function purgeRequestLog(db: Db, olderThanDays: number): Promise<number> {
  const cutoff = new Date(Date.now() - olderThanDays * 86_400_000).toISOString();
  const deleted = await db.delete(connectionRequests).where(lt(connectionRequests.at, cutoff)).returning({ id: connectionRequests.id });
  return deleted.length;
}
