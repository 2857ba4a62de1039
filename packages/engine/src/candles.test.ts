import { describe, expect, it } from 'vitest';
import {
  addRunToCandle,
  addTradeToCandle,
  candleEndMs,
  candleIntervals,
  candlesOf,
  candleStartMs,
  civilFromDays,
  daysFromCivil,
  isCandleInterval,
  runOfTrade,
  type CandleInterval,
  type CandleRun,
  type CandleTrade,
} from './candles.js';

/** Test-side reference: ISO UTC text → ms, by the platform's own calendar. */
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

let nextTradeId = 1;
function trade(time: string | number, price: bigint, quantity = 1n, quote = price): CandleTrade {
  return {
    tradeId: nextTradeId++,
    priceTicks: price,
    quantitySteps: quantity,
    quoteUnits: quote,
    timeMs: typeof time === 'number' ? time : at(time),
  };
}

describe('bucket boundaries', () => {
  const fixed: Array<[CandleInterval, number]> = [
    ['1m', 60_000],
    ['3m', 180_000],
    ['5m', 300_000],
    ['15m', 900_000],
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['2h', 7_200_000],
    ['4h', 14_400_000],
    ['6h', 21_600_000],
    ['8h', 28_800_000],
    ['12h', 43_200_000],
    ['1d', 86_400_000],
    ['3d', 259_200_000],
  ];

  it.each(fixed)('%s buckets are multiples of the interval since the epoch, half-open', (interval, lengthMs) => {
    const time = at('2026-12-05T21:37:42.123Z');
    const start = candleStartMs(interval, time);
    expect(start % lengthMs).toBe(0);
    expect(start).toBeLessThanOrEqual(time);
    expect(candleEndMs(interval, start)).toBe(start + lengthMs);
    expect(time).toBeLessThan(start + lengthMs);
    // The first millisecond of a bucket starts it; the last belongs to it.
    expect(candleStartMs(interval, start)).toBe(start);
    expect(candleStartMs(interval, start + lengthMs - 1)).toBe(start);
    expect(candleStartMs(interval, start + lengthMs)).toBe(start + lengthMs);
    expect(candleStartMs(interval, start - 1)).toBe(start - lengthMs);
  });

  it('hour and minute buckets start on the hour and the day in UTC', () => {
    const time = at('2026-12-05T21:37:42.123Z');
    expect(iso(candleStartMs('1m', time))).toBe('2026-12-05T21:37:00.000Z');
    expect(iso(candleStartMs('3m', time))).toBe('2026-12-05T21:36:00.000Z');
    expect(iso(candleStartMs('5m', time))).toBe('2026-12-05T21:35:00.000Z');
    expect(iso(candleStartMs('15m', time))).toBe('2026-12-05T21:30:00.000Z');
    expect(iso(candleStartMs('30m', time))).toBe('2026-12-05T21:30:00.000Z');
    expect(iso(candleStartMs('1h', time))).toBe('2026-12-05T21:00:00.000Z');
    expect(iso(candleStartMs('2h', time))).toBe('2026-12-05T20:00:00.000Z');
    expect(iso(candleStartMs('4h', time))).toBe('2026-12-05T20:00:00.000Z');
    expect(iso(candleStartMs('6h', time))).toBe('2026-12-05T18:00:00.000Z');
    expect(iso(candleStartMs('8h', time))).toBe('2026-12-05T16:00:00.000Z');
    expect(iso(candleStartMs('12h', time))).toBe('2026-12-05T12:00:00.000Z');
    expect(iso(candleStartMs('1d', time))).toBe('2026-12-05T00:00:00.000Z');
    // 3-day buckets count from 1970-01-01: 2026-12-05 is day 20,792 = 3 × 6,930 + 2.
    expect(iso(candleStartMs('3d', time))).toBe('2026-12-03T00:00:00.000Z');
  });

  it('weeks start on Monday 00:00 UTC', () => {
    // 2026-12-05 is a Saturday; its week began Monday 2026-11-30.
    expect(iso(candleStartMs('1w', at('2026-12-05T21:37:42Z')))).toBe('2026-11-30T00:00:00.000Z');
    expect(iso(candleStartMs('1w', at('2026-11-30T00:00:00Z')))).toBe('2026-11-30T00:00:00.000Z');
    expect(iso(candleStartMs('1w', at('2026-11-29T23:59:59.999Z')))).toBe('2026-11-23T00:00:00.000Z');
    expect(iso(candleEndMs('1w', at('2026-11-30T00:00:00Z')))).toBe('2026-12-07T00:00:00.000Z');
    // The epoch was a Thursday: its week began Monday 1969-12-29, before the epoch, so the first
    // bucket that can start is the week of 1970-01-05.
    expect(iso(candleStartMs('1w', at('1970-01-05T00:00:00Z')))).toBe('1970-01-05T00:00:00.000Z');
    for (let day = 0; day < 400; day += 1) {
      const time = at('2027-01-01T12:00:00Z') + day * 86_400_000;
      const start = candleStartMs('1w', time);
      expect(new Date(start).getUTCDay()).toBe(1);
      expect(time - start).toBeLessThan(7 * 86_400_000);
    }
  });

  it('months are calendar months from the 1st 00:00 UTC, of 28 to 31 days', () => {
    expect(iso(candleStartMs('1month', at('2026-12-05T21:37:42Z')))).toBe('2026-12-01T00:00:00.000Z');
    expect(iso(candleEndMs('1month', at('2026-12-01T00:00:00Z')))).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(candleStartMs('1month', at('2028-02-29T23:59:59.999Z')))).toBe('2028-02-01T00:00:00.000Z');
    expect(iso(candleEndMs('1month', at('2028-02-01T00:00:00Z')))).toBe('2028-03-01T00:00:00.000Z');
    expect(iso(candleEndMs('1month', at('2027-02-01T00:00:00Z')))).toBe('2027-03-01T00:00:00.000Z');
    expect(iso(candleStartMs('1month', at('2027-03-01T00:00:00Z')))).toBe('2027-03-01T00:00:00.000Z');
    expect(iso(candleStartMs('1month', at('2027-02-28T23:59:59.999Z')))).toBe('2027-02-01T00:00:00.000Z');
    expect(iso(candleStartMs('1month', at('1970-01-01T00:00:00Z')))).toBe('1970-01-01T00:00:00.000Z');
    // Every month start from 1970 to 2400 against the platform calendar (2000 and 2400 are leap years, 2100 is not).
    for (let year = 1970; year <= 2400; year += 1) {
      for (let month = 1; month <= 12; month += 1) {
        const start = Date.UTC(year, month - 1, 1);
        expect(candleStartMs('1month', start)).toBe(start);
        if (year > 1970 || month > 1) expect(candleStartMs('1month', start - 1)).toBe(Date.UTC(year, month - 2, 1));
        expect(candleEndMs('1month', start)).toBe(Date.UTC(year, month, 1));
      }
    }
  });

  it('civil dates convert both ways', () => {
    for (let days = 0n; days < 200_000n; days += 37n) {
      const { year, month, day } = civilFromDays(days);
      expect(daysFromCivil(year, month, day)).toBe(days);
      const date = new Date(Number(days) * 86_400_000);
      expect([Number(year), Number(month), Number(day)]).toEqual([
        date.getUTCFullYear(),
        date.getUTCMonth() + 1,
        date.getUTCDate(),
      ]);
    }
  });

  it('refuses times that are not whole non-negative milliseconds', () => {
    expect(() => candleStartMs('1m', -1)).toThrow(RangeError);
    expect(() => candleStartMs('1m', 1.5)).toThrow(RangeError);
    expect(() => candleEndMs('1d', Number.MAX_SAFE_INTEGER + 1)).toThrow(RangeError);
  });

  it('knows exactly Backpack’s interval names', () => {
    // Backpack's list as its docs write it, in its order.
    expect(candleIntervals).toEqual('1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1month'.split(' '));
    expect(isCandleInterval('1month')).toBe(true);
    expect(isCandleInterval('1M')).toBe(false);
    expect(isCandleInterval('15')).toBe(false);
  });
});

