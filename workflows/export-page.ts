/**
 * Records what one export page served, durably, with one Temporal call from the API: the API starts
 * this workflow before it answers ShipStation, and the workflow then signals each order. So the
 * export's latency does not grow with the number of orders, and an API that dies right after
 * answering loses nothing. The workflow id is the page's business key: serving the same page of the
 * same snapshot again starts nothing new.
 */
import { getExternalWorkflowHandle, log, patched, proxyLocalActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { OrderFact } from '../runtime/order-facts';
import { exportedSignal, exportRefusedSignal } from './messages';

export interface ExportPageInput {
  exportKey: string;
  /** Workflow ids of orders served that ShipStation now has (pending, or held from pending). */
  served: string[];
  /** Orders left out of the page, with the reason ShipStation could not import them. */
  refused: { workflowId: string; reason: string }[];
}

const { deliverOrderFacts } = proxyLocalActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
/**
 * The marks go out from one local activity (client signals) instead of one external-signal command
 * per order: two history events fewer per order here, and less work for the server
 * (docs/performance.md). Pages recorded before replay their external signals.
 */
const MARK_LOCALLY_PATCH = 'export-marks-by-local-activity';

export async function exportPageWorkflow(input: ExportPageInput): Promise<{ signalled: number; missed: string[] }> {
  const facts: OrderFact[] = [
    ...input.served.map((workflowId) => ({ workflowId, signal: exportedSignal.name, arg: { exportKey: input.exportKey } })),
    ...input.refused.map(({ workflowId, reason }) => ({ workflowId, signal: exportRefusedSignal.name, arg: { exportKey: input.exportKey, reason } })),
  ];
  if (patched(MARK_LOCALLY_PATCH)) {
    // A closed order is terminal and needs no marking: it is left alone (reported as missed).
    const report = await deliverOrderFacts.executeWithOptions(
      { startToCloseTimeout: '1 minute', summary: `mark ${facts.length} orders of page ${input.exportKey}` },
      [{ target: null, facts }],
    );
    return { signalled: report.signalled, missed: report.closedWithoutFact };
  }
  const missed: string[] = [];
  await Promise.all(
    facts.map(async ({ workflowId, signal, arg }) => {
      try {
        await getExternalWorkflowHandle(workflowId).signal(signal, arg);
      } catch (error) {
        // Only a closed order can miss a signal; a closed order is terminal and needs no marking.
        missed.push(workflowId);
        log.warn('order not signalled', { workflowId, exportKey: input.exportKey, error: String(error) });
      }
    }),
  );
  return { signalled: facts.length - missed.length, missed };
}
