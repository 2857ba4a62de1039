import { describe, expect, it } from 'vitest';
import { parseFraction, wad } from '../margin-fixed-point.js';
import { newMarketBooks } from '../order-book.js';
import type { Market, Order } from '../state.js';
import {
  type ImpactLevel,
  impactPrice,
  impactPrices,
  markBandLimits,
  markPrice,
  maximumImpactLevels,
  midPrice,
  type ObservedMarket,
  observeBook,
  observeMidAndLast,
  samplePremium,
  ticksToWad,
} from './mark-price.js';

// SOL_USDC_PERP as in the worked numbers of docs/perps-pricing.md: tick 0.01, step 0.01 SOL (9 decimals),
// USDC 6 decimals, so one step at one tick costs 0.01 × 0.01 × 10^6 = 100 quote units.
const increments = { priceScale: 2, tickUnits: 1n, quoteUnitsPerStepTick: 100n };
const price = (text: string): bigint => parseFraction(text)!;
/** Levels from a list written best first (the book keeps the best last). */
const levels = (...bestFirst: [number, number][]): ImpactLevel[] =>
  bestFirst
    .map(([priceTicks, totalSteps]) => ({ priceTicks: BigInt(priceTicks), totalSteps: BigInt(totalSteps) }))
    .reverse();
const usdc = (whole: number): bigint => BigInt(whole) * 1_000_000n;

describe('impact prices', () => {
  it('average the fill of the impact notional over the levels it takes (docs worked numbers)', () => {
    // 5 SOL at 100.00 then 10 SOL at 101.00; 1,000 USDC buys 5 + 500/101 SOL: 100.497512437810945273 on average.
    const asks = levels([10000, 500], [10100, 1000]);
    expect(impactPrice(asks, increments, usdc(1000), false)).toBe(price('100.497512437810945274'));
    const bids = levels([9900, 500], [9800, 1000]);
    // 5 SOL at 99.00 then 505/98 SOL at 98.00: 1000 / (5 + 505/98) = 98.492462311557788944…, rounded down.
    expect(impactPrice(bids, increments, usdc(1000), true)).toBe(price('98.492462311557788944'));
  });

  it('are the best price when the best level holds the notional, exactly at its edge too', () => {
    const asks = levels([10000, 500], [10100, 1000]);
    expect(impactPrice(asks, increments, usdc(500), false)).toBe(price('100'));
    expect(impactPrice(asks, increments, usdc(1), false)).toBe(price('100'));
  });

  it('are missing when the side is empty or too thin', () => {
    expect(impactPrice([], increments, usdc(1), true)).toBeUndefined();
    const asks = levels([10000, 500], [10100, 1000]);
    // 500 + 1010 USDC in the book: all 15 SOL, 1510 / 15 = 100.666…, rounded up.
    expect(impactPrice(asks, increments, usdc(1510), false)).toBe(price('100.666666666666666667'));
    expect(impactPrice(asks, increments, usdc(1510) + 1n, false)).toBeUndefined();
  });

  it(`read at most ${maximumImpactLevels} levels`, () => {
    const many = Array.from({ length: maximumImpactLevels + 1 }, (_, index): [number, number] => [10000 + index, 1]);
    const notionalOfFirst = many.slice(0, maximumImpactLevels).reduce((sum, [ticks]) => sum + BigInt(ticks) * 100n, 0n);
    expect(impactPrice(levels(...many), increments, notionalOfFirst, false)).toBeDefined();
    expect(impactPrice(levels(...many), increments, notionalOfFirst + 1n, false)).toBeUndefined();
  });

  it('walk the engine book sides as they are', () => {
    const books = newMarketBooks();
    let id = 0;
    const add = (side: 'bids' | 'asks', priceTicks: bigint, remainingSteps: bigint): void => {
      id += 1;
      books[side].add({ id, priceTicks, remainingSteps } as unknown as Order);
    };
    add('asks', 10100n, 1000n);
    add('asks', 10000n, 200n);
    add('asks', 10000n, 300n);
    add('bids', 9900n, 500n);
    const market = { ...increments, ...books, lastPriceTicks: 0n };
    expect(impactPrices(market, usdc(1000))).toEqual({
      impactBidPrice: undefined,
      impactAskPrice: price('100.497512437810945274'),
    });
    expect(midPrice(market)).toBe(price('99.5'));
    expect(observeBook(market, usdc(100))).toEqual({
      impactBidPrice: price('99'),
      impactAskPrice: price('100'),
      midPrice: price('99.5'),
      lastTradePrice: undefined,
    });
    expect(observeBook({ ...market, lastPriceTicks: 10001n }, usdc(100)).lastTradePrice).toBe(price('100.01'));
    // Without the impact walks, the same mid and last trade.
    for (const observed of [market, { ...market, lastPriceTicks: 10001n }]) {
      const { midPrice: mid, lastTradePrice } = observeBook(observed, usdc(100));
      expect(observeMidAndLast(observed)).toEqual({ midPrice: mid, lastTradePrice });
    }
  });

  it('read the engine Market as it is', () => {
    // A compile-time check: the engine's Market is an ObservedMarket, so the perps code passes it unchanged.
    const readsMarket = (market: Market): ObservedMarket => market;
    expect(readsMarket).toBeTypeOf('function');
  });

  it('turn ticks into wad exactly', () => {
    expect(ticksToWad(12345n, increments)).toBe(price('123.45'));
    expect(ticksToWad(7n, { priceScale: 18, tickUnits: 1n, quoteUnitsPerStepTick: 1n })).toBe(7n);
  });
});

