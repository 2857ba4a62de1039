/**
 * Index prices in the log (docs/margin.md, "Prices"): an operator-signed
 * indexPriceUpdate per asset, in the settlement asset per whole unit. The
 * mark price used for spot collateral is the index price. An update is
 * refused when it moves more than the listing's maxPriceMove from the last
 * price, or when its publishedAtMs is not after the last one's or lies after
 * the entry's log time.
 */
import { parseDecimal } from './decimal.js';
import type { OperatorInstruction } from './instruction.js';
import { divideDown, divideUp, divideUpBy, multiplyUp, wad, wadDecimals, wadLessOne } from './margin-fixed-point.js';
import { settlementAssetSymbol } from './margin-state.js';
import { reject, type Rejection } from './result-codes.js';
import type { Asset, ExchangeState } from './state.js';

type IndexPriceUpdate = Extract<OperatorInstruction, { kind: 'indexPriceUpdate' }>;

export interface PriceView {
  readonly asset: string;
  /** Wad: settlement-asset per whole unit × 10^18. */
  readonly indexPrice: bigint;
  readonly publishedAtMs: number;
}

export function updateIndexPrice(
  state: ExchangeState,
  update: IndexPriceUpdate,
  logTimeMs: number,
): PriceView | Rejection {
  const asset = state.assetsBySymbol.get(update.symbol);
  const margin = asset?.margin;
  if (asset === undefined || margin === undefined) {
    return reject('PRICE_REJECTED', `${update.symbol} is not a borrowable asset.`, 'notBorrowable');
  }
  if (asset.symbol === settlementAssetSymbol)
    return reject('PRICE_REJECTED', `The price of ${settlementAssetSymbol} is 1 by definition.`, 'settlementAsset');
  const parsed = parseDecimal(update.price, wadDecimals);
  if (!parsed.ok || parsed.units === 0n || parsed.units > 10n ** 30n) {
    return reject(
      'PRICE_REJECTED',
      'The price must be a positive plain decimal with at most 18 fraction digits, below 10^12.',
      'malformedPrice',
    );
  }
  if (update.publishedAtMs <= margin.priceUpdatedAtMs || update.publishedAtMs > logTimeMs) {
    return reject(
      'PRICE_REJECTED',
      `publishedAtMs ${update.publishedAtMs} must be after ${margin.priceUpdatedAtMs} and not after the log time.`,
      'outOfOrder',
    );
  }
  const previous = margin.indexPrice;
  const price = parsed.units;
  if (previous !== 0n) {
    const move = price > previous ? price - previous : previous - price;
    // The largest move allowed is rounded down: a boundary case is refused rather than let through.
    if (move * wad > previous * margin.parameters.maxPriceMove) {
      return reject(
        'PRICE_REJECTED',
        `The price moves more than ${margin.parameters.maxPriceMove} (wad) of ${previous} in one update.`,
        'moveTooLarge',
      );
    }
  }
  margin.indexPrice = price;
  margin.priceUpdatedAtMs = update.publishedAtMs;
  return { asset: asset.symbol, indexPrice: price, publishedAtMs: update.publishedAtMs };
}

/** 10^0 … 10^36, computed once: a health check values every asset and must not build them each time. */
const powersOfTen: readonly bigint[] = Array.from({ length: 37 }, (_, exponent) => 10n ** BigInt(exponent));

export function powerOfTen(exponent: number): bigint {
  return powersOfTen[exponent] ?? 10n ** BigInt(exponent);
}

/** 10^decimals × wad for decimals 0 … 36 (valueUnits' denominator) and each one less (for divideUpBy). */
const valueDenominators: readonly bigint[] = powersOfTen.map((power) => power * wad);
const valueDenominatorsLessOne: readonly bigint[] = valueDenominators.map((denominator) => denominator - 1n);
/** 10^0 … 10^36 less one, for divideUpBy by a power of ten. */
const powersOfTenLessOne: readonly bigint[] = powersOfTen.map((power) => power - 1n);

/**
 * An index price without its trailing zeros, for valueUnits: price / (wad × 10^shift) =
 * factor / 10^exponent, with factor = price / 10^k for the largest k ≤ wadDecimals + shift that divides it,
 * and exponent = wadDecimals + shift − k.
 */
