/**
 * The housekeeping schedule: Temporal runs the request-log purge every hour (no home-made timers),
 * and it shows in the Web UI under Schedules. Created or brought up to date by the worker at start.
 */
import { ScheduleAlreadyRunning, type Client } from '@temporalio/client';
import type { purgeRequestLogWorkflow } from '../workflows/maintenance';

export const PURGE_SCHEDULE_ID = 'maintenance-purge-request-log';

/** How long the read model keeps what it may not keep forever (REQUEST_LOG_DAYS, PERSONAL_DATA_DAYS). */
export interface RetentionSettings {
  requestLogDays: number;
  personalDataDays: number;
}

export async function ensureMaintenanceSchedule(client: Client, taskQueue: string, retention: RetentionSettings): Promise<void> {
  const { requestLogDays } = retention;
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'purgeRequestLogWorkflow',
    taskQueue,
    args: [requestLogDays] as Parameters<typeof purgeRequestLogWorkflow>,
    workflowId: 'maintenance-purge-request-log',
  };
  const spec = { intervals: [{ every: '1h' }] };
  try {
    await client.schedule.create({ scheduleId: PURGE_SCHEDULE_ID, spec, action, memo: { purpose: 'delete connection request-log entries past REQUEST_LOG_DAYS' } });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    // Settings may have changed since the schedule was made (retention days, task queue).
    await client.schedule.getHandle(PURGE_SCHEDULE_ID).update((previous) => ({ ...previous, spec, action }));
  }
}
