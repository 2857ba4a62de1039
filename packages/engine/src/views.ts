/**
 * Read-only views of the state for queries. Queries are answered from the
 * state and never logged.
 */
import type { OrderView } from './events.js';
import { viewOrder } from './matching.js';
import type { BookSide } from './order-book.js';
import type { ExchangeState, Market } from './state.js';

export interface DepthLevel {
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
}

function levelsOf(side: BookSide, limit: number): DepthLevel[] {
  const levels: DepthLevel[] = [];
  for (let index = side.levels.length - 1; index >= 0 && levels.length < limit; index -= 1) {
    const level = side.levels[index]!;
    levels.push({ priceTicks: level.priceTicks, quantitySteps: level.totalSteps });
  }
  return levels;
}

/** The best `limit` levels of each side, best first. */
export function depthOf(market: Market, limit: number): { bids: DepthLevel[]; asks: DepthLevel[] } {
  return { bids: levelsOf(market.bids, limit), asks: levelsOf(market.asks, limit) };
}

export interface BalanceView {
  readonly asset: string;
  readonly available: bigint;
  readonly locked: bigint;
  readonly pendingWithdrawal: bigint;
}

/** Every asset's balance of the account, in listing order (zero where it holds none). */
export function balancesOf(state: ExchangeState, accountId: string): BalanceView[] {
  const account = state.accounts.get(accountId);
  return state.assets.map((asset) => {
    const balance = account?.balances[asset.index];
    return {
      asset: asset.symbol,
      available: balance?.available ?? 0n,
      locked: balance?.locked ?? 0n,
      pendingWithdrawal: balance?.pendingWithdrawal ?? 0n,
    };
  });
}

/** The account's open orders, oldest first, optionally on one market. */
export function openOrdersOf(state: ExchangeState, accountId: string, market?: Market): OrderView[] {
  const account = state.accounts.get(accountId);
  if (account === undefined) return [];
  const views: OrderView[] = [];
  for (let order = account.firstOpenOrder; order !== undefined; order = order.accountNext) {
    if (market === undefined || order.market === market) views.push(viewOrder(order));
  }
  return views;
}

export function openOrder(state: ExchangeState, orderId: number): OrderView | undefined {
  const order = state.orders.get(orderId);
  return order === undefined ? undefined : viewOrder(order);
}
