/**
 * The engine's perps pricing (src/perps) against the naive reference written
 * from docs/perps-pricing.md, on seeded random books, prices and log times.
 * PRICING_SEED reproduces one run (the seed is in the test's name and in
 * every failure message), PRICING_RUNS sets the number of runs.
 */
import { describe, expect, it } from 'vitest';
import { advancePerpClock, newPerpFundingState, type PerpFundingParameters } from '../src/perps/funding.js';
import { markPrice, observeBook } from '../src/perps/mark-price.js';
import {
  type ReferenceMarket,
  referenceAdvance,
  referenceEventOf,
  referenceMark,
  referenceNewState,
  referenceObserve,
} from './perps-pricing-reference.js';
import { observedMarketOf } from './perps-pricing-vectors.js';
import { seededRandom } from './random-log.js';

const firstSeed = Number(process.env.PRICING_SEED ?? 1);
const runs = Number(process.env.PRICING_RUNS ?? 40);
const wad = 10n ** 18n;

class Draw {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  /** An integer in [0, bound). */
  below(bound: number): number {
    return this.next() % bound;
  }
  big(bound: bigint): bigint {
    return ((BigInt(this.next()) << 32n) | BigInt(this.next())) % bound;
  }
  pick<T>(choices: readonly T[]): T {
    return choices[this.below(choices.length)]!;
  }
}

/** A random book around `centreTicks`, best level first on each side, sometimes thin or one-sided. */
function randomMarket(draw: Draw, centreTicks: bigint): ReferenceMarket {
  const side = (isBid: boolean): [bigint, bigint][] => {
    const levels: [bigint, bigint][] = [];
    let ticks = isBid ? centreTicks - 1n - draw.big(5n) : centreTicks + draw.big(5n);
    const count = draw.below(4) === 0 ? 0 : draw.below(12);
    for (let level = 0; level < count && ticks > 0n; level += 1) {
      levels.push([ticks, 1n + draw.big(draw.pick([3n, 50n, 2000n]))]);
      ticks += (isBid ? -1n : 1n) * (1n + draw.big(20n));
    }
    return levels;
  };
  return {
    priceScale: draw.below(5),
    tickUnits: draw.pick([1n, 5n, 25n]),
    quoteUnitsPerStepTick: draw.pick([1n, 100n, 1000n, 7n]),
    bids: side(true),
    asks: side(false),
    lastPriceTicks: draw.below(3) === 0 ? 0n : centreTicks + draw.big(21n) - 10n,
  };
}

function randomParameters(draw: Draw): PerpFundingParameters {
  const sampleIntervalMs = draw.pick([1_000, 5_000, 60_000]);
  return {
    sampleIntervalMs,
    fundingIntervalMs: sampleIntervalMs * draw.pick([1, 2, 12, 720]),
    interestRate: draw.big(100_000_000_000_000n) - 20_000_000_000_000n,
    premiumFraction: draw.pick([wad, wad / 8n, 0n, draw.big(wad)]),
    interestClamp: draw.big(1_000_000_000_000_000n),
    fundingRateUpperBoundBasisPoints: draw.big(500n),
    fundingRateLowerBoundBasisPoints: -draw.big(500n),
    markBand: draw.big(wad / 2n),
    markSmoothingSamples: 1n + draw.big(60n),
    impactNotionalUnits: 1n + draw.big(draw.pick([1_000n, 1_000_000n, 100_000_000n])),
  };
}

function runOnce(seed: number): number {
  const draw = new Draw(seed);
  const parameters = randomParameters(draw);
  const listedAtMs = draw.below(10_000_000);
  const engine = newPerpFundingState(listedAtMs, parameters);
  const reference = referenceNewState(listedAtMs, parameters);
  expect(engine, `seed ${seed}: new state`).toEqual(reference);
  let timeMs = listedAtMs;
  let indexPrice = draw.below(3) === 0 ? 0n : wad * (1n + draw.big(1000n));
  let funding = 0;
  for (let step = 0; step < 120; step += 1) {
    const gap = draw.pick([0, 1, 999, parameters.sampleIntervalMs, parameters.fundingIntervalMs]);
    timeMs += draw.below(8) === 0 ? gap * (1 + draw.below(40)) : draw.below(parameters.sampleIntervalMs * 3);
    if (draw.below(3) === 0) indexPrice = wad * (1n + draw.big(1000n)) + draw.big(wad);
    const market = randomMarket(draw, 1n + draw.big(100_000n));
    const observed = observedMarketOf(market);
    const expected = referenceObserve(market, parameters.impactNotionalUnits);
    const observation = observeBook(observed, parameters.impactNotionalUnits);
    const where = `seed ${seed} step ${step} at ${timeMs}`;
    expect(
      [observation.impactBidPrice, observation.impactAskPrice, observation.midPrice, observation.lastTradePrice],
      where,
    ).toEqual([expected.impactBid, expected.impactAsk, expected.mid, expected.last].map((value) => value ?? undefined));
    const estimate = draw.big(wad) - wad / 2n;
    const inputs = { indexPrice, premiumEstimate: estimate, midPrice: observation.midPrice };
    expect(
      markPrice({ ...inputs, lastTradePrice: observation.lastTradePrice, markBand: parameters.markBand }),
      where,
    ).toBe(referenceMark(indexPrice, estimate, expected.mid, expected.last, parameters.markBand));

    const source = { marketSymbol: 'X_USDC_PERP', indexPrice, observeBook: () => observation };
    const events = advancePerpClock(engine, parameters, timeMs, source);
    const referenceEvents = referenceAdvance(reference, parameters, timeMs, indexPrice, expected);
    const mapped = events.map(referenceEventOf);
    expect(mapped, where).toEqual(referenceEvents);
    expect(engine, where).toEqual(reference);
    funding += referenceEvents.filter((event) => event.type === 'perpFunding').length;
  }
  return funding;
}

describe('perps pricing against the reference of docs/perps-pricing.md', () => {
  it(`agrees on books, marks, samples and funding over ${runs} runs from PRICING_SEED=${firstSeed}`, () => {
    let boundaries = 0;
    for (let seed = firstSeed; seed < firstSeed + runs; seed += 1) boundaries += runOnce(seed);
    // The runs must reach funding boundaries, quiet stretches included, or they test little.
    expect(boundaries).toBeGreaterThan(runs);
  });
});
