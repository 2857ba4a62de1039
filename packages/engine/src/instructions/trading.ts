/** orderExecute, orderCancel and orderCancelAll (docs/matching.md). */
import { record } from '../instruction-result.js';
import { cancelAllOrders, cancelOrder, placeOrder, type AttachedViews } from '../matching.js';
import { placeMarginOrder } from '../margin-orders.js';
import { resolveOrderRequest } from '../order-request.js';
import { placePerpOrder } from '../perps/perp-orders.js';
import { isRejection, reject } from '../result-codes.js';
import type { ExchangeState } from '../state.js';
import type { InstructionHandlers } from './instruction-table.js';

function isBorrower(state: ExchangeState, signer: string): boolean {
  return (state.accounts.get(signer)?.borrowCount ?? 0) > 0;
}

export const tradingHandlers: InstructionHandlers<'orderExecute' | 'orderCancel' | 'orderCancelAll'> = {
  orderExecute(state, recorder, signer, instruction, results) {
    for (const request of instruction.orders) {
      const params = resolveOrderRequest(state, request);
      if (isRejection(params)) {
        record(results, params);
        continue;
      }
      const attached: AttachedViews = {};
      // Margin flags, or an account that borrows, take the margin path; plain spot orders stay on the fast one.
      const order =
        params.market.perp !== undefined
          ? placePerpOrder(state, recorder, signer, params, attached)
          : params.margin === undefined && (state.borrowers.size === 0 || !isBorrower(state, signer))
            ? placeOrder(state, recorder, signer, params, attached)
            : placeMarginOrder(state, recorder, signer, params, params.margin, attached);
      const hasAttached = attached.takeProfit !== undefined || attached.stopLoss !== undefined;
      record(
        results,
        isRejection(order) ? order : hasAttached ? { kind: 'order', order, attached } : { kind: 'order', order },
      );
    }
  },
  orderCancel(state, recorder, signer, instruction, results) {
    const market = state.marketsBySymbol.get(instruction.symbol);
    if (market === undefined)
      return record(results, reject('INVALID_MARKET', `Market ${instruction.symbol} does not exist.`));
    const order = cancelOrder(state, recorder, signer, market, instruction.orderId, instruction.clientId);
    record(results, isRejection(order) ? order : { kind: 'order', order });
  },
  orderCancelAll(state, recorder, signer, instruction, results) {
    const market = state.marketsBySymbol.get(instruction.symbol);
    if (market === undefined)
      return record(results, reject('INVALID_MARKET', `Market ${instruction.symbol} does not exist.`));
    record(results, { kind: 'orders', orders: cancelAllOrders(state, recorder, signer, market) });
  },
};
