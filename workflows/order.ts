/**
 * One order = one workflow, and this function is its process: register the order (or reopen it),
 * then, until it is closed and quiet, project every change to the read model, send confirmations on
 * their way, and wait for the next message or deadline. The state, the message handlers and each
 * step live in OrderRun (workflows/order-run.ts); the rules in domain/lifecycle.ts.
 */
import { allHandlersFinished, condition, continueAsNew } from '@temporalio/workflow';
import type { ConfirmationMode } from '../activities/confirmations';
import type { OrderSettings } from '../domain/lifecycle';
import type { OrderContent, OrderState } from '../domain/order';
import { OrderRun } from './order-run';

export type OrderWorkflowInput =
  /** A new order posted by its source. */
  | {
      kind: 'new';
      orderId: string;
      merchantId: string;
      content: OrderContent;
      createHash: string;
      settings: OrderSettings;
      /**
       * The creating request's deadline. The order exists only once a `register` update is accepted
       * by then; otherwise the run fails without writing anything, as the API's 503 promised.
       */
      registerBy: string;
    }
  /** A fact arrived for an order whose workflow had closed: rebuild from the read model and record it. */
  | { kind: 'reopen'; orderId: string; merchantId: string; orderNumber: string; settings: OrderSettings }
  /**
   * Continue-as-new of a long-lived order: its state at `version`, of which the read model holds
   * `projectedVersion` (the new run projects the rest first). The confirmation mode the last
   * projection read goes along, so pickup schedules nothing in the new run either.
   */
  | { kind: 'continued'; state: OrderState; version: number; projectedVersion: number; settings: OrderSettings; confirmationMode?: ConfirmationMode };

export interface OrderWorkflowResult {
  orderId: string;
  status: OrderState['status'];
  shipments: number;
}

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderWorkflowResult> {
  const order = new OrderRun(input);
  if (input.kind === 'reopen' && !(await order.reopen(input.orderId))) return order.result();
  if (input.kind === 'new') await order.awaitCreatingRequest(input.registerBy);
  order.publishVisibility();
  for (;;) {
    await order.projectChanges();
    order.deliverConfirmations();
    if (order.readyToContinueAsNew() && (await order.stillReadyToContinueAsNew())) await continueAsNew<typeof orderWorkflow>(order.continuation());
    if (!order.closed) await order.waitForChangeOrDeadline();
    else if (await order.gracePeriodPassedQuietly()) break;
  }
  await condition(allHandlersFinished);
  return order.result();
}
