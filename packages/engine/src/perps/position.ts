/**
 * One-way positions (docs/perps.md, "Positions"): the pure arithmetic of a
 * position per account and perpetual market. A fill moves the net quantity
 * and the cost basis and realises PnL on the part it closes; funding is
 * settled through the market's cumulative funding index. Nothing here moves
 * balances: the perpetual settlement moves the USDC these functions compute.
 *
 * Signs: quantity is positive for a long and negative for a short; the cost
 * basis has the quantity's sign (Backpack's `netCost`, negative for shorts);
 * a PnL is positive when the account gains; a funding payment is positive
 * when the account pays.
 */
import { powerOfTen } from '../index-prices.js';
import { wad } from '../margin-fixed-point.js';

export interface Position {
  /** Net quantity in base units, signed. */
  quantityUnits: bigint;
  /** What the open quantity cost, in USDC units, with the quantity's sign; zero when flat. */
  costBasisUnits: bigint;
  /** PnL realised so far (closing fills), USDC units, signed. */
  realisedPnlUnits: bigint;
  /** Funding paid so far, USDC units, signed (negative: received). */
  cumulativeFundingUnits: bigint;
  /** The market's cumulative funding index when funding was last settled into this position. */
  fundingIndexAtSettlement: bigint;
  /** Log time of the position's last realisation at the mark (docs/perps.md, "Realisation"). */
  realisedAtMs: number;
}

export function newPosition(fundingIndex: bigint, timeMs = 0): Position {
  return {
    quantityUnits: 0n,
    costBasisUnits: 0n,
    realisedPnlUnits: 0n,
    cumulativeFundingUnits: 0n,
    fundingIndexAtSettlement: fundingIndex,
    realisedAtMs: timeMs,
  };
}

/** ⌈a / b⌉ for any sign of a, b > 0. */
export function divideTowardPositive(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  // Division truncates toward zero: only a positive a with a remainder rounds up (a product is cheaper than a %).
  return numerator > 0n && quotient * denominator !== numerator ? quotient + 1n : quotient;
}

/** wad × 10^exponent for exponents 0 … 36, computed once. */
const wadTimesPowersOfTen: readonly bigint[] = Array.from({ length: 37 }, (_, exponent) => wad * powerOfTen(exponent));

function wadTimesPowerOfTen(exponent: number): bigint {
  return wadTimesPowersOfTen[exponent] ?? wad * powerOfTen(exponent);
}

/**
 * `numerator` / (wad × 10^exponent), truncated toward zero like `/`, as two
 * divisions: wad × 10^exponent needs two 64-bit words from exponent 2 on
 * (SOL's and BTC's conversions to USDC: 10^21 and 10^20), and V8 divides by
 * a one-word bigint about twice as fast as by a two-word one (a
 * hundred-bit product: about 140 against 370 ns). The quotient is the same:
 * truncating twice is truncating once by the product (⌊⌊x / a⌋ / b⌋ =
 * ⌊x / ab⌋ for x ≥ 0 and a, b > 0, and truncation of −x is −(that)).
 */
function quotientByWadTimesPowerOfTen(numerator: bigint, exponent: number): bigint {
  return exponent === 0 ? numerator / wad : numerator / wad / powerOfTen(exponent);
}

/**
 * `quantityUnits` base units at `perUnit` (signed wad of USDC per whole base
 * unit) in USDC units, rounded toward +∞: the one conversion of positions,
 * funding and notionals.
 */
export function settlementUnitsTowardPositive(
  quantityUnits: bigint,
  perUnit: bigint,
  baseDecimals: number,
  settlementDecimals: number,
): bigint {
  // q × p × 10^s / (wad × 10^b) is the same rational as q × p / (wad × 10^(b − s)) (or q × p × 10^(s − b) / wad),
  // so its ceiling is too: the common power of ten is cancelled rather than multiplied in.
  if (baseDecimals >= settlementDecimals) {
    const exponent = baseDecimals - settlementDecimals;
    const numerator = quantityUnits * perUnit;
    const quotient = quotientByWadTimesPowerOfTen(numerator, exponent);
    // As divideTowardPositive: only a positive numerator with a remainder rounds up.
    return numerator > 0n && quotient * wadTimesPowerOfTen(exponent) !== numerator ? quotient + 1n : quotient;
  }
  return divideTowardPositive(quantityUnits * perUnit * powerOfTen(settlementDecimals - baseDecimals), wad);
}

/**
 * `sizeUnits` (≥ 0) base units at `perUnit` (wad USDC per whole base unit, > 0)
 * in USDC units: the quotient rounded down and whether it is exact, the
 * operands of settlementUnitsTowardPositive once, so that a caller needing
 * both roundings (perp-health.ts: the mark value and the notional) divides once.
 */
export function settlementUnitsProduct(
  sizeUnits: bigint,
  perUnit: bigint,
  market: { readonly base: { readonly decimals: number }; readonly quote: { readonly decimals: number } },
): { readonly quotient: bigint; readonly exact: boolean } {
  const baseDecimals = market.base.decimals;
  const settlementDecimals = market.quote.decimals;
  let numerator = sizeUnits * perUnit;
  let exponent = 0;
  if (baseDecimals >= settlementDecimals) exponent = baseDecimals - settlementDecimals;
  else numerator *= powerOfTen(settlementDecimals - baseDecimals);
  const quotient = quotientByWadTimesPowerOfTen(numerator, exponent);
  return { quotient, exact: quotient * wadTimesPowerOfTen(exponent) === numerator };
}