describe('aggregation', () => {
  it('open, high, low, close, volumes and count per bucket; empty buckets have no candle', () => {
    const trades = [
      trade('2026-12-05T10:00:00.000Z', 100n, 2n, 200n),
      trade('2026-12-05T10:00:30.000Z', 105n, 1n, 105n),
      trade('2026-12-05T10:00:59.999Z', 95n, 3n, 285n),
      // 10:01 has no trades.
      trade('2026-12-05T10:02:00.000Z', 99n, 1n, 99n),
    ];
    const minutes = candlesOf('1m', trades);
    expect(minutes).toEqual([
      {
        interval: '1m',
        startMs: at('2026-12-05T10:00:00Z'),
        endMs: at('2026-12-05T10:01:00Z'),
        openTicks: 100n,
        highTicks: 105n,
        lowTicks: 95n,
        closeTicks: 95n,
        volumeSteps: 6n,
        quoteVolumeUnits: 590n,
        trades: 3,
        firstTradeId: trades[0]!.tradeId,
        lastTradeId: trades[2]!.tradeId,
      },
      {
        interval: '1m',
        startMs: at('2026-12-05T10:02:00Z'),
        endMs: at('2026-12-05T10:03:00Z'),
        openTicks: 99n,
        highTicks: 99n,
        lowTicks: 99n,
        closeTicks: 99n,
        volumeSteps: 1n,
        quoteVolumeUnits: 99n,
        trades: 1,
        firstTradeId: trades[3]!.tradeId,
        lastTradeId: trades[3]!.tradeId,
      },
    ]);
    const [threeMinutes] = candlesOf('3m', trades);
    expect(candlesOf('3m', trades)).toHaveLength(1);
    expect(threeMinutes).toMatchObject({
      openTicks: 100n,
      highTicks: 105n,
      lowTicks: 95n,
      closeTicks: 99n,
      volumeSteps: 7n,
      quoteVolumeUnits: 689n,
      trades: 4,
    });
  });

  it('every interval partitions the same trades: volumes add up to the total', () => {
    const trades: CandleTrade[] = [];
    let time = at('2026-01-28T22:00:00Z');
    for (let index = 0; index < 300; index += 1) {
      time += 1_000 + ((index * 7_919) % 3) * 4_000_000; // seconds to hours apart, over a month boundary
      trades.push(trade(time, 100n + BigInt(index % 17), BigInt(1 + (index % 5))));
    }
    const totalVolume = trades.reduce((sum, each) => sum + each.quantitySteps, 0n);
    for (const interval of candleIntervals) {
      const candles = candlesOf(interval, trades);
      expect(candles.reduce((sum, candle) => sum + candle.volumeSteps, 0n)).toBe(totalVolume);
      expect(candles.reduce((sum, candle) => sum + candle.trades, 0)).toBe(trades.length);
      for (let index = 1; index < candles.length; index += 1)
        expect(candles[index]!.startMs).toBeGreaterThanOrEqual(candles[index - 1]!.endMs);
      for (const candle of candles) {
        const inside = trades.filter((each) => each.timeMs >= candle.startMs && each.timeMs < candle.endMs);
        expect(candle.trades).toBe(inside.length);
        expect(candle.openTicks).toBe(inside[0]!.priceTicks);
        expect(candle.closeTicks).toBe(inside[inside.length - 1]!.priceTicks);
      }
    }
  });

  it('a trade at a month’s last millisecond and one at the next month’s first fall in different candles', () => {
    const trades = [trade('2027-01-31T23:59:59.999Z', 10n), trade('2027-02-01T00:00:00.000Z', 20n)];
    expect(candlesOf('1month', trades).map((candle) => [iso(candle.startMs), candle.closeTicks])).toEqual([
      ['2027-01-01T00:00:00.000Z', 10n],
      ['2027-02-01T00:00:00.000Z', 20n],
    ]);
    // 2027-02-01 is a Monday: the week candles split there too.
    expect(candlesOf('1w', trades).map((candle) => iso(candle.startMs))).toEqual([
      '2027-01-25T00:00:00.000Z',
      '2027-02-01T00:00:00.000Z',
    ]);
  });

  it('refuses trades out of log order', () => {
    const first = trade('2026-12-05T10:00:00Z', 1n);
    const candle = addTradeToCandle('1h', undefined, first);
    expect(() => addTradeToCandle('1h', candle, { ...first })).toThrow(RangeError);
    expect(() => addTradeToCandle('1h', candle, { ...trade('2026-12-05T09:59:59Z', 1n) })).toThrow(RangeError);
  });

  it('a run of trades of one time gives the candle its trades give one at a time, and the same refusals', () => {
    const time = '2026-12-05T10:30:00Z';
    const earlier = addTradeToCandle('1h', undefined, trade('2026-12-05T10:00:00Z', 50n, 2n, 100n));
    const run = [trade(time, 70n, 1n, 70n), trade(time, 30n, 3n, 90n), trade(time, 60n, 1n, 60n)];
    let oneByOne = earlier;
    for (const each of run) oneByOne = addTradeToCandle('1h', oneByOne, each);
    const folded: CandleRun = {
      timeMs: at(time),
      openTicks: 70n,
      highTicks: 70n,
      lowTicks: 30n,
      closeTicks: 60n,
      volumeSteps: 5n,
      quoteVolumeUnits: 220n,
      trades: 3,
      firstTradeId: run[0]!.tradeId,
      lastTradeId: run[2]!.tradeId,
    };
    expect(addRunToCandle('1h', earlier, folded)).toEqual(oneByOne);
    // Opening a new bucket: the run alone.
    const nextHour: CandleRun = { ...folded, timeMs: at('2026-12-05T11:00:00Z') };
    expect(addRunToCandle('1h', oneByOne, nextHour)).toMatchObject({ openTicks: 70n, trades: 3, volumeSteps: 5n });
    expect(addRunToCandle('1h', undefined, runOfTrade(run[0]!))).toEqual(addTradeToCandle('1h', undefined, run[0]!));
    // A run whose first trade is not after the candle's last, or before its bucket, is a caller error.
    expect(() => addRunToCandle('1h', oneByOne, folded)).toThrow(RangeError);
    expect(() => addRunToCandle('1h', oneByOne, { ...folded, timeMs: at('2026-12-05T09:00:00Z') })).toThrow(RangeError);
  });
});
