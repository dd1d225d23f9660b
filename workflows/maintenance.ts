/** Housekeeping run by Temporal schedules (temporal/schedules.ts), visible in the Web UI. */
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

/** A backlog (the first run after deployment) may take many batches; each committed batch heartbeats. */
const personalDataPurgeOptions = { startToCloseTimeout: '1 hour', heartbeatTimeout: '2 minutes', retry: { maximumAttempts: 5 } } as const;
const { purgePersonalData } = proxyActivities<ReturnType<typeof createActivities>>(personalDataPurgeOptions);

/** PERSONAL_DATA_DAYS: the personal data of orders closed longer than this is purged (db/retention.ts). */
export async function purgePersonalDataWorkflow(olderThanDays: number): Promise<number> {
  return purgePersonalData.executeWithOptions(
    { ...personalDataPurgeOptions, summary: `purge personal data of orders closed more than ${olderThanDays}d ago` },
    [olderThanDays],
  );
}

const { selectStuckOrders, retryOrders } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3 },
});

/** Batches small enough that an activity retry repeats little; the report adds them up. */
const BATCH = 50;

/** Ops bulk retry: one durable run per request, its report as the result. */
export async function bulkRetryWorkflow(filter: BulkRetryFilter): Promise<BulkRetryReport> {
  const selected = await selectStuckOrders.executeWithOptions({ startToCloseTimeout: '5 minutes', summary: 'select the stuck orders' }, [filter]);
  const report: BulkRetryReport = { matched: selected.length, retried: 0, refused: [] };
  for (let i = 0; i < selected.length; i += BATCH) {
    const batch = selected.slice(i, i + BATCH);
    const part = await retryOrders.executeWithOptions({ startToCloseTimeout: '5 minutes', summary: `retry orders ${i + 1}-${i + batch.length} of ${selected.length}` }, [batch, filter.requestedBy]);
    report.retried += part.retried;
    report.refused.push(...part.refused);
  }
  return report;
}
