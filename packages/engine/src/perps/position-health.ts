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

/** max(base, factor × √(notional in whole USDC)), capped at 1, wad; rounded up. */
export function marginFractionOf(
  marginFunction: SqrtMarginFunction,
  notionalUnits: bigint,
  settlementDecimals: number,
): bigint {
  if (marginFunction.factor === 0n) return marginFunction.base;
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
