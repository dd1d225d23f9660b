/**
 * Requests to order workflows: creating an order (update-with-start) and every later request (an
 * update). Each waits a bounded time and carries that deadline into the workflow, so "no worker
 * answered" really means nothing changed. Facts do not come through here: they are stored and
 * forwarded by the fact relay (runtime/fact-relay.ts), which delivers an order's pending facts
 * before any request is sent to it. The API and the bulk-retry activity both send requests here.
 */
import { WithStartWorkflowOperation, WorkflowUpdateStage, type Client, type WorkflowUpdateHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, type SearchAttributePair } from '@temporalio/common';
import { initialStatus, withDeadlineOverrides, type DeadlineOverrides, type OrderSettings } from '../domain/lifecycle';
import { orderWorkflowId, type OrderContent } from '../domain/order';
import { addLogContext } from '../runtime/log-context';
import type { FactRelay } from '../runtime/fact-relay';
import { registerUpdate, type OrderRequest, type RequestEnvelope, type RequestOutcome } from '../workflows/messages';
import type { OrderWorkflowInput } from '../workflows/order';
import { MerchantIdKey, OrderNumberKey, OrderSourceKey, OrderStatusKey, OrderStuckKey } from '../workflows/search-attributes';
import { AcceptedNotProjectedError, isCallTimeout, translateRequestError } from './errors';
import { workflowType, type OrderWorkflow } from './workflow-refs';

export interface OrderRef {
  merchantId: string;
  orderNumber: string;
  orderId: string;
}

export interface OrderGatewayOptions {
  taskQueue: string;
  requestTimeoutMs: number;
  orders: OrderSettings;
}

type RequestArgs<R extends RequestEnvelope> = Omit<R, 'expiresAt'>;

export class OrderGateway {
  constructor(
    private readonly client: Client,
    private readonly relay: FactRelay,
    private readonly options: OrderGatewayOptions,
  ) {}

  /**
   * Starts the order's workflow (or finds the running one) and waits until its first projection is
   * in the read model. Refused when a different payload was registered under the same number.
   * Returns 'closed' when the order's workflow has already completed (its row is in the read model).
   */
  async create(ref: OrderRef, content: OrderContent, createHash: string, deadlineOverrides: DeadlineOverrides = {}): Promise<'registered' | 'closed'> {
    const deadline = this.deadline();
    const expiresAt = this.requestExpiry(deadline);
    const input: OrderWorkflowInput = {
      kind: 'new',
      orderId: ref.orderId,
      merchantId: ref.merchantId,
      content,
      createHash,
      settings: withDeadlineOverrides(this.options.orders, deadlineOverrides),
      registerBy: expiresAt,
    };
    const startWorkflowOperation = new WithStartWorkflowOperation<OrderWorkflow>(workflowType('orderWorkflow'), {
      workflowId: this.logged(ref),
      taskQueue: this.options.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // A completed order keeps its number for good; only a run whose creation was never confirmed
      // (it failed, having written nothing) may be started again.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      // The order's first status travels with the start (the start writes visibility anyway; an
      // upsert would be one more write); a creation never confirmed clears it as its run fails.
      typedSearchAttributes: [
        ...this.searchAttributes(ref, content),
        { key: OrderStatusKey, value: initialStatus(content) },
        { key: OrderStuckKey, value: false },
      ],
      staticSummary: `Order ${ref.orderNumber} (${ref.merchantId})`,
      staticDetails: `OrderID ${ref.orderId}${content.source ? `, source ${content.source}` : ''}, ordered ${content.orderDate}`,
    });
    try {
      await this.acceptedThenProjected(deadline, () =>
        this.client.workflow.startUpdateWithStart(registerUpdate, {
          args: [{ createHash, expiresAt }],
          waitForStage: WorkflowUpdateStage.ACCEPTED,
          startWorkflowOperation,
        }),
      );
      return 'registered';
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return 'closed';
      throw translateRequestError(error, this.options.requestTimeoutMs);
    }
  }

  /**
   * Sends one request (update) and answers its outcome once the change is projected. The order's
   * pending facts go first (FactsPendingError, nothing sent, when they cannot): a request must never
   * overtake what ShipStation already reported.
   */
  async request<R extends RequestEnvelope>(ref: OrderRef, update: OrderRequest<R>, args: RequestArgs<R>): Promise<RequestOutcome> {
    const deadline = this.deadline();
    const handle = this.client.workflow.getHandle<OrderWorkflow>(this.logged(ref));
    await this.relay.deliverOrder(ref.orderId, deadline);
    try {
      return await this.acceptedThenProjected(deadline, () =>
        handle.startUpdate(update, {
          args: [{ ...args, expiresAt: this.requestExpiry(deadline) } as R],
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        }),
      );
    } catch (error) {
      throw translateRequestError(error, this.options.requestTimeoutMs);
    }
  }

  /**
   * Two phases under one deadline: until the workflow accepts (or refuses) the request, a timeout
   * means no worker took it, so nothing changed; after acceptance it means the change is only waiting
   * for the read model.
   */
  private async acceptedThenProjected<T>(deadline: number, start: () => Promise<WorkflowUpdateHandle<T>>): Promise<T> {
    const accepted = await this.client.withDeadline(deadline, start);
    try {
      return await this.client.withDeadline(deadline, () => accepted.result());
    } catch (error) {
      if (isCallTimeout(error)) {
        throw new AcceptedNotProjectedError('accepted; the change will show once the read model catches up (the database is slow or unavailable)');
      }
      throw error;
    }
  }

  /** Names the order and its workflow in the request's log lines; returns the workflow id. */
  private logged(ref: OrderRef): string {
    const workflowId = orderWorkflowId(ref.merchantId, ref.orderNumber);
    addLogContext({ orderNumber: ref.orderNumber, workflowId });
    return workflowId;
  }

  private searchAttributes(ref: OrderRef, content: OrderContent): SearchAttributePair[] {
    return [
      { key: MerchantIdKey, value: ref.merchantId },
      { key: OrderNumberKey, value: ref.orderNumber },
      ...(content.source ? [{ key: OrderSourceKey, value: content.source }] : []),
    ];
  }

  /** The caller's deadline for the whole call. */
  private deadline(): number {
    return Date.now() + this.options.requestTimeoutMs;
  }

  /**
   * The deadline that travels inside the request: a worker that starts on it later refuses it. It is
   * set before the caller's own deadline, so a request accepted at the last moment still has time to
   * be reported as accepted; otherwise "503, nothing changed" could be wrong.
   */
  private requestExpiry(deadline: number): string {
    const margin = Math.min(2000, this.options.requestTimeoutMs * 0.2);
    return new Date(deadline - margin).toISOString();
  }
}
