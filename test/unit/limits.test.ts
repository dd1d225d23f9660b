/** What one order may hold (domain/limits.ts) and what the rules do beyond each cap: a flag or a count, never silence. */
import { describe, expect, it } from 'vitest';
import { applyHold, applyRelease, applyShipmentReported, applyStuck, applyDeliveryRejected } from '../../domain/lifecycle';
import {
  appendKeepingEnds,
  cutCodePoints,
  DETAIL_MAX,
  FLAGS_KEEP,
  jsonBytes,
  MAX_SHIPMENTS_PER_ORDER,
  SHIPMENTS_STATE_BUDGET_BYTES,
  TIMELINE_KEEP,
  utf8Length,
} from '../../domain/limits';
import { at, line, orderIn, report } from './builders';

describe('helpers', () => {
  it('cutCodePoints never splits a surrogate pair', () => {
    expect(cutCodePoints('ab😀😀', 3)).toBe('ab😀');
    expect(cutCodePoints('ab😀😀', 3).isWellFormed()).toBe(true);
    expect(cutCodePoints('abc', 5)).toBe('abc');
  });

  it('utf8Length counts bytes as UTF-8', () => {
    for (const s of ['', 'abc', 'é', '€', '😀', 'a\u0000b', JSON.stringify({ x: 'é😀\u0001' })]) expect(utf8Length(s), s).toBe(Buffer.byteLength(s));
  });

  it('appendKeepingEnds keeps the first and last items and one counted marker between', () => {
    const list: number[] = [];
    // Markers are negative: -n stands for n items left out.
    const marker = { is: (x: number) => x < 0, count: (x: number) => -x, make: (n: number) => -n };
    for (let i = 1; i <= 20; i++) appendKeepingEnds(list, i, { head: 3, tail: 4 }, marker);
    expect(list).toEqual([1, 2, 3, -13, 17, 18, 19, 20]);
    const short: number[] = [];
    for (let i = 1; i <= 8; i++) appendKeepingEnds(short, i, { head: 3, tail: 4 }, marker);
    expect(short).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('timeline and flags', () => {
  it(`the timeline keeps its first ${TIMELINE_KEEP.head} and last ${TIMELINE_KEEP.tail} entries, and counts the rest in one marker`, () => {
    const state = orderIn('pending');
    const before = state.timeline.length;
    for (let i = 0; i < 150; i++) {
      applyHold(state, `hold ${i}`, at(10 + 2 * i));
      applyRelease(state, at(11 + 2 * i));
    }
    const total = before + 300;
    expect(state.timeline).toHaveLength(TIMELINE_KEEP.head + 1 + TIMELINE_KEEP.tail);
    const marker = state.timeline[TIMELINE_KEEP.head]!;
    expect(marker).toMatchObject({ event: 'entries omitted', omitted: total - TIMELINE_KEEP.head - TIMELINE_KEEP.tail });
    expect(marker.detail).toContain(`${marker.omitted} entries left out`);
    expect(state.timeline[0]!.event).toBe('created');
    expect(state.timeline.at(-1)).toMatchObject({ event: 'released', at: at(11 + 2 * 149) });
  });

  it(`flags keep their first ${FLAGS_KEEP.head} and last ${FLAGS_KEEP.tail}, the rest counted by a flags_omitted flag`, () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: Array.from({ length: 80 }, (_, i) => ({ sku: `NOPE-${i}`, quantity: 1 })) }), at(5));
    expect(state.flags).toHaveLength(FLAGS_KEEP.head + 1 + FLAGS_KEEP.tail);
    expect(state.flags[FLAGS_KEEP.head]).toMatchObject({ code: 'flags_omitted', omitted: 80 - FLAGS_KEEP.head - FLAGS_KEEP.tail });
    expect(state.flags.at(-1)!.detail).toContain('NOPE-79');
  });

  it(`details quoting others (a reason, a webhook's answer) are cut to ${DETAIL_MAX} characters`, () => {
    const state = orderIn('at_wms');
    applyStuck(state, 'no_shipment', at(2), 'x'.repeat(5000));
    expect([...state.timeline.at(-1)!.detail!].length).toBe(DETAIL_MAX);
    const shipped = orderIn('shipped');
    applyDeliveryRejected(shipped, shipped.shipments[0]!.shipmentKey, 'y'.repeat(5000), at(9));
    expect(shipped.shipments[0]!.deliveryRejected).toHaveLength(DETAIL_MAX);
    expect(shipped.stuck?.detail).toHaveLength(DETAIL_MAX);
  });
});

describe('shipments per order', () => {
  it('items a notice named beyond the cap are flagged on the order', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ trackingNumber: 'T1', items: [{ lineId: 'L1', quantity: 1 }], itemsOmitted: 7 }), at(3));
    expect(state.flags).toContainEqual({ code: 'shipment_items_omitted', at: at(3), detail: 'package T1 named 7 item(s) beyond the first 500; they were left out' });
    expect(state.shipped).toEqual({ L1: 1 });
  });

  it(`a package beyond ${MAX_SHIPMENTS_PER_ORDER} shipments is not recorded, and the order is flagged once`, () => {
    const state = orderIn('at_wms', { lines: [line('L1', 'MUG', 99_999)] });
    for (let i = 0; i < MAX_SHIPMENTS_PER_ORDER; i++) {
      expect(applyShipmentReported(state, report({ shipmentKey: `k${i}`, items: [{ lineId: 'L1', quantity: 1 }] }), at(3))).toBe('recorded');
    }
    const over = report({ shipmentKey: 'over', trackingNumber: 'OVER1', items: [{ lineId: 'L1', quantity: 1 }] });
    expect(applyShipmentReported(state, over, at(4))).toBe('not_recorded');
    expect(state.shipments).toHaveLength(MAX_SHIPMENTS_PER_ORDER);
    expect(state.shipped).toEqual({ L1: MAX_SHIPMENTS_PER_ORDER });
    expect(state.flags.filter((f) => f.code === 'shipment_not_recorded')).toEqual([
      { code: 'shipment_not_recorded', at: at(4), detail: `package OVER1 was not recorded: the order already has ${MAX_SHIPMENTS_PER_ORDER} shipments, the most one order records` },
    ]);
    // The same notice again: already flagged, nothing changes.
    expect(applyShipmentReported(state, over, at(5))).toBe('duplicate');
  });

  it(`a package that would take the order's state past ${SHIPMENTS_STATE_BUDGET_BYTES} bytes is not recorded, and flagged`, () => {
    const state = orderIn('at_wms', { lines: [line('L1', 'MUG', 99_999)] });
    const notes = '😀'.repeat(1000);
    const details = { customerNotes: notes, internalNotes: notes, notesToCustomer: notes };
    let outcome = 'recorded';
    for (let i = 0; outcome === 'recorded'; i++) {
      outcome = applyShipmentReported(state, report({ shipmentKey: `k${i}`, details, items: [{ lineId: 'L1', quantity: 1 }] }), at(3));
    }
    expect(outcome).toBe('not_recorded');
    expect(state.shipments.length).toBeLessThan(MAX_SHIPMENTS_PER_ORDER);
    expect(state.flags.at(-1)).toMatchObject({ code: 'shipment_not_recorded', detail: expect.stringContaining(`more than the ${SHIPMENTS_STATE_BUDGET_BYTES}`) });
    expect(jsonBytes(state)).toBeLessThan(SHIPMENTS_STATE_BUDGET_BYTES + 10_000);
  });
});
