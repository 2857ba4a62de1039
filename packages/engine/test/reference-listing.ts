/**
 * The reference model's listings: assets and spot markets (docs/matching.md
 * section 4), checked field by field the slow way. Part of the naive
 * reference model (reference-model.ts).
 */
import type { Instruction } from '../src/instruction.js';
import { type Dec, exactQuotient, pow10, readDecimal, unitsAt } from './reference-decimal.js';
import { fail, findMarket, type ModelData, type ModelResult } from './reference-state.js';

type MarketListing = Extract<Instruction, { kind: 'marketList' }>;

export function listAsset(data: ModelData, symbol: string, decimals: number): ModelResult {
  if (data.assets.some((asset) => asset.symbol === symbol)) return fail('ALREADY_EXISTS');
  if (decimals > 18) return fail('INVALID_INSTRUCTION');
  data.assets.push({ symbol, decimals, deposited: 0n, withdrawn: 0n });
  return { ok: true, kind: 'listed', symbol };
}

/** A positive whole count of `increment`s in `text`, or undefined. */
function countOf(text: string, increment: Dec): bigint | undefined {
  const value = readDecimal(text);
  if (value === undefined) return undefined;
  const result = exactQuotient(value, increment);
  return result === undefined || result <= 0n ? undefined : result;
}

interface ListingBounds {
  readonly minQuantitySteps: bigint;
  readonly maxQuantitySteps: bigint;
  readonly minPriceTicks: bigint;
  readonly maxPriceTicks: bigint;
  readonly maxOpenOrders: number;
  readonly maxMakersPerOrder: number;
  readonly minOrderValueUnits: bigint;
}

/** The listing's quantity and price bounds, fees and section 4.6 limits, or undefined when any is invalid. */
function boundsOf(listing: MarketListing, tick: Dec, step: Dec, quoteDecimals: number): ListingBounds | undefined {
  const minQuantitySteps = countOf(listing.minQuantity, step);
  const maxQuantitySteps = countOf(listing.maxQuantity, step);
  const minPriceTicks = countOf(listing.minPrice, tick);
  const maxPriceTicks = countOf(listing.maxPrice, tick);
  if (
    minQuantitySteps === undefined ||
    maxQuantitySteps === undefined ||
    minPriceTicks === undefined ||
    maxPriceTicks === undefined
  ) {
    return undefined;
  }
  if (minQuantitySteps > maxQuantitySteps || minPriceTicks > maxPriceTicks) return undefined;
  if (listing.makerFeeBps > 1000 || listing.takerFeeBps > 1000) return undefined;
  // Section 4.6: optional limits with their defaults and bounds.
  const maxOpenOrders = listing.maxOpenOrders ?? 500;
  const maxMakersPerOrder = listing.maxMakersPerOrder ?? 100;
  if (maxOpenOrders < 1 || maxOpenOrders > 1000 || maxMakersPerOrder < 1 || maxMakersPerOrder > 100) return undefined;
  let minOrderValueUnits = 0n;
  if (listing.minOrderValue !== undefined) {
    const value = readDecimal(listing.minOrderValue);
    const units = value === undefined ? undefined : unitsAt(value, quoteDecimals);
    if (units === undefined) return undefined;
    minOrderValueUnits = units;
  }
  const limits = { maxOpenOrders, maxMakersPerOrder, minOrderValueUnits };
  return { minQuantitySteps, maxQuantitySteps, minPriceTicks, maxPriceTicks, ...limits };
}

export function listMarket(data: ModelData, listing: MarketListing): ModelResult {
  if (findMarket(data, listing.symbol) !== undefined) return fail('ALREADY_EXISTS');
  const base = data.assets.find((asset) => asset.symbol === listing.baseSymbol);
  const quote = data.assets.find((asset) => asset.symbol === listing.quoteSymbol);
  if (base === undefined || quote === undefined) return fail('INVALID_ASSET');
  if (base === quote || listing.symbol !== `${base.symbol}_${quote.symbol}`) return fail('INVALID_INSTRUCTION');
  const tick = readDecimal(listing.tickSize);
  const step = readDecimal(listing.stepSize);
  if (tick === undefined || step === undefined || tick.digits === 0n || step.digits === 0n)
    return fail('INVALID_INSTRUCTION');
  const stepUnits = unitsAt(step, base.decimals);
  if (stepUnits === undefined) return fail('INVALID_INSTRUCTION');
  // stepSize × tickSize × 10^quoteDecimals must be a whole number.
  const qpst = exactQuotient(
    { digits: step.digits * tick.digits * pow10(quote.decimals), exponent: step.exponent + tick.exponent },
    { digits: 1n, exponent: 0 },
  );
  if (qpst === undefined || qpst <= 0n) return fail('INVALID_INSTRUCTION');
  const bounds = boundsOf(listing, tick, step, quote.decimals);
  if (bounds === undefined) return fail('INVALID_INSTRUCTION');
  data.markets.push({
    symbol: listing.symbol,
    base: base.symbol,
    quote: quote.symbol,
    baseDecimals: base.decimals,
    quoteDecimals: quote.decimals,
    tick,
    step,
    stepUnits,
    quoteUnitsPerStepTick: qpst,
    minQuantitySteps: bounds.minQuantitySteps,
    maxQuantitySteps: bounds.maxQuantitySteps,
    minPriceTicks: bounds.minPriceTicks,
    maxPriceTicks: bounds.maxPriceTicks,
    makerBps: BigInt(listing.makerFeeBps),
    takerBps: BigInt(listing.takerFeeBps),
    maxOpenOrders: bounds.maxOpenOrders,
    maxMakersPerOrder: bounds.maxMakersPerOrder,
    minOrderValueUnits: bounds.minOrderValueUnits,
  });
  return { ok: true, kind: 'listed', symbol: listing.symbol };
}
