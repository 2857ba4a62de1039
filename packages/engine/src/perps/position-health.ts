/**
 * Positions in the cross-margin health (docs/perps.md, "Health"): the
 * margin a position requires. A position's notional is |quantity| × mark in
 * USDC units; its margin fraction is Backpack's sqrt function of that
 * notional in whole USDC, max(base, factor × √notional), at most 1; the
 * requirement is notional × fraction. Requirements round up (the notional,
 * the square root and the product), per docs/margin.md, "Fixed point and
 * rounding".
 */
import { divideUp, minimum, multiplyUp, squareRootUp, wad } from '../margin-fixed-point.js';
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
 * Computed once per function and decimals (the functions live as long as
 * their listing) and kept in a short list looked up by identity, so it is a
 * few comparisons per call (a WeakMap would make the engine depend on garbage
 * collection; the list is bounded and cleared when full).
 */
const baseRulingNotionals: Array<{
  readonly marginFunction: SqrtMarginFunction;
  readonly decimals: number;
  readonly notionalUnits: bigint;
}> = [];
const baseRulingNotionalsKept = 16;

function baseRulingNotional(marginFunction: SqrtMarginFunction, settlementDecimals: number): bigint {
  for (let index = 0; index < baseRulingNotionals.length; index += 1) {
    const known = baseRulingNotionals[index]!;
    if (known.marginFunction === marginFunction && known.decimals === settlementDecimals) return known.notionalUnits;
  }
  const rootLimit = (marginFunction.base * wad) / marginFunction.factor;
  const notionalUnits = (rootLimit * rootLimit * 10n ** BigInt(settlementDecimals)) / (wad * wad);
  if (baseRulingNotionals.length === baseRulingNotionalsKept) baseRulingNotionals.length = 0;
  baseRulingNotionals.push({ marginFunction, decimals: settlementDecimals, notionalUnits });
  return notionalUnits;
}

/** max(base, factor × √(notional in whole USDC)), capped at 1, wad; rounded up. */
export function marginFractionOf(
  marginFunction: SqrtMarginFunction,
  notionalUnits: bigint,
  settlementDecimals: number,
): bigint {
  if (marginFunction.factor === 0n) return marginFunction.base;
  // Below the crossover the factor term cannot exceed the base: the same result without the square root.
  if (notionalUnits <= baseRulingNotional(marginFunction, settlementDecimals)) return minimum(wad, marginFunction.base);
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
  return multiplyUp(notionalUnits, marginFractionOf(marginFunction, notionalUnits, settlementDecimals));
}
