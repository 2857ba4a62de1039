/**
 * Exact decimal strings at the edges, bigint integer units inside.
 *
 * A decimal is accepted only in its plain form: digits, an optional fraction,
 * no sign, no exponent, no leading zeros in the integer part, no empty parts.
 * Anything more precise than the target scale is rejected, never rounded.
 */

/** Longest decimal string accepted anywhere; bounds bigint work on hostile input. */
export const maximumDecimalLength = 48;

export type DecimalParse =
  | { readonly ok: true; readonly units: bigint }
  | { readonly ok: false; readonly reason: 'malformed' | 'too-precise' | 'too-long' };

const zeroCode = 0x30;
const nineCode = 0x39;
const pointCode = 0x2e;
/** Runs of zeros by length, for the fraction's padding to the scale (every scale in use is below 64). */
const zeroRuns: readonly string[] = Array.from({ length: 64 }, (_, length) => '0'.repeat(length));

/**
 * Parses `text` into an integer count of 10^-scale units. Every order's price
 * and quantity come through here (order-request.ts), so the text is read by
 * character code rather than matched by a regular expression, whose match
 * array and captured strings, with the padded copy, cost about as much as the
 * BigInt itself. It accepts exactly the grammar `^(0|[1-9][0-9]*)(\.[0-9]+)?$`
 * (decimal.test.ts holds it to that expression) and refuses with the same
 * reasons in the same order: too long, malformed, too precise.
 */
export function parseDecimal(text: string, scale: number): DecimalParse {
  const length = text.length;
  if (length > maximumDecimalLength) return { ok: false, reason: 'too-long' };
  let index = 0;
  while (index < length && isDigitCode(text.charCodeAt(index))) index += 1;
  const integerEnd = index;
  if (integerEnd === 0 || (integerEnd > 1 && text.charCodeAt(0) === zeroCode))
    return { ok: false, reason: 'malformed' };
  // The fraction's digits end at fractionEnd once its trailing zeros, which carry no precision, are left out:
  // "0.50" at scale 1 is exactly 5 units.
  let fractionEnd = integerEnd + 1;
  if (index < length) {
    if (text.charCodeAt(index) !== pointCode || index + 1 === length) return { ok: false, reason: 'malformed' };
    for (index += 1; index < length; index += 1) {
      const code = text.charCodeAt(index);
      if (!isDigitCode(code)) return { ok: false, reason: 'malformed' };
      if (code !== zeroCode) fractionEnd = index + 1;
    }
  }
  const fractionLength = fractionEnd - integerEnd - 1;
  if (fractionLength > scale) return { ok: false, reason: 'too-precise' };
  const integerPart = text.slice(0, integerEnd);
  const digits = fractionLength === 0 ? integerPart : integerPart + text.slice(integerEnd + 1, fractionEnd);
  const padding = scale - fractionLength;
  const units = BigInt(padding === 0 ? digits : digits + (zeroRuns[padding] ?? '0'.repeat(padding)));
  return { ok: true, units };
}

function isDigitCode(code: number): boolean {
  return code >= zeroCode && code <= nineCode;
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
