/**
 * USDC movements of perpetual positions (docs/perps.md, "Cash"): a
 * position's realised PnL, funding and fees reach its account's USDC here.
 * A gain is credited and repays the account's USDC borrow, if any; a loss is
 * taken from the available USDC, then from the account's USDC lend (redeemed
 * as far as the pool's cash allows), then borrowed from the USDC lending
 * pool, so a negative USDC balance is a borrow that pays interest. What the
 * pool cannot lend the USDC coverage pool pays; a loss beyond all of these
 * halts (InvariantViolation): liquidation of positions is to keep it from
 * happening. Only the exported movements of lending-pool.ts are used.
 */
import { credit, debit, debitIfCovered } from '../balance-movements.js';
import { payFromCoveragePool } from '../coverage-pool.js';
import type { EntryRecorder } from '../entry-recorder.js';
import { accrue, borrowedUnits, borrowUnits, lentUnits, redeemUnits, repayUnits } from '../lending-pool.js';
import { minimum } from '../margin-fixed-point.js';
import { invariant } from '../result-codes.js';
import type { Account, Asset, Balance, ExchangeState } from '../state.js';

/** Moves `netUnits` (signed, positive: the account gains) between the account's USDC and its perpetual positions. */
export function settlePerpCash(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  usdc: Asset,
  netUnits: bigint,
): void {
  settlePerpCashOf(state, recorder, account.balance(usdc), usdc, netUnits);
}

/** settlePerpCash given the account's USDC `balance` (the sweep and the fill sides keep it on the holding). */
export function settlePerpCashOf(
  state: ExchangeState,
  recorder: EntryRecorder,
  balance: Balance,
  usdc: Asset,
  netUnits: bigint,
): void {
  const margin = usdc.margin;
  const timeMs = recorder.timeMs;
  if (netUnits >= 0n) {
    if (netUnits > 0n) credit(recorder, balance, netUnits);
    if (margin === undefined || balance.borrowScaled === 0n || balance.available === 0n) return;
    accrue(margin, timeMs);
    repayUnits(state, recorder, balance, minimum(balance.available, borrowedUnits(balance, timeMs)), timeMs);
    return;
  }
  // Most losses are paid from the available USDC alone: one sum, no negated loss made.
  if (debitIfCovered(recorder, balance, netUnits)) return;
  let owed = -netUnits;
  const fromAvailable = balance.available;
  if (fromAvailable > 0n) debit(recorder, balance, fromAvailable);
  owed -= fromAvailable;
  invariant(margin !== undefined, `a perpetual loss of ${owed} ${usdc.symbol} units with no lending pool to borrow it`);
  accrue(margin, timeMs);
  const pool = margin.lendingPool;
  // Redeem the lend first: an account never both lends and borrows one asset.
  const redeemed = balance.lendScaled === 0n ? 0n : minimum(owed, minimum(lentUnits(balance, timeMs), pool.cashUnits));
  if (redeemed > 0n) redeemUnits(state, recorder, balance, redeemed, timeMs);
  // A loss is no choice: its borrow is bounded by the pool's cash alone, not by its maximum utilisation.
  const borrowed = balance.lendScaled === 0n ? minimum(owed - redeemed, pool.cashUnits) : 0n;
  if (borrowed > 0n) borrowUnits(state, recorder, balance, borrowed);
  if (redeemed + borrowed > 0n) debit(recorder, balance, redeemed + borrowed);
  owed -= redeemed + borrowed;
  if (owed === 0n) return;
  const covered = payFromCoveragePool(margin.coveragePool, owed);
  const message = `account ${balance.account.id}'s perpetual loss exceeds its USDC, the pool's cash and coverage`;
  invariant(covered === owed, message);
}
