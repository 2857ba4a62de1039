/**
 * Every balance movement goes through these functions. Each asserts its
 * preconditions (a movement never takes a field below zero, amounts are not
 * negative) and reports the changed balance to the entry's recorder, so that
 * a bug halts the node (InvariantViolation) instead of running on in a wrong
 * state. The checks are a comparison or two: cheap enough for the fill loop.
 *
 * Fields of a Balance (state.ts): available, locked (open orders'
 * reservations), pendingWithdrawal. Movements between accounts and the
 * lending pools or the coverage pool are in lending-pool.ts and
 * coverage-pool.ts, built from these.
 */
import type { EntryRecorder } from './entry-recorder.js';
import { invariant } from './result-codes.js';
import type { Balance } from './state.js';

function fail(balance: Balance, what: string, units: bigint): never {
  invariant(false, `${what} of ${units} ${balance.asset.symbol} units breaks account ${balance.account.id}'s balance`);
}

/** available → locked (an order's reservation). */
export function lock(recorder: EntryRecorder, balance: Balance, units: bigint): void {
  if (units < 0n || balance.available < units) fail(balance, 'lock', units);
  balance.available -= units;
  balance.locked += units;
  recorder.balanceChanged(balance);
}

/** locked → available (a reservation released). */
export function unlock(recorder: EntryRecorder, balance: Balance, units: bigint): void {
  if (units < 0n || balance.locked < units) fail(balance, 'unlock', units);
  balance.locked -= units;
  balance.available += units;
  recorder.balanceChanged(balance);
}

/** Takes units from available (they move elsewhere: a trade, a pool, a withdrawal). */
export function debit(recorder: EntryRecorder, balance: Balance, units: bigint): void {
  if (units < 0n || balance.available < units) fail(balance, 'debit', units);
  balance.available -= units;
  recorder.balanceChanged(balance);
}

/**
 * debit of −`negativeUnits` (< 0) when available covers it, as one sum (a
 * loss never negated); false, and nothing moved, when it does not.
 */
export function debitIfCovered(recorder: EntryRecorder, balance: Balance, negativeUnits: bigint): boolean {
  if (negativeUnits >= 0n) fail(balance, 'debit', -negativeUnits);
  const left = balance.available + negativeUnits;
  if (left < 0n) return false;
  balance.available = left;
  recorder.balanceChanged(balance);
  return true;
}

/** Adds units to available (they came from elsewhere: a trade, a pool, a deposit). */
export function credit(recorder: EntryRecorder, balance: Balance, units: bigint): void {
  if (units < 0n) fail(balance, 'credit', units);
  balance.available += units;
  recorder.balanceChanged(balance);
}

/** Consumes locked units a fill settles (the reservation is spent, not released). */
export function settle(recorder: EntryRecorder, balance: Balance, units: bigint): void {
  if (units < 0n || balance.locked < units) fail(balance, 'settle', units);
  balance.locked -= units;
  recorder.balanceChanged(balance);
}

/** available → pendingWithdrawal (a withdrawal requested). */
export function holdForWithdrawal(recorder: EntryRecorder, balance: Balance, units: bigint): void {
  if (units < 0n || balance.available < units) fail(balance, 'withdrawal hold', units);
  balance.available -= units;
  balance.pendingWithdrawal += units;
  recorder.balanceChanged(balance);
}

/** pendingWithdrawal leaves (completed) or returns to available (failed). */
export function releaseWithdrawal(recorder: EntryRecorder, balance: Balance, units: bigint, completed: boolean): void {
  if (units < 0n || balance.pendingWithdrawal < units) fail(balance, 'withdrawal release', units);
  balance.pendingWithdrawal -= units;
  if (!completed) balance.available += units;
  recorder.balanceChanged(balance);
}
