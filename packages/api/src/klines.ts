/**
 * Candles at the edge: the engine's pure aggregation (candles.ts) over the
 * ledger's stored trades, in Backpack's REST and WebSocket shapes. The rule
 * they follow is in docs/api.md, "Candles"; the replayer can recompute every
 * candle from the exported log's trade events.
 */
import {
  addRunToCandle,
  addTradeToCandle,
  runOfTrade,
  candleEndMs,
  candleIntervals,
  candlesOf,
  candleStartMs,
  formatDecimal,
  formatPrice,
  formatQuantity,
  type Candle,
  type CandleInterval,
  type CandleRun,
  type CandleTrade,
  type Market,
} from '@vex/engine';
import { ApiError } from './errors.js';
import type { HistoryIndex } from './node-port.js';

/** Trades one klines request (or one live candle's start-up) may read; a range holding more is refused. */
export const maximumKlineTrades = 100_000;

/** `YYYY-MM-DD HH:MM:SS` in UTC, as Backpack's klines write start and end. */
export function utcSecondsText(timeMs: number): string {
  return new Date(timeMs).toISOString().slice(0, 19).replace('T', ' ');
}

/** `YYYY-MM-DDTHH:MM:SS` in UTC, as Backpack's kline stream writes t and T. */
function utcSecondsIso(timeMs: number): string {
  return new Date(timeMs).toISOString().slice(0, 19);
}

export function wireCandle(market: Market, candle: Candle): Record<string, string> {
  return {
    start: utcSecondsText(candle.startMs),
    end: utcSecondsText(candle.endMs),
    open: formatPrice(market, candle.openTicks),
    high: formatPrice(market, candle.highTicks),
    low: formatPrice(market, candle.lowTicks),
    close: formatPrice(market, candle.closeTicks),
    volume: formatQuantity(market, candle.volumeSteps),
    quoteVolume: formatDecimal(candle.quoteVolumeUnits, market.quote.decimals),
    trades: String(candle.trades),
  };
}

/** The `kline.<interval>.<market>` stream message. */
export function wireCandleEvent(
  market: Market,
  candle: Candle,
  closed: boolean,
  micros: number,
): Record<string, unknown> {
  return {
    e: 'kline',
    E: micros,
    s: market.symbol,
    t: utcSecondsIso(candle.startMs),
    T: utcSecondsIso(candle.endMs),
    o: formatPrice(market, candle.openTicks),
    c: formatPrice(market, candle.closeTicks),
    h: formatPrice(market, candle.highTicks),
    l: formatPrice(market, candle.lowTicks),
    v: formatQuantity(market, candle.volumeSteps),
    n: candle.trades,
    X: closed,
  };
}

function tooManyTrades(): never {
  throw new ApiError(
    'INVALID_CLIENT_REQUEST',
    `The range holds more than ${maximumKlineTrades} trades; ask for a shorter range.`,
  );
}

/**
 * Every candle whose bucket overlaps [fromMs, toMs), complete: the first is
 * the bucket containing fromMs, the last the bucket containing toMs − 1, each
 * with all of its bucket's trades.
 */
export async function candlesBetween(
  history: HistoryIndex,
  market: Market,
  interval: CandleInterval,
  fromMs: number,
  toMs: number,
): Promise<Candle[]> {
  if (!(fromMs < toMs)) return [];
  const firstStartMs = candleStartMs(interval, fromMs);
  const lastEndMs = candleEndMs(interval, candleStartMs(interval, toMs - 1));
  const range = await history.tradesBetween(market.symbol, firstStartMs, lastEndMs, maximumKlineTrades);
  if (!range.complete) tooManyTrades();
  return candlesOf(interval, range.trades);
}

/** A candle, or the start of a bucket whose trades could not all be read at start (not streamed). */
type LiveCandle = Candle | { readonly unknownStartMs: number };

/**
 * The current candle of every interval of every market, for the kline
 * streams: seeded from the stored trades at start, then extended with each
 * committed entry's trades. A bucket whose trades could not all be read at
 * start (more than maximumKlineTrades) is not streamed; the next bucket is.
 */
export class LiveCandles {
  private readonly candles = new Map<string, Map<CandleInterval, LiveCandle>>();
  /** Trades committed while seeding; applied after it, skipping those the seed already read. */
  private pending: Array<{ market: string; trade: CandleTrade }> | undefined = [];

  async seed(history: HistoryIndex, markets: readonly Market[], nowMs: number): Promise<void> {
    try {
      for (const market of markets) {
        const perInterval = new Map<CandleInterval, LiveCandle>();
        for (const interval of candleIntervals) {
          const startMs = candleStartMs(interval, nowMs);
          const range = await history.tradesBetween(
            market.symbol,
            startMs,
            candleEndMs(interval, startMs),
            maximumKlineTrades,
          );
          if (!range.complete) perInterval.set(interval, { unknownStartMs: startMs });
          else {
            const [candle] = candlesOf(interval, range.trades);
            if (candle !== undefined) perInterval.set(interval, candle);
          }
        }
        this.candles.set(market.symbol, perInterval);
      }
    } catch (error) {
      // The current buckets of the markets not read are unknown: streamed again from their next buckets.
      for (const market of markets) {
        if (this.candles.has(market.symbol)) continue;
        this.candles.set(
          market.symbol,
          new Map(candleIntervals.map((interval) => [interval, { unknownStartMs: candleStartMs(interval, nowMs) }])),
        );
      }
      throw error;
    } finally {
      const pending = this.pending ?? [];
      this.pending = undefined;
      for (const { market, trade } of pending) this.add(market, trade);
    }
  }

