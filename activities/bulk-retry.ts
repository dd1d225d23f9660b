/**
 * Bulk retry of stuck orders, run by bulkRetryWorkflow so it is durable and visible in the Web UI:
 * selects stuck orders from the read model and sends each its `retry` request, a few at a time,
 * reporting what was retried and what was refused (and why). Re-running it after a crash is safe:
 * orders already retried are no longer stuck and are not selected again.
 */
import { Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Db } from '../db/client';
import { listOrders } from '../db/orders';
import type { OrderRow } from '../db/schema';
import type { StuckReason } from '../domain/order';
import { retryUpdate } from '../workflows/messages';

export interface BulkRetryFilter {
  merchantId?: string;
  reason?: StuckReason;
  /** Only orders stuck for at least this long (ms). */
  stuckForMs?: number;
}

export interface BulkRetryReport {
  matched: number;
  retried: number;
  refused: { merchantId: string; orderNumber: string; reason: string }[];
}

const CONCURRENCY = 8;
const PAGE = 500;

export function createBulkRetryActivities(db: Db, temporal: Client | null) {
  return {
    async retryStuckOrders(filter: BulkRetryFilter): Promise<BulkRetryReport> {
      if (!temporal) throw new Error('this worker has no Temporal client for bulk retries');
      const stuckBefore = filter.stuckForMs ? new Date(Date.now() - filter.stuckForMs).toISOString() : undefined;
      const selected: OrderRow[] = [];
      for (let after: { createdAt: string; orderId: string } | undefined; ; ) {
        const page = await listOrders(db, {
          ...(filter.merchantId ? { merchantId: filter.merchantId } : {}),
          ...(filter.reason ? { stuckReason: filter.reason } : {}),
          ...(stuckBefore ? { stuckBefore } : {}),
          stuck: true,
          ...(after ? { after } : {}),
          limit: PAGE,
        });
        selected.push(...page);
        if (page.length < PAGE) break;
        after = { createdAt: page[page.length - 1]!.createdAt, orderId: page[page.length - 1]!.orderId };
      }
      const report: BulkRetryReport = { matched: selected.length, retried: 0, refused: [] };
      let next = 0;
      const worker = async () => {
        while (next < selected.length) {
          const order = selected[next++]!;
          Context.current().heartbeat({ done: report.retried + report.refused.length });
          try {
            const deadline = Date.now() + 20_000;
            await temporal.withDeadline(deadline, () =>
              temporal.workflow.getHandle(order.workflowId).executeUpdate(retryUpdate, { args: [{ expiresAt: new Date(deadline - 2000).toISOString() }] }),
            );
            report.retried++;
          } catch (error) {
            const reason = error instanceof WorkflowUpdateFailedError ? (error.cause?.message ?? error.message) : (error as Error).message;
            report.refused.push({ merchantId: order.merchantId, orderNumber: order.orderNumber, reason });
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      return report;
    },
  };
}
