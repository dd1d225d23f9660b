/**
 * Why a change can never fall into an export window ShipStation has already read.
 *
 * ShipStation asks for orders whose LastModified lies in [start, end] and never asks for that window
 * again. A projection stamps LastModified inside its transaction and becomes visible only at commit,
 * so without care an export could run between the stamp and the commit and miss the order for good.
 *
 * Two rules close that gap:
 * 1. Projections hold a shared advisory lock on the merchant for their whole transaction; an export
 *    takes the same lock exclusively while it reads its snapshot and records the window it served.
 *    So an export sees every projection that stamped before it, committed.
 * 2. A projection that starts after an export stamps LastModified beyond the furthest window end
 *    served (`export_watermarks`), even if ShipStation's window end lies ahead of our clock.
 */
import { sql } from 'drizzle-orm';
import type { Db } from './client';
import { exportWatermarks } from './schema';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

const lockKey = (merchantId: string) => sql`hashtextextended(${`export:${merchantId}`}, 0)`;

/** For projections: many at once, but never while an export of the merchant reads. */
export async function holdAgainstExport(tx: Tx, merchantId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock_shared(${lockKey(merchantId)})`);
}

/** For exports: waits for in-flight projections of the merchant to commit, and holds off new ones. */
export async function lockForExport(tx: Tx, merchantId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${lockKey(merchantId)})`);
}

/** Records that ShipStation has now read the merchant's orders up to `windowEnd` (ISO). */
export async function recordServedWindow(tx: Tx, merchantId: string, windowEnd: string): Promise<void> {
  await tx
    .insert(exportWatermarks)
    .values({ merchantId, servedUntil: windowEnd })
    .onConflictDoUpdate({
      target: exportWatermarks.merchantId,
      set: { servedUntil: sql`greatest(${exportWatermarks.servedUntil}, excluded.served_until)` },
    });
}

/** The LastModified stamp for a change committed now: the database clock, past any served window. */
export const freshStamp = (merchantId: string) =>
  sql`greatest(clock_timestamp(), coalesce((select ${exportWatermarks.servedUntil} + interval '1 millisecond' from ${exportWatermarks} where ${exportWatermarks.merchantId} = ${merchantId}), clock_timestamp()))`;
