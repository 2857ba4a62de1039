/**
 * The one place where time-driven work on a perpetual happens
 * (docs/perps.md, "Mark price and funding"; docs/perps-pricing.md, section 7):
 * the mark price and the funding index advanced by advancePerpClock, once per
 * entry for each perpetual market in listing order before the instruction,
 * and once more after an accepted one (for an index it updated).
 */
import type { ExchangeState, Market } from '../state.js';
import { advancePerpClock, type PerpFundingState, perpClockIsDue, perpPriceSourceOf } from './funding.js';

/**
 * Brings the market's clock to `logTimeMs` and records its events
 * (perpFunding, perpMarkPrice) in the entry's recorder. Returns the funding
 * state as it was before, when the clock moved, so that a rejected entry can
 * put it back (restorePerpClocks); undefined when nothing was due.
 */
export function refreshPerpMarket(
  state: ExchangeState,
  market: Market,
  logTimeMs: number,
): PerpFundingState | undefined {
  const perp = market.perp;
  if (perp === undefined) return undefined;
  const indexPrice = market.base.margin?.indexPrice ?? 0n;
  // Cheap on almost every entry: no sample boundary passed and the index has not moved.
  if (!perpClockIsDue(perp.funding, logTimeMs, indexPrice)) return undefined;
  const before = { ...perp.funding };
  const parameters = perp.fundingParameters;
  const source = perpPriceSourceOf(market.symbol, market, indexPrice, parameters.impactNotionalUnits);
  const events = advancePerpClock(perp.funding, parameters, logTimeMs, source);
  // The markets section is rehashed whole at every commitment update (state-changes.ts): no hook to call.
  const recorded = state.recorder.events;
  for (let index = 0; index < events.length; index += 1) recorded.push(events[index]!);
  return before;
}

/** The clocks refreshPerpMarket moved at this entry, as (market, state before) pairs; undefined when none. */
export type MovedPerpClocks = Array<Market | PerpFundingState> | undefined;

/**
 * Runs the clock of every perpetual market in listing order; returns what
 * moved, for restorePerpClocks. After the instruction (`afterInstruction`) it
 * only recomputes marks from an index the entry moved: a market whose clock
 * still has boundaries due (more than 24 were passed) is left to the next
 * entries, so that one entry never settles more than 24 boundaries.
 */
export function refreshPerpMarkets(state: ExchangeState, logTimeMs: number, afterInstruction = false): MovedPerpClocks {
  let moved: MovedPerpClocks;
  const markets = state.markets;
  for (let index = 0; index < markets.length; index += 1) {
    const market = markets[index]!;
    if (market.perp === undefined) continue;
    if (afterInstruction && market.perp.funding.nextSampleAtMs <= logTimeMs) continue;
    const before = refreshPerpMarket(state, market, logTimeMs);
    if (before === undefined) continue;
    moved ??= [];
    moved.push(market, before);
  }
  return moved;
}

/** Puts back the clocks of a rejected entry exactly as they were. */
export function restorePerpClocks(moved: MovedPerpClocks): void {
  if (moved === undefined) return;
  for (let index = 0; index < moved.length; index += 2) {
    const market = moved[index] as Market;
    Object.assign(market.perp!.funding, moved[index + 1] as PerpFundingState);
  }
}
