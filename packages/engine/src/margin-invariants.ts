/**
 * The margin invariants (docs/margin.md, "Invariants"), checked in full by
 * checkInvariants(): per borrowable asset the positions add up to the pool's
 * totals, no balance both lends and borrows, the pool is solvent (cash +
 * debts ≥ claims), the borrower and lender counts and sets agree, and the coverage
 * pool's shares add up. Returns the units each asset's pools hold, which the
 * conservation check adds to the accounts' balances.
 */
import { currentLendScaled, totalBorrowedUnits, totalLentUnits } from './lending-pool.js';
import type { Balance, ExchangeState } from './state.js';
import { checkPerpInvariants } from './perps/perp-invariants.js';

/** The lend counts and the lenders set agree with the positions (the tree refreshes exactly these leaves). */
function checkLenders(state: ExchangeState, fail: (message: string) => never): void {
  let lenders = 0;
  for (const account of state.accountList) {
    let lending = 0;
    for (const balance of account.balances) if (balance !== undefined && balance.lendScaled > 0n) lending += 1;
    if (lending !== account.lendCount)
      fail(`account ${account.id} lends ${lending} assets but counts ${account.lendCount}`);
    if (lending > 0 !== state.lenders.has(account)) fail(`account ${account.id} is misfiled among the lenders`);
    if (lending > 0) lenders += 1;
  }
  if (lenders !== state.lenders.size) fail(`${state.lenders.size} lenders listed but ${lenders} lend`);
}

/** A lend carries the epoch it was opened in, never a later one than its pool's; no lend, epoch 0 (canonical). */
function checkLendEpoch(balance: Balance, fail: (message: string) => never): void {
  const supplyEpoch = balance.asset.margin?.lendingPool.supplyEpoch ?? 0;
  if (
    balance.lendEpoch < 0 ||
    balance.lendEpoch > supplyEpoch ||
    (balance.lendScaled === 0n && balance.lendEpoch !== 0)
  )
    fail(`account ${balance.account.id} has an invalid ${balance.asset.symbol} lend epoch`);
}

export function checkMarginInvariants(state: ExchangeState, fail: (message: string) => never): bigint[] {
  const held = state.assets.map(() => 0n);
  const supplyScaled = state.assets.map(() => 0n);
  const borrowScaled = state.assets.map(() => 0n);
  let borrowers = 0;
  for (const account of state.accountList) {
    let borrowing = 0;
    for (const balance of account.balances) {
      if (balance === undefined) continue;
      const index = balance.asset.index;
      if (balance.lendScaled < 0n || balance.borrowScaled < 0n)
        fail(`account ${account.id} has a negative ${balance.asset.symbol} position`);
      if (balance.lendScaled > 0n && balance.borrowScaled > 0n)
        fail(`account ${account.id} both lends and borrows ${balance.asset.symbol}`);
      if ((balance.lendScaled > 0n || balance.borrowScaled > 0n) && balance.asset.margin === undefined) {
        fail(`account ${account.id} has a position in ${balance.asset.symbol}, which is not borrowable`);
      }
      checkLendEpoch(balance, fail);
      // An expired lend (an earlier supply epoch) left the pool's total when its epoch ended.
      if (balance.lendScaled > 0n) supplyScaled[index]! += currentLendScaled(balance);
      borrowScaled[index]! += balance.borrowScaled;
      if (balance.borrowScaled > 0n) borrowing += 1;
    }
    if (borrowing !== account.borrowCount)
      fail(`account ${account.id} borrows ${borrowing} assets but counts ${account.borrowCount}`);
    if (borrowing > 0 !== state.borrowers.has(account)) fail(`account ${account.id} is misfiled among the borrowers`);
    if (borrowing > 0) borrowers += 1;
  }
  if (borrowers !== state.borrowers.size) fail(`${state.borrowers.size} borrowers listed but ${borrowers} borrow`);
  checkLenders(state, fail);
  for (const asset of state.assets) {
    const margin = asset.margin;
    if (margin === undefined) continue;
    const pool = margin.lendingPool;
    const coverage = margin.coveragePool;
    if (pool.totalSupplyScaled !== supplyScaled[asset.index] || pool.totalBorrowScaled !== borrowScaled[asset.index]) {
      fail(`${asset.symbol}: the lending pool's totals disagree with the positions`);
    }
    if (pool.cashUnits < 0n || coverage.holdingsUnits < 0n) fail(`${asset.symbol}: a pool holds a negative amount`);
    if (pool.cashUnits + totalBorrowedUnits(pool) < totalLentUnits(pool))
      fail(`${asset.symbol}: the lending pool is insolvent`);
    let shares = 0n;
    for (const [account, owned] of coverage.shares) {
      if (owned <= 0n) fail(`${asset.symbol}: account ${account.id} holds no coverage shares but is listed`);
      shares += owned;
    }
    if (shares !== coverage.totalShares) fail(`${asset.symbol}: coverage pool shares do not add up`);
    for (const [account, request] of coverage.withdrawalRequests) {
      if (request.shares <= 0n || request.shares > (coverage.shares.get(account) ?? 0n)) {
        fail(`${asset.symbol}: account ${account.id} requests more coverage shares than it holds`);
      }
    }
    held[asset.index] = pool.cashUnits + coverage.holdingsUnits;
  }
  const perpetuals = checkPerpInvariants(state, fail);
  return held.map((units, index) => units + perpetuals[index]!);
}
