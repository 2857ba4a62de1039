/**
 * An account's resting orders on one perpetual (docs/perps.md, section 4a),
 * kept beside the book in the account's holding on the perpetual
 * (perp-holding.ts), so that no check has to walk the account's orders:
 *
 * - the totals of its resting orders that are not reduce-only, per side:
 *   remaining steps and their notional at their own limit prices (USDC
 *   units), which the initial-margin check of a new order counts as
 *   exposure (perp-orders.ts, "combined exposure");
 * - its resting reduce-only orders in id order, which are cut or expired
 *   when the position shrinks or flips (conformReduceOnlyOrders).
 *
 * Maintained where a perpetual's order rests (order-execution.ts, and the
 * state decoder), fills as a maker (perp-settlement.ts), is cut, or leaves
 * the book (open-orders.ts); a resting order reaches the holding directly
 * (`order.perpHolding`). Derived state: never encoded, rebuilt when a state
 * is decoded, and checked against the book by the invariants (an empty
 * record, kept once its orders left, counts as none).
 */
import type { EntryRecorder } from '../entry-recorder.js';
import type { Side } from '../instruction.js';
import { cancelResting, viewOrder } from '../open-orders.js';
import type { Account, ExchangeState, Market, Order } from '../state.js';
import { holdingOf } from './perp-holding.js';

/** What an account's resting orders on one perpetual add up to (the fields of its PerpHolding that count them). */
export interface RestingPerpOrders {
  bidSteps: bigint;
  bidQuoteUnits: bigint;
  askSteps: bigint;
  askQuoteUnits: bigint;
  readonly reduceOnly: Order[];
}

/**
 * Whether the account rests reduce-only orders on `market` (each side of every perpetual fill asks): its
 * holding's list, when it has a holding there.
 */
export function holdsRestingReduceOnly(account: Account, market: Market): boolean {
  const holding = account.perpHoldings[market.index];
  return holding !== undefined && holding.reduceOnly.length > 0;
}

/** holdsRestingReduceOnly for a resting order's account on its market, through the order's holding. */
export function makerHoldsRestingReduceOnly(maker: Order): boolean {
  const holding = maker.perpHolding ?? maker.account.perpHoldings[maker.market.index];
  return holding !== undefined && holding.reduceOnly.length > 0;
}

/** The holding of a resting order's account on its market (set when the order rested). */
function recordOf(order: Order): RestingPerpOrders {
  return order.perpHolding ?? holdingOf(order.account, order.market);
}

/**
 * Adds (or, negative, removes) steps and their notional to one side's
 * totals. A record left empty is kept: a trader's orders come and go on the
 * same market, and dropping and re-creating its record cost a map deletion,
 * an insertion and two allocations each time (at most one record per
 * account and perpetual).
 */
function addToTotals(order: Order, steps: bigint, quoteUnits: bigint): void {
  const record = recordOf(order);
  if (order.side === 'Bid') {
    record.bidSteps += steps;
    record.bidQuoteUnits += quoteUnits;
  } else {
    record.askSteps += steps;
    record.askQuoteUnits += quoteUnits;
  }
}

function isEmpty(record: RestingPerpOrders): boolean {
  return record.bidSteps === 0n && record.askSteps === 0n && record.reduceOnly.length === 0;
}

/** An order on a perpetual came to rest in the book. */
export function perpOrderRested(order: Order): void {
  // The order reaches its account's holding directly from now on (its fills as a maker, its removal).
  order.perpHolding = holdingOf(order.account, order.market);
  if (!order.reduceOnly) {
    const steps = order.remainingSteps;
    addToTotals(order, steps, steps * order.priceTicks * order.market.quoteUnitsPerStepTick);
    return;
  }
  const list = recordOf(order).reduceOnly;
  // Ids ascend as orders rest, so this is an append but for a state decoded out of order (which it refuses).
  let index = list.length;
  while (index > 0 && list[index - 1]!.id > order.id) index -= 1;
  list.splice(index, 0, order);
}

/**
 * A resting order on a perpetual is about to fill `steps` as a maker, worth
 * `quoteUnits` at its own price (called before the fill is recorded, so a
 * reduce-only order filled in full still holds its remaining steps).
 */
export function perpOrderFilled(order: Order, steps: bigint, quoteUnits: bigint): void {
  if (!order.reduceOnly) addToTotals(order, -steps, -quoteUnits);
  else if (steps === order.remainingSteps) perpOrderClosed(order);
}

/** A resting order on a perpetual leaves the book with its remaining steps (cancelled, expired or filled). */
export function perpOrderClosed(order: Order): void {
  if (!order.reduceOnly) {
    const steps = order.remainingSteps;
    if (steps > 0n) addToTotals(order, -steps, -steps * order.priceTicks * order.market.quoteUnitsPerStepTick);
    return;
  }
  const record = recordOf(order);
  const index = record.reduceOnly.indexOf(order);
  if (index >= 0) record.reduceOnly.splice(index, 1);
}

/**
 * The most steps an order on `side` may fill without growing or flipping a
 * position of `quantityUnits`: the position's size in whole steps when the
 * order faces it (a bid a short, an ask a long), else zero.
 */
export function reduceOnlyCapacitySteps(market: Market, side: Side, quantityUnits: bigint): bigint {
  if (side === 'Bid') return quantityUnits < 0n ? -quantityUnits / market.stepUnits : 0n;
  return quantityUnits > 0n ? quantityUnits / market.stepUnits : 0n;
}