  /**
   * Adds one committed trade; returns what changed, per interval: the candle
   * it closed (the previous bucket's, when this trade opened a new one) and
   * the current candle. Nothing while seeding.
   */
  add(
    market: string,
    trade: CandleTrade,
  ): Array<{ interval: CandleInterval; closed: Candle | undefined; current: Candle }> {
    if (this.pending !== undefined) {
      this.pending.push({ market, trade });
      return [];
    }
    let perInterval = this.candles.get(market);
    if (perInterval === undefined) {
      perInterval = new Map();
      this.candles.set(market, perInterval);
    }
    const changes: Array<{ interval: CandleInterval; closed: Candle | undefined; current: Candle }> = [];
    const run = runOfTrade(trade);
    for (const interval of candleIntervals) {
      const previous = perInterval.get(interval);
      let known: Candle | undefined;
      if (previous !== undefined && 'unknownStartMs' in previous) {
        // Streamed again from the first trade of a later bucket, which is then complete.
        if (candleStartMs(interval, trade.timeMs) === previous.unknownStartMs) continue;
      } else known = previous;
      if (known !== undefined && trade.tradeId <= known.lastTradeId) continue; // already in the seed
      const current = addRunToCandle(interval, known, run);
      perInterval.set(interval, current);
      changes.push({
        interval,
        closed: known !== undefined && known.startMs !== current.startMs ? known : undefined,
        current,
      });
    }
    return changes;
  }

  /**
   * Adds the trades of one committed entry on one market, in the entry's
   * order, reporting nothing: for markets whose kline streams nobody watches.
   * The candles are those `add` would leave, one trade at a time; but the
   * entry's trades share its log time, so they fall in one bucket per
   * interval and are folded into each interval's candle once (one candle per
   * interval per entry instead of one per interval per trade: a batch of 20
   * orders' trades cost the sequencing thread about 1.4 µs per order here).
   * Anything unusual (trades of different times or out of id order, an
   * unsafe time, a trade the seed already read, seeding still under way)
   * takes `add`'s path, trade by trade.
   */
  addEntry(market: string, trades: readonly CandleTrade[]): void {
    const summary = this.pending === undefined ? summaryOf(trades) : undefined;
    const perInterval = this.candles.get(market);
    if (summary === undefined || perInterval === undefined) {
      for (const trade of trades) this.add(market, trade);
      return;
    }
    for (const interval of candleIntervals) {
      const previous = perInterval.get(interval);
      let known: Candle | undefined;
      if (previous !== undefined && 'unknownStartMs' in previous) {
        if (candleStartMs(interval, summary.timeMs) === previous.unknownStartMs) continue;
      } else known = previous;
      if (known !== undefined && summary.firstTradeId <= known.lastTradeId) {
        // Some of these trades are in the seed: add's per-trade skip, for this interval only.
        for (const trade of trades) {
          const current = perInterval.get(interval) as Candle;
          if (trade.tradeId > current.lastTradeId)
            perInterval.set(interval, addTradeToCandle(interval, current, trade));
        }
        continue;
      }
      perInterval.set(interval, addRunToCandle(interval, known, summary));
    }
  }
}

/** The run's summary; undefined when it is empty, mixes times, is not in ascending id order or has an unsafe time. */
function summaryOf(trades: readonly CandleTrade[]): CandleRun | undefined {
  const first = trades[0];
  if (first === undefined || !Number.isSafeInteger(first.timeMs)) return undefined;
  let highTicks = first.priceTicks;
  let lowTicks = first.priceTicks;
  let volumeSteps = first.quantitySteps;
  let quoteVolumeUnits = first.quoteUnits;
  let last = first;
  for (let index = 1; index < trades.length; index += 1) {
    const trade = trades[index]!;
    if (trade.timeMs !== first.timeMs || trade.tradeId <= last.tradeId) return undefined;
    if (trade.priceTicks > highTicks) highTicks = trade.priceTicks;
    if (trade.priceTicks < lowTicks) lowTicks = trade.priceTicks;
    volumeSteps += trade.quantitySteps;
    quoteVolumeUnits += trade.quoteUnits;
    last = trade;
  }
  return {
    timeMs: first.timeMs,
    openTicks: first.priceTicks,
    highTicks,
    lowTicks,
    closeTicks: last.priceTicks,
    volumeSteps,
    quoteVolumeUnits,
    trades: trades.length,
    firstTradeId: first.tradeId,
    lastTradeId: last.tradeId,
  };
}
