import { describe, expect, it } from 'vitest';
import { wad } from '../margin-fixed-point.js';
import { defaultPerpFundingParameters, newPerpFundingState, type PerpClockEvent } from './funding.js';
import { refreshPerpMarket, refreshPerpMarkets, restorePerpClocks } from './perp-clock.js';

/**
 * A SOL_USDC_PERP-like market (tick 0.01, step 0.01 SOL, so 100 quote units per step-tick) with a book
 * above the index 100: bids 100 SOL at 104, asks 1,000 SOL at 105, last trade 130. The sample premium is
 * (104 − 100) / 100 = 0.04; the median of the mark's inputs is the mid 104.5, outside a 2 % band.
 */
function marketAbove(markBand: bigint) {
  const fundingParameters = { ...defaultPerpFundingParameters, markBand };
  return {
    symbol: 'SOL_USDC_PERP',
    priceScale: 2,
    tickUnits: 1n,
    quoteUnitsPerStepTick: 100n,
    bids: { levels: [{ priceTicks: 10_400n, totalSteps: 10_000n }] },
    asks: { levels: [{ priceTicks: 10_500n, totalSteps: 100_000n }] },
    lastPriceTicks: 13_000n,
    base: { margin: { indexPrice: 100n * wad } },
    perp: { fundingParameters, funding: newPerpFundingState(0, fundingParameters) },
  };
}

const stateWithEvents = () => ({ recorder: { events: [] as PerpClockEvent[] }, markets: [] as unknown[] });

describe('refreshPerpMarket', () => {
  it('clamps the mark to the band and pays the book premium over several intervals', () => {
    const market = marketAbove(wad / 50n);
    const state = stateWithEvents();
    refreshPerpMarket(state as never, market as never, 1);
    // The index is new: the mark is recomputed; the mid 104.5 is clamped to 100 × 1.02.
    expect(market.perp.funding.markPrice).toBe(102n * wad);
    expect(state.recorder.events.map((event) => event.type)).toEqual(['perpMarkPrice']);
    state.recorder.events.length = 0;
    // Two hours later: two boundaries, each averaging 720 samples of 0.04. Charged 0.04 / 8 = 0.005,
    // interest clamped to −0.0000625: rate 0.0049375, times the mark 102 per interval.
    refreshPerpMarket(state as never, market as never, 7_200_000);
    const funding = state.recorder.events.filter((event) => event.type === 'perpFunding');
    expect(funding.map((event) => [event.intervalEndMs, event.fundingRate, event.averagePremium])).toEqual([
      [3_600_000, 4_937_500_000_000_000n, wad / 25n],
      [7_200_000, 4_937_500_000_000_000n, wad / 25n],
    ]);
    expect(market.perp.funding.cumulativeFundingIndex).toBe(2n * 503_625_000_000_000_000n);
    expect(market.perp.funding.markPrice).toBe(102n * wad);
    expect(market.perp.funding.nextFundingAtMs).toBe(10_800_000);
  });

  it('does nothing between sample boundaries while the index stands still', () => {
    const market = marketAbove(wad / 50n);
    const state = stateWithEvents();
    refreshPerpMarket(state as never, market as never, 1);
    const before = { ...market.perp.funding };
    expect(refreshPerpMarket(state as never, market as never, 4_999)).toBeUndefined();
    expect(market.perp.funding).toEqual(before);
  });

  it('restores every clock an entry moved', () => {
    const markets = [marketAbove(wad / 50n), { symbol: 'SOL_USDC', perp: undefined }, marketAbove(wad / 10n)];
    const state = { ...stateWithEvents(), markets };
    const before = markets.map((market) => ({ ...market.perp?.funding }));
    const moved = refreshPerpMarkets(state as never, 3_600_000);
    expect(moved).toHaveLength(4);
    expect(markets[0]!.perp!.funding.cumulativeFundingIndex).not.toBe(0n);
    restorePerpClocks(moved);
    expect(markets.map((market) => ({ ...market.perp?.funding }))).toEqual(before);
    // After the instruction, a market with boundaries still due is left to the next entry.
    expect(refreshPerpMarkets(state as never, 3_600_000, true)).toBeUndefined();
  });
});
