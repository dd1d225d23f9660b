/** A worker for the floor workflows, in the bench process, on a task queue of its own. */
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import type { BenchStack } from '../stack';
import { floorActivities } from './activities';

export const FLOOR_TASK_QUEUE = 'floor-bench';

export async function startFloorWorker(stack: BenchStack): Promise<{ taskQueue: string; stop(): Promise<void> }> {
  const worker = await Worker.create({
    connection: stack.nativeConnection,
    namespace: stack.namespace,
    taskQueue: FLOOR_TASK_QUEUE,
    workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
    activities: floorActivities,
  });
  const run = worker.run();
  return {
    taskQueue: FLOOR_TASK_QUEUE,
    async stop() {
      worker.shutdown();
      await run;
    },
  };
}