describe('the premium of a sample', () => {
  const index = price('100');
  it('is the impact bid above the index, or minus the impact ask below it, over the index', () => {
    expect(samplePremium(index, { impactBidPrice: price('100.5'), impactAskPrice: price('101') })).toBe(price('0.005'));
    expect(samplePremium(index, { impactBidPrice: price('98'), impactAskPrice: price('99.75') })).toBe(
      -price('0.0025'),
    );
    expect(samplePremium(index, { impactBidPrice: price('99'), impactAskPrice: price('101') })).toBe(0n);
  });

  it('counts a missing side as zero and truncates toward zero', () => {
    expect(samplePremium(index, { impactBidPrice: undefined, impactAskPrice: price('99') })).toBe(-price('0.01'));
    expect(samplePremium(index, { impactBidPrice: price('101'), impactAskPrice: undefined })).toBe(price('0.01'));
    expect(samplePremium(index, { impactBidPrice: undefined, impactAskPrice: undefined })).toBe(0n);
    expect(samplePremium(3n * wad, { impactBidPrice: undefined, impactAskPrice: 2n * wad })).toBe(
      -333_333_333_333_333_333n,
    );
  });

  it('needs an index', () => {
    expect(() => samplePremium(0n, { impactBidPrice: 1n, impactAskPrice: 2n })).toThrow(RangeError);
  });
});

describe('the mark price', () => {
  const base = { indexPrice: price('100'), premiumEstimate: price('0.001'), markBand: price('0.05') };
  it('is the median of fair, mid and last', () => {
    expect(markPrice({ ...base, midPrice: price('100.3'), lastTradePrice: price('99') })).toBe(price('100.1'));
    expect(markPrice({ ...base, midPrice: price('100.05'), lastTradePrice: price('103') })).toBe(price('100.1'));
    expect(markPrice({ ...base, midPrice: price('100.4'), lastTradePrice: price('100.2') })).toBe(price('100.2'));
  });

  it('is the fair price when the mid or the last trade is missing', () => {
    expect(markPrice({ ...base, midPrice: undefined, lastTradePrice: price('104') })).toBe(price('100.1'));
    expect(markPrice({ ...base, midPrice: price('97'), lastTradePrice: undefined })).toBe(price('100.1'));
    expect(markPrice({ ...base, midPrice: undefined, lastTradePrice: undefined })).toBe(price('100.1'));
  });

  it('stays in the mark band around the index', () => {
    expect(markPrice({ ...base, midPrice: price('120'), lastTradePrice: price('130') })).toBe(price('105'));
    expect(markPrice({ ...base, premiumEstimate: -price('0.5'), midPrice: undefined, lastTradePrice: undefined })).toBe(
      price('95'),
    );
    expect(markBandLimits(7n, price('0.1'))).toEqual({ lower: 7n, upper: 7n });
    expect(markBandLimits(101n, price('0.1'))).toEqual({ lower: 91n, upper: 111n });
  });

  it('is zero without an index', () => {
    expect(markPrice({ ...base, indexPrice: 0n, midPrice: price('100'), lastTradePrice: price('100') })).toBe(0n);
  });
});
