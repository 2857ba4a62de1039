/**
 * Open orders as the book and the accounts hold them: their views, the funds
 * a resting order keeps locked, and taking an order out of the book and the
 * indexes again (docs/matching.md, sections 4.1 and 5).
 */
import { unlock } from './balance-movements.js';
import type { EntryRecorder } from './entry-recorder.js';
import type { OrderView } from './events.js';
import type { Side } from './instruction.js';
import type { OrderParameters } from './order-admission.js';
import type { BookSide } from './order-book.js';
import { perpOrderClosed } from './perps/resting-perp-orders.js';
import { invariant } from './result-codes.js';
import { Order, type Account, type ExchangeState, type Market } from './state.js';

/** What an accepted order is made from, besides its side and quote quantity. */
export type OrderFields = Pick<
  OrderParameters,
  | 'market'
  | 'orderType'
  | 'priceTicks'
  | 'quantitySteps'
  | 'timeInForce'
  | 'postOnly'
  | 'selfTradePrevention'
  | 'clientId'
> & {
  /** Perpetuals: the order only reduces the position (docs/perps.md, section 4a). */
  readonly reduceOnly?: boolean;
};

/** An accepted order: it takes the next order id and the entry's log time; a market order has price zero. */
export function newOrder(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  side: Side,
  fields: OrderFields,
  quoteQuantityUnits: bigint | undefined,
): Order {
  const order = new Order(
    state.nextOrderId,
    account,
    fields.market,
    side,
    fields.orderType,
    fields.orderType === 'Limit' ? fields.priceTicks : 0n,
    fields.quantitySteps,
    quoteQuantityUnits,
    fields.timeInForce,
    fields.postOnly,
    fields.selfTradePrevention,
    fields.clientId,
    recorder.timeMs,
  );
  if (fields.reduceOnly === true) order.reduceOnly = true;
  state.nextOrderId += 1;
  return order;
}

export function viewOrder(order: Order): OrderView {
  const view: { -readonly [Field in keyof OrderView]: OrderView[Field] } = {
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
  // Only a reduce-only order carries the field, so every other view (and its history record) is as before. Added
  // in place, last (the key order a copy had): a spread copy of the view cost a clone of all its fields.
  if (order.reduceOnly) view.reduceOnly = true;
  return view;
}

/**
 * Funds a resting order holds locked, in quote units for bids and base units
 * for asks. A perpetual's orders lock nothing: their margin is the account's
 * cross-margin health, checked at admission (docs/perps.md).
 */
export function reservationUnits(order: Order): bigint {
  const market = order.market;
  if (market.perp !== undefined) return 0n;
  return order.side === 'Bid'
    ? order.remainingSteps * order.priceTicks * market.quoteUnitsPerStepTick
    : order.remainingSteps * market.stepUnits;
}

export function bookOf(market: Market, side: Side): BookSide {
  return side === 'Bid' ? market.bids : market.asks;
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
  if (market.perp !== undefined) perpOrderClosed(order);
  side.remove(order);
  recorder.levelChanged(market, order.side, level);
  forget(state, order);
}

/** Takes an order out of the open-order indexes (the book is the caller's business). */
export function forget(state: ExchangeState, order: Order): void {
  state.changes.accountChanged(order.account);
  state.orders.delete(order.id);
  order.account.removeOpenOrder(order);
  if (order.clientId !== undefined) order.account.openOrdersByClientId.delete(order.clientId);
}

/** Takes a resting order out of the book as Cancelled (or, taken out by a rule rather than a request, Expired). */
export function cancelResting(
  state: ExchangeState,
  recorder: EntryRecorder,
  order: Order,
  reason: string,
  status: 'Cancelled' | 'Expired' = 'Cancelled',
): OrderView {
  closeResting(state, recorder, order);
  order.status = status;
  const view = viewOrder(order);
  recorder.events.push({ type: 'orderUpdated', order: view, reason });
  return view;
}
