/**
 * Money is kept as a decimal string with exactly two places ("12.30") everywhere it is stored or
 * sent, and as integer cents while it is computed, so no float residue ever reaches ShipStation.
 */

const MONEY_PATTERN = /^(-)?(\d{1,12})(?:\.(\d{1,2}))?$/;

export class MoneyFormatError extends Error {}

/** The largest amount the read model stores (numeric(14,2)): 999999999999.99. */
export const MAX_MONEY_CENTS = 99_999_999_999_999;
export const moneyInRange = (cents: number) => Math.abs(cents) <= MAX_MONEY_CENTS;

/** Accepts a JSON number or a decimal string with at most two decimals; returns "123.40". */
export function parseMoney(input: number | string): string {
  return formatCents(moneyToCents(input));
}

export function moneyToCents(input: number | string): number {
  const text = typeof input === 'number' ? numberToPlainString(input) : input.trim();
  const match = MONEY_PATTERN.exec(text);
  if (!match) {
    throw new MoneyFormatError(
      `"${String(input)}" is not an amount with at most 2 decimals (use 12.5 or "12.50")`,
    );
  }
  const [, sign, whole, fraction = ''] = match;
  const cents = Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
  return sign && cents !== 0 ? -cents : cents;
}

export function formatCents(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new MoneyFormatError(`amount out of range: ${cents}`);
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** A JSON number such as 0.1 + 0.2 prints as 0.30000000000000004 and is refused, as it should be. */
function numberToPlainString(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return String(value);
}

/** "1.5000" -> "1.5", "2.0" -> "2": decimals (weights) as the source wrote them, without padding. */
export function trimDecimal(value: string): string {
  return value.includes('.') ? value.replace(/\.?0+$/, '') : value;
}
