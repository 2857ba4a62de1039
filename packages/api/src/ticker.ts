/**
 * 24-hour statistics of a market, from its newest 10,000 stored trades within
 * the last 24 hours of wall-clock time: GET /api/v1/ticker(s) and the
 * `ticker.<market>` stream.
 */
import { formatDecimal, formatPrice, formatQuantity, type Market } from '@vex/engine';
import type { HistoryIndex } from './node-port.js';

/** Trades looked at for 24-hour tickers. */
const tickerTradeWindow = 10_000;
const dayMs = 24 * 60 * 60 * 1000;

export async function computeTicker(
  history: HistoryIndex,
  market: Market,
  now: number,
): Promise<Record<string, string>> {
  const since = now - dayMs;
  const trades = (await history.trades(market.symbol, tickerTradeWindow)).filter((trade) => trade.timeMs >= since);
  const zero = {
    symbol: market.symbol,
    firstPrice: '0',
    lastPrice: '0',
    priceChange: '0',
    priceChangePercent: '0',
    high: '0',
    low: '0',
    volume: '0',
    quoteVolume: '0',
    trades: '0',
  };
  if (trades.length === 0) return zero;
  // Newest first.
  const last = trades[0]!.priceTicks;
  const first = trades[trades.length - 1]!.priceTicks;
  let high = last;
  let low = last;
  let steps = 0n;
  let quote = 0n;
  for (const trade of trades) {
    if (trade.priceTicks > high) high = trade.priceTicks;
    if (trade.priceTicks < low) low = trade.priceTicks;
    steps += trade.quantitySteps;
    quote += trade.quoteUnits;
  }
  // Change as a fraction, truncated to 6 decimals (the only inexact figure here).
  const fractionMicros = ((last - first) * 1_000_000n) / first;
  return {
    symbol: market.symbol,
    firstPrice: formatPrice(market, first),
    lastPrice: formatPrice(market, last),
    priceChange: formatPrice(market, last - first),
    priceChangePercent: formatDecimal(fractionMicros, 6),
    high: formatPrice(market, high),
    low: formatPrice(market, low),
    volume: formatQuantity(market, steps),
    quoteVolume: formatDecimal(quote, market.quote.decimals),
    trades: String(trades.length),
  };
}
