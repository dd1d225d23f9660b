/** The request-log retention runs as a Temporal schedule and deletes only what is past it. */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../db/connections';
import { connectionRequests } from '../db/schema';
import { ensureMaintenanceSchedule, PERSONAL_DATA_SCHEDULE_ID, PURGE_SCHEDULE_ID } from '../temporal/schedules';
import { eventually } from './support/orders';
import { startTestStack, type TestStack } from './support/stack';

describe('request-log retention', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.client.schedule.getHandle(PURGE_SCHEDULE_ID).delete().catch(() => {});
    await stack?.client.schedule.getHandle(PERSONAL_DATA_SCHEDULE_ID).delete().catch(() => {});
    await stack?.close();
  });

  it('the hourly schedule purges entries older than REQUEST_LOG_DAYS and keeps the rest', async () => {
    const merchant = await stack.newMerchant();
    const { connection } = await createConnection(stack.database.db, stack.secretDigest, merchant.id, null);
    const db = stack.database.db;
    const entry = { connectionId: connection.id, action: 'export', status: 200, durationMs: 3 };
    await db.insert(connectionRequests).values([
      { ...entry, at: new Date(Date.now() - 40 * 86_400_000).toISOString() },
      { ...entry, at: new Date(Date.now() - 2 * 86_400_000).toISOString() },
    ]);

    await ensureMaintenanceSchedule(stack.client, stack.taskQueue, { requestLogDays: 30, personalDataDays: 90 });
    await ensureMaintenanceSchedule(stack.client, stack.taskQueue, { requestLogDays: 30, personalDataDays: 90 }); // an existing schedule is updated, not an error
    const description = await stack.client.schedule.getHandle(PURGE_SCHEDULE_ID).describe();
    expect(description.action.type).toBe('startWorkflow');
    await stack.client.schedule.getHandle(PURGE_SCHEDULE_ID).trigger();

    const remaining = await eventually(
      () => db.select().from(connectionRequests).where(eq(connectionRequests.connectionId, connection.id)),
      (rows) => rows.length === 1,
    );
    expect(remaining).toHaveLength(1);
    expect(Date.parse(remaining[0]!.at)).toBeGreaterThan(Date.now() - 3 * 86_400_000);
  });
});
