/**
 * The one fixed-point module of the margin engine (docs/margin.md, "Fixed
 * point and rounding"). Fractions (rates, weights, utilisation, prices,
 * indexes) are bigint counts of 10^-18 ("wad"). Every operation states its
 * rounding direction, and callers pick it by what the result is: debts,
 * requirements and the exchange's claims round up; collateral, credits and
 * what a user receives round down. Nothing here uses number arithmetic.
 */
import { parseDecimal } from './decimal.js';

export const wadDecimals = 18;
/** 1.0 as a fraction. */
export const wad = 10n ** 18n;
/** A year of log time, the unit of interest rates: 365 × 86,400,000 ms. */
export const yearMs = 31_536_000_000n;

/** ⌊a / b⌋ for a ≥ 0, b > 0. */
export function divideDown(numerator: bigint, denominator: bigint): bigint {
  return numerator / denominator;
}

/** ⌈a / b⌉ for a ≥ 0, b > 0. */
export function divideUp(numerator: bigint, denominator: bigint): bigint {
  return numerator === 0n ? 0n : (numerator - 1n) / denominator + 1n;
}

/**
 * ⌈a / b⌉ for a constant b > 0 whose predecessor `denominatorLessOne` (b − 1)
 * the caller keeps: ⌊(a + b − 1) / b⌋ for a ≥ 0, one bigint operation (and
 * allocation) fewer than divideUp on the hot margin paths. A negative a takes
 * divideUp itself, so every result is exactly divideUp's.
 */
export function divideUpBy(numerator: bigint, denominator: bigint, denominatorLessOne: bigint): bigint {
  return numerator >= 0n ? (numerator + denominatorLessOne) / denominator : divideUp(numerator, denominator);
}

/** wad − 1, for divideUpBy(…, wad, wadLessOne). */
export const wadLessOne = wad - 1n;

/** ⌊a × b / wad⌋: a fraction of an amount, rounded down (collateral, credits). */
export function multiplyDown(amount: bigint, fraction: bigint): bigint {
  // A whole fraction (a weight of 1) is exact: skip the wide product and division of the hot health paths.
  if (fraction === wad) return amount;
  return (amount * fraction) / wad;
}

/** ⌈a × b / wad⌉: a fraction of an amount, rounded up (debts, requirements). */
export function multiplyUp(amount: bigint, fraction: bigint): bigint {
  if (fraction === wad && amount >= 0n) return amount;
  return divideUpBy(amount * fraction, wad, wadLessOne);
}

/**
 * A fraction as numerator / denominator in lowest terms (the factors 2 and 5
 * they share removed), so that numerator / denominator is exactly
 * fraction / wad: 0.8 is 4 / 5. A product by a listing's constant fraction (a collateral weight, a
 * base margin fraction) then stays within one machine word where the wad
 * form takes two; callers keep the reduced form with the listing.
 */
export interface ReducedFraction {
  readonly fraction: bigint;
  readonly numerator: bigint;
  readonly denominator: bigint;
  readonly denominatorLessOne: bigint;
}

export function reducedFraction(fraction: bigint): ReducedFraction {
  let numerator = fraction;
  let denominator = wad;
  while (denominator > 1n && numerator % 10n === 0n) {
    numerator /= 10n;
    denominator /= 10n;
  }
  // Then by the other common factors of a power of ten (0.2 = 1/5): the same rational, and a numerator of 1 saves
  // the products' multiplication (multiplyDownReduced, multiplyUpReduced).
  for (const prime of [2n, 5n]) {
    while (denominator % prime === 0n && numerator % prime === 0n) {
      numerator /= prime;
      denominator /= prime;
    }
  }
  return { fraction, numerator, denominator, denominatorLessOne: denominator - 1n };
}

/** multiplyDown(amount, reduced.fraction): the same rational, so the same quotient (truncated alike for any sign). */
export function multiplyDownReduced(amount: bigint, reduced: ReducedFraction): bigint {
  if (reduced.denominator === 1n) return reduced.numerator === 1n ? amount : amount * reduced.numerator;
  // A product by 1 is the amount itself: skipping it saves a bigint allocation on the hot health paths.
  if (reduced.numerator === 1n) return amount / reduced.denominator;
  return (amount * reduced.numerator) / reduced.denominator;
}

/** multiplyUp(amount, reduced.fraction): ⌈a × n / d⌉ for a non-negative product, multiplyUp itself otherwise. */
export function multiplyUpReduced(amount: bigint, reduced: ReducedFraction): bigint {
  if (amount < 0n || reduced.numerator < 0n) return multiplyUp(amount, reduced.fraction);
  if (reduced.denominator === 1n) return reduced.numerator === 1n ? amount : amount * reduced.numerator;
  if (reduced.numerator === 1n) return (amount + reduced.denominatorLessOne) / reduced.denominator;
  return (amount * reduced.numerator + reduced.denominatorLessOne) / reduced.denominator;
}

/** ⌊a × wad / b⌋: a ratio as a fraction, rounded down. */
export function ratioDown(numerator: bigint, denominator: bigint): bigint {
  return (numerator * wad) / denominator;
}

/** ⌈a × wad / b⌉: a ratio as a fraction, rounded up. */
export function ratioUp(numerator: bigint, denominator: bigint): bigint {
  return divideUp(numerator * wad, denominator);
}

/** ⌊√x⌋ for x ≥ 0 (Newton's method on bigint; exact). */
export function squareRootDown(value: bigint): bigint {
  if (value < 2n) return value;
  let estimate = 1n << BigInt((value.toString(2).length >> 1) + 1);
  for (;;) {
    const next = (estimate + value / estimate) >> 1n;
    if (next >= estimate) return estimate;
    estimate = next;
  }
}

/** ⌈√x⌉ for x ≥ 0. */
export function squareRootUp(value: bigint): bigint {
  const root = squareRootDown(value);
  return root * root === value ? root : root + 1n;
}

/** √f of a fraction f, as a fraction: √(f × wad), rounded in the direction asked. */
export function fractionSquareRoot(fraction: bigint, roundUp: boolean): bigint {
  return roundUp ? squareRootUp(fraction * wad) : squareRootDown(fraction * wad);
}

/** Parses a non-negative decimal with at most 18 fraction digits into a fraction; undefined if it is not one. */
export function parseFraction(text: string): bigint | undefined {
  const parsed = parseDecimal(text, wadDecimals);
  return parsed.ok ? parsed.units : undefined;
}

export function minimum(left: bigint, right: bigint): bigint {
  return left < right ? left : right;
}

export function maximum(left: bigint, right: bigint): bigint {
  return left > right ? left : right;
}
