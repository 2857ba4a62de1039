/**
 * The mark price of a perpetual market and the book observations it is made
 * of (docs/perps-pricing.md, sections 2 to 4): impact prices, the premium of
 * one sample, the book's mid and the last trade. Pure functions over the
 * engine's book types; prices are wad (settlement asset per whole base unit
 * × 10^18, as index-prices.ts), rounding is stated on each function.
 */
import { powerOfTen } from '../index-prices.js';
import { divideDown, divideUp, maximum, minimum, wad } from '../margin-fixed-point.js';

/** What a price level offers: its price in ticks and the steps resting there (the engine's PriceLevel fits). */
export interface ImpactLevel {
  readonly priceTicks: bigint;
  readonly totalSteps: bigint;
}

/** How ticks and steps become prices and quote units (the engine's Market fits). */
export interface PriceIncrements {
  readonly priceScale: number;
  readonly tickUnits: bigint;
  readonly quoteUnitsPerStepTick: bigint;
}

/** The book as a market sees it: both sides (best level last, as BookSide keeps them) and the last trade. */
export interface ObservedMarket extends PriceIncrements {
  readonly bids: { readonly levels: readonly ImpactLevel[] };
  readonly asks: { readonly levels: readonly ImpactLevel[] };
  /** Zero before the first trade. */
  readonly lastPriceTicks: bigint;
}

/**
 * Levels an impact walk reads at most from the best one. A side whose first
 * levels do not hold the impact notional has no impact price: the walk is
 * bounded whatever the book's shape.
 */
export const maximumImpactLevels = 256;

/** A price in ticks as wad: ticks × tickUnits × 10^(18 − priceScale), exact (priceScale ≤ 18). */
export function ticksToWad(priceTicks: bigint, increments: PriceIncrements): bigint {
  return priceTicks * increments.tickUnits * powerOfTen(18 - increments.priceScale);
}

/**
 * The average price of a market order spending `impactNotionalUnits` quote
 * units against `levels` (best last), as wad, or undefined when the first
 * maximumImpactLevels levels do not hold that much. With C quote units and S
 * steps taken from the whole levels before the level at t ticks that
 * completes the order, and R = N − C the rest taken there, the order buys
 * S + R/(k·t) steps (k = quoteUnitsPerStepTick), so the average is
 * N·t / (k·S·t + R) ticks. Rounded down for the bid side (a sell) and up for
 * the ask side (a buy): both round away from the index, toward a smaller
 * premium.
 */
export function impactPrice(
  levels: readonly ImpactLevel[],
  increments: PriceIncrements,
  impactNotionalUnits: bigint,
  isBid: boolean,
): bigint | undefined {
  if (impactNotionalUnits <= 0n) throw new RangeError('the impact notional must be positive');
  const perStepTick = increments.quoteUnitsPerStepTick;
  let consumedUnits = 0n;
  let steps = 0n;
  const last = levels.length - 1;
  for (let index = last; index >= 0 && last - index < maximumImpactLevels; index -= 1) {
    const level = levels[index] as ImpactLevel;
    const levelUnits = level.totalSteps * level.priceTicks * perStepTick;
    if (consumedUnits + levelUnits >= impactNotionalUnits) {
      const rest = impactNotionalUnits - consumedUnits;
      const numerator = ticksToWad(impactNotionalUnits * level.priceTicks, increments);
      const denominator = perStepTick * steps * level.priceTicks + rest;
      return isBid ? divideDown(numerator, denominator) : divideUp(numerator, denominator);
    }
    consumedUnits += levelUnits;
    steps += level.totalSteps;
  }
  return undefined;
}

export interface ImpactPrices {
  readonly impactBidPrice: bigint | undefined;
  readonly impactAskPrice: bigint | undefined;
}

/** Both sides' impact prices for `impactNotionalUnits` quote units (see impactPrice). */
export function impactPrices(market: ObservedMarket, impactNotionalUnits: bigint): ImpactPrices {
  return {
    impactBidPrice: impactPrice(market.bids.levels, market, impactNotionalUnits, true),
    impactAskPrice: impactPrice(market.asks.levels, market, impactNotionalUnits, false),
  };
}

