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
import { credit, debit, lock, settle, unlock } from './balance-movements.js';
import type { EntryRecorder } from './entry-recorder.js';
import type { OrderView } from './events.js';
import type { OrderType, SelfTradePrevention, Side, TimeInForce } from './instruction.js';
import type { BookSide } from './order-book.js';
import { maximumTriggersPerEntry } from './limits.js';
import { invariant, reject, type Rejection } from './result-codes.js';
import { Order, type Account, type ExchangeState, type Market } from './state.js';

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
    triggerPriceTicks: order.triggerPriceTicks,
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

export interface FillPlan {
  readonly steps: bigint;
  readonly quoteUnits: bigint;
}

/**
 * Walks the opposite side without changing it and returns what the order
 * would fill, honouring its limit price, size, quote budget and self-trade
 * prevention. Used for fill-or-kill, for funds checks of market orders and
 * for the minimum value; with `untilFirstFill` it stops at the first fill,
 * which is all the would-not-fill check needs. matchTaker below must stop at
 * exactly the same place.
 */
function planFill(params: OrderParameters, account: Account, untilFirstFill = false): FillPlan {
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
        if (limitedByBudget || quoteLeft === 0n || (untilFirstFill && steps > 0n)) return { steps, quoteUnits };
        continue;
      } else {
        if (stepsLeft < take) take = stepsLeft;
        stepsLeft -= take;
      }
      steps += take;
      quoteUnits += take * stepCost;
      if ((!byQuote && stepsLeft === 0n) || (untilFirstFill && steps > 0n)) return { steps, quoteUnits };
    }
  }
  return { steps, quoteUnits };
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
    unlock(recorder, order.account.balance(order.side === 'Bid' ? market.quote : market.base), reserved);
  }
  side.remove(order);
  recorder.levelChanged(market, order.side, level);
  forget(state, order);
}

function forget(state: ExchangeState, order: Order): void {
  state.changes.accountChanged(order.account);
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

/** What the order would fill now (the dry-run walk); margin orders size their borrowing with it. */
export function plannedFill(params: OrderParameters, account: Account): FillPlan {
  return planFill(params, account);
}

/**
 * The planned walk of one order, computed at most once and only if a check
 * needs it. A small object rather than a closure: this runs for every order,
 * and a closure per call costs an allocation and, under tsx, a naming call.
 */
class PlannedWalk {
  private plan: FillPlan | undefined;
  constructor(
    private readonly params: OrderParameters,
    private readonly account: Account,
  ) {}

  get(): FillPlan {
    return (this.plan ??= planFill(this.params, this.account));
  }

  /** Whether the walk would fill at all: the same walk, stopped at its first fill unless it was planned whole already. */
  fillsAnything(): boolean {
    return (this.plan ?? planFill(this.params, this.account, true)).steps > 0n;
  }
}

/**
 * Checks the account can pay for the order as it will execute, and returns
 * what it needs: for a limit order that is exactly its full reservation.
 */
function fundsNeeded(params: OrderParameters, account: Account, walk: PlannedWalk): bigint | Rejection {
  const market = params.market;
  if (params.side === 'Bid') {
    const available = account.availableOf(market.quote);
    let needed: bigint;
    if (params.orderType === 'Limit') needed = params.quantitySteps * params.priceTicks * market.quoteUnitsPerStepTick;
    else if (params.quoteQuantityUnits !== undefined) needed = params.quoteQuantityUnits;
    else needed = walk.get().quoteUnits;
    if (needed > available)
      return reject(
        'INSUFFICIENT_FUNDS',
        `The order needs ${needed} ${market.quote.symbol} units; ${available} are available.`,
      );
    return needed;
  } else {
    const available = account.availableOf(market.base);
    const steps = params.quoteQuantityUnits !== undefined ? walk.get().steps : params.quantitySteps;
    const needed = steps * market.stepUnits;
    if (needed > available)
      return reject(
        'INSUFFICIENT_FUNDS',
        `The order needs ${needed} ${market.base.symbol} units; ${available} are available.`,
      );
    return needed;
  }
}

/** The views of the take-profit and stop-loss orders placed with an order. */
export interface AttachedViews {
  takeProfit?: OrderView;
  stopLoss?: OrderView;
}

/** An attached take-profit or stop-loss (docs/matching.md, section 8.2). */
export interface AttachedTrigger {
  readonly triggerPriceTicks: bigint;
  /** A limit price makes it a limit order when it fires; without one it is a market order. */
  readonly limitPriceTicks: bigint | undefined;
}

export interface TriggerParameters {
  /** Set for a trigger order: it waits, TriggerPending, until the last price reaches this. */
  readonly triggerPriceTicks?: bigint;
  readonly takeProfit?: AttachedTrigger;
  readonly stopLoss?: AttachedTrigger;
}

/**
 * The checks an order must pass at the moment it executes (a new order, or a
 * trigger order firing): funds, post-only, would-not-fill and the minimum
 * value (docs/matching.md, checks 4 to 7). Returns what the funds check
 * requires (a limit order's reservation), or the rejection.
 */
function admit(params: OrderParameters, account: Account): bigint | Rejection {
  const market = params.market;
  const isLimit = params.orderType === 'Limit';
  const canRest = isLimit && params.timeInForce === 'GTC';
  const walk = new PlannedWalk(params, account);
  const needed = fundsNeeded(params, account, walk);
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
    // A fill-or-kill order needs the whole walk anyway; the others only its first fill.
    const isFillOrKill = params.timeInForce === 'FOK';
    if (isFillOrKill ? walk.get().steps === 0n : !walk.fillsAnything()) {
      return reject('ORDER_WOULD_NOT_FILL', 'The order cannot rest and would execute nothing now.');
    }
    if (isFillOrKill && walk.get().steps < params.quantitySteps) {
      return reject('ORDER_WOULD_NOT_FILL', 'The fill-or-kill order could not be filled in full.');
    }
  }
  // Every value is at least zero, so a market without a minimum needs no planned walk for it.
  if (market.minOrderValueUnits === 0n) return needed;
  const value = isLimit
    ? params.quantitySteps * params.priceTicks * market.quoteUnitsPerStepTick
    : (params.quoteQuantityUnits ?? walk.get().quoteUnits);
  if (value < market.minOrderValueUnits) {
    return reject(
      'ORDER_VALUE_TOO_SMALL',
      `The order's value is ${value} ${market.quote.symbol} units; the minimum is ${market.minOrderValueUnits}.`,
    );
  }
  return needed;
}

