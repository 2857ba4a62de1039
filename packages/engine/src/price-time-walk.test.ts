/**
 * The walk's two sinks agree: for seeded random books and takers, the fills
 * the planning side of the walk reports before an order (a recording sink,
 * and plannedFill's totals) are exactly the trades, the self-trade
 * cancellations, the executed totals and the balance movements that
 * settlement then makes. Reproduce a failure with WALK_SEED=<seed>.
 */
import { describe, expect, it } from 'vitest';
import { applyRow, newScenarioState, scenarioKeys } from '../test/scenario-runner.js';
import { seededRandom } from '../test/random-log.js';
import type { EngineEvent } from './events.js';
import type { SelfTradePrevention, Side } from './instruction.js';
import type { PriceLevel } from './order-book.js';
import { plannedFill, walkBook, type FillSink, type StopReason, type Taker } from './price-time-walk.js';
import type { Account, Asset, ExchangeState, Market, Order } from './state.js';

const seed = Number(process.env.WALK_SEED ?? 12);
const cases = 150;
const traders = ['alice', 'bob', 'carol', 'dave'];
const selfTradeModes: readonly SelfTradePrevention[] = ['RejectTaker', 'RejectMaker', 'RejectBoth', 'Allow'];

interface RecordedFill {
  readonly makerOrderId: number;
  readonly makerAccount: Account;
  readonly priceTicks: bigint;
  readonly steps: bigint;
  readonly quoteUnits: bigint;
}

/** A sink that only records, as planning does: it must see what settlement then does. */
class RecordingSink implements FillSink {
  readonly fills: RecordedFill[] = [];
  readonly cancelled: number[] = [];
  selfTradeCancel(maker: Order): void {
    this.cancelled.push(maker.id);
  }
  fill(maker: Order, level: PriceLevel, steps: bigint, quoteUnits: bigint): boolean {
    this.fills.push({
      makerOrderId: maker.id,
      makerAccount: maker.account,
      priceTicks: level.priceTicks,
      steps,
      quoteUnits,
    });
    return true;
  }
}

/** A decimal with two places from hundredths (ticks and steps of 0.01). */
function hundredths(value: bigint): string {
  return `${value / 100n}.${(value % 100n).toString().padStart(2, '0')}`;
}

function ceilingFee(amount: bigint, basisPoints: bigint): bigint {
  return (amount * basisPoints + 9_999n) / 10_000n;
}

function total(account: Account, asset: Asset): bigint {
  const balance = account.balance(asset);
  return balance.available + balance.locked;
}

/** A state with one market, four funded traders and a random book. */
function randomBook(random: () => number, time: number): ExchangeState {
  const state = newScenarioState();
  const fees = ['0', '3', '25'];
  const listing = new Map([
    ['symbol', 'SOL_USDC'],
    ['baseSymbol', 'SOL'],
    ['quoteSymbol', 'USDC'],
    ['tickSize', '0.01'],
    ['stepSize', '0.01'],
    ['minQuantity', '0.01'],
    ['maxQuantity', '100000'],
    ['minPrice', '0.01'],
    ['maxPrice', '1000000'],
    ['makerFeeBps', fees[random() % 3]!],
    ['takerFeeBps', fees[random() % 3]!],
    ['maxMakersPerOrder', String(2 + (random() % 7))],
  ]);
  for (const [symbol, decimals] of [
    ['USDC', '6'],
    ['SOL', '9'],
  ]) {
    const asset = new Map([['symbol', symbol!]]);
    asset.set('decimals', decimals!);
    expect(applyRow(state, time, 'operator', 'assetList', asset).accepted).toBe(true);
  }
  expect(applyRow(state, time, 'operator', 'marketList', listing).accepted).toBe(true);
  for (const [index, name] of traders.entries()) {
    for (const [symbol, quantity] of [
      ['USDC', '1000000'],
      ['SOL', '10000'],
    ]) {
      const deposit = new Map([
        ['account', name],
        ['symbol', symbol!],
        ['quantity', quantity!],
        ['blockchain', 'Solana'],
      ]);
      deposit.set('chainTransactionId', `${name}-${symbol}-${index}`);
      expect(applyRow(state, time, 'operator', 'depositCredit', deposit).accepted).toBe(true);
    }
  }
  const makers = 4 + (random() % 16);
  for (let made = 0; made < makers; made += 1) {
    const side: Side = random() % 2 === 0 ? 'Bid' : 'Ask';
    const offset = BigInt(random() % 6) * 50n;
    const priceTicks = side === 'Bid' ? 9_950n - offset : 10_000n + offset;
    const order = new Map([
      ['symbol', 'SOL_USDC'],
      ['side', side],
      ['orderType', 'Limit'],
      ['price', hundredths(priceTicks)],
      ['quantity', hundredths(BigInt(1 + (random() % 300)))],
    ]);
    expect(applyRow(state, time, traders[random() % 4]!, 'orderExecute', order).accepted).toBe(true);
  }
  return state;
}

