/**
 * Candles (klines) from trades: a pure function of the log's trade events, so
 * anyone replaying the log recomputes exactly the candles the node serves
 * (docs/api.md, "Candles").
 *
 * The rule:
 *   - the trades are the `trade` events of accepted entries, in log order
 *     (entry sequence, then event order, which is also ascending tradeId);
 *     a trade's time is its entry's log time (`timeMs`);
 *   - a trade belongs to the one bucket of each interval that contains its
 *     time; buckets are half-open [start, end) in UTC:
 *       1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d: multiples of the interval
 *       since 1970-01-01T00:00:00Z (so they start on the hour and the day),
 *       3d: multiples of three days since 1970-01-01,
 *       1w: weeks starting Monday 00:00 UTC,
 *       1month: calendar months, from the 1st 00:00 UTC;
 *   - open and close are the prices of the bucket's first and last trade,
 *     high and low the extremes, volume the sum of base quantities,
 *     quoteVolume the sum of quote amounts, trades the count;
 *   - a bucket without trades has no candle.
 *
 * Times are whole milliseconds (safe integers); amounts are bigint ticks,
 * steps and units. No clock and no date objects: calendar arithmetic is bigint-only.
 */

export const candleIntervals = [
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1h',
  '2h',
  '4h',
  '6h',
  '8h',
  '12h',
  '1d',
  '3d',
  '1w',
  '1month',
] as const;
export type CandleInterval = (typeof candleIntervals)[number];

const minuteMs = 60_000n;
const hourMs = 60n * minuteMs;
const dayMs = 24n * hourMs;

/** Fixed-length intervals, in ms; 1w and 1month are calendar-aligned and handled apart. */
const fixedIntervalMs: Readonly<Record<Exclude<CandleInterval, '1w' | '1month'>, bigint>> = {
  '1m': minuteMs,
  '3m': 3n * minuteMs,
  '5m': 5n * minuteMs,
  '15m': 15n * minuteMs,
  '30m': 30n * minuteMs,
  '1h': hourMs,
  '2h': 2n * hourMs,
  '4h': 4n * hourMs,
  '6h': 6n * hourMs,
  '8h': 8n * hourMs,
  '12h': 12n * hourMs,
  '1d': dayMs,
  '3d': 3n * dayMs,
};

export function isCandleInterval(text: string): text is CandleInterval {
  return (candleIntervals as readonly string[]).includes(text);
}

/** The trade fields a candle needs; the engine's `trade` event has them all. */
export interface CandleTrade {
  readonly tradeId: number;
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly quoteUnits: bigint;
  readonly timeMs: number;
}

export interface Candle {
  readonly interval: CandleInterval;
  /** Bucket start, inclusive, Unix ms UTC. */
  readonly startMs: number;
  /** Bucket end, exclusive: the next bucket's start. */
  readonly endMs: number;
  readonly openTicks: bigint;
  readonly highTicks: bigint;
  readonly lowTicks: bigint;
  readonly closeTicks: bigint;
  readonly volumeSteps: bigint;
  readonly quoteVolumeUnits: bigint;
  readonly trades: number;
  readonly firstTradeId: number;
  readonly lastTradeId: number;
}

/**
 * Days since 1970-01-01 (not negative) → proleptic Gregorian year, month
 * (1–12), day (1–31); Howard Hinnant's civil_from_days, in bigint because
 * the engine does no division on numbers.
 */
export function civilFromDays(days: bigint): { year: bigint; month: bigint; day: bigint } {
  const z = days + 719_468n;
  const era = z / 146_097n;
  const dayOfEra = z - era * 146_097n;
  const yearOfEra = (dayOfEra - dayOfEra / 1460n + dayOfEra / 36_524n - dayOfEra / 146_096n) / 365n;
  const dayOfYear = dayOfEra - (365n * yearOfEra + yearOfEra / 4n - yearOfEra / 100n);
  const monthIndex = (5n * dayOfYear + 2n) / 153n; // 0 = March
  const day = dayOfYear - (153n * monthIndex + 2n) / 5n + 1n;
  const month = monthIndex < 10n ? monthIndex + 3n : monthIndex - 9n;
  return { year: yearOfEra + era * 400n + (month <= 2n ? 1n : 0n), month, day };
}

/** Proleptic Gregorian year (1970 or later), month (1–12), day → days since 1970-01-01 (days_from_civil). */
export function daysFromCivil(year: bigint, month: bigint, day: bigint): bigint {
  const y = month <= 2n ? year - 1n : year;
  const era = y / 400n;
  const yearOfEra = y - era * 400n;
  const dayOfYear = (153n * (month > 2n ? month - 3n : month + 9n) + 2n) / 5n + day - 1n;
  const dayOfEra = yearOfEra * 365n + yearOfEra / 4n - yearOfEra / 100n + dayOfYear;
  return era * 146_097n + dayOfEra - 719_468n;
}

function timeOf(timeMs: number): bigint {
  if (!Number.isSafeInteger(timeMs) || timeMs < 0)
    throw new RangeError(`${timeMs} is not a time in whole milliseconds since 1970`);
  return BigInt(timeMs);
}

