/**
 * Order placement, matching and cancellation on one spot market.
 *
 * Every function here validates completely before it changes anything, so a
 * rejection leaves the state untouched. Funds a resting order may need are
 * locked when it is placed: a bid locks remaining × limit price in quote, an
 * ask locks remaining × step in base. Fees are charged in the asset each side
 * receives, so they never need to be reserved. The rules are specified in
 * docs/matching.md.
 */
import type { EntryRecorder } from './entry-recorder.js';
import type { OrderView } from './events.js';
import type { OrderType, SelfTradePrevention, Side, TimeInForce } from './instruction.js';
import type { BookSide } from './order-book.js';
import { invariant, reject, type Rejection } from './result-codes.js';
import { Order, type Account, type Balance, type ExchangeState, type Market } from './state.js';

export interface OrderParameters {
  readonly market: Market;
  readonly side: Side;
  readonly orderType: OrderType;
  /** Limit orders: the limit price in ticks. Market orders: ignored. */
  readonly priceTicks: bigint;
  /** Orders sized in base: the quantity in steps. Zero when sized by quote. */
  readonly quantitySteps: bigint;
  /** Market orders sized in quote: the quote units to spend (Bid) or receive (Ask). */
  readonly quoteQuantityUnits: bigint | undefined;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly clientId: number | undefined;
}

const basisPointsPerUnit = 10_000n;
const basisPointsPerUnitLessOne = basisPointsPerUnit - 1n;

function ceilingFee(amount: bigint, feeBasisPoints: bigint): bigint {
  if (feeBasisPoints === 0n || amount === 0n) return 0n;
  return (amount * feeBasisPoints + basisPointsPerUnitLessOne) / basisPointsPerUnit;
}

export function viewOrder(order: Order): OrderView {
  return {
    orderId: order.id,
    account: order.account.id,
    market: order.market.symbol,
    side: order.side,
    orderType: order.orderType,
    priceTicks: order.priceTicks,
    quantitySteps: order.quantitySteps,
    quoteQuantityUnits: order.quoteQuantityUnits,
    executedSteps: order.executedSteps,
    executedQuoteUnits: order.executedQuoteUnits,
    timeInForce: order.timeInForce,
    postOnly: order.postOnly,
    selfTradePrevention: order.selfTradePrevention,
    clientId: order.clientId,
    status: order.status,
    createdAtMs: order.createdAtMs,
  };
}

/** Funds a resting order holds locked, in quote units for bids and base units for asks. */
export function reservationUnits(order: Order): bigint {
  const market = order.market;
  return order.side === 'Bid'
    ? order.remainingSteps * order.priceTicks * market.quoteUnitsPerStepTick
    : order.remainingSteps * market.stepUnits;
}

function bookOf(market: Market, side: Side): BookSide {
  return side === 'Bid' ? market.bids : market.asks;
}

function opposite(market: Market, side: Side): BookSide {
  return side === 'Bid' ? market.asks : market.bids;
}

function acceptablePrice(takerSide: Side, limitTicks: bigint, makerTicks: bigint): boolean {
  return takerSide === 'Bid' ? makerTicks <= limitTicks : makerTicks >= limitTicks;
}

interface FillPlan {
  readonly steps: bigint;
  readonly quoteUnits: bigint;
}

/**
 * Walks the opposite side without changing it and returns what the order
 * would fill, honouring its limit price, size, quote budget and self-trade
 * prevention. Used for fill-or-kill and for funds checks of market orders;
 * matchTaker below must stop at exactly the same place.
 */