interface RandomTaker extends Taker {
  readonly quantitySteps: bigint;
  readonly timeInForce: 'GTC' | 'IOC' | 'FOK';
  readonly row: Map<string, string>;
}

function randomTaker(random: () => number, market: Market): RandomTaker {
  const side: Side = random() % 2 === 0 ? 'Bid' : 'Ask';
  const isLimit = random() % 2 === 0;
  const byQuote = !isLimit && random() % 2 === 0;
  const priceTicks = isLimit ? 9_800n + BigInt(random() % 11) * 50n : 0n;
  const quantitySteps = byQuote ? 0n : BigInt(1 + (random() % 1_500));
  const quoteQuantityUnits = byQuote ? BigInt(1 + (random() % 200_000)) * 10_000n : undefined;
  const forces = ['GTC', 'IOC', 'FOK'] as const;
  const timeInForce = isLimit ? forces[random() % 3]! : byQuote ? 'IOC' : forces[1 + (random() % 2)]!;
  const selfTradePrevention = selfTradeModes[random() % 4]!;
  const row = new Map([
    ['symbol', market.symbol],
    ['side', side],
    ['orderType', isLimit ? 'Limit' : 'Market'],
    ['timeInForce', timeInForce],
    ['selfTradePrevention', selfTradePrevention],
  ]);
  if (isLimit) row.set('price', hundredths(priceTicks));
  if (quoteQuantityUnits === undefined) row.set('quantity', hundredths(quantitySteps));
  else row.set('quoteQuantity', hundredths(quoteQuantityUnits / 10_000n));
  const orderType = isLimit ? 'Limit' : 'Market';
  return {
    market,
    side,
    orderType,
    priceTicks,
    quantitySteps,
    quoteQuantityUnits,
    selfTradePrevention,
    timeInForce,
    row,
  };
}

/** What settlement should move for the taker (its own makers' side included) and the fee account. */
function expectedMovements(market: Market, taker: RandomTaker, account: Account, fills: readonly RecordedFill[]) {
  const moved = { takerBase: 0n, takerQuote: 0n, feeBase: 0n, feeQuote: 0n };
  const takerFeeBps = market.takerFeeBasisPoints;
  const makerFeeBps = market.makerFeeBasisPoints;
  for (const fill of fills) {
    const base = fill.steps * market.stepUnits;
    const buyerFee = ceilingFee(base, taker.side === 'Bid' ? takerFeeBps : makerFeeBps);
    const sellerFee = ceilingFee(fill.quoteUnits, taker.side === 'Bid' ? makerFeeBps : takerFeeBps);
    const sign = taker.side === 'Bid' ? 1n : -1n;
    moved.takerBase += sign * base - (taker.side === 'Bid' ? buyerFee : 0n);
    moved.takerQuote += -sign * fill.quoteUnits - (taker.side === 'Bid' ? 0n : sellerFee);
    if (fill.makerAccount === account) {
      moved.takerBase += -sign * base - (taker.side === 'Bid' ? 0n : buyerFee);
      moved.takerQuote += sign * fill.quoteUnits - (taker.side === 'Bid' ? sellerFee : 0n);
    }
    moved.feeBase += buyerFee;
    moved.feeQuote += sellerFee;
  }
  return moved;
}

