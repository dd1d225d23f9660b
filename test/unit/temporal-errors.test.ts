/**
 * The one translation from the SDK's errors to the service's (temporal/errors.ts): what a caller of
 * the order API is told about a request that did not go through.
 */
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  AcceptedNotProjectedError,
  isCallTimeout,
  NoWorkerError,
  OrderClosedError,
  RequestRefusedError,
  TemporalUnavailableError,
  translateRequestError,
} from '../../temporal/errors';
import { EXPIRED, REFUSED, REOPENING } from '../../workflows/messages';

const grpc = (code: number, message = `gRPC ${code}`) => Object.assign(new Error(message), { code });
const updateFailed = (cause: Error | undefined) => new WorkflowUpdateFailedError('Workflow Update failed', cause);
const translate = (error: unknown) => translateRequestError(error, 10_000);

describe('translateRequestError', () => {
  it('a validator refusal is RequestRefusedError with the rule\'s own reason', () => {
    const error = translate(updateFailed(ApplicationFailure.create({ type: REFUSED, message: 'order A-1 is already shipped' })));
    expect(error).toBeInstanceOf(RequestRefusedError);
    expect(error.message).toBe('order A-1 is already shipped');
  });

  it('a failure of another type is still a refusal, with its message (or the update\'s when it has no cause)', () => {
    expect(translate(updateFailed(ApplicationFailure.create({ type: 'Other', message: 'odd' })))).toEqual(new RequestRefusedError('odd'));
    expect(translate(updateFailed(undefined))).toEqual(new RequestRefusedError('Workflow Update failed'));
  });

  it.each([EXPIRED, REOPENING])('%s (no worker in time, or the order is being rebuilt) is NoWorkerError: nothing changed, try again', (type) => {
    const error = translate(updateFailed(ApplicationFailure.create({ type, message: 'try again in a moment' })));
    expect(error).toBeInstanceOf(NoWorkerError);
    expect(error.message).toBe('try again in a moment');
  });

  it('a call that ran out of time is NoWorkerError naming the deadline', () => {
    for (const timeout of [new WorkflowUpdateRPCTimeoutOrCancelledError('timed out'), grpc(4), Object.assign(new Error('wrapped'), { cause: grpc(4) })]) {
      const error = translate(timeout);
      expect(error).toBeInstanceOf(NoWorkerError);
      expect(error.message).toMatch(/no worker answered within 10 s, nothing changed/);
    }
  });

  it('a workflow that is gone is OrderClosedError', () => {
    expect(translate(new WorkflowNotFoundError('not found', 'order:m:1', undefined))).toBeInstanceOf(OrderClosedError);
    expect(translate(grpc(5))).toBeInstanceOf(OrderClosedError);
  });

  it('Temporal refusing connections is TemporalUnavailableError', () => {
    expect(translate(grpc(14))).toBeInstanceOf(TemporalUnavailableError);
  });

  it('accepted-but-not-projected passes through; anything else is returned as it is (a 500, logged)', () => {
    const accepted = new AcceptedNotProjectedError('accepted');
    expect(translate(accepted)).toBe(accepted);
    const unknown = new TypeError('bug');
    expect(translate(unknown)).toBe(unknown);
    expect(translate('a string')).toEqual(new Error('a string'));
  });

  it('isCallTimeout recognises only timeouts', () => {
    expect(isCallTimeout(grpc(4))).toBe(true);
    expect(isCallTimeout(new WorkflowUpdateRPCTimeoutOrCancelledError('x'))).toBe(true);
    expect(isCallTimeout(grpc(14))).toBe(false);
    expect(isCallTimeout(new Error('x'))).toBe(false);
  });
});
