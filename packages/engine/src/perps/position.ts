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
import { wad, wadDecimals } from '../margin-fixed-point.js';

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
 * A per-unit amount p written as n × 10^j, for conversions of one exponent E = 18 + b − s (wad × 10^b / 10^s is
 * 10^E): 10^j the largest power of ten dividing p with j ≤ E, and the divisor d = 10^(E − j), so that
 * q × p × 10^s / (wad × 10^b) is the same rational as q × n / d. Used only while d fits one 64-bit word.
 */
interface ReducedConversion {
  readonly perUnit: bigint;
  readonly multiplier: bigint;
  readonly divisor: bigint;
  /** d − 1: what a conversion rounded away from zero adds to its numerator (see conversionQuotient). */
  readonly divisorLessOne: bigint;
  /** Whether d fits one 64-bit word: else the conversion divides as before (a funding index's change, mostly). */
  readonly oneWord: boolean;
}

/** The largest exponent of a power of ten that fits one 64-bit word (10^19 < 2^64 < 10^20). */
const largestOneWordExponent = 19;

/** Steps of the search for j: each power of ten tried once, largest first (a binary search on the exponent). */
const reductionSteps = [32, 16, 8, 4, 2, 1];

/**
 * Two entries per exponent E (slots 2E and 2E + 1, replaced in turn): the last per-unit amounts converted with it,
 * reduced. Marks and prices on a tick grid are multiples of a large power of ten (a tick of 0.01 USDC is 10^16 in
 * wad: for SOL, E = 21, q × n / 10^5), so a conversion multiplies and divides one-word numbers instead of a
 * product of two words by wad (and by 10^(b − s)); V8's bigint builtins are faster on one word, and the product
 * and quotient are smaller objects. Two entries, because a market's mark and, after a funding boundary, the
 * funding index's change are converted in turn; an amount with no one-word divisor is kept too, so that it is
 * not searched again. A memo of a pure function: it changes no result, only which equal rational is divided.
 */
const reducedConversions: Array<ReducedConversion | undefined> = [];
/** Per exponent, how many entries were made: which of its two slots the next replaces. */
const reducedConversionsMade: number[] = [];

function reducedConversion(perUnit: bigint, exponent: number): ReducedConversion {
  const slot = 2 * exponent;
  const first = reducedConversions[slot];
  if (first !== undefined && first.perUnit === perUnit) return first;
  const second = reducedConversions[slot + 1];
  if (second !== undefined && second.perUnit === perUnit) return second;
  let multiplier = perUnit;
  let reducedBy = 0;
  for (const step of reductionSteps) {
    if (reducedBy + step > exponent) continue;
    const power = powerOfTen(step);
    const quotient = multiplier / power;
    if (quotient * power !== multiplier) continue;
    multiplier = quotient;
    reducedBy += step;
  }
  const divisorExponent = exponent - reducedBy;
  const divisor = powerOfTen(divisorExponent);
  const oneWord = divisorExponent <= largestOneWordExponent;
  const entry: ReducedConversion = { perUnit, multiplier, divisor, divisorLessOne: divisor - 1n, oneWord };
  // Replaced in turn: the slot not replaced last.
  const made = (reducedConversionsMade[exponent] ?? 0) + 1;
  reducedConversionsMade[exponent] = made;
  reducedConversions[slot + (made % 2)] = entry;
  return entry;
}

/**
 * q × p × 10^s / (wad × 10^b), rounded as `rounding` says: the one division
 * behind every conversion below. The common power of ten is cancelled
 * rather than multiplied in (the same rational, so the same roundings):
 * through reducedConversion, q × n / 10^(E − j), one word by one word for a
 * p on a tick grid. Else (p has too few trailing zeros for a one-word
 * divisor: a funding index's change, a mark off the grid) the divisor is
 * kept to one word by dividing by wad and by 10^(b − s) in turn (truncating
 * twice is truncating once by the product: ⌊⌊x / a⌋ / c⌋ = ⌊x / ac⌋ for
 * x ≥ 0, and truncation of −x is −(that)); there 10^(b − s) does not divide
 * p (j < b − s − 1), so no cheaper equal rational is left.
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
  // wad × 10^b / 10^s = 10^E: the conversion's whole divisor as a power of ten.
  const wholeExponent = wadDecimals + baseDecimals - settlementDecimals;
  const reduced = wholeExponent >= 0 ? reducedConversion(perUnit, wholeExponent) : undefined;
  if (reduced?.oneWord === true) {
    let reducedNumerator = quantityUnits * reduced.multiplier;
    const divisor = reduced.divisor;
    conversionNumerator = reducedNumerator;
    conversionDenominator = divisor;
    if (divisor === 1n) return reducedNumerator;
    if (rounding === towardPositive ? reducedNumerator > 0n : rounding === towardNegative && reducedNumerator < 0n) {
      const lessOne = reduced.divisorLessOne;
      reducedNumerator = rounding === towardPositive ? reducedNumerator + lessOne : reducedNumerator - lessOne;
    }
    return reducedNumerator / divisor;
  }
  let numerator = quantityUnits * perUnit;
  let exponent = baseDecimals - settlementDecimals;
  // Only when E < 0 (s − b > 18): the settlement's extra digits multiply in, and wad alone divides.
  if (exponent < 0) {
    numerator *= powerOfTen(-exponent);
    exponent = 0;
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
