/**
 * The coverage pool (docs/margin.md, "Coverage pool"): one per borrowable
 * asset. Underwriters deposit the asset and receive shares; a withdrawal is
 * requested first and completed only after the listing's delay, so the pool
 * cannot be drained just before a loss. The pool pays out only by the
 * liquidation rules (liquidation.ts): it repays debts a liquidation leaves
 * and takes over what the account has left; it receives liquidation fees.
 * Shares are minted rounded down and redeemed rounded down.
 */
import { credit, debit } from './balance-movements.js';
import type { EntryRecorder } from './entry-recorder.js';
import { accountHealth, meetsInitialMargin } from './health.js';
import type { TraderInstruction } from './instruction.js';
import { divideDown, wad } from './margin-fixed-point.js';
import type { CoveragePool } from './margin-state.js';
import type { CoveragePoolView } from './margin-views.js';
import { parseAmountUnits } from './order-request.js';
import { invariant, reject, type Rejection } from './result-codes.js';
import type { Account, Asset, ExchangeState } from './state.js';

type Deposit = Extract<TraderInstruction, { kind: 'coveragePoolDeposit' }>;
type WithdrawRequest = Extract<TraderInstruction, { kind: 'coveragePoolWithdrawRequest' }>;
type Withdraw = Extract<TraderInstruction, { kind: 'coveragePoolWithdraw' }>;

function poolOf(state: ExchangeState, symbol: string): { asset: Asset; pool: CoveragePool } | Rejection {
  const asset = state.assetsBySymbol.get(symbol);
  if (asset?.margin === undefined) return reject('INVALID_ASSET', `${symbol} has no coverage pool.`, 'notBorrowable');
  return { asset, pool: asset.margin.coveragePool };
}

function view(
  account: Account,
  asset: Asset,
  pool: CoveragePool,
  action: CoveragePoolView['action'],
  units: bigint,
  shares: bigint,
): CoveragePoolView {
  return {
    account: account.id,
    asset: asset.symbol,
    action,
    units,
    shares,
    poolHoldingsUnits: pool.holdingsUnits,
    poolTotalShares: pool.totalShares,
  };
}

/** Net equity − initial requirement at `timeMs`. */
function marginSurplus(state: ExchangeState, account: Account, timeMs: number): bigint {
  const health = accountHealth(state, account, timeMs);
  return health.netEquity - health.initialRequirement;
}

/** Shares for a deposit of `units`: 1:1 into an empty pool, else units × shares ÷ holdings, rounded down. */
export function sharesForDeposit(pool: CoveragePool, units: bigint): bigint {
  return pool.totalShares === 0n ? units : divideDown(units * pool.totalShares, pool.holdingsUnits);
}

/** Units `shares` redeem: shares × holdings ÷ total shares, rounded down. */
export function unitsForShares(pool: CoveragePool, shares: bigint): bigint {
  return pool.totalShares === 0n ? 0n : divideDown(shares * pool.holdingsUnits, pool.totalShares);
}

export function depositToCoveragePool(
  state: ExchangeState,
  recorder: EntryRecorder,
  signer: string,
  deposit: Deposit,
): CoveragePoolView | Rejection {
  const found = poolOf(state, deposit.symbol);
  if ('code' in found) return found;
  const { asset, pool } = found;
  const units = parseAmountUnits(asset.decimals, deposit.quantity, 'Quantity');
  if (typeof units !== 'bigint') return units;
  const account = state.accounts.get(signer);
  const available = account?.availableOf(asset) ?? 0n;
  if (account === undefined || available < units)
    return reject('INSUFFICIENT_FUNDS', `The deposit needs ${units} units; ${available} are available.`);
  if (pool.totalShares > 0n && pool.holdingsUnits === 0n) {
    return reject(
      'COVERAGE_POOL_LOCKED',
      'The pool paid out everything it held; its shares are worthless and it takes no deposits.',
      'poolExhausted',
    );
  }
  const shares = sharesForDeposit(pool, units);
  if (shares === 0n) return reject('INVALID_QUANTITY', 'The deposit is worth less than one share.', 'belowOneShare');
  const owned = pool.shares.get(account) ?? 0n;
  pool.holdingsUnits += units;
  pool.totalShares += shares;
  pool.shares.set(account, owned + shares);
  // Shares count at half the asset's weight (section 9a): a borrower's deposit must leave its initial margin met.
  const adjustment = { asset, heldUnits: -units, borrowedUnits: 0n };
  if (account.borrowCount > 0 && !meetsInitialMargin(accountHealth(state, account, recorder.timeMs, [adjustment]))) {
    pool.holdingsUnits -= units;
    pool.totalShares -= shares;
    if (owned === 0n) pool.shares.delete(account);
    else pool.shares.set(account, owned);
    return reject(
      'INSUFFICIENT_MARGIN',
      'The deposit would leave the account below its initial margin.',
      'coverageDeposit',
    );
  }
  debit(recorder, account.balance(asset), units);
  return view(account, asset, pool, 'deposit', units, shares);
}

