/**
 * The state's invariants, checked in full. Tests run this after every step;
 * the node runs it at snapshots. It walks the whole state, so it is O(state);
 * the cheap per-entry checks live where the changes happen (`invariant`).
 *
 * - Conservation: for every asset, the sum over accounts of available +
 *   locked + pending withdrawal, plus what its lending pool and coverage
 *   pool hold, equals deposits − completed withdrawals (fees are ordinary
 *   balances of the fee account). The margin invariants are in
 *   margin-invariants.ts.
 * - No balance field is negative.
 * - Locked funds equal the reservations of the account's open orders, and
 *   pending withdrawals equal the account's pending withdrawal records.
 * - Books are sorted, never crossed, and agree with the order indexes.
 */
import { checkMarginInvariants } from './margin-invariants.js';
import { reservationUnits } from './matching.js';
import { InvariantViolation } from './result-codes.js';
import type { Account, ExchangeState, Market, Order } from './state.js';

function fail(message: string): never {
  throw new InvariantViolation(message);
}

/** Amounts by account id and asset index, a row of zeros per account on first use. */
class AmountsByAccount {
  private readonly rows = new Map<string, bigint[]>();
  constructor(private readonly assetCount: number) {}

  add(accountId: string, assetIndex: number, amount: bigint): void {
    let row = this.rows.get(accountId);
    if (row === undefined) {
      row = new Array<bigint>(this.assetCount).fill(0n);
      this.rows.set(accountId, row);
    }
    row[assetIndex]! += amount;
  }

  get(accountId: string, assetIndex: number): bigint {
    return this.rows.get(accountId)?.[assetIndex] ?? 0n;
  }
}

export function checkInvariants(state: ExchangeState): void {
  const expectedLocked = new AmountsByAccount(state.assets.length);
  let restingCount = 0;
  for (const market of state.markets) restingCount += checkBook(state, market, expectedLocked);
  let pendingCount = 0;
  for (const market of state.markets) pendingCount += checkTriggers(state, market);
  if (pendingCount !== state.pendingTriggerCount)
    fail(`${pendingCount} pending trigger orders but the count says ${state.pendingTriggerCount}`);
  if (restingCount + pendingCount !== state.orders.size)
    fail(`${state.orders.size} open orders indexed but ${restingCount} resting and ${pendingCount} pending`);

  const expectedPending = new AmountsByAccount(state.assets.length);
  for (const withdrawal of state.pendingWithdrawals.values()) {
    expectedPending.add(withdrawal.account.id, withdrawal.asset.index, withdrawal.quantityUnits);
  }
  checkAccountOrdinals(state);

  const totals = new Array<bigint>(state.assets.length).fill(0n);
  let listedOpenOrders = 0;
  for (const account of state.accounts.values()) {
    listedOpenOrders += checkOpenOrderList(state, account);
    checkBalances(state, account, expectedLocked, expectedPending, totals);
  }
  if (listedOpenOrders !== state.orders.size)
    fail(`accounts list ${listedOpenOrders} open orders but ${state.orders.size} are open`);
  const pools = checkMarginInvariants(state, fail);
  for (const asset of state.assets) {
    const expected = asset.depositedUnits - asset.withdrawnUnits;
    if (totals[asset.index]! + pools[asset.index]! !== expected) {
      const held = totals[asset.index]! + pools[asset.index]!;
      fail(`${asset.symbol} not conserved: balances and pools hold ${held}, deposits − withdrawals = ${expected}`);
    }
  }
}

/** One market's book: both sides' levels and orders, then not crossed; adds what resting orders reserve. */
function checkBook(state: ExchangeState, market: Market, expectedLocked: AmountsByAccount): number {
  let restingCount = 0;
  for (const side of [market.bids, market.asks]) {
    let previousTicks: bigint | undefined;
    for (const level of side.levels) {
      if (
        previousTicks !== undefined &&
        (side.isBid ? level.priceTicks <= previousTicks : level.priceTicks >= previousTicks)
      ) {
        fail(`${market.symbol}: price levels out of order at ${level.priceTicks}`);
      }
      previousTicks = level.priceTicks;
      let steps = 0n;
      let count = 0;
      let previousId = 0;
      for (let order = level.head; order !== undefined; order = order.next) {
        count += 1;
        steps += order.remainingSteps;
        if (order.id <= previousId) fail(`${market.symbol}: orders at ${level.priceTicks} out of time priority`);
        previousId = order.id;
        if (order.level !== level || order.priceTicks !== level.priceTicks)
          fail(`order ${order.id} linked to the wrong level`);
        checkRestingOrder(state, order);
        const asset = order.side === 'Bid' ? market.quote : market.base;
        expectedLocked.add(order.account.id, asset.index, reservationUnits(order));
        restingCount += 1;
      }
      if (count !== level.orderCount || steps !== level.totalSteps || count === 0) {
        fail(`${market.symbol}: level ${level.priceTicks} totals disagree with its orders`);
      }
    }
  }
  const bestBid = market.bids.best();
  const bestAsk = market.asks.best();
  if (bestBid !== undefined && bestAsk !== undefined && bestBid.priceTicks >= bestAsk.priceTicks) {
    fail(`${market.symbol}: book crossed, bid ${bestBid.priceTicks} ≥ ask ${bestAsk.priceTicks}`);
  }
  return restingCount;
}

