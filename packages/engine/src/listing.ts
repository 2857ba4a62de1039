/**
 * Listing assets and markets, spot and perpetual (operator instructions; perps/perp-market.ts).
 *
 * A market's tick and step are chosen so that every price × quantity is a
 * whole number of quote units: stepSize × tickSize × 10^quoteDecimals must be
 * a positive integer. That one number, quoteUnitsPerStepTick, turns every
 * notional into exact integer arithmetic (docs/protocol.md, "Markets").
 */
import { formatDecimal, parseDecimal } from './decimal.js';
import type { OperatorInstruction } from './instruction.js';
import {
  defaultMaxMakersPerOrder,
  defaultMaxOpenOrders,
  maximumAmountUnits,
  maximumAssetDecimals,
  maximumFeeBasisPoints,
  maximumMakersPerOrderLimit,
  maximumOpenOrdersLimit,
} from './limits.js';
import { newMarketBooks } from './order-book.js';
import { listedSymbol, perpMarketOf } from './perps/perp-market.js';
import { isRejection, reject, type Rejection } from './result-codes.js';
import type { Asset, ExchangeState, Market } from './state.js';

type AssetListing = Extract<OperatorInstruction, { kind: 'assetList' }>;
type MarketListing = Extract<OperatorInstruction, { kind: 'marketList' }>;

export function listAsset(state: ExchangeState, listing: AssetListing): Asset | Rejection {
  if (state.assetsBySymbol.has(listing.symbol))
    return reject('ALREADY_EXISTS', `Asset ${listing.symbol} is already listed.`);
  if (listing.decimals > maximumAssetDecimals)
    return reject('INVALID_INSTRUCTION', `Decimals must be at most ${maximumAssetDecimals}.`);
  const asset: Asset = {
    index: state.assets.length,
    symbol: listing.symbol,
    decimals: listing.decimals,
    depositedUnits: 0n,
    withdrawnUnits: 0n,
    reservesUnits: 0n,
    reservesStatedAtMs: 0,
    margin: undefined,
  };
  state.assets.push(asset);
  state.assetsBySymbol.set(asset.symbol, asset);
  return asset;
}

function fractionDigits(text: string): number {
  const point = text.indexOf('.');
  if (point < 0) return 0;
  let end = text.length;
  while (end > point + 1 && text.charCodeAt(end - 1) === 48) end -= 1;
  return end - point - 1;
}

const invalid = (message: string): Rejection => reject('INVALID_INSTRUCTION', message);

export function listMarket(state: ExchangeState, listing: MarketListing): Market | Rejection {
  const assets = marketAssets(state, listing);
  if (isRejection(assets)) return assets;
  const { base, quote } = assets;
  const increments = marketIncrements(listing, base, quote);
  if (isRejection(increments)) return increments;
  const bounds = marketBounds(listing, base, increments);
  if (isRejection(bounds)) return bounds;
  const limits = marketLimits(listing, quote);
  if (isRejection(limits)) return limits;
  const perp = perpMarketOf(listing, base, quote, state.recorder.timeMs);
  if (isRejection(perp)) return perp;
  const market: Market = {
    index: state.markets.length,
    symbol: listing.symbol,
    base,
    quote,
    tickSize: formatDecimal(increments.tickUnits, increments.priceScale),
    stepSize: formatDecimal(increments.stepUnits, base.decimals),
    ...increments,
    ...bounds,
    ...limits,
    ...newMarketBooks(),
    lastPriceTicks: 0n,
    risingTriggers: [],
    fallingTriggers: [],
    perp,
  };
  state.markets.push(market);
  state.marketsBySymbol.set(market.symbol, market);
  return market;
}

/** The market's two assets: listed, different, and named by its symbol. */
function marketAssets(state: ExchangeState, listing: MarketListing): { base: Asset; quote: Asset } | Rejection {
  if (state.marketsBySymbol.has(listing.symbol))
    return reject('ALREADY_EXISTS', `Market ${listing.symbol} is already listed.`);
  const base = state.assetsBySymbol.get(listing.baseSymbol);
  const quote = state.assetsBySymbol.get(listing.quoteSymbol);
  if (base === undefined || quote === undefined)
    return reject('INVALID_ASSET', 'Both assets of a market must be listed first.');
  if (base === quote) return invalid('A market needs two different assets.');
  const symbol = listedSymbol(listing, base, quote);
  if (listing.symbol !== symbol) return invalid(`The market symbol must be ${symbol}.`);
  return { base, quote };
}

type MarketIncrements = Pick<Market, 'priceScale' | 'tickUnits' | 'stepUnits' | 'quoteUnitsPerStepTick'>;

