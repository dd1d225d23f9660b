import { describe, expect, it } from 'vitest';
import { allocateShipment, allUnitsShipped, normalizeTrackingNumber } from '../../domain/shipments';
import { defaultLines, discount, line } from './builders';

describe('allocateShipment: no requested items', () => {
  it('no items means everything still unshipped', () => {
    expect(allocateShipment(defaultLines(), {}, undefined)).toEqual({
      lines: [
        { lineId: 'L1', quantity: 2 },
        { lineId: 'L2', quantity: 1 },
      ],
      unallocated: [],
    });
  });

  it('no items after a partial shipment covers only what is left', () => {
    expect(allocateShipment(defaultLines(), { L1: 1 }, undefined).lines).toEqual([
      { lineId: 'L1', quantity: 1 },
      { lineId: 'L2', quantity: 1 },
    ]);
  });

  it('no items leaves out lines already fully shipped', () => {
    expect(allocateShipment(defaultLines(), { L1: 2 }, undefined).lines).toEqual([{ lineId: 'L2', quantity: 1 }]);
  });

  it('no items on a fully shipped order covers nothing and reports nothing unallocated', () => {
    expect(allocateShipment(defaultLines(), { L1: 2, L2: 1 }, undefined)).toEqual({ lines: [], unallocated: [] });
  });

  it('a line recorded as shipped beyond its quantity has nothing left (never negative)', () => {
    expect(allocateShipment(defaultLines(), { L1: 5 }, undefined).lines).toEqual([{ lineId: 'L2', quantity: 1 }]);
  });

  it('adjustment lines are never shipped, even for "everything"', () => {
    const lines = [discount('D0'), line('L1', 'MUG', 1), discount('D1')];
    expect(allocateShipment(lines, {}, undefined).lines).toEqual([{ lineId: 'L1', quantity: 1 }]);
  });

  // An empty list is not "absent": a notice parser must map an empty <Items/> to undefined.
  it('an empty item list covers nothing (only an absent list means everything)', () => {
    expect(allocateShipment(defaultLines(), {}, [])).toEqual({ lines: [], unallocated: [] });
  });
});

describe('allocateShipment: matching by LineItemID', () => {
  const lines = [line('L1', 'MUG', 2), line('L2', 'MUG', 2)];

  it('a line id takes units from exactly that line, even when another line has the same SKU', () => {
    expect(allocateShipment(lines, {}, [{ lineId: 'L2', quantity: 1 }]).lines).toEqual([{ lineId: 'L2', quantity: 1 }]);
  });

  it('the line id wins over a SKU that names another line', () => {
    const mixed = [line('L1', 'MUG', 1), line('L2', 'TEE', 1)];
    expect(allocateShipment(mixed, {}, [{ lineId: 'L2', sku: 'MUG', quantity: 1 }]).lines).toEqual([{ lineId: 'L2', quantity: 1 }]);
  });

  it('an unknown line id falls back to the SKU', () => {
    const mixed = [line('L1', 'MUG', 1), line('L2', 'TEE', 1)];
    expect(allocateShipment(mixed, {}, [{ lineId: 'shopify-999', sku: 'TEE', quantity: 1 }]).lines).toEqual([{ lineId: 'L2', quantity: 1 }]);
  });

  it('a line id that names a fully shipped line does not spill over to another line with the same SKU', () => {
    const result = allocateShipment(lines, { L1: 2 }, [{ lineId: 'L1', sku: 'MUG', quantity: 1 }]);
    expect(result.lines).toEqual([]);
    expect(result.unallocated).toEqual([{ item: { lineId: 'L1', sku: 'MUG', quantity: 1 }, quantity: 1, why: 'already_shipped' }]);
  });

  it('a line id that names an adjustment line falls back to the SKU', () => {
    const withDiscount = [line('L1', 'MUG', 1), discount('D1')];
    expect(allocateShipment(withDiscount, {}, [{ lineId: 'D1', sku: 'mug', quantity: 1 }]).lines).toEqual([{ lineId: 'L1', quantity: 1 }]);
  });

  it('a line id that names an adjustment line and no SKU matches no line', () => {
    const withDiscount = [line('L1', 'MUG', 1), discount('D1')];
    const item = { lineId: 'D1', quantity: 1 };
    expect(allocateShipment(withDiscount, {}, [item])).toEqual({ lines: [], unallocated: [{ item, quantity: 1, why: 'no_matching_line' }] });
  });

  it('a line id is matched exactly (case matters for ids)', () => {
    const item = { lineId: 'l1', quantity: 1 };
    expect(allocateShipment(lines, {}, [item]).unallocated).toEqual([{ item, quantity: 1, why: 'no_matching_line' }]);
  });
});