function planFill(params: OrderParameters, account: Account): FillPlan {
  const market = params.market;
  const levels = opposite(market, params.side).levels;
  const isLimit = params.orderType === 'Limit';
  const byQuote = params.quoteQuantityUnits !== undefined;
  const makerLimit = market.maxMakersPerOrder;
  let stepsLeft = params.quantitySteps;
  let quoteLeft = params.quoteQuantityUnits ?? 0n;
  let steps = 0n;
  let quoteUnits = 0n;
  let makersMet = 0;
  for (let index = levels.length - 1; index >= 0; index -= 1) {
    const level = levels[index]!;
    if (isLimit && !acceptablePrice(params.side, params.priceTicks, level.priceTicks)) break;
    const stepCost = level.priceTicks * market.quoteUnitsPerStepTick;
    for (let maker = level.head; maker !== undefined; maker = maker.next) {
      if (makersMet === makerLimit) return { steps, quoteUnits };
      makersMet += 1;
      if (maker.account === account && params.selfTradePrevention !== 'Allow') {
        if (params.selfTradePrevention === 'RejectMaker') continue;
        return { steps, quoteUnits };
      }
      let take = maker.remainingSteps;
      if (byQuote) {
        // The real walk stops as soon as the budget limits a fill: the next
        // step meets the same maker with nothing affordable.
        const affordable = quoteLeft / stepCost;
        const limitedByBudget = affordable < take;
        if (limitedByBudget) take = affordable;
        steps += take;
        quoteUnits += take * stepCost;
        quoteLeft -= take * stepCost;
        if (limitedByBudget || quoteLeft === 0n) return { steps, quoteUnits };
        continue;
      } else {
        if (stepsLeft < take) take = stepsLeft;
        stepsLeft -= take;
      }
      steps += take;
      quoteUnits += take * stepCost;
      if (!byQuote && stepsLeft === 0n) return { steps, quoteUnits };
    }
  }
  return { steps, quoteUnits };
}

function credit(recorder: EntryRecorder, balance: Balance, units: bigint): void {
  balance.available += units;
  recorder.balanceChanged(balance);
}

/** Removes a resting order from the book and its indexes, releasing its reservation. */
function closeResting(state: ExchangeState, recorder: EntryRecorder, order: Order): void {
  const market = order.market;
  const side = bookOf(market, order.side);
  const level = order.level;
  // Checked inline: building the message eagerly would cost a string per call.
  if (level === undefined) invariant(false, `order ${order.id} is not resting`);
  const reserved = reservationUnits(order);
  if (reserved > 0n) {
    const balance = order.account.balance(order.side === 'Bid' ? market.quote : market.base);
    balance.locked -= reserved;
    balance.available += reserved;
    recorder.balanceChanged(balance);
  }
  side.remove(order);
  recorder.levelChanged(market, order.side, level);
  forget(state, order);
}

function forget(state: ExchangeState, order: Order): void {
  state.orders.delete(order.id);
  order.account.removeOpenOrder(order);
  if (order.clientId !== undefined) order.account.openOrdersByClientId.delete(order.clientId);
}

function cancelResting(state: ExchangeState, recorder: EntryRecorder, order: Order, reason: string): OrderView {
  closeResting(state, recorder, order);
  order.status = 'Cancelled';
  const view = viewOrder(order);
  recorder.events.push({ type: 'orderUpdated', order: view, reason });
  return view;
}

/**
 * Checks the account can pay for the order as it will execute, and returns
 * what it needs: for a limit order that is exactly its full reservation.
 */
function fundsNeeded(params: OrderParameters, account: Account, plan: () => FillPlan): bigint | Rejection {
  const market = params.market;
  if (params.side === 'Bid') {
    const available = account.availableOf(market.quote);
    let needed: bigint;
    if (params.orderType === 'Limit') needed = params.quantitySteps * params.priceTicks * market.quoteUnitsPerStepTick;
    else if (params.quoteQuantityUnits !== undefined) needed = params.quoteQuantityUnits;
    else needed = plan().quoteUnits;
    if (needed > available) return reject('INSUFFICIENT_FUNDS', `The order needs ${needed} ${market.quote.symbol} units; ${available} are available.`);
    return needed;
  } else {
    const available = account.availableOf(market.base);
    const steps =
      params.quoteQuantityUnits !== undefined ? plan().steps : params.quantitySteps;
    const needed = steps * market.stepUnits;
    if (needed > available) return reject('INSUFFICIENT_FUNDS', `The order needs ${needed} ${market.base.symbol} units; ${available} are available.`);
    return needed;
  }
}

/**
 * Places an order for `account` (which may not exist yet: it then holds no
 * funds). Returns the order's view after matching, or a rejection with the
 * state unchanged.
 */