/**
 * Places an order for `account` (which may not exist yet: it then holds no
 * funds). Returns the order's view after matching, or a rejection with the
 * state unchanged. Attached take-profit and stop-loss orders, if any, are
 * placed after it and their views set in `attachedViews`.
 */
export function placeOrder(
  state: ExchangeState,
  recorder: EntryRecorder,
  accountId: string,
  params: OrderParameters & TriggerParameters,
  attachedViews: AttachedViews = {},
): OrderView | Rejection {
  const market = params.market;
  const account = state.accounts.get(accountId);
  if (account === undefined) return reject('INSUFFICIENT_FUNDS', 'The account holds no funds.');
  if (params.clientId !== undefined && account.openOrdersByClientId.has(params.clientId)) {
    return reject('INVALID_ORDER', `Client id ${params.clientId} already names an open order.`);
  }
  if (params.triggerPriceTicks !== undefined)
    return placeTriggerOrder(state, recorder, account, params, params.triggerPriceTicks);
  const isLimit = params.orderType === 'Limit';
  const canRest = isLimit && params.timeInForce === 'GTC';
  const attachedCount = (params.takeProfit !== undefined ? 1 : 0) + (params.stopLoss !== undefined ? 1 : 0);
  const slots = (canRest ? 1 : 0) + attachedCount;
  if (slots > 0 && account.openOrderCountOn(market) + slots > market.maxOpenOrders) {
    return reject(
      'ORDER_LIMIT',
      `The account may hold at most ${market.maxOpenOrders} open orders on ${market.symbol}.`,
    );
  }
  const needed = admit(params, account);
  if (typeof needed !== 'bigint') return needed;

  // From here on the order is accepted: it has an id, whatever happens next.
  const order = new Order(
    state.nextOrderId,
    account,
    market,
    params.side,
    params.orderType,
    isLimit ? params.priceTicks : 0n,
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
  const view = executeOrder(state, recorder, order, needed, false, undefined) ?? acceptedView;
  if (attachedCount > 0) placeAttached(state, recorder, order, params, attachedViews);
  return view;
}

/**
 * Locks, matches and settles an admitted order. `indexed` says whether it is
 * already an open order (a trigger order firing); `reason` is reported with
 * its update. Returns its view, or undefined when nothing happened to a new
 * order since it was accepted (its accepted view then stands).
 */
function executeOrder(
  state: ExchangeState,
  recorder: EntryRecorder,
  order: Order,
  needed: bigint,
  indexed: boolean,
  reason: string | undefined,
): OrderView | undefined {
  const market = order.market;
  const account = order.account;
  const isLimit = order.orderType === 'Limit';
  if (isLimit) {
    // A new limit order's reservation is exactly what the funds check required.
    lock(recorder, account.balance(order.side === 'Bid' ? market.quote : market.base), needed);
  }

  const stopReason = matchTaker(state, recorder, order);

  if (stopReason === 'self-trade') {
    order.status = 'Cancelled';
    reason = 'Self-trade prevention cancelled the order.';
  } else if (order.quoteQuantityUnits !== undefined) {
    order.status = stopReason === 'budget' && order.executedSteps > 0n ? 'Filled' : 'Expired';
  } else if (order.remainingSteps === 0n) {
    order.status = 'Filled';
  } else if (isLimit && order.timeInForce === 'GTC' && stopReason !== 'maker-limit') {
    order.status = order.executedSteps === 0n ? 'New' : 'PartiallyFilled';
  } else {
    order.status = 'Expired';
  }

  if (order.status === 'New' || order.status === 'PartiallyFilled') {
    const level = bookOf(market, order.side).add(order);
    recorder.levelChanged(market, order.side, level);
    if (!indexed) {
      state.orders.set(order.id, order);
      state.changes.accountChanged(account);
      account.addOpenOrder(order);
      if (order.clientId !== undefined) account.openOrdersByClientId.set(order.clientId, order);
    }
  } else {
    if (indexed) forget(state, order);
    if (isLimit && order.remainingSteps > 0n) {
      // An unfilled remainder that does not rest gives its reservation back.
      unlock(recorder, account.balance(order.side === 'Bid' ? market.quote : market.base), reservationUnits(order));
    }
  }
  if (!indexed && order.status === 'New' && order.executedSteps === 0n) {
    // Nothing happened to the order since it was accepted (it rests untouched),
    // so its view is the accepted view, field for field: the caller returns
    // that one rather than build an identical copy.
    return undefined;
  }
  const view = viewOrder(order);
  recorder.events.push({ type: 'orderUpdated', order: view, reason });
  return view;
}

// ---------------------------------------------------------------------------
// Trigger orders (docs/matching.md, section 8).
// ---------------------------------------------------------------------------

function triggerList(order: Order): Order[] {
  return order.triggerRising ? order.market.risingTriggers : order.market.fallingTriggers;
}

/** Whether `left` fires before `right` in the same list. */
function firesBefore(left: Order, right: Order): boolean {
  const leftTicks = left.triggerPriceTicks!;
  const rightTicks = right.triggerPriceTicks!;
  if (leftTicks !== rightTicks) return left.triggerRising ? leftTicks < rightTicks : leftTicks > rightTicks;
  return left.id < right.id;
}

/**
 * Where `order` is or would go in its firing-order list: the number of
 * orders that fire before it (binary search, so that placing and cancelling
 * stay cheap however many trigger orders wait).
 */
function triggerPosition(list: readonly Order[], order: Order): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (firesBefore(list[middle]!, order)) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Makes `order` a pending trigger order: an open order, not in the book. */
function addPendingTrigger(state: ExchangeState, order: Order): void {
  order.status = 'TriggerPending';
  const list = triggerList(order);
  list.splice(triggerPosition(list, order), 0, order);
  state.pendingTriggerCount += 1;
  state.orders.set(order.id, order);
  state.changes.accountChanged(order.account);
  order.account.addOpenOrder(order);
  if (order.clientId !== undefined) order.account.openOrdersByClientId.set(order.clientId, order);
}

/** Takes a pending trigger out of its market's list (it stays an open order). */
function removePendingTrigger(state: ExchangeState, order: Order): void {
  const list = triggerList(order);
  const index = triggerPosition(list, order);
  if (list[index] !== order) invariant(false, `trigger order ${order.id} is not pending`);
  list.splice(index, 1);
  state.pendingTriggerCount -= 1;
  const linked = order.linkedTrigger;
  if (linked !== undefined) {
    linked.linkedTrigger = undefined;
    order.linkedTrigger = undefined;
  }
}

function cancelPendingTrigger(state: ExchangeState, recorder: EntryRecorder, order: Order, reason: string): OrderView {
  removePendingTrigger(state, order);
  forget(state, order);
  order.status = 'Cancelled';
  const view = viewOrder(order);
  recorder.events.push({ type: 'orderUpdated', order: view, reason });
  return view;
}

function placeTriggerOrder(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  params: OrderParameters,
  triggerPriceTicks: bigint,
): OrderView | Rejection {
  const market = params.market;
  if (account.openOrderCountOn(market) >= market.maxOpenOrders) {
    return reject(
      'ORDER_LIMIT',
      `The account may hold at most ${market.maxOpenOrders} open orders on ${market.symbol}.`,
    );
  }
  const last = market.lastPriceTicks;
  if (last === 0n)
    return reject('INVALID_ORDER', `${market.symbol} has no last price yet, so a trigger order has no direction.`);
  if (triggerPriceTicks === last) return reject('INVALID_ORDER', 'The trigger price equals the last price.');
  const isLimit = params.orderType === 'Limit';
  const value = params.quantitySteps * (isLimit ? params.priceTicks : triggerPriceTicks) * market.quoteUnitsPerStepTick;
  if (value < market.minOrderValueUnits) {
    return reject(
      'ORDER_VALUE_TOO_SMALL',
      `The order's value is ${value} ${market.quote.symbol} units; the minimum is ${market.minOrderValueUnits}.`,
    );
  }
  const order = newTriggerOrder(
    state,
    recorder,
    account,
    params.side,
    params,
    triggerPriceTicks,
    triggerPriceTicks > last,
  );
  return viewOrder(order);
}

function newTriggerOrder(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  side: Side,
  params: Pick<
    OrderParameters,
    | 'market'
    | 'orderType'
    | 'priceTicks'
    | 'quantitySteps'
    | 'timeInForce'
    | 'postOnly'
    | 'selfTradePrevention'
    | 'clientId'
  >,
  triggerPriceTicks: bigint,
  rising: boolean,
): Order {
  const order = new Order(
    state.nextOrderId,
    account,
    params.market,
    side,
    params.orderType,
    params.orderType === 'Limit' ? params.priceTicks : 0n,
    params.quantitySteps,
    undefined,
    params.timeInForce,
    params.postOnly,
    params.selfTradePrevention,
    params.clientId,
    recorder.timeMs,
  );
  state.nextOrderId += 1;
  order.triggerPriceTicks = triggerPriceTicks;
  order.triggerRising = rising;
  addPendingTrigger(state, order);
  recorder.events.push({ type: 'orderAccepted', order: viewOrder(order) });
  return order;
}

/**
 * An order's take-profit and stop-loss: trigger orders on the opposite side
 * for the order's quantity. After a buy, the take-profit sells when the
 * price rises to it and the stop-loss when it falls to it; after a sell, the
 * reverse. When both are given they cancel each other: the first to fire
 * cancels the other.
 */
function placeAttached(
  state: ExchangeState,
  recorder: EntryRecorder,
  parent: Order,
  params: TriggerParameters,
  views: AttachedViews,
): void {
  const side: Side = parent.side === 'Bid' ? 'Ask' : 'Bid';
  const orders: Order[] = [];
  for (const [attached, takeProfit] of [
    [params.takeProfit, true],
    [params.stopLoss, false],
  ] as const) {
    if (attached === undefined) continue;
    const limitTicks = attached.limitPriceTicks;
    orders.push(
      newTriggerOrder(
        state,
        recorder,
        parent.account,
        side,
        {
          market: parent.market,
          orderType: limitTicks === undefined ? 'Market' : 'Limit',
          priceTicks: limitTicks ?? 0n,
          quantitySteps: parent.quantitySteps,
          timeInForce: limitTicks === undefined ? 'IOC' : 'GTC',
          postOnly: false,
          selfTradePrevention: parent.selfTradePrevention,
          clientId: undefined,
        },
        attached.triggerPriceTicks,
        // A take-profit of a buy, or a stop-loss of a sell, fires on a rise.
        takeProfit === (parent.side === 'Bid'),
      ),
    );
  }
  if (orders.length === 2) {
    orders[0]!.linkedTrigger = orders[1];
    orders[1]!.linkedTrigger = orders[0];
  }
  for (const order of orders) {
    // The take-profit is the one that fires in the direction of profit.
    if (order.triggerRising === (parent.side === 'Bid')) views.takeProfit = viewOrder(order);
    else views.stopLoss = viewOrder(order);
  }
}

/** The next pending trigger order to fire, in the documented order, or undefined. */
function nextFireable(state: ExchangeState): Order | undefined {
  for (const market of state.markets) {
    const last = market.lastPriceTicks;
    if (last === 0n) continue;
    const rising = market.risingTriggers[0];
    if (rising !== undefined && rising.triggerPriceTicks! <= last) return rising;
    const falling = market.fallingTriggers[0];
    if (falling !== undefined && falling.triggerPriceTicks! >= last) return falling;
  }
  return undefined;
}

/**
 * Fires the pending trigger orders the last prices have reached, at most
 * maximumTriggersPerEntry per entry; apply() calls it at the end of every
 * accepted entry, so the rest fire at the entries that follow.
 */
export function fireTriggers(state: ExchangeState, recorder: EntryRecorder): void {
  for (let fired = 0; fired < maximumTriggersPerEntry && state.pendingTriggerCount > 0; fired += 1) {
    const order = nextFireable(state);
    if (order === undefined) return;
    fireTrigger(state, recorder, order);
  }
}

function fireTrigger(state: ExchangeState, recorder: EntryRecorder, order: Order): void {
  const market = order.market;
  const sibling = order.linkedTrigger;
  state.changes.accountChanged(order.account);
  removePendingTrigger(state, order);
  if (sibling !== undefined)
    cancelPendingTrigger(state, recorder, sibling, 'Its take-profit / stop-loss partner fired.');
  const last = market.lastPriceTicks;
  const params: OrderParameters = {
    market,
    side: order.side,
    orderType: order.orderType,
    priceTicks: order.priceTicks,
    quantitySteps: order.quantitySteps,
    quoteQuantityUnits: undefined,
    timeInForce: order.timeInForce,
    postOnly: order.postOnly,
    selfTradePrevention: order.selfTradePrevention,
    clientId: order.clientId,
  };
  const needed = admit(params, order.account);
  const reason = `Triggered at last price ${last} ticks.`;
  if (typeof needed !== 'bigint') {
    forget(state, order);
    order.status = 'TriggerFailed';
    recorder.events.push({
      type: 'orderUpdated',
      order: viewOrder(order),
      reason: `${reason} ${needed.code}: ${needed.message}`,
    });
    return;
  }
  order.status = 'New';
  executeOrder(state, recorder, order, needed, true, reason);
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
      // Makers, then fees, then the taker: the order in which balances are reported.
      settle(recorder, makerAccount.balance(market.base), baseUnits);
      credit(recorder, makerAccount.balance(market.quote), quoteUnits - makerFee);
      if (takerFee > 0n) credit(recorder, feeAccount.balance(market.base), takerFee);
      if (makerFee > 0n) credit(recorder, feeAccount.balance(market.quote), makerFee);
      credit(recorder, baseBalance, baseUnits - takerFee);
      if (isLimit) {
        // The bid locked its own limit price; a better maker price frees the difference.
        const lockedAtLimit = fillSteps * taker.priceTicks * perStepTick;
        settle(recorder, quoteBalance, lockedAtLimit);
        credit(recorder, quoteBalance, lockedAtLimit - quoteUnits);
      } else {
        debit(recorder, quoteBalance, quoteUnits);
      }
    } else {
      takerFee = ceilingFee(quoteUnits, market.takerFeeBasisPoints);
      makerFee = ceilingFee(baseUnits, market.makerFeeBasisPoints);
      // The maker's bid locked its own price, which is the fill price.
      settle(recorder, makerAccount.balance(market.quote), quoteUnits);
      credit(recorder, makerAccount.balance(market.base), baseUnits - makerFee);
      if (takerFee > 0n) credit(recorder, feeAccount.balance(market.quote), takerFee);
      if (makerFee > 0n) credit(recorder, feeAccount.balance(market.base), makerFee);
      if (isLimit) settle(recorder, baseBalance, baseUnits);
      else debit(recorder, baseBalance, baseUnits);
      credit(recorder, quoteBalance, quoteUnits - takerFee);
    }

    if (byQuote) quoteLeft -= quoteUnits;
    else taker.remainingSteps -= fillSteps;
    taker.executedSteps += fillSteps;
    taker.executedQuoteUnits += quoteUnits;
    maker.remainingSteps -= fillSteps;
    maker.executedSteps += fillSteps;
    maker.executedQuoteUnits += quoteUnits;
    level.totalSteps -= fillSteps;
    recorder.levelChanged(market, maker.side, level);
    market.lastPriceTicks = makerTicks;

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
    return reject(
      'RESOURCE_NOT_FOUND',
      `No open order ${orderId !== undefined ? `with id ${orderId}` : `with client id ${clientId}`} on ${market.symbol}.`,
    );
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
  return cancelOpen(state, recorder, found);
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
  for (let order = account.firstOpenOrder; order !== undefined; order = order.accountNext)
    if (order.market === market) victims.push(order);
  return victims.map((order) => cancelOpen(state, recorder, order));
}

/** Cancels an open order at its owner's request: a resting order or a pending trigger order. */
function cancelOpen(state: ExchangeState, recorder: EntryRecorder, order: Order): OrderView {
  return order.status === 'TriggerPending'
    ? cancelPendingTrigger(state, recorder, order, 'Cancelled by its owner.')
    : cancelResting(state, recorder, order, 'Cancelled by its owner.');
}