/** Why a resting reduce-only order changed, as its orderUpdated event reports it. */
export const reduceOnlyCutReason = 'Reduce-only order cut to the position.';
export const reduceOnlyExpiredReason = 'Reduce-only order expired: the position it reduced is closed or flipped.';

/**
 * After `account`'s position on `market` moved: each of its resting
 * reduce-only orders there, in ascending id, that no longer faces the
 * position (flat, or on the order's side) is expired and leaves the book;
 * one whose remaining steps exceed the position's size is cut to it (its
 * quantity lowered by the excess), as Backpack decreases a resting
 * reduce-only order "to prevent position side reversal". Each change is an
 * orderUpdated event. O(the account's reduce-only orders on the market).
 */
export function conformReduceOnlyOrders(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  market: Market,
): void {
  const record = account.perpHoldings[market.index];
  if (record === undefined || record.reduceOnly.length === 0) return;
  const quantityUnits = account.positions.get(market.index)?.quantityUnits ?? 0n;
  // A copy: expiring an order takes it out of the list.
  for (const order of [...record.reduceOnly]) {
    const capacity = reduceOnlyCapacitySteps(market, order.side, quantityUnits);
    if (capacity === 0n) cancelResting(state, recorder, order, reduceOnlyExpiredReason, 'Expired');
    else if (order.remainingSteps > capacity) cutResting(state, recorder, order, capacity);
  }
}

/** Lowers a resting order's remaining steps to `steps` (its quantity by as much), and its level's total. */
function cutResting(state: ExchangeState, recorder: EntryRecorder, order: Order, steps: bigint): void {
  const excess = order.remainingSteps - steps;
  const level = order.level!;
  order.remainingSteps = steps;
  order.quantitySteps -= excess;
  level.totalSteps -= excess;
  recorder.levelChanged(order.market, order.side, level);
  // The order's encoded quantity changed: its account's piece of the commitment is stale.
  state.changes.accountChanged(order.account);
  recorder.events.push({ type: 'orderUpdated', order: viewOrder(order), reason: reduceOnlyCutReason });
}

/**
 * The invariant (docs/perps.md, "Invariants"): every account's records equal
 * what its resting orders on perpetuals add up to, and every reduce-only
 * order rests on a perpetual, facing its account's position within its size.
 * O(the open orders).
 */
export function checkRestingPerpOrders(state: ExchangeState, fail: (message: string) => never): void {
  const expected = new Map<Account, Map<number, RestingPerpOrders>>();
  for (const order of state.orders.values()) {
    if (order.status === 'TriggerPending') {
      if (order.reduceOnly) fail(`order ${order.id} is a reduce-only trigger order`);
      continue;
    }
    const { account, market } = order;
    if (market.perp === undefined) {
      if (order.reduceOnly) fail(`order ${order.id} is reduce-only on a spot market`);
      continue;
    }
    if (order.perpHolding === undefined || order.perpHolding !== account.perpHoldings[market.index])
      fail(`order ${order.id} does not reach its account's holding on ${market.symbol}`);
    const byMarket = expected.get(account) ?? new Map<number, RestingPerpOrders>();
    expected.set(account, byMarket);
    const record = byMarket.get(market.index) ?? {
      bidSteps: 0n,
      bidQuoteUnits: 0n,
      askSteps: 0n,
      askQuoteUnits: 0n,
      reduceOnly: [],
    };
    byMarket.set(market.index, record);
    if (order.reduceOnly) {
      const position = account.positions.get(market.index)?.quantityUnits ?? 0n;
      if (order.remainingSteps > reduceOnlyCapacitySteps(market, order.side, position))
        fail(`reduce-only order ${order.id} exceeds the position it reduces`);
      record.reduceOnly.push(order);
      continue;
    }
    const quoteUnits = order.remainingSteps * order.priceTicks * market.quoteUnitsPerStepTick;
    if (order.side === 'Bid') {
      record.bidSteps += order.remainingSteps;
      record.bidQuoteUnits += quoteUnits;
    } else {
      record.askSteps += order.remainingSteps;
      record.askQuoteUnits += quoteUnits;
    }
  }
  for (const account of state.accountList) {
    const byMarket = expected.get(account);
    // An empty record may remain after the orders it counted left (addToTotals): it stands for none.
    let records = 0;
    for (const record of account.perpHoldings) if (record !== undefined && !isEmpty(record)) records += 1;
    if (records !== (byMarket?.size ?? 0))
      fail(`account ${account.id}: resting perpetual order records disagree with its orders`);
    for (let marketIndex = 0; marketIndex < account.perpHoldings.length; marketIndex += 1) {
      const record = account.perpHoldings[marketIndex];
      if (record === undefined || isEmpty(record)) continue;
      const want = byMarket?.get(marketIndex);
      const same =
        want !== undefined &&
        want.bidSteps === record.bidSteps &&
        want.bidQuoteUnits === record.bidQuoteUnits &&
        want.askSteps === record.askSteps &&
        want.askQuoteUnits === record.askQuoteUnits &&
        [...want.reduceOnly]
          .sort((left, right) => left.id - right.id)
          .every((order, index) => record.reduceOnly[index] === order) &&
        want.reduceOnly.length === record.reduceOnly.length;
      if (!same)
        fail(`account ${account.id}: resting perpetual orders on market ${marketIndex} disagree with the book`);
    }
  }
}