function checkRestingOrder(state: ExchangeState, order: Order): void {
  if (order.remainingSteps <= 0n) fail(`resting order ${order.id} has nothing remaining`);
  if (order.status !== 'New' && order.status !== 'PartiallyFilled')
    fail(`resting order ${order.id} is ${order.status}`);
  if (order.remainingSteps + order.executedSteps !== order.quantitySteps) fail(`order ${order.id} quantities disagree`);
  if (state.orders.get(order.id) !== order) {
    fail(`resting order ${order.id} missing from the indexes`);
  }
  if (order.clientId !== undefined && order.account.openOrdersByClientId.get(order.clientId) !== order) {
    fail(`resting order ${order.id} missing from the client id index`);
  }
}

/** One market's pending trigger orders: placed, indexed, in firing order and linked both ways; returns their count. */
function checkTriggers(state: ExchangeState, market: Market): number {
  let pendingCount = 0;
  for (const [list, rising] of [
    [market.risingTriggers, true],
    [market.fallingTriggers, false],
  ] as const) {
    let previous: Order | undefined;
    for (const order of list) {
      pendingCount += 1;
      if (
        order.market !== market ||
        order.triggerRising !== rising ||
        order.status !== 'TriggerPending' ||
        order.level !== undefined
      ) {
        fail(`trigger order ${order.id} is misplaced`);
      }
      if (state.orders.get(order.id) !== order) fail(`pending trigger order ${order.id} missing from the indexes`);
      if (order.executedSteps !== 0n || order.triggerPriceTicks === undefined)
        fail(`pending trigger order ${order.id} is inconsistent`);
      if (previous !== undefined && firesAfter(previous, order, rising)) {
        fail(`${market.symbol}: trigger orders out of firing order at ${order.id}`);
      }
      const linked = order.linkedTrigger;
      if (
        linked !== undefined &&
        (linked.linkedTrigger !== order || linked.status !== 'TriggerPending' || linked.account !== order.account)
      ) {
        fail(`trigger order ${order.id} is linked to ${linked.id}, which is not linked back`);
      }
      if (order.clientId !== undefined && order.account.openOrdersByClientId.get(order.clientId) !== order) {
        fail(`pending trigger order ${order.id} missing from the client id index`);
      }
      previous = order;
    }
  }
  return pendingCount;
}

/** Whether `before`, listed first, would fire after `order`: rising ones fire lowest price first, ties by id. */
function firesAfter(before: Order, order: Order, rising: boolean): boolean {
  const beforeTicks = before.triggerPriceTicks!;
  const ticks = order.triggerPriceTicks!;
  return rising
    ? beforeTicks > ticks || (beforeTicks === ticks && before.id > order.id)
    : beforeTicks < ticks || (beforeTicks === ticks && before.id > order.id);
}

function checkAccountOrdinals(state: ExchangeState): void {
  if (state.accountList.length !== state.accounts.size || state.accountList[0] !== state.feeAccount) {
    fail(
      `${state.accountList.length} accounts by ordinal but ${state.accounts.size} by key, ` +
        'or the fee account is not first',
    );
  }
  state.accountList.forEach((account, ordinal) => {
    if (account.ordinal !== ordinal || state.accounts.get(account.id) !== account)
      fail(`account ${account.id} has ordinal ${account.ordinal} at ${ordinal}`);
  });
}

/** An account's open-order list and its counts (per market within the limit); returns how many it lists. */
function checkOpenOrderList(state: ExchangeState, account: Account): number {
  let openCount = 0;
  let previous: Order | undefined;
  const perMarket = new Array<number>(state.markets.length).fill(0);
  for (let order = account.firstOpenOrder; order !== undefined; order = order.accountNext) {
    openCount += 1;
    perMarket[order.market.index]! += 1;
    if (order.account !== account || state.orders.get(order.id) !== order)
      fail(`account ${account.id} lists a foreign or closed order`);
    if (order.accountPrevious !== previous || (previous !== undefined && previous.id >= order.id)) {
      fail(`account ${account.id}: open-order list broken or out of id order at ${order.id}`);
    }
    previous = order;
  }
  if (previous !== account.lastOpenOrder || openCount !== account.openOrderCount)
    fail(`account ${account.id}: open-order list ends or counts wrong`);
  for (const market of state.markets) {
    const counted = perMarket[market.index]!;
    if (counted !== account.openOrderCountOn(market))
      fail(`account ${account.id}: ${market.symbol} open-order count wrong`);
    if (counted > market.maxOpenOrders)
      fail(`account ${account.id} holds more than ${market.maxOpenOrders} open orders on ${market.symbol}`);
  }
  if (account.openOrdersByClientId.size > openCount) fail(`account ${account.id} has stale client ids`);
  return openCount;
}

/** An account's balances: none negative, locked and pending as expected; adds them to `totals`. */
function checkBalances(
  state: ExchangeState,
  account: Account,
  expectedLocked: AmountsByAccount,
  expectedPending: AmountsByAccount,
  totals: bigint[],
): void {
  for (let index = 0; index < state.assets.length; index += 1) {
    const balance = account.balances[index];
    const available = balance?.available ?? 0n;
    const lockedUnits = balance?.locked ?? 0n;
    const pendingUnits = balance?.pendingWithdrawal ?? 0n;
    const symbol = state.assets[index]!.symbol;
    if (available < 0n || lockedUnits < 0n || pendingUnits < 0n)
      fail(`account ${account.id} has a negative ${symbol} balance`);
    const locked = expectedLocked.get(account.id, index);
    if (lockedUnits !== locked) {
      fail(`account ${account.id}: locked ${symbol} ${lockedUnits} ≠ open orders' reservations ${locked}`);
    }
    if (pendingUnits !== expectedPending.get(account.id, index))
      fail(`account ${account.id}: pending ${symbol} disagrees with its withdrawals`);
    totals[index]! += available + lockedUnits + pendingUnits;
  }
}
