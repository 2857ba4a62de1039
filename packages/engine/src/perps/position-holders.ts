/**
 * The holders of positions (docs/perps.md, "Liquidation and ADL"): per
 * perpetual market, the accounts with an open position on it, read from the
 * market's position index (position-queue.ts, derived state kept up to date
 * where a position opens, is realised or closes, and rebuilt from the
 * accounts' positions after decoding), so the keeper and auto-deleveraging
 * read the holders of positions without a sweep over all accounts. The
 * holders come in no defined order: every reader sorts (by account ordinal)
 * or ranks with a total order before it depends on an order.
 */
import type { Account, ExchangeState } from '../state.js';
import { marketPositionsOf } from './position-queue.js';

/** The accounts holding a position on the market with index `marketIndex` (in no defined order). */
export function* positionHoldersOf(state: ExchangeState, marketIndex: number): Generator<Account> {
  const market = state.markets[marketIndex];
  if (market?.perp === undefined) return;
  for (const node of marketPositionsOf(state, market).holders.values()) yield node.account;
}

/** Every account holding a position on any market, each once, by ordinal. */
export function accountsHoldingPositions(state: ExchangeState): Account[] {
  const accounts = new Set<Account>();
  for (const market of state.markets) {
    if (market.perp === undefined) continue;
    for (const account of positionHoldersOf(state, market.index)) accounts.add(account);
  }
  return [...accounts].sort((left, right) => left.ordinal - right.ordinal);
}
