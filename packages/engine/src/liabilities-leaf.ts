/**
 * What one liabilities-tree leaf holds (docs/attestation.md, "Claims and
 * debts"): per asset, the account's claim (its physical funds and what it
 * lends, with interest) and its debt (what it borrows, with interest), both
 * at the state's log time.
 *
 * Interest changes lent and borrowed amounts as log time passes, with no
 * entry touching the account. So at each update the tree refreshes the
 * leaves of the accounts that hold a position (state.lenders and
 * state.borrowers), and of those that held one at the previous update (a
 * position can close without a balance moving): bounded by the position
 * holders, never a sweep over all accounts.
 */
import { hash as oneShotHash } from 'node:crypto';
import { uint128Limit } from './attestation.js';
import { accountCommitment, exitLeafHashPrefix } from './inclusion-proof.js';
import { borrowedUnitsAtIndex, indexesAt, lentUnitsAtIndex, type PoolIndexes } from './lending-pool.js';
import type { Account, Balance, ExchangeState } from './state.js';

const hashLengthBytes = 32;
const uint64Mask = (1n << 64n) - 1n;

/** Each asset's lending-pool indexes brought to `timeMs`, by asset index; undefined for one not borrowable. */
export function poolIndexesAt(state: ExchangeState, timeMs: number): (PoolIndexes | undefined)[] {
  return state.assets.map((asset) => (asset.margin === undefined ? undefined : indexesAt(asset.margin, timeMs)));
}

/**
 * A balance's claim: available + locked + pendingWithdrawal + lent units
 * (⌊lendScaled × supplyIndex / wad⌋, rounded down). Zero terms are skipped:
 * each bigint sum allocates.
 */
export function leafClaim(balance: Balance, indexes: PoolIndexes | undefined): bigint {
  let claim = balance.available;
  if (balance.locked !== 0n) claim += balance.locked;
  if (balance.pendingWithdrawal !== 0n) claim += balance.pendingWithdrawal;
  if (balance.lendScaled !== 0n) claim += lentUnitsAtIndex(balance.lendScaled, indexes!.supplyIndex);
  return claim;
}

/** A balance's debt: borrowed units, ⌈borrowScaled × borrowIndex / wad⌉ (rounded up). */
export function leafDebt(balance: Balance, indexes: PoolIndexes | undefined): bigint {
  return balance.borrowScaled === 0n ? 0n : borrowedUnitsAtIndex(balance.borrowScaled, indexes!.borrowIndex);
}

/** Writes `amount` as a big-endian u128 at `offset`; false when it is outside [0, 2^128). */
export function writeLeafAmount(view: DataView, offset: number, amount: bigint): boolean {
  if (amount > 0n && amount <= uint64Mask) {
    view.setBigUint64(offset + 8, amount);
    return true;
  }
  if (amount < 0n || amount >= uint128Limit) return false;
  view.setBigUint64(offset, amount >> 64n);
  view.setBigUint64(offset + 8, amount & uint64Mask);
  return true;
}

/** The ordinals of the accounts that lend or borrow, ascending without repeats. */
export function positionHolderOrdinals(state: ExchangeState): number[] {
  const ordinals: number[] = [];
  for (const account of state.lenders) ordinals.push(account.ordinal);
  for (const account of state.borrowers) if (account.lendCount === 0) ordinals.push(account.ordinal);
  return ordinals.sort((left, right) => left - right);
}

/** 0x02 ‖ commitment ‖ exitAddress ‖ sums, from a plain leaf's input 0x00 ‖ commitment ‖ sums. */
export function exitLeafInput(leafInput: Buffer, exitAddress: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.of(exitLeafHashPrefix),
    leafInput.subarray(1, 1 + hashLengthBytes),
    exitAddress,
    leafInput.subarray(1 + hashLengthBytes),
  ]);
}

/**
 * The exit address an older version's leaf record was hashed with: the
 * account's (an address never changes once linked) when the record is an
 * exit leaf, undefined when the account linked it only later.
 */
export function exitAddressOfLeaf(record: Uint8Array, account: Account): Uint8Array | undefined {
  if (account.exitAddress === undefined) return undefined;
  const commitment = accountCommitment(new Uint8Array(Buffer.from(account.id, 'base64')), account.salt);
  const sums = record.subarray(hashLengthBytes);
  const input = Buffer.concat([Buffer.of(exitLeafHashPrefix), commitment, account.exitAddress, sums]);
  const held = Buffer.from(record.subarray(0, hashLengthBytes)).toString('hex');
  return oneShotHash('sha256', input, 'hex') === held ? account.exitAddress.slice() : undefined;
}
