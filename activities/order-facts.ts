/**
 * Delivering a batch of facts to their orders (for the fact-batch and export-page workflows): each
 * by sendOrderFact, a handful at a time. Run as a local activity: a retry sends the whole batch again,
 * which is safe because every order handler recognises a repeated fact by its business key.
 */
import type { Client } from '@temporalio/client';
import { sendOrderFact, type FactOutcome, type FactTarget, type OrderFact } from '../runtime/order-facts';

export interface FactBatch {
  /** Where a reopened order runs; null when no fact of the batch reopens (export marks). */
  target: FactTarget | null;
  facts: OrderFact[];
}

export type FactBatchReport = Record<FactOutcome, number> & {
  /** Orders whose workflow had closed and that did without their fact (export marks). */
  closedWithoutFact: string[];
};

/** Signals in flight at once per batch: enough to hide round trips, few enough not to flood the server. */
const PARALLEL = 4;

export function createOrderFactActivities(temporal: Client | null) {
  return {
    async deliverOrderFacts(batch: FactBatch): Promise<FactBatchReport> {
      if (!temporal) throw new Error('this worker was started without a Temporal client; facts cannot be delivered');
      const report: FactBatchReport = { signalled: 0, reopened: 0, closed: 0, closedWithoutFact: [] };
      let next = 0;
      const lane = async () => {
        for (let i = next++; i < batch.facts.length; i = next++) {
          const fact = batch.facts[i]!;
          const outcome = await sendOrderFact(temporal, batch.target, fact);
          report[outcome]++;
          if (outcome === 'closed') report.closedWithoutFact.push(fact.workflowId);
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL, batch.facts.length) }, lane));
      return report;
    },
  };
}
