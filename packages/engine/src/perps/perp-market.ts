/**
 * Perpetual futures markets (docs/perps.md, "Listing"): the parameters a
 * `marketList` with `marketType: PERP` adds to a market, checked once at
 * listing, and the per-market state that time and trades move (mark price,
 * cumulative funding index, open interest).
 *
 * A perpetual is listed as BASE_USDC_PERP over a listed base asset and the
 * settlement asset USDC. It shares the book, ticks and steps of a spot
 * market, but its fills move positions, never base balances
 * (perps/perp-settlement.ts).
 */
import { formatDecimal, parseDecimal } from '../decimal.js';
import type { OperatorInstruction } from '../instruction.js';
import { maximumAmountUnits } from '../limits.js';
import { minimum, parseFraction, wad, wadDecimals } from '../margin-fixed-point.js';
import { settlementAssetSymbol } from '../margin-state.js';
import { isRejection, reject, type Rejection } from '../result-codes.js';
import type { Asset } from '../state.js';
import {
  defaultPerpFundingParameters,
  newPerpFundingState,
  type PerpFundingParameters,
  type PerpFundingState,
} from './funding.js';
import type { MarketPositions } from './position-queue.js';

type MarketListing = Extract<OperatorInstruction, { kind: 'marketList' }>;

/** Backpack's `{type: "sqrt", base, factor}`: fraction = max(base, factor × √notional in whole USDC); wad. */
export interface SqrtMarginFunction {
  readonly base: bigint;
  readonly factor: bigint;
}

export interface PerpParameters {
  /** Initial and maintenance margin fractions of a position's notional. */
  readonly imf: SqrtMarginFunction;
  readonly mmf: SqrtMarginFunction;
  /** Funding is paid at every multiple of this many ms of log time. */
  readonly fundingIntervalMs: number;
  /** Bounds of one interval's funding rate, signed basis points (lower ≤ 0 ≤ upper). */
  readonly fundingRateUpperBoundBps: number;
  readonly fundingRateLowerBoundBps: number;
  /** The largest open interest in base units; zero: no limit. */
  readonly openInterestLimitUnits: bigint;
  /** The mark price stays within [index × min, index × max] (Backpack's meanMarkPriceBand); wad. */
  readonly markBandMaxMultiplier: bigint;
  readonly markBandMinMultiplier: bigint;
}

export interface PerpMarketState {
  readonly parameters: PerpParameters;
  /** The clock's parameters, derived from the listing (perpFundingParametersOf). */
  readonly fundingParameters: PerpFundingParameters;
  /**
   * The mark price (`funding.markPrice`: USDC per whole base unit, wad, zero
   * until the base asset has an index price) and the cumulative funding index
   * (`funding.cumulativeFundingIndex`: signed wad of USDC per whole base unit)
   * with the rest of the funding clock (docs/perps-pricing.md, section 7).
   * Moved only by refreshPerpMarket (perps/perp-clock.ts).
   */
  funding: PerpFundingState;
  /** The sum of all long positions in base units (equal to the sum of all shorts). Derived from the positions. */
  openInterestUnits: bigint;
  /**
   * USDC units the market holds from funding settled into positions so far:
   * payments received less payments made (signed). Lazy settlement makes it
   * differ from zero; it is at least what settling every position now would
   * pay out (docs/perps.md, "Funding").
   */
  fundingBalanceUnits: bigint;
  /**
   * The market's positions by holder and by realisation time
   * (position-queue.ts): bookkeeping derived from the accounts' positions,
   * never encoded or hashed; undefined until first needed.
   */
  positionIndex?: MarketPositions;
}

export const defaultFundingIntervalMs = 3_600_000;
export const defaultFundingRateBoundBps = 100;
/** Backpack's sample meanMarkPriceBand: 1.1 and 0.9. */
export const defaultMarkBandUpper = (wad * 11n) / 10n;
export const defaultMarkBandLower = (wad * 9n) / 10n;
/** The longest funding interval a listing may set: a day. */
export const maximumFundingIntervalMs = 86_400_000;

/** The listing fields only a perpetual takes. */
export const perpListingFields = [
  'imfBase',
  'imfFactor',
  'mmfBase',
  'mmfFactor',
  'fundingIntervalMs',
  'fundingRateUpperBoundBps',
  'fundingRateLowerBoundBps',
  'openInterestLimit',
  'markBandMaxMultiplier',
  'markBandMinMultiplier',
] as const satisfies ReadonlyArray<keyof MarketListing>;

const invalid = (message: string): Rejection => reject('INVALID_INSTRUCTION', message);

