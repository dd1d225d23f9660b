/** Housekeeping run by a Temporal schedule (runtime/maintenance.ts), visible in the Web UI. */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';

const { purgeRequestLog } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5 },
});

export async function purgeRequestLogWorkflow(olderThanDays: number): Promise<number> {
  return purgeRequestLog(olderThanDays);
}
