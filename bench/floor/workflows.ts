/**
 * The floor of the lifecycle and shipnotify benchmarks: what Temporal itself allows on the same dev
 * server. One workflow per "order" that receives the same number of messages as an order workflow
 * (an update-with-start to register, then signals) and runs the same number of activities, each a
 * no-op, with no database, no HTTP and no business rules. Bundled and run by the bench process only.
 */
import { allHandlersFinished, condition, defineSignal, defineUpdate, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { floorActivities } from './activities';

const { noop } = proxyActivities<typeof floorActivities>({ startToCloseTimeout: '1 minute' });
const { noop: noopLocally } = proxyLocalActivities<typeof floorActivities>({ startToCloseTimeout: '1 minute' });

export const registerFloorUpdate = defineUpdate<void>('register');
export const factFloorSignal = defineSignal<[string]>('fact');

/** What one message costs: local activities (as our projections) and regular ones (as deliveries). */
export interface MessageWork {
  local: number;
  regular: number;
}

export interface FloorPlan {
  /** Work for each message, the register update first: its length is the message count. */
  activitiesPerMessage: MessageWork[];
}

async function runActivities(work: MessageWork | undefined) {
  for (let i = 0; i < (work?.local ?? 0); i++) await noopLocally();
  for (let i = 0; i < (work?.regular ?? 0); i++) await noop();
}

export async function floorOrderWorkflow(plan: FloorPlan): Promise<void> {
  const pending: string[] = [];
  setHandler(registerFloorUpdate, async () => {
    await runActivities(plan.activitiesPerMessage[0]);
  });
  setHandler(factFloorSignal, (fact) => void pending.push(fact));
  for (let message = 1; message < plan.activitiesPerMessage.length; message++) {
    await condition(() => pending.length > 0);
    pending.shift();
    await runActivities(plan.activitiesPerMessage[message]);
  }
  await condition(allHandlersFinished);
}
