/**
 * Shared test helpers: one-order orderExecute instructions, as tests write
 * them to execute and as parser tests expect them back.
 */
import type { Instruction, OrderRequest, Side } from '../src/instruction.js';

/**
 * One order, on SOL_USDC unless `fields` name a symbol: GTC, not post-only,
 * RejectTaker (the parser's defaults) unless `fields` say otherwise.
 */
export function singleOrder(fields: Pick<OrderRequest, 'side' | 'orderType'> & Partial<OrderRequest>): Instruction {
  const order: OrderRequest = {
    symbol: 'SOL_USDC',
    timeInForce: 'GTC',
    postOnly: false,
    selfTradePrevention: 'RejectTaker',
    ...fields,
  };
  return { kind: 'orderExecute', orders: [order] };
}

/**
 * A limit order on SOL_USDC with the defaults of singleOrder and `fields` on
 * top; no quantity key when `quantity` is undefined (a trigger order sized by
 * triggerQuantity).
 */
export function solUsdcLimitOrder(
  side: Side,
  price: string,
  quantity: string | undefined,
  fields: Partial<OrderRequest> = {},
): Instruction {
  return singleOrder({ side, orderType: 'Limit', price, ...(quantity !== undefined ? { quantity } : {}), ...fields });
}
