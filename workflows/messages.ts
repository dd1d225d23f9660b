/**
 * Every message an order workflow understands, defined once and shared by the workflow and its
 * callers. Facts that must never be lost arrive by one signal; requests that may be refused are updates
 * (with validators); reads are the `state` query.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { FactMessage } from '../domain/facts';
import type { OrderChanges, OrderState, StuckReason } from '../domain/order';

/** Every update carries the caller's deadline: a worker that only gets to it later refuses it. */
export interface RequestEnvelope {
  /** ISO time after which the request must not take effect (the caller has answered 503 by then). */
  expiresAt: string;
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

export const registerUpdate = defineUpdate<OrderState, [RegisterRequest]>('register');
export const markPaidUpdate = defineUpdate<OrderState, [RequestEnvelope]>('markPaid');
export const holdUpdate = defineUpdate<OrderState, [ReasonRequest]>('hold');
export const releaseUpdate = defineUpdate<OrderState, [RequestEnvelope]>('release');
export const cancelUpdate = defineUpdate<OrderState, [ReasonRequest]>('cancel');
export const updateOrderUpdate = defineUpdate<OrderState, [UpdateOrderRequest]>('updateOrder');
export interface RetryRequest extends RequestEnvelope {
  /** Retry only if the order is (still) stuck for this reason (bulk retries name what they selected). */
  reason?: StuckReason;
}
export const retryUpdate = defineUpdate<OrderState, [RetryRequest]>('retry');
export const resendUpdate = defineUpdate<OrderState, [RequestEnvelope]>('resend');

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