export function placeOrder(
  state: ExchangeState,
  recorder: EntryRecorder,
  accountId: string,
  params: OrderParameters,
): OrderView | Rejection {
  const market = params.market;
  const account = state.accounts.get(accountId);
  if (account === undefined) return reject('INSUFFICIENT_FUNDS', 'The account holds no funds.');
  if (params.clientId !== undefined && account.openOrdersByClientId.has(params.clientId)) {
    return reject('INVALID_ORDER', `Client id ${params.clientId} already names an open order.`);
  }
  const isLimit = params.orderType === 'Limit';
  const canRest = isLimit && params.timeInForce === 'GTC';
  if (canRest && account.openOrderCountOn(market) >= market.maxOpenOrders) {
    return reject('ORDER_LIMIT', `The account already holds ${market.maxOpenOrders} open orders on ${market.symbol}.`);
  }
  // The planned walk, computed at most once and only for orders that need it.
  let planned: FillPlan | undefined;
  const plan = (): FillPlan => (planned ??= planFill(params, account));
  const needed = fundsNeeded(params, account, plan);
  if (typeof needed !== 'bigint') return needed;
  if (params.postOnly) {
    const best = opposite(market, params.side).best();
    if (best !== undefined && acceptablePrice(params.side, params.priceTicks, best.priceTicks)) {
      return reject('INVALID_ORDER', 'A postOnly order would immediately match.');
    }
  }
  // An order that cannot rest and would execute nothing would only fill the
  // log: it is refused rather than accepted as Expired (docs/matching.md, 4.6).
  if (!canRest) {
    const plannedSteps = plan().steps;
    if (plannedSteps === 0n) return reject('ORDER_WOULD_NOT_FILL', 'The order cannot rest and would execute nothing now.');
    if (params.timeInForce === 'FOK' && plannedSteps < params.quantitySteps) {
      return reject('ORDER_WOULD_NOT_FILL', 'The fill-or-kill order could not be filled in full.');
    }
  }
  const value = isLimit
    ? params.quantitySteps * params.priceTicks * market.quoteUnitsPerStepTick
    : (params.quoteQuantityUnits ?? plan().quoteUnits);
  if (value < market.minOrderValueUnits) {
    return reject('ORDER_VALUE_TOO_SMALL', `The order's value is ${value} ${market.quote.symbol} units; the minimum is ${market.minOrderValueUnits}.`);
  }

  // From here on the order is accepted: it has an id, whatever happens next.
  const order = new Order(
    state.nextOrderId,
    account,
    market,
    params.side,
    params.orderType,
    params.orderType === 'Limit' ? params.priceTicks : 0n,
    params.quantitySteps,
    params.quoteQuantityUnits,
    params.timeInForce,
    params.postOnly,
    params.selfTradePrevention,
    params.clientId,
    recorder.timeMs,
  );
  state.nextOrderId += 1;
  const acceptedView = viewOrder(order);
  recorder.events.push({ type: 'orderAccepted', order: acceptedView });

  if (isLimit) {
    // A new limit order's reservation is exactly what the funds check required.
    const balance = account.balance(params.side === 'Bid' ? market.quote : market.base);
    balance.available -= needed;
    balance.locked += needed;
    recorder.balanceChanged(balance);
  }

  const stopReason = matchTaker(state, recorder, order);

  let reason: string | undefined;
  if (stopReason === 'self-trade') {
    order.status = 'Cancelled';
    reason = 'Self-trade prevention cancelled the order.';
  } else if (order.quoteQuantityUnits !== undefined) {
    order.status = stopReason === 'budget' && order.executedSteps > 0n ? 'Filled' : 'Expired';
  } else if (order.remainingSteps === 0n) {
    order.status = 'Filled';
  } else if (canRest && stopReason !== 'maker-limit') {
    order.status = order.executedSteps === 0n ? 'New' : 'PartiallyFilled';
  } else {
    order.status = 'Expired';
  }

  if (order.status === 'New' || order.status === 'PartiallyFilled') {
    const level = bookOf(market, params.side).add(order);
    recorder.levelChanged(market, params.side, level);
    state.orders.set(order.id, order);
    account.addOpenOrder(order);
    if (order.clientId !== undefined) account.openOrdersByClientId.set(order.clientId, order);
  } else if (isLimit && order.remainingSteps > 0n) {
    // An unfilled remainder that does not rest gives its reservation back.
    const reserved = reservationUnits(order);
    const balance = account.balance(params.side === 'Bid' ? market.quote : market.base);
    balance.locked -= reserved;
    balance.available += reserved;
    recorder.balanceChanged(balance);
  }
  if (order.status === 'New' && order.executedSteps === 0n) {
    // Nothing happened to the order since it was accepted (it rests untouched),
    // so its view is the accepted view, field for field: return that one
    // rather than build an identical copy.
    return acceptedView;
  }
  const view = viewOrder(order);
  recorder.events.push({ type: 'orderUpdated', order: view, reason });
  return view;
}