describe('allocateShipment: matching by SKU', () => {
  it('SKUs match case-insensitively', () => {
    const lines = [line('L1', 'Mug-Blue', 3)];
    expect(allocateShipment(lines, {}, [{ sku: 'MUG-BLUE', quantity: 2 }]).lines).toEqual([{ lineId: 'L1', quantity: 2 }]);
    expect(allocateShipment(lines, {}, [{ sku: 'mug-blue', quantity: 1 }]).lines).toEqual([{ lineId: 'L1', quantity: 1 }]);
  });

  it('repeated SKUs are filled in line order', () => {
    const lines = [line('A', 'X', 2), line('B', 'Y', 5), line('C', 'x', 3)];
    expect(allocateShipment(lines, {}, [{ sku: 'X', quantity: 4 }]).lines).toEqual([
      { lineId: 'A', quantity: 2 },
      { lineId: 'C', quantity: 2 },
    ]);
  });

  it('repeated SKUs skip what is already shipped on the earlier line', () => {
    const lines = [line('A', 'X', 2), line('C', 'X', 3)];
    expect(allocateShipment(lines, { A: 1 }, [{ sku: 'X', quantity: 4 }]).lines).toEqual([
      { lineId: 'A', quantity: 1 },
      { lineId: 'C', quantity: 3 },
    ]);
  });

  it('a SKU only found on an adjustment line matches no line', () => {
    const lines = [line('L1', 'MUG', 1), line('D1', 'PROMO', 1, { adjustment: true })];
    const item = { sku: 'PROMO', quantity: 1 };
    expect(allocateShipment(lines, {}, [item])).toEqual({ lines: [], unallocated: [{ item, quantity: 1, why: 'no_matching_line' }] });
  });

  it('an unknown SKU matches no line', () => {
    const item = { sku: 'GHOST', quantity: 3 };
    expect(allocateShipment(defaultLines(), {}, [item])).toEqual({ lines: [], unallocated: [{ item, quantity: 3, why: 'no_matching_line' }] });
  });

  it('an item with neither line id nor SKU matches no line', () => {
    const item = { quantity: 1 };
    expect(allocateShipment(defaultLines(), {}, [item]).unallocated).toEqual([{ item, quantity: 1, why: 'no_matching_line' }]);
  });

  it('an empty SKU does not match lines with an empty SKU (e.g. discounts) or anything else', () => {
    const lines = [line('L1', '', 1)];
    const item = { sku: '', quantity: 1 };
    expect(allocateShipment(lines, {}, [item]).unallocated).toEqual([{ item, quantity: 1, why: 'no_matching_line' }]);
  });
});

