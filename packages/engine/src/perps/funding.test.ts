import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from '../byte-codec.js';
import { parseFraction, wad } from '../margin-fixed-point.js';
import {
  advancePerpClock,
  defaultPerpFundingParameters,
  estimatedFundingRate,
  fundingRateFor,
  maximumFundingBoundariesPerEntry,
  newPerpFundingState,
  perpClockIsDue,
  perpPriceSourceOf,
  type PerpFundingParameters,
  perpFundingParametersProblem,
  type PerpFundingState,
  type PerpPriceSource,
} from './funding.js';
import {
  decodePerpFundingParameters,
  decodePerpFundingState,
  encodePerpFundingParameters,
  encodePerpFundingState,
  readSigned,
  writeSigned,
} from './funding-codec.js';
import type { BookObservation } from './mark-price.js';

const price = (text: string): bigint => parseFraction(text)!;
const signed = (text: string): bigint => (text.startsWith('-') ? -price(text.slice(1)) : price(text));
const parameters = defaultPerpFundingParameters;
const hourMs = 3_600_000;

/** A source whose book reads give a fixed observation, counting the reads. */
function fixedSource(indexPrice: bigint, observation: Partial<BookObservation> = {}) {
  const source = {
    marketSymbol: 'SOL_USDC_PERP',
    indexPrice,
    reads: 0,
    observeBook(): BookObservation {
      source.reads += 1;
      return {
        impactBidPrice: undefined,
        impactAskPrice: undefined,
        midPrice: undefined,
        lastTradePrice: undefined,
        ...observation,
      };
    },
  };
  return source satisfies PerpPriceSource;
}

describe('funding parameters', () => {
  it('default to hourly funding with 5 s samples, and are checked', () => {
    expect(perpFundingParametersProblem(parameters)).toBeUndefined();
    const broken: [Partial<PerpFundingParameters>, string][] = [
      [{ sampleIntervalMs: 7_000 }, 'sampleIntervalMs must divide fundingIntervalMs'],
      [{ sampleIntervalMs: 0 }, 'sampleIntervalMs must be positive'],
      [{ fundingIntervalMs: -1 }, 'fundingIntervalMs must be positive'],
      [{ premiumFraction: wad + 1n }, 'premiumFraction must be 0 to 1'],
      [{ interestClamp: -1n }, 'interestClamp must not be negative'],
      [{ fundingRateLowerBoundBasisPoints: 1n }, 'the funding rate bounds must enclose zero'],
      [{ markBand: wad }, 'markBand must be at least 0 and below 1'],
      [{ markSmoothingSamples: 0n }, 'markSmoothingSamples must be at least 1'],
      [{ impactNotionalUnits: 0n }, 'impactNotionalUnits must be positive'],
    ];
    for (const [change, problem] of broken)
      expect(perpFundingParametersProblem({ ...parameters, ...change })).toBe(problem);
  });
});

describe('the funding rate', () => {
  it('is the interest when the premium is small (Backpack’s 0.0000125 an hour)', () => {
    expect(fundingRateFor(0n, parameters)).toBe(price('0.0000125'));
    expect(fundingRateFor(price('0.0004'), parameters)).toBe(price('0.0000125'));
    expect(fundingRateFor(signed('-0.0004'), parameters)).toBe(price('0.0000125'));
  });

  it('follows the charged premium beyond the interest clamp', () => {
    // charged 0.001 / 8 = 0.000125; interest − charged = −0.0001125, clamped to −0.0000625.
    expect(fundingRateFor(price('0.001'), parameters)).toBe(price('0.0000625'));
    expect(fundingRateFor(signed('-0.001'), parameters)).toBe(signed('-0.0000625'));
  });

  it('is bounded by the market’s bounds in basis points', () => {
    expect(fundingRateFor(price('0.5'), parameters)).toBe(price('0.01'));
    expect(fundingRateFor(signed('-0.5'), parameters)).toBe(signed('-0.01'));
  });
});

