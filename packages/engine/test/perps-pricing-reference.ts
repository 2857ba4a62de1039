/**
 * A naive reference of docs/perps-pricing.md, written from the document
 * alone: exact fractions where the document states a quotient, one loop
 * iteration per sample boundary, sorting for the median. The engine's
 * perps/mark-price.ts and perps/funding.ts are compared with it on seeded
 * random inputs (perps-pricing-random.test.ts).
 */

import type { PerpClockEvent, PerpFundingParameters, PerpFundingState } from '../src/perps/funding.js';

// Only the engine's types of the parameters and the state (their fields are section 7's and 10's); no logic.
type ReferenceParameters = PerpFundingParameters;
type ReferenceState = PerpFundingState;

const WAD = 1_000_000_000_000_000_000n;

/** A non-negative fraction n/d, kept unreduced. */
interface Fraction {
  readonly n: bigint;
  readonly d: bigint;
}

function floorOf(f: Fraction): bigint {
  return f.n / f.d;
}

function ceilingOf(f: Fraction): bigint {
  return f.n % f.d === 0n ? f.n / f.d : f.n / f.d + 1n;
}

function towardZero(numerator: bigint, denominator: bigint): bigint {
  const magnitude = (numerator < 0n ? -numerator : numerator) / (denominator < 0n ? -denominator : denominator);
  return numerator < 0n !== denominator < 0n ? -magnitude : magnitude;
}

export interface ReferenceMarket {
  readonly priceScale: number;
  readonly tickUnits: bigint;
  readonly quoteUnitsPerStepTick: bigint;
  /** Best first. */
  readonly bids: readonly (readonly [bigint, bigint])[];
  readonly asks: readonly (readonly [bigint, bigint])[];
  readonly lastPriceTicks: bigint;
}

function wadOfTicks(market: ReferenceMarket, ticks: bigint): bigint {
  let scale = 1n;
  for (let digit = market.priceScale; digit < 18; digit += 1) scale *= 10n;
  return ticks * market.tickUnits * scale;
}

/** Section 2: fill the notional level by level, the quantity bought as a fraction of steps. */
export function referenceImpact(
  market: ReferenceMarket,
  side: readonly (readonly [bigint, bigint])[],
  notional: bigint,
  isBid: boolean,
): bigint | null {
  const k = market.quoteUnitsPerStepTick;
  let remaining = notional;
  let bought: Fraction = { n: 0n, d: 1n };
  for (const [ticks, steps] of side.slice(0, 256)) {
    const levelNotional = steps * ticks * k;
    const taken = remaining < levelNotional ? remaining : levelNotional;
    // taken / (k · ticks) steps more.
    bought = { n: bought.n * k * ticks + taken * bought.d, d: bought.d * k * ticks };
    remaining -= taken;
    if (remaining === 0n) {
      // average ticks = notional / (k · bought); in wad through wadOfTicks (linear in ticks).
      const average: Fraction = { n: wadOfTicks(market, notional * bought.d), d: k * bought.n };
      return isBid ? floorOf(average) : ceilingOf(average);
    }
  }
  return null;
}

export interface ReferenceObservation {
  readonly impactBid: bigint | null;
  readonly impactAsk: bigint | null;
  readonly mid: bigint | null;
  readonly last: bigint | null;
}

export function referenceObserve(market: ReferenceMarket, notional: bigint): ReferenceObservation {
  const bestBid = market.bids[0];
  const bestAsk = market.asks[0];
  return {
    impactBid: referenceImpact(market, market.bids, notional, true),
    impactAsk: referenceImpact(market, market.asks, notional, false),
    mid:
      bestBid === undefined || bestAsk === undefined
        ? null
        : (wadOfTicks(market, bestBid[0]) + wadOfTicks(market, bestAsk[0])) / 2n,
    last: market.lastPriceTicks === 0n ? null : wadOfTicks(market, market.lastPriceTicks),
  };
}

/** Section 3. */
export function referencePremium(index: bigint, impactBid: bigint | null, impactAsk: bigint | null): bigint {
  const above = impactBid !== null && impactBid > index ? impactBid - index : 0n;
  const below = impactAsk !== null && impactAsk < index ? index - impactAsk : 0n;
  return towardZero((above - below) * WAD, index);
}

/** Section 4. */
export function referenceMark(index: bigint, estimate: bigint, mid: bigint | null, last: bigint | null, band: bigint) {
  if (index === 0n) return 0n;
  const fair = index + towardZero(index * estimate, WAD);
  const sorted = [fair, mid ?? fair, last ?? fair].sort((left, right) => (left < right ? -1 : left > right ? 1 : 0));
  const median = sorted[1]!;
  const lower = ceilingOf({ n: index * (WAD - band), d: WAD });
  const upper = floorOf({ n: index * (WAD + band), d: WAD });
  if (median < lower) return lower;
  if (median > upper) return upper;
  return median;
}

function clampTo(value: bigint, low: bigint, high: bigint): bigint {
  if (value < low) return low;
  if (value > high) return high;
  return value;
}