describe('allocateShipment: quantities', () => {
  it('never more than what is still unshipped; the excess is reported as already shipped', () => {
    const item = { lineId: 'L1', quantity: 5 };
    expect(allocateShipment(defaultLines(), { L1: 1 }, [item])).toEqual({
      lines: [{ lineId: 'L1', quantity: 1 }],
      unallocated: [{ item, quantity: 4, why: 'already_shipped' }],
    });
  });

  it('repeated SKUs beyond every matching line report only the excess', () => {
    const lines = [line('A', 'X', 1), line('B', 'X', 1)];
    const item = { sku: 'x', quantity: 3 };
    expect(allocateShipment(lines, {}, [item])).toEqual({
      lines: [
        { lineId: 'A', quantity: 1 },
        { lineId: 'B', quantity: 1 },
      ],
      unallocated: [{ item, quantity: 1, why: 'already_shipped' }],
    });
  });

  it('two items for the same line add up within one package, and are capped together', () => {
    const items = [
      { lineId: 'L1', quantity: 1 },
      { sku: 'mug', quantity: 1 },
      { lineId: 'L1', quantity: 1 },
    ];
    const result = allocateShipment(defaultLines(), {}, items);
    expect(result.lines).toEqual([{ lineId: 'L1', quantity: 2 }]);
    expect(result.unallocated).toEqual([{ item: items[2], quantity: 1, why: 'already_shipped' }]);
  });

  it('result lines follow the order of the order lines, not of the notice', () => {
    const result = allocateShipment(defaultLines(), {}, [
      { lineId: 'L2', quantity: 1 },
      { lineId: 'L1', quantity: 1 },
    ]);
    expect(result.lines).toEqual([
      { lineId: 'L1', quantity: 1 },
      { lineId: 'L2', quantity: 1 },
    ]);
  });

  it('an item with quantity zero covers nothing and is not reported', () => {
    expect(allocateShipment(defaultLines(), {}, [{ lineId: 'L1', quantity: 0 }])).toEqual({ lines: [], unallocated: [] });
  });

  it('does not change the already-shipped map it is given', () => {
    const shipped = { L1: 1 };
    allocateShipment(defaultLines(), shipped, [{ lineId: 'L1', quantity: 1 }]);
    expect(shipped).toEqual({ L1: 1 });
  });
});

describe('allUnitsShipped', () => {
  it('is true when every unit of every product line is shipped', () => {
    expect(allUnitsShipped(defaultLines(), { L1: 2, L2: 1 })).toBe(true);
  });

  it('is false while one unit is missing', () => {
    expect(allUnitsShipped(defaultLines(), { L1: 1, L2: 1 })).toBe(false);
    expect(allUnitsShipped(defaultLines(), { L1: 2 })).toBe(false);
    expect(allUnitsShipped(defaultLines(), {})).toBe(false);
  });

  it('ignores adjustment lines', () => {
    expect(allUnitsShipped([line('L1', 'MUG', 1), discount('D1')], { L1: 1 })).toBe(true);
  });

  it('counts a line shipped beyond its quantity as shipped', () => {
    expect(allUnitsShipped([line('L1', 'MUG', 1)], { L1: 3 })).toBe(true);
  });

  it('ignores shipped counts for lines the order does not have', () => {
    expect(allUnitsShipped([line('L1', 'MUG', 1)], { L9: 5 })).toBe(false);
  });

  it('is false for an order with nothing to ship (no lines, or only adjustments)', () => {
    expect(allUnitsShipped([], {})).toBe(false);
    expect(allUnitsShipped([discount('D1')], { D1: 1 })).toBe(false);
  });
});

describe('normalizeTrackingNumber', () => {
  it('drops spaces and dashes and upper-cases', () => {
    expect(normalizeTrackingNumber('1z 999-aa1 0123 4567 84')).toBe('1Z999AA10123456784');
  });

  it('drops every kind of whitespace, including tabs, newlines and no-break spaces', () => {
    expect(normalizeTrackingNumber(' 9400\t1000\n0000\u00a01234 ')).toBe('9400100000001234');
  });

  it('leaves a normalised number as it is (idempotent)', () => {
    const once = normalizeTrackingNumber('ab-12 cd');
    expect(once).toBe('AB12CD');
    expect(normalizeTrackingNumber(once)).toBe(once);
  });

  it('keeps other characters', () => {
    expect(normalizeTrackingNumber('lp.00/12_x')).toBe('LP.00/12_X');
  });

  it('two spellings of one package give the same number', () => {
    expect(normalizeTrackingNumber('1Z-999-AA1')).toBe(normalizeTrackingNumber('1z999aa1'));
  });
});
