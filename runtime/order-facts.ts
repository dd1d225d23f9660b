/**
 * Delivering a fact (a signal) to an order's workflow, the one way the API and the fact-batch
 * activity both do it. A plain signal reaches a running workflow; a closed one (terminal, past its
 * grace period) either gets a new run that rebuilds the order from the read model and records the
 * fact (signal-with-start, ID reuse allowed for that call only), or, for facts a closed order does
 * not need (an export mark), is left alone.
 *
 * Plain signal first: it costs the server less than signal-with-start, and an order is almost
 * always still running when its facts arrive.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { OrderSettings } from '../domain/lifecycle';
import type { orderWorkflow, OrderWorkflowInput } from '../workflows/order';
import { MerchantIdKey, OrderNumberKey } from '../workflows/search-attributes';

export interface OrderRef {
  merchantId: string;
  orderNumber: string;
  orderId: string;
}

export interface OrderFact {
  /** The order's workflow. */
  workflowId: string;
  /** The signal's name (a definition in workflows/messages.ts) and its one argument. */
  signal: string;
  arg: unknown;
  /**
   * For facts that must never be lost: the order to rebuild if its workflow has closed. Without it
   * a closed order does without the fact (an export mark means nothing to a finished order).
   */
  reopen?: OrderRef;
}

export type FactOutcome = 'signalled' | 'reopened' | 'closed';

export interface FactTarget {
  taskQueue: string;
  /** Settings of a reopened run (the merchant's deadlines are reapplied from the read model). */
  orders: OrderSettings;
}

export async function sendOrderFact(client: Client, target: FactTarget | null, fact: OrderFact): Promise<FactOutcome> {
  try {
    await client.workflow.getHandle(fact.workflowId).signal(fact.signal, fact.arg);
    return 'signalled';
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
  const order = fact.reopen;
  if (!order) return 'closed';
  if (!target) throw new Error(`no task queue and settings to reopen order ${order.orderNumber} with`);
  const input: OrderWorkflowInput = { kind: 'reopen', ...order, settings: target.orders };
  await client.workflow.signalWithStart<typeof orderWorkflow, [unknown]>('orderWorkflow', {
    workflowId: fact.workflowId,
    taskQueue: target.taskQueue,
    args: [input],
    signal: fact.signal,
    signalArgs: [fact.arg],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: [
      { key: MerchantIdKey, value: order.merchantId },
      { key: OrderNumberKey, value: order.orderNumber },
    ],
    staticSummary: `Order ${order.orderNumber} (${order.merchantId}), reopened by a late message`,
  });
  return 'reopened';
}
