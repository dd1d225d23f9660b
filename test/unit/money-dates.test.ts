import { describe, expect, it } from 'vitest';
import { describeDuration, describeWait, formatShipStationDate, parseDuration, parseIsoTimestamp } from '../../domain/dates';
import { MoneyFormatError, formatCents, moneyToCents, parseMoney } from '../../domain/money';
import { ORDER_STATUSES, STATUS_MAPPING, computeOrderTotal, shipStationStatusFields } from '../../domain/order';

describe('parseMoney', () => {
  it.each([
    ['12.5', '12.50'],
    [12.5, '12.50'],
    ['12', '12.00'],
    [12, '12.00'],
    ['0', '0.00'],
    [0, '0.00'],
    ['0.05', '0.05'],
    [0.05, '0.05'],
    ['9.99', '9.99'],
    [19.99, '19.99'],
    ['-5', '-5.00'],
    ['-3.5', '-3.50'],
    [-0.01, '-0.01'],
    ['  7.1 ', '7.10'],
    ['0012.30', '12.30'],
    ['999999999999.99', '999999999999.99'],
    [999999999999.99, '999999999999.99'],
  ] as const)('%j is %j', (input, expected) => {
    expect(parseMoney(input)).toBe(expected);
  });

  it('minus zero is plain zero', () => {
    expect(parseMoney('-0')).toBe('0.00');
    expect(parseMoney('-0.00')).toBe('0.00');
    expect(parseMoney(-0)).toBe('0.00');
    expect(Object.is(moneyToCents('-0.00'), -0)).toBe(false);
  });

  it('0.1 + 0.2 is refused rather than rounded (float residue never reaches ShipStation)', () => {
    expect(() => parseMoney(0.1 + 0.2)).toThrow(MoneyFormatError);
  });

  it.each([
    ['1.005'],
    [1.005],
    ['12.345'],
    [0.001],
    ['12.'],
    ['.5'],
    ['+1'],
    ['1,00'],
    ['1 000'],
    ['1e3'],
    [1e21],
    [1e-7],
    ['- 1'],
    ['--1'],
    ['12.5.1'],
    ['abc'],
    [''],
    ['   '],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [Number.NEGATIVE_INFINITY],
  ] as const)('%j is refused', (input) => {
    expect(() => parseMoney(input)).toThrow(MoneyFormatError);
  });

  it('huge amounts beyond 12 whole digits are refused, not rounded', () => {
    expect(() => parseMoney('1000000000000')).toThrow(MoneyFormatError);
    expect(() => parseMoney('1000000000000.00')).toThrow(MoneyFormatError);
    expect(() => parseMoney(1e15)).toThrow(MoneyFormatError);
    expect(() => parseMoney('99999999999999999999')).toThrow(MoneyFormatError);
  });

  it('the refusal names the input and the expected form', () => {
    expect(() => parseMoney('12.345')).toThrow('"12.345" is not an amount with at most 2 decimals (use 12.5 or "12.50")');
    expect(() => parseMoney(0.1 + 0.2)).toThrow(/"0\.30000000000000004"/);
  });

  it('MoneyFormatError is an Error', () => {
    expect(new MoneyFormatError('x')).toBeInstanceOf(Error);
  });
});

describe('moneyToCents', () => {
  it.each([
    ['12.34', 1234],
    ['-12.34', -1234],
    ['0.1', 10],
    ['0.01', 1],
    [19.99, 1999],
    [1.1, 110],
    [4.35, 435],
    ['999999999999.99', 99_999_999_999_999],
  ] as const)('%j is %i cents exactly', (input, cents) => {
    const result = moneyToCents(input);
    expect(result).toBe(cents);
    expect(Number.isInteger(result)).toBe(true);
  });

  it('sums in cents have no float residue: 0.10 + 0.20 = 0.30', () => {
    expect(formatCents(moneyToCents('0.10') + moneyToCents('0.20'))).toBe('0.30');
  });
});

