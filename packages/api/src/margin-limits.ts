/**
 * The account limits (GET /api/v1/account/limits/{borrow,withdrawal,order}):
 * the largest quantity the engine would accept right now. Each is a binary
 * search over the quantity with the engine's own health check
 * (accountHealth with adjustments, the check borrowLendExecute and withdraw
 * run), so the answer and the engine cannot disagree about margin; the pool
 * bounds (cash, maximum utilisation) are the engine's too. Cost: O(log
 * quantity × the account's assets). docs/api.md, "Margin".
 */
import {
  accountHealth,
  lentUnits,
  meetsInitialMargin,
  totalBorrowedUnits,
  totalLentUnits,
  wad,
  type Account,
  type Asset,
  type ExchangeState,
  type HealthAdjustment,
} from '@vex/engine';

/** The largest x in [0, high] with fits(x), for fits true at 0 and monotone (true then false). */
function largestFitting(high: bigint, fits: (units: bigint) => boolean): bigint {
  if (high <= 0n) return 0n;
  if (fits(high)) return high;
  let low = 0n;
  let top = high;
  while (top - low > 1n) {
    const middle = (low + top) / 2n;
    if (fits(middle)) low = middle;
    else top = middle;
  }
  return low;
}

function healthyWith(state: ExchangeState, account: Account, adjustments: HealthAdjustment[]): boolean {
  return meetsInitialMargin(accountHealth(state, account, state.logTimeMs, adjustments));
}

/** What the lending pool can still lend: its cash, and no more than takes utilisation to its maximum. */
export function poolBorrowableUnits(asset: Asset): bigint {
  const margin = asset.margin;
  if (margin === undefined || margin.indexPrice === 0n) return 0n;
  const pool = margin.lendingPool;
  const byUtilization = (totalLentUnits(pool) * margin.parameters.maxUtilization) / wad - totalBorrowedUnits(pool);
  const bound = byUtilization < pool.cashUnits ? byUtilization : pool.cashUnits;
  return bound > 0n ? bound : 0n;
}

/** The largest new borrow of `asset` (beyond redeeming what the account lends) that keeps initial margin. */
export function maximumBorrowUnits(state: ExchangeState, account: Account | undefined, asset: Asset): bigint {
  if (account === undefined) return 0n;
  return largestFitting(poolBorrowableUnits(asset), (units) =>
    healthyWith(state, account, [{ asset, heldUnits: units, borrowedUnits: units }]),
  );
}

/**
 * The largest withdrawal of `asset`: from the available balance, plus (autoLendRedeem) what the account lends,
 * plus (autoBorrow) a borrow for the rest, keeping initial margin.
 */
export function maximumWithdrawalUnits(
  state: ExchangeState,
  account: Account | undefined,
  asset: Asset,
  flags: { readonly autoBorrow: boolean; readonly autoLendRedeem: boolean },
): bigint {
  if (account === undefined) return 0n;
  const own = ownUnits(state, account, asset, flags.autoLendRedeem);
  const borrowable = flags.autoBorrow ? poolBorrowableUnits(asset) : 0n;
  return largestFitting(own + borrowable, (units) => {
    const borrow = units > own ? units - own : 0n;
    return healthyWith(state, account, [{ asset, heldUnits: borrow - units, borrowedUnits: borrow }]);
  });
}

/**
 * What the account could spend of `asset` on an order: available, plus redeemable lends and borrowable units as
 * flagged.
 */
export function spendableUnits(
  state: ExchangeState,
  account: Account | undefined,
  asset: Asset,
  flags: { readonly autoBorrow: boolean; readonly autoLendRedeem: boolean },
): bigint {
  if (account === undefined) return 0n;
  return (
    ownUnits(state, account, asset, flags.autoLendRedeem) +
    (flags.autoBorrow ? maximumBorrowUnits(state, account, asset) : 0n)
  );
}

/** The available balance, plus what the account lends when it may redeem it. */
function ownUnits(state: ExchangeState, account: Account, asset: Asset, autoLendRedeem: boolean): bigint {
  const balance = account.balances[asset.index];
  if (balance === undefined) return 0n;
  return balance.available + (autoLendRedeem ? lentUnits(balance, state.logTimeMs) : 0n);
}
