/**
 * Funding of a perpetual market (docs/perps-pricing.md, sections 5 to 8):
 * premium samples at fixed log-time boundaries, a funding rate at each
 * funding boundary, and a cumulative funding index that positions settle
 * against, so no payment is a sweep over accounts. advancePerpClock runs
 * once per entry and does a bounded amount of work however much log time
 * has passed.
 */
import { minimum, maximum, wad } from '../margin-fixed-point.js';
import {
  type BookObservation,
  type MidAndLastPrices,
  markPrice,
  type ObservedMarket,
  observeBook,
  observeMidAndLast,
  samplePremium,
} from './mark-price.js';

export interface PerpFundingParameters {
  /** Length of a funding interval; boundaries are the multiples of it (log time). */
  readonly fundingIntervalMs: number;
  /** Premium samples are taken at the multiples of this; it divides fundingIntervalMs. */
  readonly sampleIntervalMs: number;
  /** The interest component per funding interval (signed wad). */
  readonly interestRate: bigint;
  /** The part of the average premium charged per interval (wad, 0 to 1; 0.125 for an 8-hour premium paid hourly). */
  readonly premiumFraction: bigint;
  /** The largest |interest − charged premium| added to the charged premium (wad). */
  readonly interestClamp: bigint;
  /** Bounds of the rate per interval in basis points (Backpack's fundingRateUpperBound/LowerBound). */
  readonly fundingRateUpperBoundBasisPoints: bigint;
  readonly fundingRateLowerBoundBasisPoints: bigint;
  /** The mark's largest distance from the index, as a fraction of it (wad, below 1). */
  readonly markBand: bigint;
  /** The premium estimate moves 1/markSmoothingSamples of the way to each sample (≥ 1). */
  readonly markSmoothingSamples: bigint;
  /** The market order, in quote units, whose average fill price is a side's impact price. */
  readonly impactNotionalUnits: bigint;
}

/** Wad of one basis point. */
export const basisPointWad = 10n ** 14n;

/** Boundaries (funding settlements) one entry processes at most; the rest wait for the next entries. */
export const maximumFundingBoundariesPerEntry = 24;

/** Hourly funding, 5-second samples, Hyperliquid's formula paid hourly, ±1 % bounds, a 5 % mark band, 6,000 USDC. */
export const defaultPerpFundingParameters: PerpFundingParameters = {
  fundingIntervalMs: 3_600_000,
  sampleIntervalMs: 5_000,
  interestRate: 12_500_000_000_000n,
  premiumFraction: 125_000_000_000_000_000n,
  interestClamp: 62_500_000_000_000n,
  fundingRateUpperBoundBasisPoints: 100n,
  fundingRateLowerBoundBasisPoints: -100n,
  markBand: 50_000_000_000_000_000n,
  markSmoothingSamples: 30n,
  impactNotionalUnits: 6_000_000_000n,
};

/** Why a parameter set is unusable, or undefined when it is valid. */
export function perpFundingParametersProblem(parameters: PerpFundingParameters): string | undefined {
  const { fundingIntervalMs, sampleIntervalMs } = parameters;
  if (!Number.isSafeInteger(sampleIntervalMs) || sampleIntervalMs <= 0) return 'sampleIntervalMs must be positive';
  if (!Number.isSafeInteger(fundingIntervalMs) || fundingIntervalMs <= 0) return 'fundingIntervalMs must be positive';
  if (fundingIntervalMs % sampleIntervalMs !== 0) return 'sampleIntervalMs must divide fundingIntervalMs';
  if (parameters.premiumFraction < 0n || parameters.premiumFraction > wad) return 'premiumFraction must be 0 to 1';
  if (parameters.interestClamp < 0n) return 'interestClamp must not be negative';
  if (parameters.fundingRateLowerBoundBasisPoints > 0n || parameters.fundingRateUpperBoundBasisPoints < 0n)
    return 'the funding rate bounds must enclose zero';
  if (parameters.markBand < 0n || parameters.markBand >= wad) return 'markBand must be at least 0 and below 1';
  if (parameters.markSmoothingSamples < 1n) return 'markSmoothingSamples must be at least 1';
  if (parameters.impactNotionalUnits <= 0n) return 'impactNotionalUnits must be positive';
  return undefined;
}

export interface PerpFundingState {
  /**
   * Signed wad of settlement asset per whole base unit: a long pays
   * quantity × (index now − index at its last settlement), a short receives it.
   */
  cumulativeFundingIndex: bigint;
  /** Wad; zero until the market has an index price. */
  markPrice: bigint;
  /** The index price the mark was last computed from (wad). */
  markIndexPrice: bigint;
  /** The rate of the last settled interval (signed wad); zero before the first. */
  lastFundingRate: bigint;
  /** The sum of the current interval's samples, each counted once per sample boundary it stands for (signed wad). */
  premiumSum: bigint;
  /** The number of sample boundaries counted in premiumSum. */
  premiumSampleCount: bigint;
  /** The smoothed premium the mark adds to the index (signed wad). */
  premiumEstimate: bigint;
  /** The next sample boundary and funding boundary (log time). */
  nextSampleAtMs: number;
  nextFundingAtMs: number;
}

