/**
 * The one place where time-driven work on a perpetual happens
 * (docs/perps.md, "Per-market state"), called once per entry per market.
 *
 * PLACEHOLDER: the pricing module (perps/mark-price.ts and perps/funding.ts,
 * docs/perps-pricing.md) replaces the body: the mark price from the index,
 * the book's impact prices and the last trade within the market's band, and
 * the funding index advanced at each interval boundary. Until then the mark
 * is the base asset's index price and the funding index does not move.
 */
import type { ExchangeState, Market } from '../state.js';

export function refreshPerpMarket(_state: ExchangeState, market: Market, _logTimeMs: number): void {
  const perp = market.perp;
  if (perp === undefined) return;
  perp.markPrice = market.base.margin?.indexPrice ?? 0n;
}
