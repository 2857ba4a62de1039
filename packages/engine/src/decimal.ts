/**
 * Exact decimal strings at the edges, bigint integer units inside.
 *
 * A decimal is accepted only in its plain form: digits, an optional fraction,
 * no sign, no exponent, no leading zeros in the integer part, no empty parts.
 * Anything more precise than the target scale is rejected, never rounded.
 */
const decimalPattern = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/** Longest decimal string accepted anywhere; bounds bigint work on hostile input. */
export const maximumDecimalLength = 48;

export type DecimalParse =
  | { readonly ok: true; readonly units: bigint }
  | { readonly ok: false; readonly reason: 'malformed' | 'too-precise' | 'too-long' };

/** Parses `text` into an integer count of 10^-scale units. */
export function parseDecimal(text: string, scale: number): DecimalParse {
  if (text.length > maximumDecimalLength) return { ok: false, reason: 'too-long' };
  const match = decimalPattern.exec(text);
  if (match === null) return { ok: false, reason: 'malformed' };
  const integerPart = match[1] as string;
  let fraction = match[2] ?? '';
  // Trailing zeros carry no precision, so "0.50" at scale 1 is exactly 5 units.
  let end = fraction.length;
  while (end > 0 && fraction.charCodeAt(end - 1) === 48) end -= 1;
  fraction = fraction.slice(0, end);
  if (fraction.length > scale) return { ok: false, reason: 'too-precise' };
  const units = BigInt(integerPart + fraction.padEnd(scale, '0'));
  return { ok: true, units };
}

/** Formats integer units at `scale` as the shortest exact decimal (no trailing zeros). */
export function formatDecimal(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const integerPart = digits.slice(0, digits.length - scale);
  let fraction = digits.slice(digits.length - scale);
  let end = fraction.length;
  while (end > 0 && fraction.charCodeAt(end - 1) === 48) end -= 1;
  fraction = fraction.slice(0, end);
  return (negative ? '-' : '') + integerPart + (fraction.length > 0 ? '.' + fraction : '');
}

/**
 * Parses a decimal that must be a whole multiple of `increment` units (a tick
 * or step size) and returns the count of increments.
 */
export function parseIncrements(
  text: string,
  scale: number,
  incrementUnits: bigint,
):
  | { readonly ok: true; readonly count: bigint }
  | { readonly ok: false; readonly reason: 'malformed' | 'too-precise' | 'too-long' } {
  const parsed = parseDecimal(text, scale);
  if (!parsed.ok) return parsed;
  if (parsed.units % incrementUnits !== 0n) return { ok: false, reason: 'too-precise' };
  return { ok: true, count: parsed.units / incrementUnits };
}

/** Parses a base-10 unsigned integer with no leading zeros, within [0, maximum]. */
export function parseUnsignedInteger(text: string, maximum: bigint): bigint | undefined {
  if (text.length === 0 || text.length > 20) return undefined;
  if (!/^(0|[1-9][0-9]*)$/.test(text)) return undefined;
  const value = BigInt(text);
  return value <= maximum ? value : undefined;
}
