/**
 * Every message an order workflow understands, defined once and shared by the workflow and its
 * callers. Facts that must never be lost arrive by one signal; requests that may be refused are updates
 * (with validators); reads are the `state` query.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import type { FactMessage } from '../domain/facts';
import type { OrderChanges, OrderState, OrderStatus, StuckReason } from '../domain/order';

/** Every update carries the caller's deadline: a worker that only gets to it later refuses it. */
export interface RequestEnvelope {
  /** ISO time after which the request must not take effect (the caller has answered 503 by then). */
  expiresAt: string;
  /** Who asked (domain/requester.ts): stamped on the timeline entries the request adds. */
  requestedBy?: string;
}

export interface RegisterRequest extends RequestEnvelope {
  createHash: string;
}
export interface ReasonRequest extends RequestEnvelope {
  reason: string;
}
export interface UpdateOrderRequest extends RequestEnvelope {
  changes: OrderChanges;
}

/**
 * What every update answers once its change is in the read model: enough for the caller to know where
 * the order stands; the read model (or the `state` query) has the rest.
 */
export interface RequestOutcome {
  status: OrderStatus;
  /** The order's version holding the change (the read model has it, or a newer one). */
  version: number;
}

/** A request an order can accept or refuse: an update carrying `R` and answering the outcome. */
export type OrderRequest<R extends RequestEnvelope> = UpdateDefinition<RequestOutcome, [R]>;

export const registerUpdate = defineUpdate<RequestOutcome, [RegisterRequest]>('register');
export const markPaidUpdate = defineUpdate<RequestOutcome, [RequestEnvelope]>('markPaid');
export const holdUpdate = defineUpdate<RequestOutcome, [ReasonRequest]>('hold');
export const releaseUpdate = defineUpdate<RequestOutcome, [RequestEnvelope]>('release');
export const cancelUpdate = defineUpdate<RequestOutcome, [ReasonRequest]>('cancel');
export const updateOrderUpdate = defineUpdate<RequestOutcome, [UpdateOrderRequest]>('updateOrder');
export interface RetryRequest extends RequestEnvelope {
  /** Retry only if the order is (still) stuck for this reason (bulk retries name what they selected). */
  reason?: StuckReason;
}
export const retryUpdate = defineUpdate<RequestOutcome, [RetryRequest]>('retry');
export const resendUpdate = defineUpdate<RequestOutcome, [RequestEnvelope]>('resend');

/**
 * Every fact reaches an order by this one signal, forwarded from the database by the fact relay
 * (runtime/fact-relay.ts). Never refused; a repeat is recognised by its business key.
 */
export const factSignal = defineSignal<[FactMessage]>('fact');

export const stateQuery = defineQuery<OrderState>('state');

/** The ApplicationFailure type a validator uses for "refused, nothing changed". */
export const REFUSED = 'OrderRequestRefused';
export const EXPIRED = 'OrderRequestExpired';
/** The order's workflow is being rebuilt from the read model; the request can be repeated shortly. */
export const REOPENING = 'OrderReopening';
