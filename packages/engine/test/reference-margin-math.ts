/**
 * The reference model's fixed point, written from docs/margin.md's rounding
 * table (section 3) and NOT from margin-fixed-point.ts: fractions are bigint
 * counts of 10^-18 ("wad"); every operation says which way it rounds, and
 * the callers pick the direction the table gives. Part of the naive margin
 * reference model (reference-margin-model.ts).
 */
import { readDecimal, unitsAt } from './reference-decimal.js';

export const WAD = 10n ** 18n;
/** A year of log time in whole seconds: interest accrues per whole second (docs/margin.md section 5.3). */
export const YEAR_SECONDS = 365n * 86_400n;

/** ⌊a / b⌋ for a ≥ 0, b > 0. */
export function floorDiv(a: bigint, b: bigint): bigint {
  if (a < 0n || b <= 0n) throw new Error(`floorDiv(${a}, ${b}) outside the model's domain`);
  return a / b;
}

/** ⌈a / b⌉ for a ≥ 0, b > 0. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  if (a < 0n || b <= 0n) throw new Error(`ceilDiv(${a}, ${b}) outside the model's domain`);
  return a % b === 0n ? a / b : a / b + 1n;
}

/** The largest r with r² ≤ n, by bisection (slow and obvious). */
export function integerSquareRootDown(n: bigint): bigint {
  if (n < 0n) throw new Error('negative square root');
  let low = 0n;
  let high = 1n;
  while (high * high <= n) high *= 2n;
  while (high - low > 1n) {
    const middle = (low + high) / 2n;
    if (middle * middle <= n) low = middle;
    else high = middle;
  }
  return low;
}

/** √ of a fraction f (wad) as a fraction: √(f · wad), rounded as asked. */
export function fractionRoot(fraction: bigint, up: boolean): bigint {
  const product = fraction * WAD;
  const root = integerSquareRootDown(product);
  return up && root * root !== product ? root + 1n : root;
}

export const larger = (a: bigint, b: bigint): bigint => (a > b ? a : b);
export const smaller = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** A decimal text as wad (18 fraction digits, exact), or undefined. */
export function wadOf(text: string): bigint | undefined {
  const value = readDecimal(text);
  return value === undefined ? undefined : unitsAt(value, 18);
}
