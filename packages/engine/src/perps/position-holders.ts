/**
 * The holders of positions (docs/perps.md, "Liquidation and ADL"): per
 * perpetual market, the set of accounts with an open position on it. It is
 * derived state, kept up to date where a position opens or closes
 * (movePosition) and rebuilt when the state is decoded, so the keeper and
 * auto-deleveraging read the holders of positions without a sweep over all
 * accounts. Sets iterate in insertion order, which differs between a node
 * that applied the log and one that decoded a snapshot: every reader sorts
 * (by account ordinal) or ranks with a total order before it depends on an
 * order.
 */
import type { Account, ExchangeState } from '../state.js';

const noHolders: ReadonlySet<Account> = new Set();

/** Records whether `account` holds a position on the market with index `marketIndex`. */
export function notePositionHolder(state: ExchangeState, account: Account, marketIndex: number, holds: boolean): void {
  let holders = state.positionHolders.get(marketIndex);
  if (holds) {
    if (holders === undefined) {
      holders = new Set();
      state.positionHolders.set(marketIndex, holders);
    }
    holders.add(account);
  } else holders?.delete(account);
}

/** The accounts holding a position on the market (in no defined order). */
export function positionHoldersOf(state: ExchangeState, marketIndex: number): ReadonlySet<Account> {
  return state.positionHolders.get(marketIndex) ?? noHolders;
}

/** Every account holding a position on any market, each once, by ordinal. */
export function accountsHoldingPositions(state: ExchangeState): Account[] {
  const accounts = new Set<Account>();
  for (const holders of state.positionHolders.values()) for (const account of holders) accounts.add(account);
  return [...accounts].sort((left, right) => left.ordinal - right.ordinal);
}
