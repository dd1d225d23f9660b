/**
 * ShipStation's date forms. Documented: `MM/dd/yyyy HH:mm` (24 h, UTC). Seen in real traffic and
 * accepted too: single-digit month, day and hour, optional seconds, and a 12-hour clock with AM/PM.
 * Impossible dates (Feb 30, month 13, hour 25, year 0) are refused, never rolled over.
 */

const DATE_TIME = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\.?)?)?$/;

export type DateParse = { ok: true; date: Date } | { ok: false; reason: string };

/** Parses a ShipStation date-time (or date-only, as midnight) in UTC. */
export function parseShipStationDateTime(text: string): DateParse {
  const trimmed = text.trim();
  const match = DATE_TIME.exec(trimmed);
  if (!match) return { ok: false, reason: `"${text}" is not a date in the form MM/dd/yyyy HH:mm` };
  const [, mm, dd, yyyy, hh = '0', mi = '0', ss = '0', meridiem] = match;
  const month = Number(mm);
  const day = Number(dd);
  const year = Number(yyyy);
  let hour = Number(hh);
  const minute = Number(mi);
  const second = Number(ss);
  if (meridiem) {
    if (hour < 1 || hour > 12) return { ok: false, reason: `"${text}": hour ${hour} does not exist on a 12-hour clock` };
    const pm = meridiem.toLowerCase() === 'p';
    hour = (hour % 12) + (pm ? 12 : 0);
  }
  // There is no year 0 (1 BC is followed by AD 1) and PostgreSQL refuses one: a window or label date
  // in it would fail in the database (for a notice: in its projection, for ever) instead of here.
  if (year < 1) return { ok: false, reason: `"${text}": year ${year} does not exist` };
  if (month < 1 || month > 12) return { ok: false, reason: `"${text}": month ${month} does not exist` };
  if (hour > 23 || minute > 59 || second > 59) return { ok: false, reason: `"${text}": the time does not exist` };
  // Not Date.UTC(year, ...): it reads years 0-99 as 1900-1999, so "01/01/0024" would become 1924.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return { ok: false, reason: `"${text}": day ${day} does not exist in month ${month} of ${year}` };
  }
  return { ok: true, date };
}

/** A date-only form (`MM/dd/yyyy`, as in ShipDate) as an ISO calendar date `yyyy-mm-dd`. */
export function parseShipStationDay(text: string): string | null {
  const parsed = parseShipStationDateTime(text);
  if (!parsed.ok) return null;
  return parsed.date.toISOString().slice(0, 10);
}

export interface ExportWindow {
  /** First instant included (the start minute's :00.000). */
  start: Date;
  /** Last instant included (the end minute's :59.999). */
  end: Date;
}

/**
 * The export window for `start_date` and `end_date`: inclusive at both ends at minute resolution, the
 * end minute covering its 59.999 seconds. Seconds in the input are dropped (minute resolution).
 */
export function exportWindow(startText: string | undefined, endText: string | undefined): { ok: true; window: ExportWindow } | { ok: false; reason: string } {
  if (!startText || !endText) return { ok: false, reason: 'start_date and end_date are required (MM/dd/yyyy HH:mm, UTC)' };
  const start = parseShipStationDateTime(startText);
  if (!start.ok) return { ok: false, reason: `start_date: ${start.reason}` };
  const end = parseShipStationDateTime(endText);
  if (!end.ok) return { ok: false, reason: `end_date: ${end.reason}` };
  const startMs = Math.floor(start.date.getTime() / 60_000) * 60_000;
  // A date-only end means the whole of that day, not its first minute.
  const endHasTime = /\d:\d/.test(endText);
  const endMs = endHasTime ? Math.floor(end.date.getTime() / 60_000) * 60_000 + 59_999 : end.date.getTime() + 86_399_999;
  if (endMs < startMs) return { ok: false, reason: `end_date ${endText} is before start_date ${startText}` };
  return { ok: true, window: { start: new Date(startMs), end: new Date(endMs) } };
}
