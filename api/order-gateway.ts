/**
 * The API's only way to send requests to order workflows. Requests (updates) wait a bounded time and
 * carry that deadline into the workflow, so "no worker answered" really means nothing changed. Facts
 * do not come through here: they are stored and forwarded by the fact relay (runtime/fact-relay.ts),
 * which delivers an order's pending facts before any request is sent to it.
 */
import {
  WithStartWorkflowOperation,
  WorkflowUpdateStage,
  type WorkflowUpdateHandle,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import {
  ApplicationFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type SearchAttributePair,
  type UpdateDefinition,
} from '@temporalio/common';
import { initialStatus, withDeadlineOverrides, type DeadlineOverrides, type OrderSettings } from '../domain/lifecycle';
import { orderWorkflowId, type OrderContent, type OrderState, type ShipmentReport } from '../domain/order';
import { addLogContext } from '../runtime/log-context';
import { EXPIRED, REFUSED, REOPENING, registerUpdate, type RequestEnvelope } from '../workflows/messages';
import type { orderWorkflow, OrderWorkflowInput } from '../workflows/order';
import { MerchantIdKey, OrderNumberKey, OrderSourceKey, OrderStatusKey, OrderStuckKey } from '../workflows/search-attributes';
import type { FactRelay } from '../runtime/fact-relay';
import { isGrpcCode } from '../runtime/temporal';
import { orderIdFor } from './order-view';

export interface OrderRef {
  merchantId: string;
  orderNumber: string;
  orderId: string;
}

/** The workflow refused the request; the reason is for the caller. Nothing changed. */
export class RequestRefusedError extends Error {}
/** No worker took the request in time. Nothing changed (the workflow refuses it if it arrives later). */
export class NoWorkerError extends Error {}
/** The order's workflow has closed (terminal and past its grace period). */
export class OrderClosedError extends Error {}
/** Temporal itself could not be reached. */
export class TemporalUnavailableError extends Error {}
/**
 * The workflow accepted the request but its change is not in the read model yet (the database is
 * slow or down; the projection keeps retrying). It will take effect: the API answers 202.
 */
export class AcceptedNotProjectedError extends Error {}

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
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof orderWorkflow>('orderWorkflow', {
      workflowId: this.workflowIdOf(ref),
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
      throw this.translate(error);
    }
  }

  /**
   * Sends one request (update) and returns the order's state once the change is projected. The
   * order's pending facts go first (FactsPendingError, nothing sent, when they cannot): a request must
   * never overtake what ShipStation already reported.
   */
  async request<R extends RequestEnvelope>(
    ref: Pick<OrderRef, 'merchantId' | 'orderNumber'>,
    update: UpdateDefinition<OrderState, [R]>,
    args: RequestArgs<R>,
  ): Promise<OrderState> {
    const deadline = this.deadline();
    const handle = this.handle(ref);
    await this.relay.deliverOrder(orderIdFor(ref.merchantId, ref.orderNumber), deadline);
    try {
      return await this.acceptedThenProjected(deadline, () =>
        handle.startUpdate(update, {
          args: [{ ...args, expiresAt: this.requestExpiry(deadline) } as R],
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        }),
      );
    } catch (error) {
      throw this.translate(error);
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
      if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcCode(error, 4 /* DEADLINE_EXCEEDED */)) {
        throw new AcceptedNotProjectedError('accepted; the change will show once the read model catches up (the database is slow or unavailable)');
      }
      throw error;
    }
  }

  /** The order's workflow id; also names the order and workflow in the request's log lines. */
  private workflowIdOf(ref: Pick<OrderRef, 'merchantId' | 'orderNumber'>): string {
    const workflowId = orderWorkflowId(ref.merchantId, ref.orderNumber);
    addLogContext({ orderNumber: ref.orderNumber, workflowId });
    return workflowId;
  }

  private handle(ref: Pick<OrderRef, 'merchantId' | 'orderNumber'>): WorkflowHandle<typeof orderWorkflow> {
    return this.client.workflow.getHandle(this.workflowIdOf(ref));
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

  private translate(error: unknown): Error {
    if (error instanceof AcceptedNotProjectedError) return error;
    if (error instanceof WorkflowUpdateFailedError) {
      const cause = error.cause;
      if (cause instanceof ApplicationFailure && (cause.type === EXPIRED || cause.type === REOPENING)) return new NoWorkerError(cause.message);
      if (cause instanceof ApplicationFailure && cause.type === REFUSED) return new RequestRefusedError(cause.message);
      return new RequestRefusedError(cause?.message ?? error.message);
    }
    if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcCode(error, 4 /* DEADLINE_EXCEEDED */)) {
      return new NoWorkerError(
        `no worker answered within ${this.options.requestTimeoutMs / 1000} s, nothing changed; try again when the worker is running`,
      );
    }
    if (error instanceof WorkflowNotFoundError || isGrpcCode(error, 5 /* NOT_FOUND */)) {
      return new OrderClosedError('the order workflow has closed; its final state is in the read model');
    }
    if (isGrpcCode(error, 14 /* UNAVAILABLE */)) return new TemporalUnavailableError('Temporal is unreachable');
    return error instanceof Error ? error : new Error(String(error));
  }
}

