/**
 * Order placement and cancellation on one spot market.
 *
 * Every function here validates completely before it changes anything, so a
 * rejection leaves the state untouched. Funds a resting order may need are
 * locked when it is placed: a bid locks remaining × limit price in quote, an
 * ask locks remaining × step in base. Fees are charged in the asset each side
 * receives, so they never need to be reserved. The rules are specified in
 * docs/matching.md. The pieces live beside this module: the checks
 * (order-admission.ts), the price-time walk and its planning sink
 * (price-time-walk.ts), execution and the settlement sink (order-execution.ts,
 * spot-settlement.ts), open orders (open-orders.ts) and trigger orders
 * (trigger-orders.ts).
 */
import type { EntryRecorder } from './entry-recorder.js';
import type { OrderView } from './events.js';
import { admit, type OrderParameters } from './order-admission.js';
import { executeOrder } from './order-execution.js';
import { cancelResting, newOrder, viewOrder } from './open-orders.js';
import type { PlannedWalk } from './price-time-walk.js';
import { reject, type Rejection } from './result-codes.js';
import { Order, type ExchangeState, type Market } from './state.js';
import {
  cancelPendingTrigger,
  placeAttached,
  placeTriggerOrder,
  type AttachedViews,
  type TriggerParameters,
} from './trigger-orders.js';

export type { OrderParameters } from './order-admission.js';
export { reservationUnits, viewOrder } from './open-orders.js';
export { PlannedWalk, plannedFill, type FillPlan } from './price-time-walk.js';
export { fireTriggers, type AttachedTrigger, type AttachedViews, type TriggerParameters } from './trigger-orders.js';

/**
 * Places an order for `account` (which may not exist yet: it then holds no
 * funds). Returns the order's view after matching, or a rejection with the
 * state unchanged. Attached take-profit and stop-loss orders, if any, are
 * placed after it and their views set in `attachedViews`. `walk` is the
 * order's planned walk if a perpetual's checks made one (perps/perp-orders.ts).
 */
export function placeOrder(
  state: ExchangeState,
  recorder: EntryRecorder,
  accountId: string,
  params: OrderParameters & TriggerParameters,
  attachedViews: AttachedViews = {},
  walk?: PlannedWalk,
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
  const needed = admit(params, account, walk);
  if (typeof needed !== 'bigint') return needed;

  // From here on the order is accepted: it has an id, whatever happens next.
  const order = newOrder(state, recorder, account, params.side, params, params.quoteQuantityUnits);
  const acceptedView = viewOrder(order);
  recorder.events.push({ type: 'orderAccepted', order: acceptedView });
  const view = executeOrder(state, recorder, order, needed, false, undefined) ?? acceptedView;
  if (attachedCount > 0) placeAttached(state, recorder, order, params, attachedViews);
  return view;
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