describe('the perp clock', () => {
  it('aligns samples and funding to multiples of their intervals', () => {
    const state = newPerpFundingState(1_000_003, parameters);
    expect(state.nextSampleAtMs).toBe(1_005_000);
    expect(state.nextFundingAtMs).toBe(hourMs);
    expect(newPerpFundingState(hourMs, parameters).nextFundingAtMs).toBe(2 * hourMs);
  });

  it('samples every 5 s and settles an hour of premium at the boundary', () => {
    const state = newPerpFundingState(0, parameters);
    // Impact bid 100.2 over an index of 100: a premium of 0.002 in every sample.
    const source = fixedSource(price('100'), { impactBidPrice: price('100.2'), impactAskPrice: price('100.3') });
    const events = [];
    for (let timeMs = 5_000; timeMs <= hourMs; timeMs += 5_000)
      events.push(...advancePerpClock(state, parameters, timeMs, source));
    const funding = events.filter((event) => event.type === 'perpFunding');
    // charged 0.002 / 8 = 0.00025; interest clamp −0.0000625 → 0.0001875; × mark.
    expect(funding).toEqual([
      {
        type: 'perpFunding',
        marketSymbol: 'SOL_USDC_PERP',
        intervalEndMs: hourMs,
        fundingRate: price('0.0001875'),
        averagePremium: price('0.002'),
        cumulativeFundingIndex: (price('0.0001875') * state.markPrice) / wad,
        markPrice: state.markPrice,
        indexPrice: price('100'),
      },
    ]);
    // 720 samples moved the estimate toward 0.002 by 1/30 each: (1 − (29/30)^720) × 0.002, less truncation.
    expect(state.premiumEstimate).toBeGreaterThan(price('0.001999'));
    expect(state.markPrice).toBe(price('100') + (price('100') * state.premiumEstimate) / wad);
    expect(state).toMatchObject({ premiumSum: 0n, premiumSampleCount: 0n, lastFundingRate: price('0.0001875') });
    expect(state.nextFundingAtMs).toBe(2 * hourMs);
    expect(state.nextSampleAtMs).toBe(hourMs + 5_000);
  });

  it('counts one sample for every boundary a quiet stretch passed', () => {
    const state = newPerpFundingState(0, parameters);
    const quiet = fixedSource(price('100'), { impactAskPrice: price('99') });
    expect(advancePerpClock(state, parameters, 1_800_000, quiet)).toHaveLength(1);
    expect(state).toMatchObject({ premiumSampleCount: 360n, premiumSum: signed('-0.01') * 360n });
    // A full smoothing window passed: the estimate is the sample.
    expect(state.premiumEstimate).toBe(signed('-0.01'));
    // Between boundaries nothing is sampled and the book is not read.
    const reads = quiet.reads;
    expect(advancePerpClock(state, parameters, 1_804_999, quiet)).toEqual([]);
    expect(quiet.reads).toBe(reads);
    const busy = fixedSource(price('100'), { impactBidPrice: price('101') });
    advancePerpClock(state, parameters, hourMs + 2_000, busy);
    expect(state.lastFundingRate).toBe(fundingRateFor(0n, parameters));
  });

  it(`settles at most ${maximumFundingBoundariesPerEntry} boundaries per entry, the rest at the next entries`, () => {
    const state = newPerpFundingState(0, parameters);
    const source = fixedSource(price('100'), { impactBidPrice: price('101') });
    const logTimeMs = 30 * hourMs + 1;
    const first = advancePerpClock(state, parameters, logTimeMs, source);
    const funding = first.filter((event) => event.type === 'perpFunding');
    expect(funding.map((event) => event.intervalEndMs)).toEqual(
      Array.from({ length: maximumFundingBoundariesPerEntry }, (_, index) => (index + 1) * hourMs),
    );
    expect(state.nextFundingAtMs).toBe(25 * hourMs);
    expect(state.nextSampleAtMs).toBe(24 * hourMs + 5_000);
    const second = advancePerpClock(state, parameters, logTimeMs, source);
    expect(second.filter((event) => event.type === 'perpFunding').map((event) => event.intervalEndMs)).toEqual([
      25 * hourMs,
      26 * hourMs,
      27 * hourMs,
      28 * hourMs,
      29 * hourMs,
      30 * hourMs,
    ]);
    expect(state.nextSampleAtMs).toBe(logTimeMs + 4_999);
    // Each interval paid the bound: premium 0.01 charged 0.00125 + clamp(−0.0011375 → −0.0000625) = 0.0011875.
    expect(state.cumulativeFundingIndex).toBe(30n * ((price('0.0011875') * state.markPrice) / wad));
    expect(source.reads).toBe(2);
  });

  it('reports the mark when it or the index moves, and pays nothing without an index', () => {
    const state = newPerpFundingState(0, parameters);
    const none = fixedSource(0n, { midPrice: price('100') });
    expect(advancePerpClock(state, parameters, hourMs, none).map((event) => event.type)).toEqual(['perpFunding']);
    expect(state).toMatchObject({ markPrice: 0n, cumulativeFundingIndex: 0n, premiumSampleCount: 0n });
    expect(none.reads).toBe(0);
    const priced = fixedSource(price('100'), { midPrice: price('100.4'), lastTradePrice: price('100.3') });
    expect(advancePerpClock(state, parameters, hourMs + 1, priced)).toEqual([
      {
        type: 'perpMarkPrice',
        marketSymbol: 'SOL_USDC_PERP',
        // The median of fair 100, mid 100.4 and last 100.3.
        markPrice: price('100.3'),
        indexPrice: price('100'),
        premiumEstimate: 0n,
        atMs: hourMs + 1,
      },
    ]);
    expect(advancePerpClock(state, parameters, hourMs + 2, priced)).toEqual([]);
    expect(estimatedFundingRate(state, parameters)).toBe(price('0.0000125'));
  });
});