/** Requests a withdrawal of `shares`; a new request replaces the account's earlier one (and restarts the delay). */
export function requestCoverageWithdrawal(
  state: ExchangeState,
  signer: string,
  request: WithdrawRequest,
  timeMs: number,
): CoveragePoolView | Rejection {
  const found = poolOf(state, request.symbol);
  if ('code' in found) return found;
  const { asset, pool } = found;
  const account = state.accounts.get(signer);
  const shares = BigInt(request.shares);
  const owned = account === undefined ? 0n : (pool.shares.get(account) ?? 0n);
  if (account === undefined || shares > owned)
    return reject('INSUFFICIENT_FUNDS', `The account holds ${owned} shares of the ${request.symbol} pool.`, 'shares');
  const earlier = pool.withdrawalRequests.get(account);
  const surplusBefore = account.borrowCount > 0 ? marginSurplus(state, account, timeMs) : 0n;
  pool.withdrawalRequests.set(account, { shares, requestedAtMs: timeMs });
  // Requested shares stop counting as collateral (section 9a): a borrower must keep its initial margin, or
  // at least not fall further below it.
  if (account.borrowCount > 0) {
    const surplus = marginSurplus(state, account, timeMs);
    if (surplus < 0n && surplus < surplusBefore) {
      if (earlier === undefined) pool.withdrawalRequests.delete(account);
      else pool.withdrawalRequests.set(account, earlier);
      return reject(
        'INSUFFICIENT_MARGIN',
        'Requested shares stop counting as collateral; the account would fall below its initial margin.',
        'coverageWithdrawRequest',
      );
    }
  }
  return view(account, asset, pool, 'withdrawRequest', unitsForShares(pool, shares), shares);
}

/** Completes the account's request once the delay has passed, at the pool's value now. */
export function completeCoverageWithdrawal(
  state: ExchangeState,
  recorder: EntryRecorder,
  signer: string,
  request: Withdraw,
): CoveragePoolView | Rejection {
  const found = poolOf(state, request.symbol);
  if ('code' in found) return found;
  const { asset, pool } = found;
  const account = state.accounts.get(signer);
  const pending = account === undefined ? undefined : pool.withdrawalRequests.get(account);
  if (account === undefined || pending === undefined)
    return reject('COVERAGE_POOL_LOCKED', 'No withdrawal request is pending.', 'noRequest');
  const dueAtMs = pending.requestedAtMs + asset.margin!.parameters.coveragePoolWithdrawalDelayMs;
  if (recorder.timeMs < dueAtMs)
    return reject('COVERAGE_POOL_LOCKED', `The withdrawal is due at log time ${dueAtMs}.`, 'delay');
  const owned = pool.shares.get(account) ?? 0n;
  // Shares may only have been requested while owned; they cannot have fallen since (nothing burns them but this).
  invariant(pending.shares <= owned, 'a coverage pool request for more shares than owned');
  const units = unitsForShares(pool, pending.shares);
  pool.holdingsUnits -= units;
  pool.totalShares -= pending.shares;
  if (owned === pending.shares) pool.shares.delete(account);
  else pool.shares.set(account, owned - pending.shares);
  pool.withdrawalRequests.delete(account);
  credit(recorder, account.balance(asset), units);
  return view(account, asset, pool, 'withdraw', units, pending.shares);
}

/** The pool pays up to `units` out of its holdings; returns what it paid (the rule-bound payout of liquidation.ts). */
export function payFromCoveragePool(pool: CoveragePool, units: bigint): bigint {
  const paid = units < pool.holdingsUnits ? units : pool.holdingsUnits;
  pool.holdingsUnits -= paid;
  return paid;
}

/**
 * The weight of coverage-pool shares as collateral (docs/margin.md, "Coverage
 * pool shares as collateral"): one half of the pool asset's own collateral
 * weight. The pool is first in line for every loss, so a share is worth less
 * as collateral than the asset it holds.
 */
export const coverageShareWeight = wad / 2n;

/** The account's shares that count as collateral: those owned and not under a withdrawal request. */
export function collateralShares(pool: CoveragePool, account: Account): bigint {
  if (pool.shares.size === 0) return 0n;
  const owned = pool.shares.get(account);
  if (owned === undefined) return 0n;
  return owned - (pool.withdrawalRequests.get(account)?.shares ?? 0n);
}

/** The units the account's collateral shares redeem now, rounded down (unitsForShares); 0 without shares. */
export function collateralShareUnits(pool: CoveragePool, account: Account): bigint {
  const shares = collateralShares(pool, account);
  return shares === 0n ? 0n : unitsForShares(pool, shares);
}

/**
 * The backstop takes over the account's collateral shares (liquidation.ts):
 * they are burnt and the holdings stay, so every other underwriter's share
 * grows by their value. Returns the shares burnt.
 */
export function forfeitCollateralShares(state: ExchangeState, pool: CoveragePool, account: Account): bigint {
  const shares = collateralShares(pool, account);
  if (shares === 0n) return 0n;
  const owned = pool.shares.get(account)!;
  if (owned === shares) pool.shares.delete(account);
  else pool.shares.set(account, owned - shares);
  pool.totalShares -= shares;
  // The account's leaf claims its shares; no balance moves, so tell the liabilities tree directly.
  if (!account.leafStale) {
    account.leafStale = true;
    state.changedAccounts.push(account);
  }
  return shares;
}

/** Adds units taken over from a liquidated account or paid as a fee. */
export function addToCoveragePool(pool: CoveragePool, units: bigint): void {
  invariant(units >= 0n, 'a negative coverage pool receipt');
  pool.holdingsUnits += units;
}
