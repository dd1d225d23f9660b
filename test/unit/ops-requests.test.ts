/** Who asked (domain/requester.ts) and which ops actions an order allows (availableOpsActions). */
import { describe, expect, it } from 'vitest';
import { applyStuck, availableOpsActions } from '../../domain/lifecycle';
import { cleanRequesterName, inBulkRetry, requestedBy } from '../../domain/requester';
import { ORDER_STATUSES } from '../../domain/order';
import { at, orderIn } from './builders';

describe('who asked', () => {
  it('phrases each channel as the timeline shows it', () => {
    expect(requestedBy('order source')).toBe('by the order source');
    expect(requestedBy('order source', 'Ana')).toBe('by the order source');
    expect(requestedBy('console', 'Ana')).toBe('from the console by Ana');
    expect(requestedBy('console', null)).toBe('from the console');
    expect(requestedBy('ops CLI', 'dee')).toBe('from the ops CLI by dee');
    expect(requestedBy('ops API', '   ')).toBe('from the ops API');
    expect(inBulkRetry('from the console by Ana')).toBe('in a bulk retry from the console by Ana');
    expect(inBulkRetry(undefined)).toBe('in a bulk retry');
  });

  it('keeps a self-declared name to one printable, bounded line', () => {
    expect(cleanRequesterName(' Ana\u0000\n  Smith\u202e ')).toBe('Ana Smith');
    expect(cleanRequesterName('\u0007\u0008')).toBeNull();
    expect([...cleanRequesterName('é'.repeat(100))!]).toHaveLength(60);
  });
});

describe('the ops actions an order allows', () => {
  it('for each status, shows exactly the actions its rules accept and that would change something', () => {
    const actions = Object.fromEntries(ORDER_STATUSES.map((status) => [status, availableOpsActions(orderIn(status))]));
    expect(actions).toEqual({
      await_payment: ['resend', 'hold', 'cancel'],
      pending: ['resend', 'hold', 'cancel'],
      at_wms: ['resend', 'hold', 'cancel'],
      on_hold: ['resend', 'release', 'cancel'],
      shipped: [],
      confirmed: [],
      canceled: ['resend'],
    });
  });

  it('offers Retry only while the order is stuck', () => {
    const state = orderIn('pending');
    applyStuck(state, 'not_exported', at(5));
    expect(availableOpsActions(state)).toEqual(['retry', 'resend', 'hold', 'cancel']);
  });
});