/** The first multiple of `step` strictly after `timeMs` (bigint division: the engine divides no numbers). */
function nextMultipleAfter(timeMs: number, step: number): number {
  const stepBig = BigInt(step);
  return Number((BigInt(timeMs) / stepBig + 1n) * stepBig);
}

export function newPerpFundingState(listedAtMs: number, parameters: PerpFundingParameters): PerpFundingState {
  return {
    cumulativeFundingIndex: 0n,
    markPrice: 0n,
    markIndexPrice: 0n,
    lastFundingRate: 0n,
    premiumSum: 0n,
    premiumSampleCount: 0n,
    premiumEstimate: 0n,
    nextSampleAtMs: nextMultipleAfter(listedAtMs, parameters.sampleIntervalMs),
    nextFundingAtMs: nextMultipleAfter(listedAtMs, parameters.fundingIntervalMs),
  };
}

/** What advancePerpClock reads at this entry. */
export interface PerpPriceSource {
  readonly marketSymbol: string;
  /** The market's index price now (wad); zero when there is none yet. */
  readonly indexPrice: bigint;
  /** The book now; called at most once per entry, and only when a sample or the mark needs it. */
  observeBook(): BookObservation;
  /**
   * The book's mid and last trade alone, for an entry that recomputes the mark without taking a sample (an
   * index move): the same two prices observeBook gives, without its impact walks. Absent: observeBook is read.
   */
  observeMidAndLast?(): MidAndLastPrices;
}

export type PerpClockEvent =
  | {
      readonly type: 'perpFunding';
      readonly marketSymbol: string;
      readonly intervalEndMs: number;
      readonly fundingRate: bigint;
      /** The average premium of the interval (signed wad). */
      readonly averagePremium: bigint;
      readonly cumulativeFundingIndex: bigint;
      readonly markPrice: bigint;
      readonly indexPrice: bigint;
    }
  | {
      readonly type: 'perpMarkPrice';
      readonly marketSymbol: string;
      readonly markPrice: bigint;
      readonly indexPrice: bigint;
      readonly premiumEstimate: bigint;
      /** The log time of the entry that moved it. */
      readonly atMs: number;
    };

/** x clamped into [low, high]. */
function clamp(value: bigint, low: bigint, high: bigint): bigint {
  return minimum(maximum(value, low), high);
}

/**
 * The rate per interval for an average premium P (signed wad), every product
 * truncated toward zero: charged = P × premiumFraction / wad;
 * rate = clamp(charged + clamp(interest − charged, ±interestClamp), lower, upper).
 */
export function fundingRateFor(averagePremium: bigint, parameters: PerpFundingParameters): bigint {
  const charged = (averagePremium * parameters.premiumFraction) / wad;
  const interest = clamp(parameters.interestRate - charged, -parameters.interestClamp, parameters.interestClamp);
  return clamp(
    charged + interest,
    parameters.fundingRateLowerBoundBasisPoints * basisPointWad,
    parameters.fundingRateUpperBoundBasisPoints * basisPointWad,
  );
}

/** The current interval's average premium so far, truncated toward zero; zero without samples. */
export function averagePremium(state: PerpFundingState): bigint {
  return state.premiumSampleCount === 0n ? 0n : state.premiumSum / state.premiumSampleCount;
}

/** The rate the current interval would pay if it ended now (Backpack's estimated fundingRate). */
export function estimatedFundingRate(state: PerpFundingState, parameters: PerpFundingParameters): bigint {
  return fundingRateFor(averagePremium(state), parameters);
}

/** The per-entry work: the source's book read once, lazily. */
class ClockStep {
  private observation: BookObservation | undefined = undefined;
  private prices: MidAndLastPrices | undefined = undefined;
  readonly events: PerpClockEvent[] = [];
  constructor(
    readonly state: PerpFundingState,
    readonly parameters: PerpFundingParameters,
    readonly source: PerpPriceSource,
  ) {}

  book(): BookObservation {
    this.observation ??= this.source.observeBook();
    return this.observation;
  }

  /** The mid and last trade: from the book if it was read at this entry, else without the impact walks. */
  midAndLast(): MidAndLastPrices {
    if (this.observation !== undefined || this.source.observeMidAndLast === undefined) return this.book();
    this.prices ??= this.source.observeMidAndLast();
    return this.prices;
  }

