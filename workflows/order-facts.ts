/**
 * A batch of facts for many orders, recorded with one Temporal call: the API starts this workflow
 * when several facts arrive at once (shipment notices under load, see api/order-gateway.ts) and
 * answers once the start is durable; the workflow then delivers each fact to its order. Its
 * history shows which facts travelled together and what became of each.
 */
import { proxyLocalActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { FactBatch, FactBatchReport } from '../activities/order-facts';

const { deliverOrderFacts } = proxyLocalActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 minute',
  // Until every fact is in its order's history: a fact must never be lost, and repeats are harmless.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function orderFactsWorkflow(batch: FactBatch): Promise<FactBatchReport> {
  return deliverOrderFacts.executeWithOptions(
    { startToCloseTimeout: '1 minute', summary: `deliver ${batch.facts.length} facts to their orders` },
    [batch],
  );
}
