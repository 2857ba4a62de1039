/**
 * Mark and Index candles of a perpetual (GET /api/v1/klines with priceType
 * Mark or Index; docs/api.md, "Candles"): the candle rule of the trades
 * applied to the market's mark-price history, each `perpMarkPrice` event an
 * observation of the mark and of the index at its entry's log time, in log
 * order. Buckets without an event have no candle; volume, quote volume and
 * trades are zero.
 */
import { candleEndMs, candlesOf, candleStartMs, formatDecimal, type Candle, type CandleInterval } from '@vex/engine';
import type { Market } from '@vex/engine';
import { ApiError } from './errors.js';
import { utcSecondsText } from './klines.js';
import type { HistoryIndex } from './node-port.js';

/** Price observations one request may read; a range holding more is refused. */
export const maximumKlinePrices = 100_000;

const fraction = (value: bigint): string => formatDecimal(value, 18);

/** Every Mark or Index candle whose bucket overlaps [fromMs, toMs), complete, oldest first. */
export async function priceCandlesBetween(
  history: HistoryIndex,
  market: Market,
  priceType: 'Mark' | 'Index',
  interval: CandleInterval,
  fromMs: number,
  toMs: number,
): Promise<Array<Record<string, string>>> {
  if (market.perp === undefined)
    throw new ApiError('INVALID_CLIENT_REQUEST', `priceType ${priceType} needs a perpetual; ${market.symbol} is spot.`);
  if (!(fromMs < toMs)) return [];
  const firstStartMs = candleStartMs(interval, fromMs);
  const lastEndMs = candleEndMs(interval, candleStartMs(interval, toMs - 1));
  const range = await history.markPricesBetween(market.symbol, firstStartMs, lastEndMs, maximumKlinePrices);
  if (!range.complete)
    throw new ApiError(
      'INVALID_CLIENT_REQUEST',
      `The range holds more than ${maximumKlinePrices} price updates; ask for a shorter range.`,
    );
  // Each observation is a zero-volume "trade" at its price (wad), numbered in log order.
  const observations = range.records.map((record, order) => ({
    tradeId: order,
    priceTicks: priceType === 'Mark' ? record.markPrice : record.indexPrice,
    quantitySteps: 0n,
    quoteUnits: 0n,
    timeMs: record.atMs,
  }));
  return candlesOf(interval, observations).map(wirePriceCandle);
}

function wirePriceCandle(candle: Candle): Record<string, string> {
  return {
    start: utcSecondsText(candle.startMs),
    end: utcSecondsText(candle.endMs),
    open: fraction(candle.openTicks),
    high: fraction(candle.highTicks),
    low: fraction(candle.lowTicks),
    close: fraction(candle.closeTicks),
    volume: '0',
    quoteVolume: '0',
    trades: '0',
  };
}