function checkCase(random: () => number, time: number): StopReason {
  const state = randomBook(random, time);
  const market = state.marketsBySymbol.get('SOL_USDC')!;
  const name = traders[random() % 4]!;
  const account = state.accounts.get(scenarioKeys.get(name)!)!;
  const taker = randomTaker(random, market);
  const plan = plannedFill(taker, account);
  const recording = new RecordingSink();
  const stopReason = walkBook(taker, account, taker.quantitySteps, recording);
  expect([plan.steps, plan.quoteUnits]).toEqual([
    recording.fills.reduce((sum, fill) => sum + fill.steps, 0n),
    recording.fills.reduce((sum, fill) => sum + fill.quoteUnits, 0n),
  ]);
  const expected = expectedMovements(market, taker, account, recording.fills);
  const feeAccount = state.feeAccount;
  const before = [total(account, market.base), total(account, market.quote)];
  const feesBefore = [total(feeAccount, market.base), total(feeAccount, market.quote)];
  const orderId = state.nextOrderId;
  const outcome = applyRow(state, time + 1, name, 'orderExecute', taker.row);
  if (!outcome.accepted) {
    // Only the would-not-fill check may refuse these takers; it reads the same walk.
    expect(outcome.rejection.code).toBe('ORDER_WOULD_NOT_FILL');
    const short = taker.timeInForce === 'FOK' && plan.steps < taker.quantitySteps;
    expect(plan.steps === 0n || short).toBe(true);
    return stopReason;
  }
  const events: readonly EngineEvent[] = outcome.events;
  const trades = events.flatMap((event) => (event.type === 'trade' ? [event] : []));
  expect(trades.map((trade) => [trade.makerOrderId, trade.priceTicks, trade.quantitySteps, trade.quoteUnits])).toEqual(
    recording.fills.map((fill) => [fill.makerOrderId, fill.priceTicks, fill.steps, fill.quoteUnits]),
  );
  const selfTradeReason = 'Self-trade prevention cancelled the resting order.';
  const cancelled = events.flatMap((event) =>
    event.type === 'orderUpdated' && event.reason === selfTradeReason ? [event.order.orderId] : [],
  );
  expect(cancelled).toEqual(recording.cancelled);
  const views = events.flatMap((event) =>
    (event.type === 'orderUpdated' || event.type === 'orderAccepted') && event.order.orderId === orderId
      ? [event.order]
      : [],
  );
  const view = views[views.length - 1]!;
  expect([view.executedSteps, view.executedQuoteUnits]).toEqual([plan.steps, plan.quoteUnits]);
  if (stopReason === 'self-trade') expect(view.status).toBe('Cancelled');
  expect([total(account, market.base) - before[0]!, total(account, market.quote) - before[1]!]).toEqual([
    expected.takerBase,
    expected.takerQuote,
  ]);
  expect([total(feeAccount, market.base) - feesBefore[0]!, total(feeAccount, market.quote) - feesBefore[1]!]).toEqual([
    expected.feeBase,
    expected.feeQuote,
  ]);
  return stopReason;
}

describe('the price-time walk', () => {
  it(`plans exactly what settlement then moves, over ${cases} random books from seed ${seed}`, () => {
    const random = seededRandom(seed);
    const reasons = new Map<StopReason, number>();
    for (let index = 0; index < cases; index += 1) {
      const time = 10 + index * 10;
      try {
        const reason = checkCase(random, time);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      } catch (error) {
        throw new Error(`case ${index} from WALK_SEED=${seed}: ${(error as Error).message}`);
      }
    }
    // The random cases reach every way a walk can stop (the planning sink never asks it to).
    expect([...reasons.keys()].sort()).toEqual(['book', 'budget', 'filled', 'maker-limit', 'self-trade']);
  });
});