type StopReason = 'filled' | 'budget' | 'book' | 'self-trade' | 'maker-limit';

/** Matches `taker` against the opposite side in price-time priority. */
function matchTaker(state: ExchangeState, recorder: EntryRecorder, taker: Order): StopReason {
  const market = taker.market;
  const side = opposite(market, taker.side);
  const takerIsBid = taker.side === 'Bid';
  const isLimit = taker.orderType === 'Limit';
  const byQuote = taker.quoteQuantityUnits !== undefined;
  const account = taker.account;
  const perStepTick = market.quoteUnitsPerStepTick;
  const stepUnits = market.stepUnits;
  const baseBalance = account.balance(market.base);
  const quoteBalance = account.balance(market.quote);
  const feeAccount = state.feeAccount;
  let quoteLeft = taker.quoteQuantityUnits ?? 0n;
  const makerLimit = market.maxMakersPerOrder;
  let makersMet = 0;

  for (;;) {
    if (!byQuote && taker.remainingSteps === 0n) return 'filled';
    // A spent budget ends the walk before it looks for (or cancels) another maker.
    if (byQuote && quoteLeft === 0n) return 'budget';
    const level = side.best();
    if (level === undefined) return 'book';
    const makerTicks = level.priceTicks;
    if (isLimit && !acceptablePrice(taker.side, taker.priceTicks, makerTicks)) return 'book';
    const maker = level.head!;
    // The work one order does is bounded: the rest of it expires (section 4.6).
    if (makersMet === makerLimit) return 'maker-limit';
    makersMet += 1;
    if (maker.account === account && taker.selfTradePrevention !== 'Allow') {
      const mode = taker.selfTradePrevention;
      if (mode === 'RejectMaker' || mode === 'RejectBoth') {
        cancelResting(state, recorder, maker, 'Self-trade prevention cancelled the resting order.');
      }
      if (mode === 'RejectMaker') continue;
      return 'self-trade';
    }

    const stepCost = makerTicks * perStepTick;
    let fillSteps = maker.remainingSteps;
    if (byQuote) {
      const affordable = quoteLeft / stepCost;
      if (affordable < fillSteps) fillSteps = affordable;
      if (fillSteps === 0n) return 'budget';
    } else if (taker.remainingSteps < fillSteps) {
      fillSteps = taker.remainingSteps;
    }
    const baseUnits = fillSteps * stepUnits;
    const quoteUnits = fillSteps * stepCost;
    const makerAccount = maker.account;
    let makerFee: bigint;
    let takerFee: bigint;

    if (takerIsBid) {
      takerFee = ceilingFee(baseUnits, market.takerFeeBasisPoints);
      makerFee = ceilingFee(quoteUnits, market.makerFeeBasisPoints);
      if (isLimit) {
        // The bid locked its own limit price; a better maker price frees the difference.
        const lockedAtLimit = fillSteps * taker.priceTicks * perStepTick;
        quoteBalance.locked -= lockedAtLimit;
        quoteBalance.available += lockedAtLimit - quoteUnits;
      } else {
        quoteBalance.available -= quoteUnits;
      }
      baseBalance.available += baseUnits - takerFee;
      const makerBase = makerAccount.balance(market.base);
      makerBase.locked -= baseUnits;
      const makerQuote = makerAccount.balance(market.quote);
      makerQuote.available += quoteUnits - makerFee;
      recorder.balanceChanged(makerBase);
      recorder.balanceChanged(makerQuote);
      if (takerFee > 0n) credit(recorder, feeAccount.balance(market.base), takerFee);
      if (makerFee > 0n) credit(recorder, feeAccount.balance(market.quote), makerFee);
    } else {
      takerFee = ceilingFee(quoteUnits, market.takerFeeBasisPoints);
      makerFee = ceilingFee(baseUnits, market.makerFeeBasisPoints);
      if (isLimit) baseBalance.locked -= baseUnits;
      else baseBalance.available -= baseUnits;
      quoteBalance.available += quoteUnits - takerFee;
      const makerQuote = makerAccount.balance(market.quote);
      makerQuote.locked -= quoteUnits;
      const makerBase = makerAccount.balance(market.base);
      makerBase.available += baseUnits - makerFee;
      recorder.balanceChanged(makerQuote);
      recorder.balanceChanged(makerBase);
      if (takerFee > 0n) credit(recorder, feeAccount.balance(market.quote), takerFee);
      if (makerFee > 0n) credit(recorder, feeAccount.balance(market.base), makerFee);
    }
    recorder.balanceChanged(baseBalance);
    recorder.balanceChanged(quoteBalance);

    if (byQuote) quoteLeft -= quoteUnits;
    else taker.remainingSteps -= fillSteps;
    taker.executedSteps += fillSteps;
    taker.executedQuoteUnits += quoteUnits;
    maker.remainingSteps -= fillSteps;
    maker.executedSteps += fillSteps;
    maker.executedQuoteUnits += quoteUnits;
    level.totalSteps -= fillSteps;
    recorder.levelChanged(market, maker.side, level);

    recorder.events.push({
      type: 'trade',
      tradeId: state.nextTradeId,
      market: market.symbol,
      priceTicks: makerTicks,
      quantitySteps: fillSteps,
      quoteUnits,
      takerSide: taker.side,
      makerOrderId: maker.id,
      takerOrderId: taker.id,
      makerAccount: makerAccount.id,
      takerAccount: account.id,
      makerFeeUnits: makerFee,
      takerFeeUnits: takerFee,
      timeMs: recorder.timeMs,
    });
    state.nextTradeId += 1;

    if (maker.remainingSteps === 0n) {
      maker.status = 'Filled';
      side.remove(maker);
      forget(state, maker);
    } else {
      maker.status = 'PartiallyFilled';
    }
    recorder.events.push({ type: 'orderUpdated', order: viewOrder(maker), reason: undefined });
  }
}

