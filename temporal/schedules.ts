/**
 * The housekeeping schedules: Temporal runs the request-log purge and the personal-data purge (no
 * home-made timers), and they show in the Web UI under Schedules. Created or brought up to date by
 * the worker at start.
 */
import { ScheduleAlreadyRunning, type Client, type ScheduleOptionsAction, type ScheduleSpec } from '@temporalio/client';
import type { purgePersonalDataWorkflow, purgeRequestLogWorkflow } from '../workflows/maintenance';

export const PURGE_SCHEDULE_ID = 'maintenance-purge-request-log';
export const PERSONAL_DATA_SCHEDULE_ID = 'maintenance-purge-personal-data';

/** How long the read model keeps what it may not keep forever (REQUEST_LOG_DAYS, PERSONAL_DATA_DAYS). */
export interface RetentionSettings {
  requestLogDays: number;
  personalDataDays: number;
}

export interface MaintenanceScheduleOptions {
  /**
   * Replaces "maintenance" at the start of the schedule ids (schedule ids are per namespace): for
   * several deployments, or test suites, sharing one namespace. Default: PURGE_SCHEDULE_ID and
   * PERSONAL_DATA_SCHEDULE_ID as they are.
   */
  idPrefix?: string;
}

/** The schedule ids for a prefix (the default prefix gives the exported constants). */
export function maintenanceScheduleIds(idPrefix = 'maintenance') {
  return { requestLog: `${idPrefix}-purge-request-log`, personalData: `${idPrefix}-purge-personal-data` };
}

export async function ensureMaintenanceSchedule(client: Client, taskQueue: string, retention: RetentionSettings, options: MaintenanceScheduleOptions = {}): Promise<void> {
  const ids = maintenanceScheduleIds(options.idPrefix);
  await upsertSchedule(client, ids.requestLog, {
    spec: { intervals: [{ every: '1h' }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'purgeRequestLogWorkflow',
      taskQueue,
      args: [retention.requestLogDays] as Parameters<typeof purgeRequestLogWorkflow>,
      workflowId: ids.requestLog,
    },
    purpose: 'delete connection request-log entries past REQUEST_LOG_DAYS',
  });
  // Hourly rather than daily: an order's data goes within an hour of its PERSONAL_DATA_DAYS, and each
  // run handles about an hour's closures (short transactions, no daily spike). A run with nothing due
  // costs one probe of a partial index (orders_personal_data_due_idx). Offset by half an hour so it
  // does not start together with the request-log purge. A run still busy with a backlog makes the
  // next one be skipped (the default overlap policy), never doubled.
  await upsertSchedule(client, ids.personalData, {
    spec: { intervals: [{ every: '1h', offset: '30m' }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'purgePersonalDataWorkflow',
      taskQueue,
      args: [retention.personalDataDays] as Parameters<typeof purgePersonalDataWorkflow>,
      workflowId: ids.personalData,
    },
    purpose: 'purge personal data (names, addresses, e-mails, notes) of orders closed longer than PERSONAL_DATA_DAYS',
  });
}

/** Creates the schedule, or brings an existing one up to date (retention days, task queue, spec). */
async function upsertSchedule(client: Client, scheduleId: string, schedule: { spec: ScheduleSpec; action: ScheduleOptionsAction; purpose: string }): Promise<void> {
  const { spec, action, purpose } = schedule;
  try {
    await client.schedule.create({ scheduleId, spec, action, memo: { purpose } });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action }));
  }
}
