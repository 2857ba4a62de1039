/**
 * The live candles behind the kline streams: seeded from stored trades,
 * extended by committed ones, never counting a trade twice, and never
 * streaming a bucket they could not read whole. The trade store here is an
 * array behind the HistoryIndex contract (tradesBetween), so a test can hold
 * the seed's read open while trades are committed; the real store's
 * tradesBetween is tested in packages/ledger/src/history.test.ts and the whole
 * path end to end in market-data.test.ts.
 */
import { candlesOf, type Market } from '@vex/engine';
import { describe, expect, it } from 'vitest';
import { LiveCandles, maximumKlineTrades } from './klines.js';
import type { HistoryIndex, PublicTrade, TradeRange } from './node-port.js';

const at = (iso: string): number => Date.parse(iso);
const market = { symbol: 'SOL_USDC' } as Market;

function trade(tradeId: number, time: string, price: bigint): PublicTrade {
  return {
    tradeId,
    market: 'SOL_USDC',
    priceTicks: price,
    quantitySteps: 1n,
    quoteUnits: price,
    isBuyerMaker: false,
    timeMs: at(time),
  };
}

/** tradesBetween over an array; `gate`, when set, holds every read until it resolves. */
function arrayHistory(stored: PublicTrade[], gate?: Promise<void>): HistoryIndex {
  return {
    async tradesBetween(_market: string, fromMs: number, toMs: number, maximum: number): Promise<TradeRange> {
      await gate;
      const inRange = stored.filter((each) => each.timeMs >= fromMs && each.timeMs < toMs);
      return { trades: inRange.slice(0, maximum), complete: inRange.length <= maximum };
    },
  } as HistoryIndex;
}

