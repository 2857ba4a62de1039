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
 *
 * An underwriter's claim also holds its share of its coverage pools'
 * holdings, which sit in no account's balance, so they are counted once.
 * A payout or a fee moves every underwriter's share with no entry touching
 * them, so the tree also refreshes the underwriters of each pool whose
 * holdings or total shares changed since the previous update: bounded by
 * those pools' underwriters.
 */
import { hash as oneShotHash } from 'node:crypto';
import { uint128Limit } from './attestation.js';
import { unitsForShares } from './coverage-pool.js';
import { accountCommitment, commitmentTag, exitLeafHashPrefix } from './inclusion-proof.js';
import { borrowedUnitsAtIndex, indexesAt, isExpiredLend, lentUnitsAtIndex, type PoolIndexes } from './lending-pool.js';
import type { CoveragePool } from './margin-state.js';
import { copyWords, viewOf } from './merkle-bytes.js';
import type { Account, Balance, ExchangeState } from './state.js';

const hashLengthBytes = 32;
const uint64Mask = (1n << 64n) - 1n;

/** Each asset's lending-pool indexes brought to `timeMs`, by asset index; undefined for one not borrowable. */
export function poolIndexesAt(state: ExchangeState, timeMs: number): (PoolIndexes | undefined)[] {
  return state.assets.map((asset) => (asset.margin === undefined ? undefined : indexesAt(asset.margin, timeMs)));
}

/**
 * A balance's claim: available + locked + pendingWithdrawal + lent units
 * (⌊lendScaled × supplyIndex / wad⌋, rounded down) + the account's share of
 * the asset's coverage pool (`poolShare`, underwriterClaim). Zero terms are
 * skipped: each bigint sum allocates.
 */
export function leafClaim(balance: Balance, indexes: PoolIndexes | undefined, poolShare = 0n): bigint {
  let claim = balance.available;
  if (poolShare !== 0n) claim += poolShare;
  if (balance.locked !== 0n) claim += balance.locked;
  if (balance.pendingWithdrawal !== 0n) claim += balance.pendingWithdrawal;
  // A lend of an earlier supply epoch is worth nothing (docs/margin.md, "Supply epochs").
  if (balance.lendScaled !== 0n && !isExpiredLend(balance))
    claim += lentUnitsAtIndex(balance.lendScaled, indexes!.supplyIndex);
  return claim;
}

/** A balance's debt: borrowed units, ⌈borrowScaled × borrowIndex / wad⌉ (rounded up). */
export function leafDebt(balance: Balance, indexes: PoolIndexes | undefined): bigint {
  return balance.borrowScaled === 0n ? 0n : borrowedUnitsAtIndex(balance.borrowScaled, indexes!.borrowIndex);
}

/** By asset index, the coverage pool whose underwriters hold part of its holdings; undefined for any other asset. */
export function underwrittenPools(state: ExchangeState): (CoveragePool | undefined)[] {
  return state.assets.map((asset) => {
    const pool = asset.margin?.coveragePool;
    return pool !== undefined && pool.shares.size > 0 && pool.holdingsUnits > 0n ? pool : undefined;
  });
}

/**
 * The part of `pool`'s holdings in `account`'s claim: its shares ×
 * holdings ÷ total shares, rounded down (unitsForShares, what a withdrawal
 * would pay now), shares requested for withdrawal included until paid. The
 * pool keeps the remainders, so the underwriters' claims never exceed its
 * holdings; holdings with no shares against them (a backstop's takeover
 * into a pool nobody underwrites) are no account's claim.
 */
export function underwriterClaim(pool: CoveragePool | undefined, account: Account): bigint {
  const shares = pool?.shares.get(account);
  return shares === undefined ? 0n : unitsForShares(pool!, shares);
}

/** What the tree remembers of a coverage pool between updates: its holdings and total shares. */
export interface PoolTotals {
  readonly holdingsUnits: bigint;
  readonly totalShares: bigint;
}

/** Each asset's coverage pool totals, by asset index; undefined for one not borrowable. */
export function coveragePoolTotals(state: ExchangeState): (PoolTotals | undefined)[] {
  return state.assets.map((asset) => {
    const pool = asset.margin?.coveragePool;
    return pool === undefined ? undefined : { holdingsUnits: pool.holdingsUnits, totalShares: pool.totalShares };
  });
}

/**
 * The ordinals of the underwriters of every pool whose holdings or total
 * shares differ from `previous` (a payout, a fee, a takeover, a deposit, a
 * withdrawal): each one's share moved. In a pool whose totals did not move,
 * only an account whose shares changed has a new claim, and shares change
 * only by a deposit or withdrawal, which moves its balance too.
 */
export function movedUnderwriterOrdinals(
  state: ExchangeState,
  previous: readonly (PoolTotals | undefined)[],
): number[] {
  const ordinals: number[] = [];
  for (const asset of state.assets) {
    const pool = asset.margin?.coveragePool;
    const before = previous[asset.index];
    if (pool === undefined || pool.shares.size === 0) continue;
    if (before?.holdingsUnits === pool.holdingsUnits && before.totalShares === pool.totalShares) continue;
    for (const account of pool.shares.keys()) ordinals.push(account.ordinal);
  }
  return ordinals;
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

/**
 * Each account's commitment hash (accountCommitment, inclusion-proof.ts), 32
 * bytes by ordinal, hashed once: an account's key and salt never change, and
 * every tree update rewrites the leaf of every account that lends or borrows
 * (docs/benchmarks.md, "Margin attestations"). 32 bytes per account.
 */
export class AccountCommitments {
  private bytes: Buffer = Buffer.alloc(0);
  private view: DataView = viewOf(this.bytes);
  /** The accounts 0 … count − 1 are hashed. */
  private count = 0;
  private readonly input: Buffer = Buffer.alloc(commitmentTag.length + 64);

  constructor() {
    this.input.set(commitmentTag, 0);
  }

  /** Forgets every hash (the tree is rebuilt, possibly over another state). */
  clear(): void {
    this.count = 0;
  }

  /** Writes the commitment of `accounts[ordinal]` at `offset` of `target`, hashing those not hashed yet. */
  write(accounts: readonly Account[], ordinal: number, target: DataView, offset: number): void {
    if (ordinal >= this.count) this.catchUp(accounts, ordinal);
    copyWords(target, offset, this.view, ordinal * 32, ordinal * 32 + 32);
  }

  private catchUp(accounts: readonly Account[], ordinal: number): void {
    if ((ordinal + 1) * 32 > this.bytes.length) {
      const needed = (ordinal + 1) * 32;
      const doubled = 2 * this.bytes.length;
      const grown = Buffer.alloc(needed > doubled ? needed : doubled);
      this.bytes.copy(grown, 0, 0, this.count * 32);
      this.bytes = grown;
      this.view = viewOf(grown);
    }
    const keyOffset = commitmentTag.length;
    for (; this.count <= ordinal; this.count += 1) {
      const account = accounts[this.count]!;
      if (this.input.write(account.id, keyOffset, 32, 'base64') !== 32)
        throw new Error(`liabilities tree: account id ${account.id} is not a 32-byte key`);
      this.input.set(account.salt, keyOffset + 32);
      this.bytes.write(oneShotHash('sha256', this.input, 'binary'), this.count * 32, 32, 'binary');
    }
  }
}
