/**
 * A liquidation's system order (docs/margin.md, section 8; docs/perps.md,
 * section 6a): an IOC limit order of the liquidated account, self-trade
 * prevention `RejectTaker` (its own orders are already cancelled), which
 * walks the book like any taker and settles as the market settles.
 */
import type { EntryRecorder } from './entry-recorder.js';
import { placeOrder } from './matching.js';
import type { ResolvedOrder } from './order-request.js';
import type { ExchangeState, Market } from './state.js';

export function placeSystemOrder(
  state: ExchangeState,
  recorder: EntryRecorder,
  accountId: string,
  market: Market,
  side: 'Bid' | 'Ask',
  priceTicks: bigint,
  quantitySteps: bigint,
): void {
  // Every field of a resolved order (order-request.ts), in its order, though a system order has no trigger,
  // margin flags or reduce-only: the matching code then sees one hidden class for all takers it plans, not two.
  const order: ResolvedOrder = {
    triggerPriceTicks: undefined,
    takeProfit: undefined,
    stopLoss: undefined,
    market,
    side,
    orderType: 'Limit',
    priceTicks,
    quantitySteps,
    quoteQuantityUnits: undefined,
    timeInForce: 'IOC',
    postOnly: false,
    selfTradePrevention: 'RejectTaker',
    clientId: undefined,
    margin: undefined,
    reduceOnly: false,
  };
  placeOrder(state, recorder, accountId, order);
}