describe('live candles', () => {
  it('continue the stored candle of each interval, skipping trades the seed already read', async () => {
    const stored = [trade(1, '2027-02-01T00:00:10Z', 100n), trade(2, '2027-02-01T00:00:20Z', 105n)];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const live = new LiveCandles();
    const seeding = live.seed(arrayHistory(stored, gate), [market], at('2027-02-01T00:00:30Z'));
    // Committed while the seed reads: trade 2 is also in the store, trade 3 is not.
    expect(live.add('SOL_USDC', stored[1]!)).toEqual([]);
    const third = trade(3, '2027-02-01T00:00:40Z', 95n);
    stored.push(third);
    expect(live.add('SOL_USDC', third)).toEqual([]);
    open();
    await seeding;

    const fourth = trade(4, '2027-02-01T00:01:05Z', 101n);
    const changes = live.add('SOL_USDC', fourth);
    expect(changes).toHaveLength(15);
    const minute = changes.find((change) => change.interval === '1m')!;
    expect(minute.closed).toEqual(candlesOf('1m', stored)[0]);
    expect(minute.current).toEqual(candlesOf('1m', [fourth])[0]);
    const month = changes.find((change) => change.interval === '1month')!;
    expect(month.closed).toBeUndefined();
    expect(month.current).toEqual(candlesOf('1month', [...stored, fourth])[0]);
    // A trade already counted changes nothing.
    expect(live.add('SOL_USDC', fourth)).toEqual([]);
  });

  it('do not stream a bucket whose trades could not all be read, and stream the next one whole', async () => {
    const stored: PublicTrade[] = [];
    const base = at('2027-02-01T00:00:00Z');
    for (let index = 0; index <= maximumKlineTrades; index += 1) {
      stored.push({ ...trade(index + 1, '2027-02-01T00:00:00Z', 100n), timeMs: base + Math.floor(index / 1000) });
    }
    const live = new LiveCandles();
    await live.seed(arrayHistory(stored), [market], base + 1_000);
    const later = trade(maximumKlineTrades + 2, '2027-02-01T00:00:59Z', 99n);
    const intervals = live.add('SOL_USDC', later).map((change) => change.interval);
    // Every bucket containing the 100,001 stored trades is unknown: nothing is streamed for them.
    expect(intervals).toEqual([]);
    const nextMinute = trade(maximumKlineTrades + 3, '2027-02-01T00:01:00Z', 98n);
    const changes = live.add('SOL_USDC', nextMinute);
    expect(changes.map((change) => change.interval)).toEqual(['1m']);
    expect(changes[0]).toEqual({ interval: '1m', closed: undefined, current: candlesOf('1m', [nextMinute])[0] });
  });

  it('after a failed seed, stream nothing of the current buckets and the next ones whole', async () => {
    const live = new LiveCandles();
    const failing = { tradesBetween: () => Promise.reject(new Error('disk gone')) } as unknown as HistoryIndex;
    const seeding = live.seed(failing, [market], at('2027-02-01T00:00:30Z'));
    const during = trade(7, '2027-02-01T00:00:40Z', 100n);
    expect(live.add('SOL_USDC', during)).toEqual([]);
    await expect(seeding).rejects.toThrow('disk gone');
    expect(live.add('SOL_USDC', trade(8, '2027-02-01T00:00:50Z', 100n))).toEqual([]);
    const next = trade(9, '2027-02-01T00:01:00Z', 101n);
    expect(live.add('SOL_USDC', next).map((change) => change.interval)).toEqual(['1m']);
  });

  it("fold an entry's trades into each interval's candle as adding them one by one does", async () => {
    // Seeded runs of entries (trades sharing a time, ids ascending), some crossing minute, day and month buckets;
    // one instance adds trade by trade, the other an entry at a time; a probe trade then shows both candles.
    let seed = 7;
    const next = (below: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % below;
    };
    const steps = [1_000, 61_000, 3_600_000, 86_400_000, 2_678_400_000];
    for (let run = 0; run < 200; run += 1) {
      const stored = [trade(1, '2027-01-31T23:59:00Z', 100n)];
      const oneByOne = new LiveCandles();
      const byEntry = new LiveCandles();
      await oneByOne.seed(arrayHistory(stored), [market], stored[0]!.timeMs);
      await byEntry.seed(arrayHistory(stored), [market], stored[0]!.timeMs);
      let tradeId = 2;
      let timeMs = stored[0]!.timeMs;
      for (let entry = 0, entries = 1 + next(6); entry < entries; entry += 1) {
        timeMs += next(2) === 0 ? 0 : steps[next(steps.length)]!;
        const trades: PublicTrade[] = [];
        for (let count = 1 + next(5); trades.length < count; tradeId += 1) {
          const price = BigInt(90 + next(20));
          trades.push({ ...trade(tradeId, '2027-02-01T00:00:00Z', price), quantitySteps: BigInt(1 + next(9)), timeMs });
        }
        for (const each of trades) oneByOne.add('SOL_USDC', each);
        byEntry.addEntry('SOL_USDC', trades);
      }
      const probe = { ...trade(tradeId, '2027-02-01T00:00:00Z', 100n), timeMs };
      expect(byEntry.add('SOL_USDC', probe)).toEqual(oneByOne.add('SOL_USDC', probe));
    }
  });

  it('skip the trades of an entry that the seed already read, as add does', async () => {
    const stored = [trade(1, '2027-02-01T00:00:10Z', 100n), trade(2, '2027-02-01T00:00:20Z', 105n)];
    const oneByOne = new LiveCandles();
    const byEntry = new LiveCandles();
    await oneByOne.seed(arrayHistory(stored), [market], at('2027-02-01T00:00:30Z'));
    await byEntry.seed(arrayHistory(stored), [market], at('2027-02-01T00:00:30Z'));
    const entry = [
      { ...stored[1]!, timeMs: at('2027-02-01T00:00:20Z') },
      trade(3, '2027-02-01T00:00:20Z', 99n),
      trade(4, '2027-02-01T00:00:20Z', 104n),
    ];
    for (const each of entry) oneByOne.add('SOL_USDC', each);
    byEntry.addEntry('SOL_USDC', entry);
    const probe = trade(5, '2027-02-01T00:00:25Z', 101n);
    const changes = byEntry.add('SOL_USDC', probe);
    expect(changes).toEqual(oneByOne.add('SOL_USDC', probe));
    expect(changes.find((change) => change.interval === '1m')!.current).toEqual(
      candlesOf('1m', [...stored, ...entry.slice(1), probe])[0],
    );
  });
});
