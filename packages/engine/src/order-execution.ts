/**
 * Executing an admitted order: lock its reservation, walk the book with the
 * market's settlement as the sink, then decide its final status and rest or
 * release what is left (docs/matching.md, sections 4.1 to 4.4).
 */
import { lock, unlock } from './balance-movements.js';
import type { EntryRecorder } from './entry-recorder.js';
import type { OrderView } from './events.js';
import { bookOf, forget, reservationUnits, viewOrder } from './open-orders.js';
import { walkBook, type FillSink, type StopReason } from './price-time-walk.js';
import { PerpSettlement } from './perps/perp-settlement.js';
import { perpOrderRested } from './perps/resting-perp-orders.js';
import { SpotSettlement } from './spot-settlement.js';
import type { ExchangeState, Order } from './state.js';

/**
 * The settlement a market's fills go to. Margin orders settle as spot: what
 * they borrow or lend moves before and after the order (margin-orders.ts).
 * A perpetual's fills move positions and USDC instead of base units.
 */
function settlementFor(state: ExchangeState, recorder: EntryRecorder, taker: Order): FillSink {
  if (taker.market.perp !== undefined) return new PerpSettlement(state, recorder, taker);
  return new SpotSettlement(state, recorder, taker);
}

/** The taker's status when its walk stopped (section 4.4). */
function finalStatus(order: Order, stopReason: StopReason): Order['status'] {
  if (stopReason === 'self-trade') return 'Cancelled';
  if (order.quoteQuantityUnits !== undefined) {
    return stopReason === 'budget' && order.executedSteps > 0n ? 'Filled' : 'Expired';
  }
  if (order.remainingSteps === 0n) return 'Filled';
  if (order.orderType === 'Limit' && order.timeInForce === 'GTC' && stopReason !== 'maker-limit') {
    return order.executedSteps === 0n ? 'New' : 'PartiallyFilled';
  }
  return 'Expired';
}

/**
 * Locks, matches and settles an admitted order. `indexed` says whether it is
 * already an open order (a trigger order firing); `reason` is reported with
 * its update. Returns its view, or undefined when nothing happened to a new
 * order since it was accepted (its accepted view then stands).
 */
export function executeOrder(
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
  const reserved = account.balance(order.side === 'Bid' ? market.quote : market.base);
  // A new limit order's reservation is exactly what the funds check required.
  if (isLimit) lock(recorder, reserved, needed);

  const settlement = settlementFor(state, recorder, order);
  const stopReason = walkBook(order, account, order.remainingSteps, settlement);
  settlement.finish?.();
  order.status = finalStatus(order, stopReason);
  if (stopReason === 'self-trade') reason = 'Self-trade prevention cancelled the order.';

  if (order.status === 'New' || order.status === 'PartiallyFilled') {
    const level = bookOf(market, order.side).add(order);
    recorder.levelChanged(market, order.side, level);
    if (market.perp !== undefined) perpOrderRested(order);
    if (!indexed) {
      state.orders.set(order.id, order);
      state.changes.accountChanged(account);
      account.addOpenOrder(order);
      if (order.clientId !== undefined) account.openOrdersByClientId.set(order.clientId, order);
    }
  } else {
    if (indexed) forget(state, order);
    // An unfilled remainder that does not rest gives its reservation back.
    if (isLimit && order.remainingSteps > 0n) unlock(recorder, reserved, reservationUnits(order));
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
