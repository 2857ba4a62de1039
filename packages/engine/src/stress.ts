/**
 * The stress figure (docs/margin.md, section 14): per asset, the system's
 * shortfall if every price moved against the borrowers by the asset's
 * stressShock and everything were liquidated at those prices. Only accounts
 * that borrow take part (state.borrowers), in ordinal order, so the cost is
 * O(borrowers × their assets), never O(accounts).
 */
import { borrowedUnits, lentUnits } from './lending-pool.js';
import { settlementDecimals } from './health.js';
import { shiftedPrice, valueUnits } from './index-prices.js';
import { divideUp } from './margin-fixed-point.js';
import type { Account, ExchangeState } from './state.js';

/** The shortfall per asset index in settlement units (zero for assets without debt), rounded up. */
export function stressFigure(state: ExchangeState, timeMs: number): bigint[] {
  const shortfall = state.assets.map(() => 0n);
  const borrowers = [...state.borrowers].sort((left, right) => left.ordinal - right.ordinal);
  for (const account of borrowers) addAccountShortfall(state, account, timeMs, shortfall);
  return shortfall;
}

function addAccountShortfall(state: ExchangeState, account: Account, timeMs: number, shortfall: bigint[]): void {
  const decimals = settlementDecimals(state);
  let collateral = 0n;
  let debts = 0n;
  const debtValues: Array<[number, bigint]> = [];
  for (const balance of account.balances) {
    const margin = balance?.asset.margin;
    if (balance === undefined || margin === undefined || margin.indexPrice === 0n) continue;
    const shock = margin.parameters.stressShock;
    const held = balance.available + balance.locked + lentUnits(balance, timeMs);
    // Holdings fall by the shock (rounded down), debts rise by it (rounded up).
    if (held > 0n)
      collateral += valueUnits(held, balance.asset, shiftedPrice(margin.indexPrice, shock, false), decimals, false);
    const owed = borrowedUnits(balance, timeMs);
    if (owed === 0n) continue;
    const value = valueUnits(owed, balance.asset, shiftedPrice(margin.indexPrice, shock, true), decimals, true);
    debts += value;
    debtValues.push([balance.asset.index, value]);
  }
  if (debts <= collateral) return;
  // The deficit is attributed to the debt assets in proportion to their shocked value, each share rounded up.
  const deficit = debts - collateral;
  for (const [index, value] of debtValues) shortfall[index]! += divideUp(deficit * value, debts);
}