/** The product's quotient rounded up: settlementUnitsTowardPositive of the same non-negative operands. */
export function notionalOfProduct(product: { readonly quotient: bigint; readonly exact: boolean }): bigint {
  return product.exact ? product.quotient : product.quotient + 1n;
}

/**
 * Applies a fill to a position: `deltaUnits` base units (positive: bought,
 * negative: sold) for `quoteUnits` USDC units (the fill's notional, never
 * negative). Returns the PnL realised by the part of the fill that closes
 * the old position (zero when it only opens or adds).
 *
 * The cost released by a partial close is the cost basis × closed / open,
 * rounded toward +∞: a long's released cost rounds up and a short's
 * (negative) rounds toward zero, so either way the realised PnL rounds
 * against the account; the remainder stays in the cost basis and is
 * realised, exactly, when the position closes. A fill past zero closes the
 * whole position and opens the rest on the other side at the fill's price
 * (the opening part's cost is the fill's notional × opened / filled, rounded
 * the same way).
 */
export function applyFill(position: Position, deltaUnits: bigint, quoteUnits: bigint): bigint {
  if (deltaUnits === 0n) return 0n;
  const open = position.quantityUnits;
  const signedQuote = deltaUnits > 0n ? quoteUnits : -quoteUnits;
  if (open === 0n || open > 0n === deltaUnits > 0n) {
    position.quantityUnits = open + deltaUnits;
    position.costBasisUnits += signedQuote;
    return 0n;
  }
  const openSize = open > 0n ? open : -open;
  const deltaSize = deltaUnits > 0n ? deltaUnits : -deltaUnits;
  const closedSize = deltaSize < openSize ? deltaSize : openSize;
  // The closing part's share of the fill's notional, and of the cost basis.
  const closingQuote =
    closedSize === deltaSize ? signedQuote : divideTowardPositive(signedQuote * closedSize, deltaSize);
  const releasedCost =
    closedSize === openSize
      ? position.costBasisUnits
      : divideTowardPositive(position.costBasisUnits * closedSize, openSize);
  // A sell (closing a long) receives −closingQuote > 0; a buy (closing a short) pays closingQuote.
  const realised = -closingQuote - releasedCost;
  position.costBasisUnits -= releasedCost;
  position.quantityUnits = open + deltaUnits;
  if (closedSize < deltaSize) position.costBasisUnits = signedQuote - closingQuote;
  position.realisedPnlUnits += realised;
  return realised;
}

/**
 * Settles funding into a position up to the market's index `fundingIndex`
 * (signed wad of USDC per whole base unit): the account pays
 * quantity × (index − index at its last settlement), converted from wad per
 * whole base unit to USDC units. Returns the payment (positive: the account
 * pays). It rounds toward +∞: what an account pays rounds up, what it
 * receives rounds down, so the payments of a market sum to at least the
 * exact zero; that non-negative dust stays in the market's funding balance
 * (docs/perps.md, "Funding"). `payment`, when given, is pendingFundingUnits
 * of the same operands, computed by the caller already.
 */
export function settleFunding(
  position: Position,
  fundingIndex: bigint,
  baseDecimals: number,
  settlementDecimals: number,
  payment = pendingFundingUnits(position, fundingIndex, baseDecimals, settlementDecimals),
): bigint {
  position.fundingIndexAtSettlement = fundingIndex;
  // Most settlements pay nothing (the index moves at funding boundaries only): no new bigint stored then.
  if (payment !== 0n) position.cumulativeFundingUnits += payment;
  return payment;
}

/** What settleFunding would pay now (positive: the account pays), without settling it. */
export function pendingFundingUnits(
  position: Position,
  fundingIndex: bigint,
  baseDecimals: number,
  settlementDecimals: number,
): bigint {
  // The index moves at funding boundaries only: almost always unchanged, compared without a bigint difference.
  const settledIndex = position.fundingIndexAtSettlement;
  if (settledIndex === fundingIndex || position.quantityUnits === 0n) return 0n;
  return settlementUnitsTowardPositive(
    position.quantityUnits,
    fundingIndex - settledIndex,
    baseDecimals,
    settlementDecimals,
  );
}

/**
 * The position's PnL at `markPrice` (wad USDC per whole base unit) relative
 * to its cost basis: quantity × mark − cost basis, in USDC units. The mark
 * value rounds toward −∞ (a long's value down, a short's obligation up), so
 * unrealised PnL never overstates what the account has.
 */
export function unrealisedPnlUnits(
  position: Position,
  markPrice: bigint,
  baseDecimals: number,
  settlementDecimals: number,
): bigint {
  if (position.quantityUnits === 0n) return -position.costBasisUnits;
  // The value rounded toward −∞ is −(−q × mark rounded toward +∞), taken here without the two negations.
  let numerator = position.quantityUnits * markPrice;
  let exponent = 0;
  if (baseDecimals >= settlementDecimals) exponent = baseDecimals - settlementDecimals;
  else numerator *= powerOfTen(settlementDecimals - baseDecimals);
  const quotient = quotientByWadTimesPowerOfTen(numerator, exponent);
  // Division truncates toward zero: only a negative numerator with a remainder rounds down.
  const value = numerator < 0n && quotient * wadTimesPowerOfTen(exponent) !== numerator ? quotient - 1n : quotient;
  return value - position.costBasisUnits;
}
