/**
 * Bulk retry of stuck orders, driven by bulkRetryWorkflow (durable, visible in the Web UI): one
 * activity selects the stuck orders from the read model, then small batches send each its `retry`
 * request. Each request names the reason it was selected for, so an order whose situation changed
 * meanwhile refuses it instead of being retried blindly.
 */
import type { Db } from '../db/client';
import { listOrders, type OrderListFilter } from '../db/orders';
import type { OrderRow } from '../db/schema';
import type { StuckReason } from '../domain/order';
import { AcceptedNotProjectedError } from '../temporal/errors';
import type { OrderGateway } from '../temporal/order-gateway';
import { retryUpdate } from '../workflows/messages';
import { inBulkRetry } from '../domain/requester';

export interface BulkRetryFilter {
  merchantId?: string;
  reason?: StuckReason;
  /** Only orders stuck for at least this long (ms). */
  stuckForMs?: number;
  /** Who started it (domain/requester.ts); each retry's timeline entry says so. */
  requestedBy?: string;
}

export interface StuckOrderRef {
  workflowId: string;
  orderId: string;
  merchantId: string;
  orderNumber: string;
  reason: StuckReason;
}

export interface BulkRetryReport {
  matched: number;
  retried: number;
  refused: { merchantId: string; orderNumber: string; reason: string }[];
}

const PAGE = 500;
/** A bulk retry beyond this many orders is cut off (and says so); narrow the filter and run again. */
export const BULK_RETRY_LIMIT = 10_000;
const CONCURRENCY = 8;

/** Which orders a bulk retry selects: the read-model filter (the console counts the same before it runs). */
export function stuckOrderSelection(filter: BulkRetryFilter, now = Date.now()): Omit<OrderListFilter, 'after' | 'limit'> {
  return {
    ...(filter.merchantId ? { merchantId: filter.merchantId } : {}),
    ...(filter.reason ? { stuckReason: filter.reason } : {}),
    ...(filter.stuckForMs ? { stuckBefore: new Date(now - filter.stuckForMs).toISOString() } : {}),
    stuck: true,
  };
}

export function createBulkRetryActivities(db: Db, gateway: OrderGateway | null) {
  return {
    async selectStuckOrders(filter: BulkRetryFilter): Promise<StuckOrderRef[]> {
      const selection = stuckOrderSelection(filter);
      const selected: OrderRow[] = [];
      for (let after: { createdAt: string; orderId: string } | undefined; selected.length < BULK_RETRY_LIMIT; ) {
        const page = await listOrders(db, { ...selection, ...(after ? { after } : {}), limit: PAGE });
        selected.push(...page);
        if (page.length < PAGE) break;
        after = { createdAt: page[page.length - 1]!.createdAt, orderId: page[page.length - 1]!.orderId };
      }
      return selected.slice(0, BULK_RETRY_LIMIT).map((o) => ({
        workflowId: o.workflowId,
        orderId: o.orderId,
        merchantId: o.merchantId,
        orderNumber: o.orderNumber,
        reason: o.stuckReason as StuckReason,
      }));
    },

    async retryOrders(orders: StuckOrderRef[], startedBy?: string): Promise<Omit<BulkRetryReport, 'matched'>> {
      if (!gateway) throw new Error('this worker has no Temporal client for bulk retries');
      const requestedBy = inBulkRetry(startedBy);
      const report: Omit<BulkRetryReport, 'matched'> = { retried: 0, refused: [] };
      let next = 0;
      const worker = async () => {
        while (next < orders.length) {
          const order = orders[next++]!;
          try {
            // Named with the reason it was selected for: an order whose situation changed refuses it.
            await gateway.request(order, retryUpdate, { reason: order.reason, requestedBy });
            report.retried++;
          } catch (error) {
            // Accepted, only not yet in the read model: retried all the same.
            if (error instanceof AcceptedNotProjectedError) report.retried++;
            else report.refused.push({ merchantId: order.merchantId, orderNumber: order.orderNumber, reason: (error as Error).message });
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      return report;
    },
  };
}