describe('formatCents', () => {
  it.each([
    [0, '0.00'],
    [5, '0.05'],
    [50, '0.50'],
    [100, '1.00'],
    [1230, '12.30'],
    [-5, '-0.05'],
    [-123456, '-1234.56'],
    [Number.MAX_SAFE_INTEGER, '90071992547409.91'],
  ] as const)('%i cents is %j', (cents, text) => {
    expect(formatCents(cents)).toBe(text);
  });

  it.each([[1.5], [Number.NaN], [Number.POSITIVE_INFINITY], [Number.MAX_SAFE_INTEGER + 1]])('%d cents is refused', (cents) => {
    expect(() => formatCents(cents)).toThrow(MoneyFormatError);
  });

  it('round-trips with moneyToCents', () => {
    for (const text of ['0.00', '0.01', '-0.99', '12.30', '100.00', '-7.05', '999999999999.99']) {
      expect(formatCents(moneyToCents(text))).toBe(text);
    }
  });
});

describe('computeOrderTotal', () => {
  it('sums line totals, shipping and tax in cents (no float residue)', () => {
    // 0.1 * 3 is 0.30000000000000004 in floats.
    expect(computeOrderTotal([{ unitPrice: '0.10', quantity: 3 }], '0.20', '0.00')).toBe('0.50');
  });

  it('counts discount lines negatively and multiplies by quantity', () => {
    expect(
      computeOrderTotal(
        [
          { unitPrice: '9.50', quantity: 2 },
          { unitPrice: '20.00', quantity: 1 },
          { unitPrice: '-5.00', quantity: 1 },
        ],
        '4.99',
        '1.20',
      ),
    ).toBe('40.19');
  });

  it('is zero for nothing, and may be negative', () => {
    expect(computeOrderTotal([], '0.00', '0.00')).toBe('0.00');
    expect(computeOrderTotal([{ unitPrice: '-10.00', quantity: 1 }], '0.00', '0.00')).toBe('-10.00');
  });

  it('refuses an amount that is not money', () => {
    expect(() => computeOrderTotal([{ unitPrice: '1.005', quantity: 1 }], '0.00', '0.00')).toThrow(MoneyFormatError);
  });
});