interface ReducedPrice {
  readonly price: bigint;
  readonly shift: number;
  readonly factor: bigint;
  readonly exponent: number;
}

/**
 * By asset index, the reduced form of the price last valued (recomputed when the price or the shift differs: at
 * most once per price update). Not a WeakMap: the engine keeps nothing whose contents depend on garbage collection.
 */
/** 10^19 < 2^64 ≤ 10^20: the largest power of ten that is one word. */
const maximumOneWordExponent = 19;

const reducedPriceByAssetIndex: Array<ReducedPrice | undefined> = [];

function reducedPrice(asset: Asset, price: bigint, shift: number): ReducedPrice {
  const cached = reducedPriceByAssetIndex[asset.index];
  if (cached !== undefined && cached.price === price && cached.shift === shift) return cached;
  let factor = price;
  let exponent = wadDecimals + shift;
  while (exponent > 0 && factor !== 0n && factor % 10n === 0n) {
    factor /= 10n;
    exponent -= 1;
  }
  const reduced = { price, shift, factor, exponent };
  reducedPriceByAssetIndex[asset.index] = reduced;
  return reduced;
}

/**
 * The value of `units` of `asset` in settlement-asset units at `price` (wad):
 * units × price × 10^settlementDecimals / (10^assetDecimals × wad). Rounded down
 * (collateral) or up (debts) as asked.
 */
export function valueUnits(
  units: bigint,
  asset: Asset,
  price: bigint,
  settlementDecimals: number,
  roundUp: boolean,
): bigint {
  // The settlement asset at price 1: the quotient is exact, so both roundings give the units themselves.
  if (price === wad && asset.decimals === settlementDecimals && units >= 0n) return units;
  const shift = asset.decimals - settlementDecimals;
  if (units >= 0n && price >= 0n && shift >= 0 && shift < powersOfTen.length) {
    // The price's trailing zeros cancel against the divisor 10^(wadDecimals + shift): the same rational, so the
    // same quotient, in one multiplication and one division by a one-word power of ten (index prices are mostly
    // short decimals, so this is the usual case).
    const reduced = reducedPrice(asset, price, shift);
    if (reduced.exponent <= maximumOneWordExponent) {
      const reducedProduct = units * reduced.factor;
      if (reduced.exponent === 0) return reducedProduct;
      const divisor = powersOfTen[reduced.exponent]!;
      return roundUp ? (reducedProduct + powersOfTenLessOne[reduced.exponent]!) / divisor : reducedProduct / divisor;
    }
    // Divided in two steps by one-word divisors, wad then 10^shift: exact for a non-negative numerator
    // (⌊⌊x / a⌋ / b⌋ = ⌊x / ab⌋, ⌈⌈x / a⌉ / b⌉ = ⌈x / ab⌉), and about three times as fast as one division of the
    // three-word numerator by the two-word 10^assetDecimals × wad on the hot health paths.
    const product = units * price;
    if (!roundUp) return shift === 0 ? product / wad : product / wad / powersOfTen[shift]!;
    const whole = divideUpBy(product, wad, wadLessOne);
    return shift === 0 ? whole : divideUpBy(whole, powersOfTen[shift]!, powersOfTenLessOne[shift]!);
  }
  const numerator = units * price * powerOfTen(settlementDecimals);
  const denominator = valueDenominators[asset.decimals];
  if (denominator === undefined) {
    const computed = powerOfTen(asset.decimals) * wad;
    return roundUp ? divideUp(numerator, computed) : divideDown(numerator, computed);
  }
  return roundUp
    ? divideUpBy(numerator, denominator, valueDenominatorsLessOne[asset.decimals]!)
    : divideDown(numerator, denominator);
}

/** The asset units worth `value` settlement units at `price`, rounded up (what must be sold or bought to cover it). */
export function unitsForValue(value: bigint, asset: Asset, price: bigint, settlementDecimals: number): bigint {
  return divideUp(value * powerOfTen(asset.decimals) * wad, price * powerOfTen(settlementDecimals));
}

/** A price moved by `fraction` up (true) or down; up rounds up, down rounds down. */
export function shiftedPrice(price: bigint, fraction: bigint, up: boolean): bigint {
  return up ? price + multiplyUp(price, fraction) : price - multiplyUp(price, fraction);
}
