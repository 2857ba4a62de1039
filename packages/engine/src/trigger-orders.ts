/**
 * Trigger orders (docs/matching.md, section 8): orders that wait, pending and
 * out of the book, until the market's last price reaches their trigger
 * price, and the take-profit and stop-loss orders attached to an order. A
 * firing order passes the same admission checks as a new order and executes
 * like one (order-admission.ts, order-execution.ts).
 */
import type { EntryRecorder } from './entry-recorder.js';
import type { OrderView } from './events.js';
import type { Side } from './instruction.js';
import { maximumTriggersPerEntry } from './limits.js';
import { perpOrderRefusal } from './perps/perp-orders.js';
import { admit, type OrderParameters } from './order-admission.js';
import { executeOrder } from './order-execution.js';
import { forget, newOrder, viewOrder, type OrderFields } from './open-orders.js';
import { invariant, reject, type Rejection } from './result-codes.js';
import type { Account, ExchangeState, Order } from './state.js';

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

export function cancelPendingTrigger(
  state: ExchangeState,
  recorder: EntryRecorder,
  order: Order,
  reason: string,
): OrderView {
  removePendingTrigger(state, order);
  forget(state, order);
  order.status = 'Cancelled';
  const view = viewOrder(order);
  recorder.events.push({ type: 'orderUpdated', order: view, reason });
  return view;
}

export function placeTriggerOrder(
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
  params: OrderFields,
  triggerPriceTicks: bigint,
  rising: boolean,
): Order {
  const order = newOrder(state, recorder, account, side, params, undefined);
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
export function placeAttached(
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
  // A perpetual's order meets its open interest limit and initial margin when it fires (perps/perp-orders.ts).
  const perpRefusal =
    market.perp === undefined ? undefined : perpOrderRefusal(state, order.account, params, recorder.timeMs);
  const needed = perpRefusal ?? admit(params, order.account);
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