describe('formatShipStationDate', () => {
  it('writes MM/dd/yyyy HH:mm, zero-padded', () => {
    expect(formatShipStationDate(new Date(Date.UTC(2024, 2, 5, 7, 8, 9)))).toBe('03/05/2024 07:08');
    expect(formatShipStationDate('2024-01-01T00:00:00Z')).toBe('01/01/2024 00:00');
    expect(formatShipStationDate('2024-12-31T23:59:00Z')).toBe('12/31/2024 23:59');
  });

  it('writes UTC, whatever offset the input had', () => {
    expect(formatShipStationDate('2024-12-31T23:30:00-02:00')).toBe('01/01/2025 01:30');
    expect(formatShipStationDate('2024-03-01T01:15:00+05:30')).toBe('02/29/2024 19:45');
  });

  it('drops seconds without rounding up', () => {
    expect(formatShipStationDate('2024-06-15T10:20:59.999Z')).toBe('06/15/2024 10:20');
  });

  it('does not depend on the process time zone', () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'America/New_York';
      expect(formatShipStationDate('2024-01-01T02:03:00Z')).toBe('01/01/2024 02:03');
      process.env.TZ = 'Asia/Kolkata';
      expect(formatShipStationDate(new Date('2024-01-01T23:50:00Z'))).toBe('01/01/2024 23:50');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('parseIsoTimestamp', () => {
  it.each([
    ['2024-03-01T10:00:00Z', '2024-03-01T10:00:00.000Z'],
    ['2024-03-01T10:00:00.5Z', '2024-03-01T10:00:00.500Z'],
    ['2024-03-01T10:00:00.123456789Z', '2024-03-01T10:00:00.123Z'],
    ['2024-03-01T10:00Z', '2024-03-01T10:00:00.000Z'],
    ['2024-03-01T12:00:00+02:00', '2024-03-01T10:00:00.000Z'],
    ['2024-03-01T12:00:00+0200', '2024-03-01T10:00:00.000Z'],
    ['2024-03-01T05:00:00-05:00', '2024-03-01T10:00:00.000Z'],
    ['2024-02-29T23:30:00-05:00', '2024-03-01T04:30:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2024-03-01', '2024-03-01T00:00:00.000Z'],
    ['2000-02-29', '2000-02-29T00:00:00.000Z'],
  ])('%s is %s', (input, expected) => {
    expect(parseIsoTimestamp(input)).toBe(expected);
  });

  it.each([
    ['2024-02-30T10:00:00Z', 'Feb 30'],
    ['2024-02-30', 'Feb 30, date only'],
    ['2023-02-29T10:00:00Z', 'Feb 29 in a common year'],
    ['1900-02-29', 'Feb 29 in 1900'],
    ['2024-04-31T10:00:00Z', 'April 31'],
    ['2024-13-01T10:00:00Z', 'month 13'],
    ['2024-00-10T10:00:00Z', 'month 0'],
    ['2024-01-00T10:00:00Z', 'day 0'],
    ['2024-01-32T10:00:00Z', 'day 32'],
    ['2024-03-01T10:00:00', 'missing zone'],
    ['2024-03-01T10:00', 'missing zone, no seconds'],
    ['2024-03-01 10:00:00Z', 'space instead of T'],
    ['2024-03-01T25:00:00Z', 'hour 25'],
    ['2024-03-01T10:60:00Z', 'minute 60'],
    ['2024-03-01T10:00:00+25:00', 'offset beyond 24h'],
    ['2024-3-1T10:00:00Z', 'unpadded'],
    ['03/01/2024 10:00', 'ShipStation form'],
    ['2024-03-01T10:00:00Zjunk', 'trailing text'],
    ['', 'empty'],
    ['yesterday', 'words'],
  ])('%s is refused (%s)', (input) => {
    expect(parseIsoTimestamp(input)).toBeNull();
  });
});

describe('parseDuration and describeDuration', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['0s', 0],
    [' 15m ', 900_000],
  ])('%j is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([['1.5h'], ['15'], ['m'], ['-5s'], ['15M'], ['15 m'], ['1w'], [''], ['1h30m'], ['PT15M'], ['15mins']])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeNull();
  });

  it.each([
    [604_800_000, '7d'],
    [86_400_000, '1d'],
    [129_600_000, '36h'],
    [7_200_000, '2h'],
    [900_000, '15m'],
    [90_000, '90s'],
    [1000, '1s'],
    [1500, '1500ms'],
    [1, '1ms'],
    [0, '0ms'],
  ])('%i ms is described as %j (largest whole unit)', (ms, text) => {
    expect(describeDuration(ms)).toBe(text);
  });

  it('a described duration parses back to the same milliseconds', () => {
    for (const ms of [0, 1, 999, 1000, 61_000, 3_600_000, 5_400_000, 86_400_000, 172_800_000, 12_345_678]) {
      expect(parseDuration(describeDuration(ms))).toBe(ms);
    }
  });
});

describe('ShipStation status fields', () => {
  it('give exactly the five strings the merchant enters', () => {
    expect(shipStationStatusFields()).toEqual({
      unpaid: 'await_payment',
      paid: 'new,at_wms',
      shipped: 'shipped,confirmed',
      cancelled: 'canceled',
      on_hold: 'on_hold',
    });
  });

  it('every status is exported under a value that appears in exactly one field, so no order is invisible', () => {
    const fields = Object.values(shipStationStatusFields()).map((f) => f.split(','));
    for (const status of ORDER_STATUSES) {
      const xml = STATUS_MAPPING[status].xml;
      expect(fields.filter((values) => values.includes(xml)), status).toHaveLength(1);
    }
  });

  it('pending is exported as "new" and canceled is spelled with one l', () => {
    expect(STATUS_MAPPING.pending.xml).toBe('new');
    expect(STATUS_MAPPING.canceled).toEqual({ xml: 'canceled', category: 'cancelled' });
  });

  it('XML status values are distinct', () => {
    const values = ORDER_STATUSES.map((s) => STATUS_MAPPING[s].xml);
    expect(new Set(values).size).toBe(values.length);
  });
});

describe('describeWait (timer summaries in the Web UI)', () => {
  it.each([
    [259_199_974, '3d'],
    [3_599_900, '1h'],
    [7_500_000, '2h 5m'],
    [90_061_000, '1d 1h'],
    [45_000, '45s'],
    [1_500, '2s'],
    [500, '500ms'],
    [0, '0ms'],
  ])('%d ms reads "%s"', (ms, text) => {
    expect(describeWait(ms)).toBe(text);
  });
});
