import { describe, expect, it } from 'vitest';
import { exportWindow, parseShipStationDateTime, parseShipStationDay } from '../../domain/shipstation/dates';

/** The instant a parse produced, as ISO, or the refusal reason prefixed with "refused: ". */
function parsed(text: string): string {
  const result = parseShipStationDateTime(text);
  return result.ok ? result.date.toISOString() : `refused: ${result.reason}`;
}

describe('ShipStation date-times', () => {
  it('reads the documented MM/dd/yyyy HH:mm as UTC', () => {
    expect(parsed('01/23/2012 17:28')).toBe('2012-01-23T17:28:00.000Z');
    expect(parsed('12/31/2024 23:59')).toBe('2024-12-31T23:59:00.000Z');
    expect(parsed('01/01/2024 00:00')).toBe('2024-01-01T00:00:00.000Z');
  });

  it('reads the URL-encoded form ShipStation sends once the query string is decoded', () => {
    const query = new URLSearchParams('action=export&start_date=01%2f23%2f2012+17%3a28&end_date=01%2F23%2F2012+18%3A00');
    expect(parsed(query.get('start_date')!)).toBe('2012-01-23T17:28:00.000Z');
    expect(parsed(query.get('end_date')!)).toBe('2012-01-23T18:00:00.000Z');
  });

  it('reads single-digit month, day and hour', () => {
    expect(parsed('1/5/2024 7:08')).toBe('2024-01-05T07:08:00.000Z');
    expect(parsed('3/09/2024 09:30')).toBe('2024-03-09T09:30:00.000Z');
    expect(parsed('10/1/2024 0:00')).toBe('2024-10-01T00:00:00.000Z');
  });

  it('reads optional seconds', () => {
    expect(parsed('01/23/2012 17:28:45')).toBe('2012-01-23T17:28:45.000Z');
    expect(parsed('1/23/2012 5:28:07 PM')).toBe('2012-01-23T17:28:07.000Z');
  });

  it.each([
    ['1/23/2012 5:28 PM', '2012-01-23T17:28:00.000Z'],
    ['1/23/2012 5:28 AM', '2012-01-23T05:28:00.000Z'],
    ['1/23/2012 5:28PM', '2012-01-23T17:28:00.000Z'],
    ['1/23/2012 5:28 pm', '2012-01-23T17:28:00.000Z'],
    ['1/23/2012 5:28 p.m.', '2012-01-23T17:28:00.000Z'],
    ['1/23/2012 11:59 PM', '2012-01-23T23:59:00.000Z'],
    ['1/23/2012 1:00 AM', '2012-01-23T01:00:00.000Z'],
  ])('reads the 12-hour clock: %s', (text, iso) => {
    expect(parsed(text)).toBe(iso);
  });

  it('12 AM is midnight and 12 PM is noon', () => {
    expect(parsed('1/23/2012 12:00 AM')).toBe('2012-01-23T00:00:00.000Z');
    expect(parsed('1/23/2012 12:30 AM')).toBe('2012-01-23T00:30:00.000Z');
    expect(parsed('1/23/2012 12:00 PM')).toBe('2012-01-23T12:00:00.000Z');
    expect(parsed('1/23/2012 12:59 PM')).toBe('2012-01-23T12:59:00.000Z');
  });

  it('ignores surrounding spaces', () => {
    expect(parsed('  01/23/2012 17:28 ')).toBe('2012-01-23T17:28:00.000Z');
  });

  it('accepts February 29th in a leap year only', () => {
    expect(parsed('02/29/2024 10:00')).toBe('2024-02-29T10:00:00.000Z');
    expect(parsed('02/29/2023 10:00')).toBe('refused: "02/29/2023 10:00": day 29 does not exist in month 2 of 2023');
    expect(parsed('02/29/1900 10:00')).toMatch(/^refused: .*day 29 does not exist/);
    expect(parsed('02/29/2000 10:00')).toBe('2000-02-29T10:00:00.000Z');
  });

  it.each([
    ['02/30/2024 10:00', 'day 30 does not exist in month 2 of 2024'],
    ['04/31/2024 10:00', 'day 31 does not exist in month 4 of 2024'],
    ['01/32/2024 10:00', 'day 32 does not exist in month 1 of 2024'],
    ['01/00/2024 10:00', 'day 0 does not exist in month 1 of 2024'],
    ['13/01/2024 10:00', 'month 13 does not exist'],
    ['00/10/2024 10:00', 'month 0 does not exist'],
    ['01/01/2024 24:00', 'the time does not exist'],
    ['01/01/2024 10:60', 'the time does not exist'],
    ['01/01/2024 10:00:60', 'the time does not exist'],
    ['01/01/2024 13:00 PM', 'hour 13 does not exist on a 12-hour clock'],
    ['01/01/2024 0:30 AM', 'hour 0 does not exist on a 12-hour clock'],
  ])('refuses the impossible %s, saying why', (text, why) => {
    expect(parsed(text)).toBe(`refused: "${text}": ${why}`);
  });

  it.each([['2024-01-23 10:00'], ['2024-01-23T10:00:00Z'], ['1/23/24 10:00'], ['01/23/2012 17'], ['01-23-2012 17:28'], ['yesterday'], ['']])(
    'refuses %j, which is not in the MM/dd/yyyy HH:mm form',
    (text) => {
      expect(parsed(text)).toBe(`refused: "${text}" is not a date in the form MM/dd/yyyy HH:mm`);
    },
  );

  it('reads a year below 100 as that year, not as 19xx', () => {
    // Date.UTC reads years 0-99 as 1900-1999; this caught a real bug.
    expect(parsed('01/01/0024 10:00')).toBe('0024-01-01T10:00:00.000Z');
    expect(parsed('02/29/0004 00:00')).toBe('0004-02-29T00:00:00.000Z');
    expect(parsed('02/29/0001 00:00')).toMatch(/^refused: .*day 29 does not exist in month 2 of 1/);
  });

  it('refuses year 0, which PostgreSQL cannot store (found by fuzzing: a window answered 500, a label date broke its projection)', () => {
    expect(parsed('01/01/0000 00:00')).toBe('refused: "01/01/0000 00:00": year 0 does not exist');
    expect(parseShipStationDay('12/31/0000')).toBeNull();
    expect(exportWindow('01/01/0000 00:00', '01/02/2026 00:00')).toEqual({ ok: false, reason: 'start_date: "01/01/0000 00:00": year 0 does not exist' });
    expect(parsed('01/01/0001 00:00')).toBe('0001-01-01T00:00:00.000Z');
  });

  it('does not depend on the process time zone', () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'Pacific/Kiritimati';
      expect(parsed('03/10/2024 02:30')).toBe('2024-03-10T02:30:00.000Z');
      process.env.TZ = 'America/New_York';
      // 02:30 on this day does not exist in New York (DST); in UTC it does.
      expect(parsed('03/10/2024 02:30')).toBe('2024-03-10T02:30:00.000Z');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('ShipStation dates without a time (ShipDate)', () => {
  it('reads MM/dd/yyyy as a calendar date', () => {
    expect(parseShipStationDay('01/23/2012')).toBe('2012-01-23');
    expect(parseShipStationDay('1/5/2024')).toBe('2024-01-05');
    expect(parsed('01/23/2012')).toBe('2012-01-23T00:00:00.000Z');
  });

  it('refuses a day that does not exist', () => {
    expect(parseShipStationDay('02/30/2024')).toBeNull();
    expect(parseShipStationDay('not a date')).toBeNull();
  });
});

describe('the export window', () => {
  function window(start: string | undefined, end: string | undefined) {
    const result = exportWindow(start, end);
    return result.ok ? { start: result.window.start.toISOString(), end: result.window.end.toISOString() } : `refused: ${result.reason}`;
  }

  it('is inclusive at both ends, the end minute covering its 59.999 seconds', () => {
    expect(window('01/23/2012 17:28', '01/23/2012 18:05')).toEqual({
      start: '2012-01-23T17:28:00.000Z',
      end: '2012-01-23T18:05:59.999Z',
    });
  });

  it('a date-only end covers the whole of that day', () => {
    expect(window('01/23/2012', '01/24/2012')).toEqual({
      start: '2012-01-23T00:00:00.000Z',
      end: '2012-01-24T23:59:59.999Z',
    });
  });

  it('a window of one minute covers that whole minute', () => {
    expect(window('01/23/2012 17:28', '01/23/2012 17:28')).toEqual({
      start: '2012-01-23T17:28:00.000Z',
      end: '2012-01-23T17:28:59.999Z',
    });
  });

  it('works at minute resolution: seconds in the bounds are dropped, never rounded up', () => {
    expect(window('01/23/2012 17:28:45', '01/23/2012 17:30:10')).toEqual({
      start: '2012-01-23T17:28:00.000Z',
      end: '2012-01-23T17:30:59.999Z',
    });
    // Same minute, start seconds after end seconds: not reversed at minute resolution.
    expect(window('01/23/2012 17:28:50', '01/23/2012 17:28:10')).toEqual({
      start: '2012-01-23T17:28:00.000Z',
      end: '2012-01-23T17:28:59.999Z',
    });
  });

  it('takes the 12-hour and single-digit forms too', () => {
    expect(window('1/23/2012 11:58 PM', '1/24/2012 12:01 AM')).toEqual({
      start: '2012-01-23T23:58:00.000Z',
      end: '2012-01-24T00:01:59.999Z',
    });
  });

  it('refuses an end before the start, naming both', () => {
    expect(window('01/23/2012 17:28', '01/23/2012 17:27')).toBe(
      'refused: end_date 01/23/2012 17:27 is before start_date 01/23/2012 17:28',
    );
    expect(window('01/24/2012 00:00', '01/23/2012 23:59')).toMatch(/^refused: end_date .* is before start_date/);
  });

  it('refuses an impossible bound, saying which one', () => {
    expect(window('02/30/2024 10:00', '03/01/2024 10:00')).toBe(
      'refused: start_date: "02/30/2024 10:00": day 30 does not exist in month 2 of 2024',
    );
    expect(window('02/01/2024 10:00', '13/01/2024 10:00')).toBe('refused: end_date: "13/01/2024 10:00": month 13 does not exist');
  });

  it('refuses a missing bound, saying which form is expected', () => {
    const reason = 'refused: start_date and end_date are required (MM/dd/yyyy HH:mm, UTC)';
    expect(window(undefined, '01/23/2012 17:28')).toBe(reason);
    expect(window('01/23/2012 17:28', undefined)).toBe(reason);
    expect(window('', '')).toBe(reason);
  });
});
