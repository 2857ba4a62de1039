/**
 * Positions in the cross-margin health (docs/perps.md, "Health"): the
 * margin a position requires. A position's notional is |quantity| × mark in
 * USDC units; its margin fraction is Backpack's sqrt function of that
 * notional in whole USDC, max(base, factor × √notional), at most 1; the
 * requirement is notional × fraction. Requirements round up (the notional,
 * the square root and the product), per docs/margin.md, "Fixed point and
 * rounding".
 */
import {
  divideUp,
  minimum,
  multiplyUp,
  multiplyUpReduced,
  type ReducedFraction,
  reducedFraction,
  squareRootUp,
  wad,
} from '../margin-fixed-point.js';
import type { SqrtMarginFunction } from './perp-market.js';
import { settlementUnitsTowardPositive } from './position.js';

/** |quantity| × mark in USDC units, rounded up: the notional a requirement is taken of. */
export function notionalUnitsUp(
  quantityUnits: bigint,
  markPrice: bigint,
  baseDecimals: number,
  settlementDecimals: number,
): bigint {
  const size = quantityUnits < 0n ? -quantityUnits : quantityUnits;
  return settlementUnitsTowardPositive(size, markPrice, baseDecimals, settlementDecimals);
}

/**
 * The largest notional (USDC units) at which the function's base fraction
 * rules, so that marginFractionOf needs no square root: with R =
 * ⌊base × wad / factor⌋, the rounded-up factor term ⌈root × factor / wad⌉ is
 * at most base exactly when root ≤ R, where root = ⌈√m⌉ and m =
 * ⌈notional × wad² / 10^decimals⌉; that is m ≤ R² (R² is whole), that is
 * notional × wad² ≤ R² × 10^decimals, that is notional ≤ ⌊R² × 10^decimals / wad²⌋.
 * Kept with it: the fraction there, min(1, base), in reduced form (margin-fixed-point.ts), so that the requirement
 * below the crossover is one division by a one-word denominator (1/50 for 0.02) instead of a two-word product by
 * the wad fraction and a division by wad: the same rational, so the same ceiling.
 * Computed once per function and decimals (the functions live as long as
 * their listing) and kept in a short list looked up by identity, so it is a
 * few comparisons per call (a WeakMap would make the engine depend on garbage
 * collection; the list is bounded and cleared when full).
 */
interface BaseRuling {
  readonly marginFunction: SqrtMarginFunction;
  readonly decimals: number;
  readonly notionalUnits: bigint;
  readonly fraction: ReducedFraction;
}

const baseRulings: BaseRuling[] = [];
const baseRulingsKept = 16;

/** The crossover of a function with a non-zero factor, and its fraction below it. */
function baseRuling(marginFunction: SqrtMarginFunction, settlementDecimals: number): BaseRuling {
  for (let index = 0; index < baseRulings.length; index += 1) {
    const known = baseRulings[index]!;
    if (known.marginFunction === marginFunction && known.decimals === settlementDecimals) return known;
  }
  const rootLimit = (marginFunction.base * wad) / marginFunction.factor;
  const notionalUnits = (rootLimit * rootLimit * 10n ** BigInt(settlementDecimals)) / (wad * wad);
  const fraction = reducedFraction(minimum(wad, marginFunction.base));
  if (baseRulings.length === baseRulingsKept) baseRulings.length = 0;
  const ruling = { marginFunction, decimals: settlementDecimals, notionalUnits, fraction };
  baseRulings.push(ruling);
  return ruling;
}

/** max(base, factor × √(notional in whole USDC)), capped at 1, wad; rounded up. */
export function marginFractionOf(
  marginFunction: SqrtMarginFunction,
  notionalUnits: bigint,
  settlementDecimals: number,
): bigint {
  if (marginFunction.factor === 0n) return marginFunction.base;
  // Below the crossover the factor term cannot exceed the base: the same result without the square root.
  if (notionalUnits <= baseRuling(marginFunction, settlementDecimals).notionalUnits)
    return minimum(wad, marginFunction.base);
  // √(notional / 10^decimals) in wad = √(notional × wad² / 10^decimals).
  const root = squareRootUp(divideUp(notionalUnits * wad * wad, 10n ** BigInt(settlementDecimals)));
  const scaled = multiplyUp(root, marginFunction.factor);
  return minimum(wad, scaled > marginFunction.base ? scaled : marginFunction.base);
}

/** The margin a notional requires under a sqrt function, USDC units, rounded up. */
export function positionRequirementUnits(
  marginFunction: SqrtMarginFunction,
  notionalUnits: bigint,
  settlementDecimals: number,
): bigint {
  if (marginFunction.factor !== 0n) {
    const ruling = baseRuling(marginFunction, settlementDecimals);
    // Below the crossover the fraction is min(1, base): multiplyUp by it, by its reduced form.
    if (notionalUnits <= ruling.notionalUnits) return multiplyUpReduced(notionalUnits, ruling.fraction);
  }
  return multiplyUp(notionalUnits, marginFractionOf(marginFunction, notionalUnits, settlementDecimals));
}
