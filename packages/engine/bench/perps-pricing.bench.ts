/**
 * The cost of the perps pricing clock
 * (docs/perps-pricing.md) beside the cheapest book work every order does:
 *
 *   npx tsx packages/engine/bench/perps-pricing.bench.ts [--entries N] [--levels N]
 *
 * A book of --levels levels a side (64 by default). Rows: one book reading
 * (both impact walks, mid, last: the work of a sample), advancePerpClock
 * per entry over a stream of entries 10 ms apart with the defaults (a sample
 * every 500 entries, a funding boundary every 360,000), and the peer: adding
 * and removing one order at the best level of a side (BookSide.add + remove).
 */
import { cpus, loadavg } from 'node:os';
import { newMarketBooks } from '../src/order-book.js';
import {
  advancePerpClock,
  defaultPerpFundingParameters,
  newPerpFundingState,
  perpClockIsDue,
  perpPriceSourceOf,
} from '../src/perps/funding.js';
import { observeBook } from '../src/perps/mark-price.js';
import type { Order } from '../src/state.js';
import { positiveIntegerArgument } from './bench-support.js';

const entries = positiveIntegerArgument('entries', 2_000_000);
const levelCount = positiveIntegerArgument('levels', 64);
const books = newMarketBooks();
let nextId = 0;
const order = (priceTicks: bigint, remainingSteps: bigint): Order =>
  ({ id: ++nextId, priceTicks, remainingSteps }) as unknown as Order;
for (let level = 0; level < levelCount; level += 1) {
  books.bids.add(order(BigInt(9_999 - level), 1_000n));
  books.asks.add(order(BigInt(10_001 + level), 1_000n));
}
const market = { priceScale: 2, tickUnits: 1n, quoteUnitsPerStepTick: 100n, ...books, lastPriceTicks: 10_000n };
// 6,000 USDC reaches about the 6th level of 10 SOL each.
const notional = defaultPerpFundingParameters.impactNotionalUnits;

function nanosecondsPer(count: number, work: () => void): number {
  const start = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - start) / count;
}

const readings = Math.max(1, Math.floor(entries / 20));
const readingNs = nanosecondsPer(readings, () => {
  for (let index = 0; index < readings; index += 1) observeBook(market, notional);
});

const parameters = defaultPerpFundingParameters;
const state = newPerpFundingState(0, parameters);
const indexPrice = 100n * 10n ** 18n;
let funding = 0;
const clockNs = nanosecondsPer(entries, () => {
  for (let index = 1; index <= entries; index += 1) {
    // As refreshPerpMarket does it: the source is built only when the clock is due.
    const logTimeMs = index * 10;
    if (!perpClockIsDue(state, logTimeMs, indexPrice)) continue;
    const source = perpPriceSourceOf('SOL_USDC_PERP', market, indexPrice, notional);
    funding += advancePerpClock(state, parameters, logTimeMs, source).length;
  }
});

const peerNs = nanosecondsPer(entries, () => {
  for (let index = 0; index < entries; index += 1) {
    const added = order(10_000n, 1n);
    books.asks.add(added);
    books.asks.remove(added);
  }
});

console.log(`perps pricing, ${levelCount} levels a side, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`);
console.log(`book reading (a sample's work)     ${readingNs.toFixed(0).padStart(8)} ns`);
console.log(
  `advancePerpClock per entry         ${clockNs.toFixed(1).padStart(8)} ns  (${entries} entries, ${funding} events)`,
);
console.log(`peer: add + remove a best order    ${peerNs.toFixed(1).padStart(8)} ns`);
console.log(`clock per entry / peer             ${(clockNs / peerNs).toFixed(2).padStart(8)}`);
