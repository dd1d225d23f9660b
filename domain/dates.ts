/** Dates travel as ISO 8601 UTC strings inside the service; only the ShipStation XML uses its own form. */

const pad2 = (n: number) => String(n).padStart(2, '0');

/** ShipStation's documented date form, `MM/dd/yyyy HH:mm`, always in UTC. */
export function formatShipStationDate(value: Date | string): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a date: ${String(value)}`);
  return (
    `${pad2(date.getUTCMonth() + 1)}/${pad2(date.getUTCDate())}/${date.getUTCFullYear()} ` +
    `${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}`
  );
}

/** Parses an ISO 8601 timestamp that carries a zone (Z or an offset); returns the UTC ISO string. */
export function parseIsoTimestamp(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(value)) return null;
  const date = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime())) return null;
  // Date silently rolls Feb 30 over to March; compare the calendar part to refuse it.
  const [y, m, d] = value.slice(0, 10).split('-').map(Number);
  const check = new Date(Date.UTC(y!, m! - 1, d!));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m! - 1 || check.getUTCDate() !== d) return null;
  return date.toISOString();
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The longest deadline or grace period anyone may set, in the environment or for one merchant:
 * Temporal timers take at most about 100 years, and ten is plenty for any order.
 */
export const MAX_DURATION_MS = 3650 * 86_400_000;

/** "90s", "15m", "2h", "7d" -> milliseconds; null when the text is not such a duration. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return null;
  return Number(match[1]) * DURATION_UNITS[match[2]!]!;
}

/**
 * A wait as a person reads it in the Web UI: "3d", "2h 5m", "45s" - the two largest units, rounded
 * to the smaller one (a deadline computed to the millisecond, 259199974 ms, is "3d", not "259199974ms").
 */
export function describeWait(ms: number): string {
  if (!(ms >= 1_000)) return `${Math.max(0, Math.round(ms))}ms`;
  const units = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const;
  const largest = (value: number) => units.findIndex(([, size]) => value >= size);
  const smallerOf = (index: number) => units[Math.min(index + 1, units.length - 1)]![1];
  // Rounded to the smaller of the two units; rounding may carry into a larger unit (59m 59.9s is 1h).
  const first = largest(Math.round(ms / smallerOf(largest(ms))) * smallerOf(largest(ms)));
  const [bigName, bigSize] = units[first]!;
  const [smallName, smallSize] = units[Math.min(first + 1, units.length - 1)]!;
  const rounded = Math.round(ms / smallSize) * smallSize;
  const big = Math.floor(rounded / bigSize);
  const small = Math.round((rounded - big * bigSize) / smallSize);
  return bigName === smallName || small === 0 ? `${big}${bigName}` : `${big}${bigName} ${small}${smallName}`;
}

export function describeDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = DURATION_UNITS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
