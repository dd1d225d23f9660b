/**
 * Records what one export page served, durably, with one Temporal call from the API: the API starts
 * this workflow before it answers ShipStation, and the workflow then signals each order. So the
 * export's latency does not grow with the number of orders, and an API that dies right after
 * answering loses nothing. The workflow id is the page's business key: serving the same page of the
 * same snapshot again starts nothing new.
 */
import { getExternalWorkflowHandle, log } from '@temporalio/workflow';
import { exportedSignal, exportRefusedSignal } from './messages';

export interface ExportPageInput {
  exportKey: string;
  /** Workflow ids of orders served that ShipStation now has (pending, or held from pending). */
  served: string[];
  /** Orders left out of the page, with the reason ShipStation could not import them. */
  refused: { workflowId: string; reason: string }[];
}

export async function exportPageWorkflow(input: ExportPageInput): Promise<{ signalled: number; missed: string[] }> {
  const missed: string[] = [];
  const deliveries = [
    ...input.served.map((workflowId) => ({ workflowId, send: (h: ReturnType<typeof getExternalWorkflowHandle>) => h.signal(exportedSignal, { exportKey: input.exportKey }) })),
    ...input.refused.map(({ workflowId, reason }) => ({
      workflowId,
      send: (h: ReturnType<typeof getExternalWorkflowHandle>) => h.signal(exportRefusedSignal, { exportKey: input.exportKey, reason }),
    })),
  ];
  await Promise.all(
    deliveries.map(async ({ workflowId, send }) => {
      try {
        await send(getExternalWorkflowHandle(workflowId));
      } catch (error) {
        // Only a closed order can miss a signal; a closed order is terminal and needs no marking.
        missed.push(workflowId);
        log.warn('order not signalled', { workflowId, exportKey: input.exportKey, error: String(error) });
      }
    }),
  );
  return { signalled: deliveries.length - missed.length, missed };
}
