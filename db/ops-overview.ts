/** The numbers the ops console's overview shows: how many orders stand where, and which are stuck. */
import { and, asc, isNotNull, sql } from 'drizzle-orm';
import type { Db } from './client';
import { orders } from './schema';

export interface StatusCount {
  merchantId: string;
  status: string;
  count: number;
}

export async function ordersByStatus(db: Db): Promise<StatusCount[]> {
  return db
    .select({ merchantId: orders.merchantId, status: orders.status, count: sql<number>`count(*)`.mapWith(Number) })
    .from(orders)
    .groupBy(orders.merchantId, orders.status)
    .orderBy(asc(orders.merchantId), asc(orders.status));
}

export interface StuckGroup {
  merchantId: string;
  reason: string;
  count: number;
  /** When the longest-stuck order of the group got stuck. */
  oldestSince: string;
}

export async function stuckByReason(db: Db): Promise<StuckGroup[]> {
  return db
    .select({
      merchantId: orders.merchantId,
      reason: sql<string>`${orders.stuckReason}`,
      count: sql<number>`count(*)`.mapWith(Number),
      oldestSince: sql<string>`min(${orders.stuckSince})`.mapWith((v: string) => new Date(v).toISOString()),
    })
    .from(orders)
    .where(and(isNotNull(orders.stuckReason)))
    .groupBy(orders.merchantId, orders.stuckReason)
    .orderBy(asc(orders.merchantId), asc(orders.stuckReason));
}
