/**
 * The perpetuals reference model's cross-margin health (docs/margin.md
 * section 6 and docs/perps.md section 6), written from the docs for what the
 * seeded test arranges: the only collateral is USDC (weight 1, no haircut),
 * the only debt a USDC borrow, and the margin functions have no sqrt term
 * (factor 0, so the fraction is the base). Part of the naive perpetuals
 * reference model (reference-perps.ts).
 */
import type { ModelPerpMarket, ModelPosition, ModelUsdc, PerpReferenceModel } from './reference-perps.js';

const wad = 10n ** 18n;

export function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  return numerator % denominator > 0n ? quotient + 1n : quotient;
}

export function floorDiv(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  return numerator % denominator < 0n ? quotient - 1n : quotient;
}

export function magnitude(value: bigint): bigint {
  return value < 0n ? -value : value;
}

export interface ModelHealth {
  readonly netEquity: bigint;
  readonly initialRequirement: bigint;
  readonly maintenanceRequirement: bigint;
}

/** q × m in USDC units, exact as a fraction: numerator over wad × 10^baseDecimals. */
function markValueScale(market: ModelPerpMarket): bigint {
  return wad * 10n ** BigInt(market.baseDecimals);
}

/** |q| × mark in USDC units rounded up (section 6). */
export function notionalUp(market: ModelPerpMarket, quantityUnits: bigint, markPrice = market.markPrice): bigint {
  return ceilDiv(magnitude(quantityUnits) * markPrice * 10n ** BigInt(market.usdcDecimals), markValueScale(market));
}

/** |q| × mark in USDC units rounded down (section 6a's budget and V). */
export function notionalDown(market: ModelPerpMarket, quantityUnits: bigint): bigint {
  return (magnitude(quantityUnits) * market.markPrice * 10n ** BigInt(market.usdcDecimals)) / markValueScale(market);
}

/** Section 5's payment were funding settled now (positive: paid), rounded toward +∞. */
export function pendingFunding(market: ModelPerpMarket, position: ModelPosition): bigint {
  const moved = market.fundingIndex - position.fundingIndexAtSettlement;
  if (moved === 0n || position.quantityUnits === 0n) return 0n;
  return ceilDiv(position.quantityUnits * moved * 10n ** BigInt(market.usdcDecimals), markValueScale(market));
}

/** Unrealised PnL at the mark less pending funding: what section 6 adds to net equity for one position. */
export function positionEquity(market: ModelPerpMarket, position: ModelPosition): bigint {
  const value = floorDiv(
    position.quantityUnits * market.markPrice * 10n ** BigInt(market.usdcDecimals),
    markValueScale(market),
  );
  return value - position.costBasisUnits - pendingFunding(market, position);
}

/** A replacement of one position and of the USDC, for a hypothetical health. */
export interface HealthOverride {
  readonly symbol: string;
  readonly position: ModelPosition | undefined;
  readonly usdc: ModelUsdc;
}

/**
 * Net equity and the two requirements of an account: USDC held less
 * borrowed, each position's PnL (funding pending counted) at its mark; the
 * borrow's requirement ⌈borrowed × fraction⌉ and each position's
 * ⌈notional × fraction⌉; a position on a market with no mark requires its
 * whole |cost basis| and adds no PnL.
 */
export function modelHealth(model: PerpReferenceModel, account: string, override?: HealthOverride): ModelHealth {
  const usdc = override?.usdc ?? model.usdcOf(account);
  let netEquity = usdc.available - usdc.borrowed;
  let initialRequirement = ceilDiv(usdc.borrowed * model.usdcMargin.imf, wad);
  let maintenanceRequirement = ceilDiv(usdc.borrowed * model.usdcMargin.mmf, wad);
  for (const [symbol, market] of model.markets) {
    const position = override?.symbol === symbol ? override.position : model.positions.get(account)?.get(symbol);
    if (position === undefined || position.quantityUnits === 0n) continue;
    if (market.markPrice === 0n) {
      initialRequirement += magnitude(position.costBasisUnits);
      maintenanceRequirement += magnitude(position.costBasisUnits);
      continue;
    }
    netEquity += positionEquity(market, position);
    const notional = notionalUp(market, position.quantityUnits);
    initialRequirement += ceilDiv(notional * market.imfBase, wad);
    maintenanceRequirement += ceilDiv(notional * market.mmfBase, wad);
  }
  return { netEquity, initialRequirement, maintenanceRequirement };
}
