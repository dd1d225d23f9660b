/**
 * The fact relay's Temporal calls (runtime/fact-relay.ts): a stored fact goes to its order's workflow
 * as the one `fact` signal; an order whose workflow has closed is reopened (signal-with-start) when
 * the fact is one it must record.
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { ClaimedFact } from '../db/order-facts';
import { reopensClosedOrder, type FactMessage } from '../domain/facts';
import type { OrderSettings } from '../domain/lifecycle';
import { factSignal } from '../workflows/messages';
import type { OrderWorkflowInput } from '../workflows/order';
import { MerchantIdKey, OrderNumberKey } from '../workflows/search-attributes';
import { pingTemporal } from './connection';
import { workflowType, type OrderWorkflow } from './workflow-refs';

export type FactOutcome = 'signalled' | 'reopened' | 'not_needed';

export interface FactSignalOptions {
  taskQueue: string;
  /** Settings of a run that reopens a closed order (its merchant's deadlines are reapplied from the read model). */
  orders: OrderSettings;
}

export class FactSignals {
  constructor(
    private readonly client: Client,
    private readonly options: FactSignalOptions,
  ) {}

  /** Sends one fact under the deadline: a signal to the running order, else a reopening run. */
  async send(fact: ClaimedFact, deadline: number): Promise<{ outcome: FactOutcome; runId?: string }> {
    const message: FactMessage = { ...fact.fact, factId: String(fact.id), receivedAt: fact.receivedAt };
    return this.client.withDeadline(deadline, async () => {
      try {
        await this.client.workflow.getHandle<OrderWorkflow>(fact.workflowId).signal(factSignal, message);
        return { outcome: 'signalled' as const };
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
      if (!reopensClosedOrder(fact.fact)) return { outcome: 'not_needed' as const };
      // The order is in the read model (the fact references its row), so the new run can rebuild it.
      const input: OrderWorkflowInput = { kind: 'reopen', merchantId: fact.merchantId, orderNumber: fact.orderNumber, orderId: fact.orderId, settings: this.options.orders };
      const handle = await this.client.workflow.signalWithStart<OrderWorkflow, [FactMessage]>(workflowType('orderWorkflow'), {
        workflowId: fact.workflowId,
        taskQueue: this.options.taskQueue,
        args: [input],
        signal: factSignal,
        signalArgs: [message],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        typedSearchAttributes: [
          { key: MerchantIdKey, value: fact.merchantId },
          { key: OrderNumberKey, value: fact.orderNumber },
        ],
        staticSummary: `Order ${fact.orderNumber} (${fact.merchantId}), reopened by a late message`,
      });
      return { outcome: 'reopened' as const, runId: handle.signaledRunId };
    });
  }

  /** Whether Temporal answers at all: the relay's probe while its circuit is open. */
  ping(deadline: number): Promise<void> {
    return pingTemporal(this.client, deadline);
  }
}