/** The start of the bucket of `interval` that contains `timeMs`. */
export function candleStartMs(interval: CandleInterval, timeMs: number): number {
  const time = timeOf(timeMs);
  if (interval === '1w') {
    const days = time / dayMs;
    // 1970-01-01 was a Thursday: day 4 is the first Monday.
    return Number((days - ((days + 3n) % 7n)) * dayMs);
  }
  if (interval === '1month') {
    const { year, month } = civilFromDays(time / dayMs);
    return Number(daysFromCivil(year, month, 1n) * dayMs);
  }
  const length = fixedIntervalMs[interval];
  return Number(time - (time % length));
}

/** The end (exclusive) of the bucket of `interval` that starts at `startMs`: the next bucket's start. */
export function candleEndMs(interval: CandleInterval, startMs: number): number {
  const start = timeOf(startMs);
  if (interval === '1w') return Number(start + 7n * dayMs);
  if (interval === '1month') {
    const { year, month } = civilFromDays(start / dayMs);
    return Number(daysFromCivil(month === 12n ? year + 1n : year, month === 12n ? 1n : month + 1n, 1n) * dayMs);
  }
  return Number(start + fixedIntervalMs[interval]);
}

/**
 * What a run of trades of one log time, in log order, adds to a candle: the
 * fields a candle accumulates (all of Candle's but its bucket), and the
 * time. One trade is a run of one (runOfTrade); the node's market feed folds
 * the trades of one entry as one run.
 */
export type CandleRun = Omit<Candle, 'interval' | 'startMs' | 'endMs'> & {
  /** The log time all of the run's trades share. */
  readonly timeMs: number;
};

/** One trade as a run of one. */
export function runOfTrade(trade: CandleTrade): CandleRun {
  return {
    timeMs: trade.timeMs,
    openTicks: trade.priceTicks,
    highTicks: trade.priceTicks,
    lowTicks: trade.priceTicks,
    closeTicks: trade.priceTicks,
    volumeSteps: trade.quantitySteps,
    quoteVolumeUnits: trade.quoteUnits,
    trades: 1,
    firstTradeId: trade.tradeId,
    lastTradeId: trade.tradeId,
  };
}

/**
 * The candle after one more trade: a new candle when the trade opens a new
 * bucket (or there is none yet), else `candle` extended. Trades must come in
 * log order: a trade before the candle's bucket, or with a tradeId not above
 * the last one, is a caller error.
 */
export function addTradeToCandle(interval: CandleInterval, candle: Candle | undefined, trade: CandleTrade): Candle {
  return addRunToCandle(interval, candle, runOfTrade(trade));
}

/**
 * The candle after a run of trades of one time: the same as adding them one
 * at a time (addTradeToCandle), in one step, since trades of one time fall
 * in one bucket. The same caller errors: a run before the candle's bucket,
 * or whose first tradeId is not above the candle's last.
 */
export function addRunToCandle(interval: CandleInterval, candle: Candle | undefined, run: CandleRun): Candle {
  // A run inside the candle's bucket (buckets are contiguous: one ends where the next starts) has that bucket's
  // start: no calendar arithmetic in bigint, which the node's market feed did per trade and interval.
  const inCandle =
    candle !== undefined &&
    Number.isSafeInteger(run.timeMs) &&
    run.timeMs >= candle.startMs &&
    run.timeMs < candle.endMs;
  const startMs = inCandle ? candle.startMs : candleStartMs(interval, run.timeMs);
  if (candle === undefined || startMs !== candle.startMs) {
    if (candle !== undefined && startMs < candle.startMs)
      throw new RangeError(`trade ${run.firstTradeId} precedes the candle at ${candle.startMs}`);
    return {
      interval,
      startMs,
      endMs: candleEndMs(interval, startMs),
      openTicks: run.openTicks,
      highTicks: run.highTicks,
      lowTicks: run.lowTicks,
      closeTicks: run.closeTicks,
      volumeSteps: run.volumeSteps,
      quoteVolumeUnits: run.quoteVolumeUnits,
      trades: run.trades,
      firstTradeId: run.firstTradeId,
      lastTradeId: run.lastTradeId,
    };
  }
  if (run.firstTradeId <= candle.lastTradeId)
    throw new RangeError(`trade ${run.firstTradeId} is not after trade ${candle.lastTradeId}`);
  // Every field named (no spread): the same shape as a new candle's, built without copying by keys.
  return {
    interval: candle.interval,
    startMs: candle.startMs,
    endMs: candle.endMs,
    openTicks: candle.openTicks,
    highTicks: run.highTicks > candle.highTicks ? run.highTicks : candle.highTicks,
    lowTicks: run.lowTicks < candle.lowTicks ? run.lowTicks : candle.lowTicks,
    closeTicks: run.closeTicks,
    volumeSteps: candle.volumeSteps + run.volumeSteps,
    quoteVolumeUnits: candle.quoteVolumeUnits + run.quoteVolumeUnits,
    trades: candle.trades + run.trades,
    firstTradeId: candle.firstTradeId,
    lastTradeId: run.lastTradeId,
  };
}

/** The candles of `trades` (one market, in log order), oldest first; buckets without trades are absent. */
export function candlesOf(interval: CandleInterval, trades: Iterable<CandleTrade>): Candle[] {
  const candles: Candle[] = [];
  let current: Candle | undefined;
  for (const trade of trades) {
    const next = addTradeToCandle(interval, current, trade);
    if (current !== undefined && next.startMs !== current.startMs) candles.push(current);
    current = next;
  }
  if (current !== undefined) candles.push(current);
  return candles;
}