/** What one sample reads from a market: its impact prices, mid and last trade (undefined when missing). */
/** What the mark reads of the book besides the index and the premium estimate. */
export interface MidAndLastPrices {
  readonly midPrice: bigint | undefined;
  readonly lastTradePrice: bigint | undefined;
}

export interface BookObservation extends ImpactPrices, MidAndLastPrices {}

/** ⌊(best bid + best ask) / 2⌋ as wad; undefined when a side is empty. */
export function midPrice(market: ObservedMarket): bigint | undefined {
  const bids = market.bids.levels;
  const asks = market.asks.levels;
  if (bids.length === 0 || asks.length === 0) return undefined;
  const bestBid = (bids[bids.length - 1] as ImpactLevel).priceTicks;
  const bestAsk = (asks[asks.length - 1] as ImpactLevel).priceTicks;
  return ticksToWad(bestBid + bestAsk, market) / 2n;
}

export function observeBook(market: ObservedMarket, impactNotionalUnits: bigint): BookObservation {
  return {
    ...impactPrices(market, impactNotionalUnits),
    midPrice: midPrice(market),
    lastTradePrice: lastTradePrice(market),
  };
}

/** observeBook's mid and last trade without the impact walks: all that a mark recomputed between samples reads. */
export function observeMidAndLast(market: ObservedMarket): MidAndLastPrices {
  return { midPrice: midPrice(market), lastTradePrice: lastTradePrice(market) };
}

function lastTradePrice(market: ObservedMarket): bigint | undefined {
  return market.lastPriceTicks === 0n ? undefined : ticksToWad(market.lastPriceTicks, market);
}

/**
 * The premium of one sample, signed wad:
 * (max(impactBid − index, 0) − max(index − impactAsk, 0)) × wad / index,
 * truncated toward zero. A side without an impact price contributes 0; the
 * index must be positive.
 */
export function samplePremium(indexPrice: bigint, prices: ImpactPrices): bigint {
  if (indexPrice <= 0n) throw new RangeError('a premium needs a positive index price');
  const above = prices.impactBidPrice === undefined ? 0n : maximum(prices.impactBidPrice - indexPrice, 0n);
  const below = prices.impactAskPrice === undefined ? 0n : maximum(indexPrice - prices.impactAskPrice, 0n);
  return ((above - below) * wad) / indexPrice;
}

export interface MarkPriceInputs {
  /** Wad; zero when the market has no index price yet. */
  readonly indexPrice: bigint;
  /** The smoothed premium (signed wad), see docs/perps-pricing.md section 5. */
  readonly premiumEstimate: bigint;
  readonly midPrice: bigint | undefined;
  readonly lastTradePrice: bigint | undefined;
  /** The largest distance of the mark from the index, as a fraction of the index (wad, below 1). */
  readonly markBand: bigint;
}

/** ⌈index × (1 − band)⌉ and ⌊index × (1 + band)⌋: the mark band, both ends inside it. */
export function markBandLimits(indexPrice: bigint, markBand: bigint): { lower: bigint; upper: bigint } {
  return {
    lower: divideUp(indexPrice * (wad - markBand), wad),
    upper: divideDown(indexPrice * (wad + markBand), wad),
  };
}

/**
 * The mark: the median of (fair = index + index × premiumEstimate / wad,
 * truncated toward zero; the mid; the last trade), where a missing mid or
 * last trade counts as the fair price, clamped into the mark band. Zero when
 * the index is zero (no price yet).
 */
export function markPrice(inputs: MarkPriceInputs): bigint {
  const index = inputs.indexPrice;
  if (index === 0n) return 0n;
  const fair = index + (index * inputs.premiumEstimate) / wad;
  const mid = inputs.midPrice ?? fair;
  const last = inputs.lastTradePrice ?? fair;
  const median = maximum(minimum(fair, mid), minimum(maximum(fair, mid), last));
  const band = markBandLimits(index, inputs.markBand);
  return minimum(maximum(median, band.lower), band.upper);
}
