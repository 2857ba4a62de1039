/**
 * Shared test helper: a one-order orderExecute instruction on SOL_USDC, as
 * tests write it to execute and as parser tests expect it back.
 */
import type { Instruction, OrderRequest, Side } from '../src/instruction.js';

/**
 * A GTC limit order on SOL_USDC, not post-only, RejectTaker (the parser's
 * defaults), with `fields` on top; no quantity key when `quantity` is
 * undefined (a trigger order sized by triggerQuantity).
 */
export function solUsdcLimitOrder(
  side: Side,
  price: string,
  quantity: string | undefined,
  fields: Partial<OrderRequest> = {},
): Instruction {
  const order: OrderRequest = {
    symbol: 'SOL_USDC',
    side,
    orderType: 'Limit',
    price,
    ...(quantity !== undefined ? { quantity } : {}),
    timeInForce: 'GTC',
    postOnly: false,
    selfTradePrevention: 'RejectTaker',
    ...fields,
  };
  return { kind: 'orderExecute', orders: [order] };
}