/** Section 6. */
export function referenceRate(average: bigint, parameters: ReferenceParameters): bigint {
  const charged = towardZero(average * parameters.premiumFraction, WAD);
  const interest = clampTo(parameters.interestRate - charged, -parameters.interestClamp, parameters.interestClamp);
  const basisPoint = 100_000_000_000_000n;
  return clampTo(
    charged + interest,
    parameters.fundingRateLowerBoundBasisPoints * basisPoint,
    parameters.fundingRateUpperBoundBasisPoints * basisPoint,
  );
}

export function referenceNewState(listedAtMs: number, parameters: ReferenceParameters): ReferenceState {
  const firstAfter = (step: number): number => {
    let boundary = 0;
    while (boundary <= listedAtMs) boundary += step;
    return boundary;
  };
  // Section 7: "everything else 0".
  const zero = 0n;
  const state = {
    nextSampleAtMs: firstAfter(parameters.sampleIntervalMs),
    nextFundingAtMs: firstAfter(parameters.fundingIntervalMs),
  } as ReferenceState;
  const zeroFields = ['cumulativeFundingIndex', 'markPrice', 'markIndexPrice', 'lastFundingRate'] as const;
  for (const field of [...zeroFields, 'premiumSum', 'premiumSampleCount', 'premiumEstimate'] as const)
    state[field] = zero;
  return state;
}

export type ReferenceEvent =
  | {
      type: 'perpFunding';
      intervalEndMs: number;
      fundingRate: bigint;
      averagePremium: bigint;
      index: bigint;
      mark: bigint;
      cumulative: bigint;
    }
  | { type: 'perpMarkPrice'; markPrice: bigint; indexPrice: bigint; premiumEstimate: bigint; atMs: number };

/** An engine clock event in the reference's shape (renamed fields, no market), to compare with its events. */
export function referenceEventOf(event: PerpClockEvent): ReferenceEvent {
  if (event.type === 'perpFunding')
    return {
      type: event.type,
      intervalEndMs: event.intervalEndMs,
      fundingRate: event.fundingRate,
      averagePremium: event.averagePremium,
      index: event.indexPrice,
      mark: event.markPrice,
      cumulative: event.cumulativeFundingIndex,
    };
  const { markPrice, indexPrice, premiumEstimate, atMs } = event;
  return { type: event.type, markPrice, indexPrice, premiumEstimate, atMs };
}

/** Section 7, one sample boundary at a time. */
export function referenceAdvance(
  state: ReferenceState,
  parameters: ReferenceParameters,
  logTimeMs: number,
  index: bigint,
  observation: ReferenceObservation,
): ReferenceEvent[] {
  const events: ReferenceEvent[] = [];
  const markBefore = state.markPrice;
  const indexBefore = state.markIndexPrice;
  const recompute = (): void => {
    state.markIndexPrice = index;
    state.markPrice = referenceMark(
      index,
      state.premiumEstimate,
      observation.mid,
      observation.last,
      parameters.markBand,
    );
  };
  let settled = 0;
  let sampled = false;
  while (state.nextSampleAtMs <= logTimeMs && settled < 24) {
    let count = 0n;
    while (state.nextSampleAtMs <= logTimeMs && state.nextSampleAtMs <= state.nextFundingAtMs) {
      count += 1n;
      state.nextSampleAtMs += parameters.sampleIntervalMs;
    }
    sampled = true;
    if (index > 0n) {
      const premium = referencePremium(index, observation.impactBid, observation.impactAsk);
      state.premiumSum += premium * count;
      state.premiumSampleCount += count;
      const n = parameters.markSmoothingSamples;
      state.premiumEstimate += towardZero((premium - state.premiumEstimate) * (count < n ? count : n), n);
    }
    if (state.nextSampleAtMs <= state.nextFundingAtMs) break;
    recompute();
    const average = state.premiumSampleCount === 0n ? 0n : towardZero(state.premiumSum, state.premiumSampleCount);
    const rate = referenceRate(average, parameters);
    state.cumulativeFundingIndex += towardZero(rate * state.markPrice, WAD);
    state.lastFundingRate = rate;
    state.premiumSum = 0n;
    state.premiumSampleCount = 0n;
    events.push({
      type: 'perpFunding',
      intervalEndMs: state.nextFundingAtMs,
      fundingRate: rate,
      averagePremium: average,
      index,
      mark: state.markPrice,
      cumulative: state.cumulativeFundingIndex,
    });
    state.nextFundingAtMs += parameters.fundingIntervalMs;
    settled += 1;
  }
  if (sampled || index !== state.markIndexPrice) recompute();
  if (state.markPrice !== markBefore || state.markIndexPrice !== indexBefore) {
    events.push({
      type: 'perpMarkPrice',
      markPrice: state.markPrice,
      indexPrice: state.markIndexPrice,
      premiumEstimate: state.premiumEstimate,
      atMs: logTimeMs,
    });
  }
  return events;
}