/** The symbol a listing must carry: BASE_QUOTE, or BASE_QUOTE_PERP for a perpetual. */
export function listedSymbol(listing: MarketListing, base: Asset, quote: Asset): string {
  return `${base.symbol}_${quote.symbol}${listing.marketType === 'PERP' ? '_PERP' : ''}`;
}

function fractionField(listing: MarketListing, name: (typeof perpListingFields)[number]): bigint | Rejection {
  const text = listing[name];
  if (typeof text !== 'string') return invalid(`A perpetual's listing requires ${name}.`);
  const fraction = parseFraction(text);
  if (fraction === undefined) return invalid(`${name} must be a plain decimal with at most 18 fraction digits.`);
  return fraction;
}

/** The margin functions: 0 < mmf base ≤ imf base ≤ 1, mmf factor ≤ imf factor. */
function marginFunctions(listing: MarketListing): Pick<PerpParameters, 'imf' | 'mmf'> | Rejection {
  const values: bigint[] = [];
  for (const name of ['imfBase', 'imfFactor', 'mmfBase', 'mmfFactor'] as const) {
    const value = fractionField(listing, name);
    if (typeof value !== 'bigint') return value;
    values.push(value);
  }
  const [imfBase, imfFactor, mmfBase, mmfFactor] = values as [bigint, bigint, bigint, bigint];
  if (mmfBase === 0n || mmfBase > imfBase || imfBase > wad)
    return invalid('The margin bases must satisfy 0 < mmfBase ≤ imfBase ≤ 1.');
  if (mmfFactor > imfFactor || imfFactor > wad)
    return invalid('The margin factors must satisfy mmfFactor ≤ imfFactor ≤ 1.');
  return { imf: { base: imfBase, factor: imfFactor }, mmf: { base: mmfBase, factor: mmfFactor } };
}

/** The funding interval and rate bounds, with their defaults. */
function fundingSettings(
  listing: MarketListing,
): Pick<PerpParameters, 'fundingIntervalMs' | 'fundingRateUpperBoundBps' | 'fundingRateLowerBoundBps'> | Rejection {
  const fundingIntervalMs = listing.fundingIntervalMs ?? defaultFundingIntervalMs;
  // Whole seconds, so funding boundaries and the 10 s PnL cadence meet on round times.
  if (fundingIntervalMs < 1000 || fundingIntervalMs > maximumFundingIntervalMs || fundingIntervalMs % 1000 !== 0)
    return invalid(`fundingIntervalMs must be a whole number of seconds from 1000 to ${maximumFundingIntervalMs}.`);
  const fundingRateUpperBoundBps = listing.fundingRateUpperBoundBps ?? defaultFundingRateBoundBps;
  const fundingRateLowerBoundBps = listing.fundingRateLowerBoundBps ?? -defaultFundingRateBoundBps;
  if (fundingRateLowerBoundBps > 0 || fundingRateUpperBoundBps < 0)
    return invalid('The funding rate bounds must satisfy lower ≤ 0 ≤ upper.');
  if (fundingRateLowerBoundBps < -10_000 || fundingRateUpperBoundBps > 10_000)
    return invalid('The funding rate bounds are at most 10000 basis points either way.');
  return { fundingIntervalMs, fundingRateUpperBoundBps, fundingRateLowerBoundBps };
}

/** The open interest limit (base units) and the mark band, with their defaults. */
function limitsAndBand(
  listing: MarketListing,
  base: Asset,
): Pick<PerpParameters, 'openInterestLimitUnits' | 'markBandMaxMultiplier' | 'markBandMinMultiplier'> | Rejection {
  let openInterestLimitUnits = 0n;
  if (listing.openInterestLimit !== undefined) {
    const parsed = parseDecimal(listing.openInterestLimit, base.decimals);
    if (!parsed.ok || parsed.units > maximumAmountUnits)
      return invalid(`openInterestLimit must be a plain decimal at ${base.decimals} decimals, at most 2^96 − 1 units.`);
    openInterestLimitUnits = parsed.units;
  }
  let markBandMaxMultiplier = defaultMarkBandUpper;
  let markBandMinMultiplier = defaultMarkBandLower;
  if (listing.markBandMaxMultiplier !== undefined) {
    const value = fractionField(listing, 'markBandMaxMultiplier');
    if (typeof value !== 'bigint') return value;
    markBandMaxMultiplier = value;
  }
  if (listing.markBandMinMultiplier !== undefined) {
    const value = fractionField(listing, 'markBandMinMultiplier');
    if (typeof value !== 'bigint') return value;
    markBandMinMultiplier = value;
  }
  if (markBandMinMultiplier === 0n || markBandMinMultiplier > wad || markBandMaxMultiplier < wad)
    return invalid('The mark band must satisfy 0 < markBandMinMultiplier ≤ 1 ≤ markBandMaxMultiplier.');
  return { openInterestLimitUnits, markBandMaxMultiplier, markBandMinMultiplier };
}

