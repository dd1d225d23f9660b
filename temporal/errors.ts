/**
 * What can go wrong when the service sends a request to an order workflow, in the service's own
 * terms, and the one translation from the SDK's errors to them (api/errors.ts turns these into HTTP
 * answers). Pure: unit-tested in test/unit/temporal-errors.test.ts.
 */
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { EXPIRED, REFUSED, REOPENING } from '../workflows/messages';
import { isGrpcCode } from './connection';

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

/** The call ran out of its deadline (the SDK's own error, or gRPC's DEADLINE_EXCEEDED). */
export const isCallTimeout = (error: unknown) => error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcCode(error, 4 /* DEADLINE_EXCEEDED */);

/**
 * An error from sending a request (update) to an order, as one of the errors above; anything else is
 * returned as it is (the API answers 500 and logs it). `timeoutMs` is the request's deadline, for
 * the message.
 */
export function translateRequestError(error: unknown, timeoutMs: number): Error {
  if (error instanceof AcceptedNotProjectedError) return error;
  if (error instanceof WorkflowUpdateFailedError) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && (cause.type === EXPIRED || cause.type === REOPENING)) return new NoWorkerError(cause.message);
    return new RequestRefusedError(cause?.message ?? error.message);
  }
  if (isCallTimeout(error)) {
    return new NoWorkerError(`no worker answered within ${timeoutMs / 1000} s, nothing changed; try again when the worker is running`);
  }
  if (error instanceof WorkflowNotFoundError || isGrpcCode(error, 5 /* NOT_FOUND */)) {
    return new OrderClosedError('the order workflow has closed; its final state is in the read model');
  }
  if (isGrpcCode(error, 14 /* UNAVAILABLE */)) return new TemporalUnavailableError('Temporal is unreachable');
  return error instanceof Error ? error : new Error(String(error));
}
