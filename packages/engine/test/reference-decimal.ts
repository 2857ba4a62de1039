/**
 * The reference model's exact decimals (value = digits / 10^exponent), its own
 * parsing and formatting, written from docs/protocol.md and not from the
 * engine's decimal module. Part of the naive reference model (reference-model.ts).
 */

export interface Dec {
  readonly digits: bigint;
  readonly exponent: number;
}

function isDigit(character: string): boolean {
  return character >= '0' && character <= '9';
}

/**
 * Reads a plain decimal: one or more digits, optionally a point followed by
 * one or more digits; no sign, no exponent, no leading zero before another
 * digit in the whole part. Anything else is not a decimal.
 */
export function readDecimal(text: string): Dec | undefined {
  if (text.length === 0 || text.length > 48) return undefined;
  const parts = text.split('.');
  if (parts.length > 2) return undefined;
  const whole = parts[0]!;
  const fraction = parts.length === 2 ? parts[1]! : '';
  if (whole.length === 0) return undefined;
  if (parts.length === 2 && fraction.length === 0) return undefined;
  for (const character of whole + fraction) if (!isDigit(character)) return undefined;
  if (whole.length > 1 && whole[0] === '0') return undefined;
  return { digits: BigInt(whole + fraction), exponent: fraction.length };
}

export function pow10(exponent: number): bigint {
  let result = 1n;
  for (let index = 0; index < exponent; index += 1) result *= 10n;
  return result;
}

/** `a / b` when it is a whole number, else undefined. */
export function exactQuotient(a: Dec, b: Dec): bigint | undefined {
  // (a.d / 10^a.e) / (b.d / 10^b.e) = a.d · 10^b.e / (b.d · 10^a.e)
  const numerator = a.digits * pow10(b.exponent);
  const denominator = b.digits * pow10(a.exponent);
  if (denominator === 0n) return undefined;
  if (numerator % denominator !== 0n) return undefined;
  return numerator / denominator;
}

/** The decimal as a whole count of 10^-decimals units, or undefined when finer than that. */
export function unitsAt(value: Dec, decimals: number): bigint | undefined {
  return exactQuotient(value, { digits: 1n, exponent: decimals });
}

/** Formats a count of 10^-scale units as a plain decimal (used by arbitraries and examples). */
export function unitsToDecimal(units: bigint, scale: number): string {
  if (units < 0n) throw new Error('negative');
  const text = units.toString();
  if (scale === 0) return text;
  const padded = text.length <= scale ? '0'.repeat(scale - text.length + 1) + text : text;
  const whole = padded.slice(0, padded.length - scale);
  const fraction = padded.slice(padded.length - scale).replace(/0+$/, '');
  return fraction.length === 0 ? whole : `${whole}.${fraction}`;
}

export function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}