function findOwnOrder(
  state: ExchangeState,
  accountId: string,
  market: Market,
  orderId: number | undefined,
  clientId: number | undefined,
): Order | Rejection {
  const account = state.accounts.get(accountId);
  const order =
    account === undefined
      ? undefined
      : orderId !== undefined
        ? state.orders.get(orderId)
        : account.openOrdersByClientId.get(clientId as number);
  // Another account's order is reported exactly like a missing one.
  if (order === undefined || order.account !== account || order.market !== market) {
    return reject('RESOURCE_NOT_FOUND', `No open order ${orderId !== undefined ? `with id ${orderId}` : `with client id ${clientId}`} on ${market.symbol}.`);
  }
  return order;
}

export function cancelOrder(
  state: ExchangeState,
  recorder: EntryRecorder,
  accountId: string,
  market: Market,
  orderId: number | undefined,
  clientId: number | undefined,
): OrderView | Rejection {
  const found = findOwnOrder(state, accountId, market, orderId, clientId);
  if (!(found instanceof Order)) return found;
  return cancelResting(state, recorder, found, 'Cancelled by its owner.');
}

/** Cancels every open order of the account on the market, oldest first. */
export function cancelAllOrders(
  state: ExchangeState,
  recorder: EntryRecorder,
  accountId: string,
  market: Market,
): OrderView[] {
  const account = state.accounts.get(accountId);
  if (account === undefined) return [];
  const victims: Order[] = [];
  for (let order = account.firstOpenOrder; order !== undefined; order = order.accountNext) if (order.market === market) victims.push(order);
  return victims.map((order) => cancelResting(state, recorder, order, 'Cancelled by its owner.'));
}
