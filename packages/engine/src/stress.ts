/**
 * The stress figure (docs/margin.md, section 13; docs/attestation.md,
 * "Stress figure"): per asset, the system's shortfall if every price moved
 * against the borrowers by the asset's stressShock and everything were
 * liquidated at those prices. Only accounts that borrow take part
 * (state.borrowers, a set the lending pool maintains incrementally as
 * borrows open and close), so the cost is O(borrowers × their assets),
 * never O(accounts).
 *
 * Deterministic: each borrower's shortfall is an integer computed from that
 * account alone and the figure is their sum, so the order of the set does
 * not matter; the borrowers are still visited in ordinal order (a sort per
 * call, about 5 % of the cost at 100,000 borrowers; docs/benchmarks.md), so
 * the visit order is the log's whatever the set's insertion history.
 *
 * What does not depend on the account (the indexes accrued to `timeMs`, the
 * shocked prices) is computed once per asset per call, not per balance.
 */
import { currentLendScaled, indexesAt } from './lending-pool.js';
import { settlementDecimals } from './health.js';
import { shiftedPrice, valueUnits } from './index-prices.js';
import { collateralShareUnits, coverageShareWeight } from './coverage-pool.js';
import { divideDown, divideUp, multiplyDown, wad } from './margin-fixed-point.js';
import type { Account, Asset, ExchangeState } from './state.js';

/** One asset's figures at the stressed time, shared by every borrower. */
interface StressedAsset {
  readonly borrowIndex: bigint;
  readonly supplyIndex: bigint;
  /** The index price moved down by the shock (holdings), and up by it (debts). */
  readonly heldPrice: bigint;
  readonly owedPrice: bigint;
}

/** Per asset index: its stressed figures, or undefined when it is not borrowable or has no price (worth nothing). */
function stressedAssets(state: ExchangeState, timeMs: number): Array<StressedAsset | undefined> {
  return state.assets.map((asset: Asset) => {
    const margin = asset.margin;
    if (margin === undefined || margin.indexPrice === 0n) return undefined;
    const { borrowIndex, supplyIndex } = indexesAt(margin, timeMs);
    const shock = margin.parameters.stressShock;
    return {
      borrowIndex,
      supplyIndex,
      heldPrice: shiftedPrice(margin.indexPrice, shock, false),
      owedPrice: shiftedPrice(margin.indexPrice, shock, true),
    };
  });
}

/** The shortfall per asset index in settlement units (zero for assets without debt), rounded up. */
export function stressFigure(state: ExchangeState, timeMs: number): bigint[] {
  const shortfall = state.assets.map(() => 0n);
  const stressed = stressedAssets(state, timeMs);
  const decimals = settlementDecimals(state);
  const borrowers = [...state.borrowers].sort((left, right) => left.ordinal - right.ordinal);
  for (const account of borrowers) addAccountShortfall(account, stressed, decimals, shortfall);
  return shortfall;
}

function addAccountShortfall(
  account: Account,
  stressed: ReadonlyArray<StressedAsset | undefined>,
  decimals: number,
  shortfall: bigint[],
): void {
  let collateral = 0n;
  let debts = 0n;
  const debtValues: Array<[number, bigint]> = [];
  for (const balance of account.balances) {
    if (balance === undefined) continue;
    const asset = stressed[balance.asset.index];
    if (asset === undefined) continue;
    // Lent units round down and borrowed units up, as lentUnits and borrowedUnits do (lending-pool.ts).
    const lendScaled = currentLendScaled(balance);
    const lent = lendScaled === 0n ? 0n : divideDown(lendScaled * asset.supplyIndex, wad);
    const held = balance.available + balance.locked + lent;
    // Holdings fall by the shock (rounded down), debts rise by it (rounded up).
    if (held > 0n) collateral += valueUnits(held, balance.asset, asset.heldPrice, decimals, false);
    // Coverage-pool shares count at coverageShareWeight of their shocked value, rounded down (margin.md 9a).
    const shareUnits = collateralShareUnits(balance.asset.margin!.coveragePool, account);
    if (shareUnits > 0n) {
      const value = valueUnits(shareUnits, balance.asset, asset.heldPrice, decimals, false);
      collateral += multiplyDown(value, coverageShareWeight);
    }
    if (balance.borrowScaled === 0n) continue;
    const owed = divideUp(balance.borrowScaled * asset.borrowIndex, wad);
    const value = valueUnits(owed, balance.asset, asset.owedPrice, decimals, true);
    debts += value;
    debtValues.push([balance.asset.index, value]);
  }
  if (debts <= collateral) return;
  // The deficit is attributed to the debt assets in proportion to their shocked value, each share rounded up.
  const deficit = debts - collateral;
  for (const [index, value] of debtValues) shortfall[index]! += divideUp(deficit * value, debts);
}
