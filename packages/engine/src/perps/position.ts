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

/**
 * A copy of `position`, built as newPosition builds one (the same fields in the same order): a spread copy gets
 * another hidden class, and one such copy made every position function that later saw it polymorphic.
 */
export function copyOfPosition(position: Position): Position {
  return {
    quantityUnits: position.quantityUnits,
    costBasisUnits: position.costBasisUnits,
    realisedPnlUnits: position.realisedPnlUnits,
    cumulativeFundingUnits: position.cumulativeFundingUnits,
    fundingIndexAtSettlement: position.fundingIndexAtSettlement,
    realisedAtMs: position.realisedAtMs,
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

/** wad − 1 and wad × 10^exponent − 1 (exponents 0 … 36): what a rounded conversion adds to its numerator. */
const wadLessOne = wad - 1n;
const wadTimesPowersOfTenLessOne: readonly bigint[] = wadTimesPowersOfTen.map((divisor) => divisor - 1n);

function wadTimesPowerOfTenLessOne(exponent: number): bigint {
  return wadTimesPowersOfTenLessOne[exponent] ?? wadTimesPowerOfTen(exponent) - 1n;
}

/**
 * Per exponent k, the last per-unit amount converted with it and that
 * amount divided by 10^k when 10^k divides it (undefined when not). Marks and
 * prices on a tick grid are such multiples (a tick of 0.01 USDC is 10^16 in
 * wad; k = b − s is 3 for SOL, 2 for BTC), and q × p / (wad × 10^k) is the
 * same rational as q × (p / 10^k) / wad: one division by a one-word divisor
 * instead of a divisor of two 64-bit words (wad × 10^k from k = 2 on), which
 * V8 divides by several times more slowly (a hundred-bit product: about
 * 370 ns against 70). A memo of a pure function, one entry per exponent (a
 * market's mark changes at most once per entry and is converted many times
 * in between): it changes no result, only which equal rational is divided.
 */
const reducedPerUnits: Array<{ readonly perUnit: bigint; readonly reduced: bigint | undefined }> = [];

function reducedPerUnit(perUnit: bigint, exponent: number): bigint | undefined {
  let entry = reducedPerUnits[exponent];
  if (entry === undefined || entry.perUnit !== perUnit) {
    const power = powerOfTen(exponent);
    const reduced = perUnit / power;
    entry = { perUnit, reduced: reduced * power === perUnit ? reduced : undefined };
    reducedPerUnits[exponent] = entry;
  }
  return entry.reduced;
}

/**
 * The numerator and divisor of the last conversionQuotient, whose remainder
 * (zero or not) notionalOfQuotient tests by a product: kept here instead of an
 * object per call.
 */
let conversionNumerator = 0n;
let conversionDenominator = wad;

/** How conversionQuotient rounds: toward zero, toward +∞, toward −∞. */
const towardZero = 0;
const towardPositive = 1;
const towardNegative = -1;

/**
 * q × p × 10^s / (wad × 10^b), rounded as `rounding` says: the one division
 * behind every conversion below. The common power of ten is cancelled
 * rather than multiplied in (the same rational, so the same roundings), and
 * the divisor is kept to one word: through reducedPerUnit, or else by
 * dividing by wad and by 10^(b − s) in turn (truncating twice is truncating
 * once by the product: ⌊⌊x / a⌋ / c⌋ = ⌊x / ac⌋ for x ≥ 0, and truncation
 * of −x is −(that)).
 *
 * Rounding away from zero is folded into the numerator instead of testing
 * the remainder afterwards (a product and a sum fewer per conversion): for a
 * divisor d > 0 and x > 0, ⌈x / d⌉ = trunc((x + d − 1) / d), and for x < 0,
 * ⌊x / d⌋ = trunc((x − (d − 1)) / d); toward +∞ a negative x, and toward −∞
 * a positive one, truncate as they are. position.test.ts compares both ways
 * over edge and random operands.
 */
function conversionQuotient(
  quantityUnits: bigint,
  perUnit: bigint,
  baseDecimals: number,
  settlementDecimals: number,
  rounding: number,
): bigint {
  let numerator: bigint;
  let exponent = 0;
  if (baseDecimals < settlementDecimals) {
    numerator = quantityUnits * perUnit * powerOfTen(settlementDecimals - baseDecimals);
  } else {
    exponent = baseDecimals - settlementDecimals;
    const reduced = exponent === 0 ? perUnit : reducedPerUnit(perUnit, exponent);
    if (reduced !== undefined) {
      numerator = quantityUnits * reduced;
      exponent = 0;
    } else numerator = quantityUnits * perUnit;
  }
  conversionNumerator = numerator;
  conversionDenominator = exponent === 0 ? wad : wadTimesPowerOfTen(exponent);
  if (rounding === towardPositive ? numerator > 0n : rounding === towardNegative && numerator < 0n) {
    const lessOne = exponent === 0 ? wadLessOne : wadTimesPowerOfTenLessOne(exponent);
    numerator = rounding === towardPositive ? numerator + lessOne : numerator - lessOne;
  }
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
  return conversionQuotient(quantityUnits, perUnit, baseDecimals, settlementDecimals, towardPositive);
}

/**
 * `sizeUnits` (≥ 0) base units at `perUnit` (wad USDC per whole base unit, > 0) in USDC units, rounded down: the
 * operands of settlementUnitsTowardPositive once, so that a caller needing both roundings (perp-health.ts: the
 * mark value and the notional) divides once. notionalOfQuotient, called before any other conversion, rounds it
 * up; no object is made for the pair (a health term is computed for every position of every margin check).
 */
export function settlementUnitsQuotient(
  sizeUnits: bigint,
  perUnit: bigint,
  market: { readonly base: { readonly decimals: number }; readonly quote: { readonly decimals: number } },
): bigint {
  return conversionQuotient(sizeUnits, perUnit, market.base.decimals, market.quote.decimals, towardZero);
}

/** The last settlementUnitsQuotient, `quotient`, rounded up (it reads the division that quotient came from). */
export function notionalOfQuotient(quotient: bigint): bigint {
  // A product is cheaper than a %.
  return quotient * conversionDenominator !== conversionNumerator ? quotient + 1n : quotient;
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
  const realised = fillOutcome(position.quantityUnits, position.costBasisUnits, deltaUnits, quoteUnits);
  position.quantityUnits = filled.quantityUnits;
  position.costBasisUnits = filled.costBasisUnits;
  // Only a closing fill realises; adding zero would leave the same value.
  if (realised !== 0n) position.realisedPnlUnits += realised;
  return realised;
}

/**
 * What fillOutcome leaves: the position's quantity and cost basis after the fill. One object, overwritten by
 * every call and read at once by its caller (applyFill; the margin check's worst cases, perp-orders.ts), rather
 * than an object per fill.
 */
export const filled = { quantityUnits: 0n, costBasisUnits: 0n };

/**
 * applyFill's arithmetic on values (a position of `openUnits` and `costBasisUnits`, a fill of `deltaUnits` ≠ 0
 * for `quoteUnits`): the realised PnL, and the new quantity and cost basis in `filled`. The one implementation of
 * a fill, so that the margin check's hypothetical fills (which keep no position) round exactly as real ones.
 */
export function fillOutcome(openUnits: bigint, costBasisUnits: bigint, deltaUnits: bigint, quoteUnits: bigint): bigint {
  const signedQuote = deltaUnits > 0n ? quoteUnits : -quoteUnits;
  if (openUnits === 0n || openUnits > 0n === deltaUnits > 0n) {
    filled.quantityUnits = openUnits + deltaUnits;
    filled.costBasisUnits = costBasisUnits + signedQuote;
    return 0n;
  }
  const openSize = openUnits > 0n ? openUnits : -openUnits;
  const deltaSize = deltaUnits > 0n ? deltaUnits : -deltaUnits;
  const closedSize = deltaSize < openSize ? deltaSize : openSize;
  // The closing part's share of the fill's notional, and of the cost basis.
  const closingQuote =
    closedSize === deltaSize ? signedQuote : divideTowardPositive(signedQuote * closedSize, deltaSize);
  const releasedCost =
    closedSize === openSize ? costBasisUnits : divideTowardPositive(costBasisUnits * closedSize, openSize);
  filled.quantityUnits = openUnits + deltaUnits;
  // Past zero the rest opens on the other side at the fill's price; else what the close did not release stays.
  filled.costBasisUnits = closedSize < deltaSize ? signedQuote - closingQuote : costBasisUnits - releasedCost;
  // A sell (closing a long) receives −closingQuote > 0; a buy (closing a short) pays closingQuote.
  return -closingQuote - releasedCost;
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
  return markValueUnits(position.quantityUnits, markPrice, baseDecimals, settlementDecimals) - position.costBasisUnits;
}

/**
 * `quantityUnits` (signed) at `markPrice` in USDC units, rounded toward −∞
 * (a long's value down, a short's obligation up): what unrealisedPnlUnits
 * takes the cost basis from, and the cost basis a realisation leaves.
 */
export function markValueUnits(
  quantityUnits: bigint,
  markPrice: bigint,
  baseDecimals: number,
  settlementDecimals: number,
): bigint {
  if (quantityUnits === 0n) return 0n;
  return conversionQuotient(quantityUnits, markPrice, baseDecimals, settlementDecimals, towardNegative);
}