describe('the source of an engine market', () => {
  it('reads the book only when the clock is due', () => {
    const state = newPerpFundingState(0, parameters);
    const asks = { levels: [{ priceTicks: 10000n, totalSteps: 10n ** 9n }] };
    const market = { priceScale: 2, tickUnits: 1n, quoteUnitsPerStepTick: 100n, bids: { levels: [] }, asks };
    const source = perpPriceSourceOf('SOL_USDC_PERP', { ...market, lastPriceTicks: 0n }, price('101'), 10n ** 9n);
    expect(source.observeBook()).toEqual({
      impactBidPrice: undefined,
      impactAskPrice: price('100'),
      midPrice: undefined,
      lastTradePrice: undefined,
    });
    expect(perpClockIsDue(state, 4_999, 0n)).toBe(false);
    expect(perpClockIsDue(state, 4_999, price('101'))).toBe(true);
    expect(perpClockIsDue(state, 5_000, 0n)).toBe(true);
    expect(advancePerpClock(state, parameters, 4_999, source)).toHaveLength(1);
    expect(advancePerpClock(state, parameters, 4_999, source)).toEqual([]);
    expect(advancePerpClock(state, parameters, 5_000, source)).toHaveLength(1);
    // premium −(101 − 100)/101 = −0.009900990099009900, one sample moves the estimate 1/30 of the way.
    expect(state.premiumEstimate).toBe(-price('0.00990099009900990') / 30n);
  });
});

describe('the funding state encoding', () => {
  const sample: PerpFundingState = {
    cumulativeFundingIndex: signed('-1.5'),
    markPrice: price('100.25'),
    markIndexPrice: price('100'),
    lastFundingRate: signed('-0.0000625'),
    premiumSum: 3n,
    premiumSampleCount: 720n,
    premiumEstimate: -1n,
    nextSampleAtMs: 3_605_000,
    nextFundingAtMs: 7_200_000,
  };

  it('round-trips and is pinned by a golden vector', () => {
    // Checked by hand: zigzag(−1.5 × 10^18) = 3 × 10^18 − 1 is ff ff af b1 af 83 89 d1 29; 3 → 06; 720 → d0 05.
    const writer = new ByteWriter();
    encodePerpFundingState(writer, sample);
    const bytes = writer.finish();
    expect(Buffer.from(bytes).toString('hex')).toBe(
      'ffffafb1af8389d1298080a4e7a4fbe29fef0a8080c098d6c5d7e3eb0aff9fe3a4fdb51c06d005018884dc0180bab703',
    );
    const reader = new ByteReader(bytes);
    expect(decodePerpFundingState(reader)).toEqual(sample);
    reader.expectEnd();
  });

  it('maps signed values one to one', () => {
    for (const value of [0n, 1n, -1n, 2n, -2n, 63n, -64n, 64n, -(10n ** 30n), 10n ** 30n]) {
      const writer = new ByteWriter();
      writeSigned(writer, value);
      const reader = new ByteReader(writer.finish());
      expect(readSigned(reader)).toBe(value);
      reader.expectEnd();
    }
    const writer = new ByteWriter();
    writeSigned(writer, -1n);
    writeSigned(writer, 1n);
    expect([...writer.finish()]).toEqual([1, 2]);
  });

  it('round-trips the parameters', () => {
    const writer = new ByteWriter();
    encodePerpFundingParameters(writer, parameters);
    const reader = new ByteReader(writer.finish());
    expect(decodePerpFundingParameters(reader)).toEqual(parameters);
    reader.expectEnd();
  });
});