/** The tick and step, and the quote units of one step at one tick, which must be whole. */
function marketIncrements(listing: MarketListing, base: Asset, quote: Asset): MarketIncrements | Rejection {
  const priceScale = fractionDigits(listing.tickSize);
  if (priceScale > maximumAssetDecimals) return invalid('The tick size is too fine.');
  const tick = parseDecimal(listing.tickSize, priceScale);
  if (!tick.ok || tick.units === 0n) return invalid('The tick size must be a positive plain decimal.');
  const step = parseDecimal(listing.stepSize, base.decimals);
  if (!step.ok || step.units === 0n)
    return invalid(`The step size must be a positive multiple of 10^-${base.decimals}.`);

  // stepSize × tickSize × 10^quoteDecimals
  //   = stepUnits × tickUnits × 10^(quoteDecimals − baseDecimals − priceScale).
  const numerator = step.units * tick.units * 10n ** BigInt(quote.decimals);
  const denominator = 10n ** BigInt(base.decimals + priceScale);
  if (numerator % denominator !== 0n) {
    return invalid('stepSize × tickSize must be a whole number of quote units.');
  }
  return { priceScale, tickUnits: tick.units, stepUnits: step.units, quoteUnitsPerStepTick: numerator / denominator };
}

type MarketBounds = Pick<Market, 'minQuantitySteps' | 'maxQuantitySteps' | 'minPriceTicks' | 'maxPriceTicks'>;

/** The quantity and price bounds, each a positive whole number of steps or ticks; the largest order must fit. */
function marketBounds(listing: MarketListing, base: Asset, increments: MarketIncrements): MarketBounds | Rejection {
  const bounds = [
    ['minQuantity', base.decimals, increments.stepUnits],
    ['maxQuantity', base.decimals, increments.stepUnits],
    ['minPrice', increments.priceScale, increments.tickUnits],
    ['maxPrice', increments.priceScale, increments.tickUnits],
  ] as const;
  const counts: bigint[] = [];
  for (const [name, scale, unit] of bounds) {
    const parsed = parseDecimal(listing[name], scale);
    if (!parsed.ok || parsed.units === 0n || parsed.units % unit !== 0n) {
      return invalid(`${name} must be a positive multiple of its increment.`);
    }
    counts.push(parsed.units / unit);
  }
  const [minQuantitySteps, maxQuantitySteps, minPriceTicks, maxPriceTicks] = counts as [bigint, bigint, bigint, bigint];
  if (minQuantitySteps > maxQuantitySteps) return invalid('minQuantity exceeds maxQuantity.');
  if (minPriceTicks > maxPriceTicks) return invalid('minPrice exceeds maxPrice.');
  // The largest order's notional and size must stay within the amount bound.
  if (maxQuantitySteps * maxPriceTicks * increments.quoteUnitsPerStepTick > maximumAmountUnits)
    return invalid('maxQuantity × maxPrice is too large.');
  if (maxQuantitySteps * increments.stepUnits > maximumAmountUnits) return invalid('maxQuantity is too large.');
  return { minQuantitySteps, maxQuantitySteps, minPriceTicks, maxPriceTicks };
}

type MarketLimits = Pick<
  Market,
  'makerFeeBasisPoints' | 'takerFeeBasisPoints' | 'maxOpenOrders' | 'maxMakersPerOrder' | 'minOrderValueUnits'
>;

/** The fees and the optional limits (absent: the defaults). */
function marketLimits(listing: MarketListing, quote: Asset): MarketLimits | Rejection {
  const makerFeeBasisPoints = BigInt(listing.makerFeeBps);
  const takerFeeBasisPoints = BigInt(listing.takerFeeBps);
  if (makerFeeBasisPoints > maximumFeeBasisPoints || takerFeeBasisPoints > maximumFeeBasisPoints) {
    return invalid(`Fees are at most ${maximumFeeBasisPoints} basis points.`);
  }
  const maxOpenOrders = listing.maxOpenOrders ?? defaultMaxOpenOrders;
  if (maxOpenOrders < 1 || maxOpenOrders > maximumOpenOrdersLimit)
    return invalid(`maxOpenOrders must be 1 to ${maximumOpenOrdersLimit}.`);
  const maxMakersPerOrder = listing.maxMakersPerOrder ?? defaultMaxMakersPerOrder;
  if (maxMakersPerOrder < 1 || maxMakersPerOrder > maximumMakersPerOrderLimit) {
    return invalid(`maxMakersPerOrder must be 1 to ${maximumMakersPerOrderLimit}.`);
  }
  let minOrderValueUnits = 0n;
  if (listing.minOrderValue !== undefined) {
    const value = parseDecimal(listing.minOrderValue, quote.decimals);
    if (!value.ok || value.units > maximumAmountUnits)
      return invalid(`minOrderValue must be a plain decimal at ${quote.decimals} decimals, at most 2^96 − 1 units.`);
    minOrderValueUnits = value.units;
  }
  return { makerFeeBasisPoints, takerFeeBasisPoints, maxOpenOrders, maxMakersPerOrder, minOrderValueUnits };
}

/** Formats a price in ticks as the market's decimal. */
export function formatPrice(market: Market, priceTicks: bigint): string {
  return formatDecimal(priceTicks * market.tickUnits, market.priceScale);
}

/** Formats a quantity in steps as the base asset's decimal. */
export function formatQuantity(market: Market, quantitySteps: bigint): string {
  return formatDecimal(quantitySteps * market.stepUnits, market.base.decimals);
}