/** Samples every 5 s, or every second when 5 s does not divide the funding interval (a whole number of seconds). */
function sampleIntervalFor(fundingIntervalMs: number): number {
  const preferred = defaultPerpFundingParameters.sampleIntervalMs;
  return fundingIntervalMs % preferred === 0 ? preferred : 1000;
}

/**
 * The clock's parameters of a listed perpetual (docs/perps.md, "Mark price and
 * funding"): the listing's funding interval and rate bounds; the mark band is
 * the narrower side of the listing's band, so the mark stays inside both
 * multipliers; the interest rate, premium fraction and interest clamp are the
 * hourly defaults scaled by the interval's length in hours (truncated; the
 * premium fraction at most 1); the impact notional is 6,000 whole quote units.
 */
export function perpFundingParametersOf(parameters: PerpParameters, quote: Asset): PerpFundingParameters {
  const defaults = defaultPerpFundingParameters;
  const intervalMs = BigInt(parameters.fundingIntervalMs);
  const hourMs = BigInt(defaults.fundingIntervalMs);
  const scaled = (hourly: bigint): bigint => (hourly * intervalMs) / hourMs;
  const upperBand = parameters.markBandMaxMultiplier - wad;
  const lowerBand = wad - parameters.markBandMinMultiplier;
  return {
    fundingIntervalMs: parameters.fundingIntervalMs,
    sampleIntervalMs: sampleIntervalFor(parameters.fundingIntervalMs),
    interestRate: scaled(defaults.interestRate),
    premiumFraction: minimum(scaled(defaults.premiumFraction), wad),
    interestClamp: scaled(defaults.interestClamp),
    fundingRateUpperBoundBasisPoints: BigInt(parameters.fundingRateUpperBoundBps),
    fundingRateLowerBoundBasisPoints: BigInt(parameters.fundingRateLowerBoundBps),
    markBand: minimum(upperBand, lowerBand),
    markSmoothingSamples: defaults.markSmoothingSamples,
    impactNotionalUnits: 6000n * 10n ** BigInt(quote.decimals),
  };
}

/**
 * The perpetual state a listing creates: undefined for a spot market (which
 * must not carry any perpetual field), a rejection for a bad perpetual one.
 */
export function perpMarketOf(
  listing: MarketListing,
  base: Asset,
  quote: Asset,
  listedAtMs: number,
): PerpMarketState | undefined | Rejection {
  if (listing.marketType !== 'PERP') {
    for (const name of perpListingFields)
      if (listing[name] !== undefined) return invalid(`${name} is a perpetual's field; this is a spot listing.`);
    return undefined;
  }
  if (quote.symbol !== settlementAssetSymbol)
    return invalid(`A perpetual is quoted and settled in ${settlementAssetSymbol}.`);
  const margin = marginFunctions(listing);
  if (isRejection(margin)) return margin;
  const funding = fundingSettings(listing);
  if (isRejection(funding)) return funding;
  const limits = limitsAndBand(listing, base);
  if (isRejection(limits)) return limits;
  const parameters: PerpParameters = { ...margin, ...funding, ...limits };
  const fundingParameters = perpFundingParametersOf(parameters, quote);
  return {
    parameters,
    fundingParameters,
    funding: newPerpFundingState(listedAtMs, fundingParameters),
    openInterestUnits: 0n,
    fundingBalanceUnits: 0n,
    // Present from the start though built on first need (position-queue.ts): a field added later gives the
    // object a second hidden class, and every load of market.perp's fields on the hot path two maps to check.
    positionIndex: undefined,
  };
}

/** The listing fields that re-create a perpetual's parameters (the state codec stores them). */
export function perpListingOf(parameters: PerpParameters, base: Asset): Partial<MarketListing> {
  const fraction = (value: bigint): string => formatDecimal(value, wadDecimals);
  return {
    marketType: 'PERP',
    imfBase: fraction(parameters.imf.base),
    imfFactor: fraction(parameters.imf.factor),
    mmfBase: fraction(parameters.mmf.base),
    mmfFactor: fraction(parameters.mmf.factor),
    fundingIntervalMs: parameters.fundingIntervalMs,
    fundingRateUpperBoundBps: parameters.fundingRateUpperBoundBps,
    fundingRateLowerBoundBps: parameters.fundingRateLowerBoundBps,
    openInterestLimit: formatDecimal(parameters.openInterestLimitUnits, base.decimals),
    markBandMaxMultiplier: fraction(parameters.markBandMaxMultiplier),
    markBandMinMultiplier: fraction(parameters.markBandMinMultiplier),
  };
}
