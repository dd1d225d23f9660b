/** Housekeeping run by a Temporal schedule (runtime/maintenance.ts), visible in the Web UI. */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { BulkRetryFilter, BulkRetryReport } from '../activities/bulk-retry';

const { purgeRequestLog } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5 },
});

export async function purgeRequestLogWorkflow(olderThanDays: number): Promise<number> {
  return purgeRequestLog(olderThanDays);
}

const { retryStuckOrders } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

/** Ops bulk retry: one durable run per request, its report as the result. */
export async function bulkRetryWorkflow(filter: BulkRetryFilter): Promise<BulkRetryReport> {
  return retryStuckOrders(filter);
}
