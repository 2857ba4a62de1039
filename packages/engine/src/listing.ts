/**
 * Listing assets and spot markets (operator instructions).
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
import { reject, type Rejection } from './result-codes.js';
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

export function listMarket(state: ExchangeState, listing: MarketListing): Market | Rejection {
  const invalid = (message: string): Rejection => reject('INVALID_INSTRUCTION', message);
  if (state.marketsBySymbol.has(listing.symbol))
    return reject('ALREADY_EXISTS', `Market ${listing.symbol} is already listed.`);
  const base = state.assetsBySymbol.get(listing.baseSymbol);
  const quote = state.assetsBySymbol.get(listing.quoteSymbol);
  if (base === undefined || quote === undefined)
    return reject('INVALID_ASSET', 'Both assets of a market must be listed first.');
  if (base === quote) return invalid('A market needs two different assets.');
  if (listing.symbol !== `${base.symbol}_${quote.symbol}`)
    return invalid(`The market symbol must be ${base.symbol}_${quote.symbol}.`);

  const priceScale = fractionDigits(listing.tickSize);
  if (priceScale > maximumAssetDecimals) return invalid('The tick size is too fine.');
  const tick = parseDecimal(listing.tickSize, priceScale);
  if (!tick.ok || tick.units === 0n) return invalid('The tick size must be a positive plain decimal.');
  const step = parseDecimal(listing.stepSize, base.decimals);
  if (!step.ok || step.units === 0n)
    return invalid(`The step size must be a positive multiple of 10^-${base.decimals}.`);

  // stepSize × tickSize × 10^quoteDecimals = stepUnits × tickUnits × 10^(quoteDecimals − baseDecimals − priceScale).
  const numerator = step.units * tick.units * 10n ** BigInt(quote.decimals);
  const denominator = 10n ** BigInt(base.decimals + priceScale);
  if (numerator % denominator !== 0n) {
    return invalid('stepSize × tickSize must be a whole number of quote units.');
  }
  const quoteUnitsPerStepTick = numerator / denominator;

  const increments = (text: string, scale: number, unit: bigint, what: string): bigint | Rejection => {
    const parsed = parseDecimal(text, scale);
    if (!parsed.ok || parsed.units === 0n || parsed.units % unit !== 0n) {
      return invalid(`${what} must be a positive multiple of its increment.`);
    }
    return parsed.units / unit;
  };
  const minQuantitySteps = increments(listing.minQuantity, base.decimals, step.units, 'minQuantity');
  if (typeof minQuantitySteps !== 'bigint') return minQuantitySteps;
  const maxQuantitySteps = increments(listing.maxQuantity, base.decimals, step.units, 'maxQuantity');
  if (typeof maxQuantitySteps !== 'bigint') return maxQuantitySteps;
  const minPriceTicks = increments(listing.minPrice, priceScale, tick.units, 'minPrice');
  if (typeof minPriceTicks !== 'bigint') return minPriceTicks;
  const maxPriceTicks = increments(listing.maxPrice, priceScale, tick.units, 'maxPrice');
  if (typeof maxPriceTicks !== 'bigint') return maxPriceTicks;
  if (minQuantitySteps > maxQuantitySteps) return invalid('minQuantity exceeds maxQuantity.');
  if (minPriceTicks > maxPriceTicks) return invalid('minPrice exceeds maxPrice.');
  // The largest order's notional and size must stay within the amount bound.
  if (maxQuantitySteps * maxPriceTicks * quoteUnitsPerStepTick > maximumAmountUnits)
    return invalid('maxQuantity × maxPrice is too large.');
  if (maxQuantitySteps * step.units > maximumAmountUnits) return invalid('maxQuantity is too large.');
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

  const market: Market = {
    index: state.markets.length,
    symbol: listing.symbol,
    base,
    quote,
    tickSize: formatDecimal(tick.units, priceScale),
    stepSize: formatDecimal(step.units, base.decimals),
    priceScale,
    tickUnits: tick.units,
    stepUnits: step.units,
    quoteUnitsPerStepTick,
    minQuantitySteps,
    maxQuantitySteps,
    minPriceTicks,
    maxPriceTicks,
    makerFeeBasisPoints,
    takerFeeBasisPoints,
    maxOpenOrders,
    maxMakersPerOrder,
    minOrderValueUnits,
    ...newMarketBooks(),
    lastPriceTicks: 0n,
    risingTriggers: [],
    fallingTriggers: [],
  };
  state.markets.push(market);
  state.marketsBySymbol.set(market.symbol, market);
  return market;
}

/** Formats a price in ticks as the market's decimal. */
export function formatPrice(market: Market, priceTicks: bigint): string {
  return formatDecimal(priceTicks * market.tickUnits, market.priceScale);
}

/** Formats a quantity in steps as the base asset's decimal. */
export function formatQuantity(market: Market, quantitySteps: bigint): string {
  return formatDecimal(quantitySteps * market.stepUnits, market.base.decimals);
}