  /**
   * Counts the sample boundaries from nextSampleAtMs to `lastMs` (inclusive)
   * with one premium read now, and moves the estimate min(count, N)/N of the
   * way to it (truncated toward zero). Without an index they pass uncounted.
   */
  sample(lastMs: number): void {
    const state = this.state;
    const interval = BigInt(this.parameters.sampleIntervalMs);
    const count = BigInt(lastMs - state.nextSampleAtMs) / interval + 1n;
    state.nextSampleAtMs += Number(count * interval);
    if (this.source.indexPrice === 0n) return;
    const premium = samplePremium(this.source.indexPrice, this.book());
    state.premiumSum += premium * count;
    state.premiumSampleCount += count;
    const smoothing = this.parameters.markSmoothingSamples;
    state.premiumEstimate += ((premium - state.premiumEstimate) * minimum(count, smoothing)) / smoothing;
  }

  refreshMark(): void {
    const state = this.state;
    const indexPrice = this.source.indexPrice;
    state.markIndexPrice = indexPrice;
    if (indexPrice === 0n) {
      state.markPrice = 0n;
      return;
    }
    const book = this.midAndLast();
    state.markPrice = markPrice({
      indexPrice,
      premiumEstimate: state.premiumEstimate,
      midPrice: book.midPrice,
      lastTradePrice: book.lastTradePrice,
      markBand: this.parameters.markBand,
    });
  }

  /** Settles the interval ending at nextFundingAtMs at the current mark. */
  settle(): void {
    const state = this.state;
    const average = averagePremium(state);
    const rate = fundingRateFor(average, this.parameters);
    state.cumulativeFundingIndex += (rate * state.markPrice) / wad;
    state.lastFundingRate = rate;
    state.premiumSum = 0n;
    state.premiumSampleCount = 0n;
    this.events.push({
      type: 'perpFunding',
      marketSymbol: this.source.marketSymbol,
      intervalEndMs: state.nextFundingAtMs,
      fundingRate: rate,
      averagePremium: average,
      cumulativeFundingIndex: state.cumulativeFundingIndex,
      markPrice: state.markPrice,
      indexPrice: this.source.indexPrice,
    });
    state.nextFundingAtMs += this.parameters.fundingIntervalMs;
  }
}

/** The source of a market of the engine's book (Market fits ObservedMarket) at the index price given. */
export function perpPriceSourceOf(
  marketSymbol: string,
  market: ObservedMarket,
  indexPrice: bigint,
  impactNotionalUnits: bigint,
): PerpPriceSource {
  return {
    marketSymbol,
    indexPrice,
    observeBook: () => observeBook(market, impactNotionalUnits),
    observeMidAndLast: () => observeMidAndLast(market),
  };
}

/** Whether advancePerpClock has anything to do at this entry: a sample boundary passed or the index moved. */
export function perpClockIsDue(state: PerpFundingState, logTimeMs: number, indexPrice: bigint): boolean {
  return state.nextSampleAtMs <= logTimeMs || indexPrice !== state.markIndexPrice;
}

const noEvents: readonly PerpClockEvent[] = [];

/**
 * Brings the market's clock to `logTimeMs` (docs/perps-pricing.md, section 7):
 * takes the samples due, settles at most maximumFundingBoundariesPerEntry funding
 * boundaries, and recomputes the mark when a sample was taken or the index
 * moved. Returns the funding events in boundary order, then one mark event if
 * the mark or the index changed.
 */
export function advancePerpClock(
  state: PerpFundingState,
  parameters: PerpFundingParameters,
  logTimeMs: number,
  source: PerpPriceSource,
): readonly PerpClockEvent[] {
  // Most entries fall between sample boundaries: nothing to do, nothing allocated.
  if (!perpClockIsDue(state, logTimeMs, source.indexPrice)) return noEvents;
  const step = new ClockStep(state, parameters, source);
  const markBefore = state.markPrice;
  const indexBefore = state.markIndexPrice;
  let settled = 0;
  let sampled = false;
  while (state.nextSampleAtMs <= logTimeMs && settled < maximumFundingBoundariesPerEntry) {
    // The samples up to this entry, or up to the funding boundary when it is passed (the sample at it included).
    step.sample(logTimeMs < state.nextFundingAtMs ? logTimeMs : state.nextFundingAtMs);
    sampled = true;
    if (state.nextSampleAtMs <= state.nextFundingAtMs) break;
    step.refreshMark();
    step.settle();
    settled += 1;
  }
  if (sampled || source.indexPrice !== state.markIndexPrice) step.refreshMark();
  if (state.markPrice !== markBefore || state.markIndexPrice !== indexBefore) {
    step.events.push({
      type: 'perpMarkPrice',
      marketSymbol: source.marketSymbol,
      markPrice: state.markPrice,
      indexPrice: state.markIndexPrice,
      premiumEstimate: state.premiumEstimate,
      atMs: logTimeMs,
    });
  }
  return step.events;
}
