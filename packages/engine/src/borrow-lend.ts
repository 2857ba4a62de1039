/**
 * borrowLendExecute and accountUpdate (docs/margin.md, "Borrow and lend").
 *
 * Backpack semantics: one net position per asset, positive when lent and
 * negative when borrowed. A Lend first repays an open borrow and lends only
 * the rest; a Borrow first redeems an open lend and borrows only the rest.
 * Every check runs on the pool brought forward to the entry's log time; a
 * rejection puts the pool's indexes back, so a rejected entry changes nothing.
 */
import type { EntryRecorder } from './entry-recorder.js';
import { accountHealth, accountHealthTerms, adjustedHealth, meetsInitialMargin, type HealthTerms } from './health.js';
import type { TraderInstruction } from './instruction.js';
import {
  accrualDue,
  accrue,
  borrowedUnits,
  borrowUnits,
  lendUnits,
  lentUnits,
  redeemUnits,
  repayUnits,
  utilizationAfter,
} from './lending-pool.js';
import { parseFraction, wad } from './margin-fixed-point.js';
import type { AssetMargin } from './margin-state.js';
import type { BorrowLendView } from './margin-views.js';
import { parseAmountUnits } from './order-request.js';
import { reject, type Rejection } from './result-codes.js';
import type { Account, Asset, Balance, ExchangeState } from './state.js';

type BorrowLendExecute = Extract<TraderInstruction, { kind: 'borrowLendExecute' }>;
type AccountUpdate = Extract<TraderInstruction, { kind: 'accountUpdate' }>;

/** The largest leverage limit an account may set. */
export const maximumLeverageLimit = 50n * wad;

/** Pools brought forward during an instruction, so a rejection can put their indexes back exactly. */
export class PoolSavepoint {
  /** Allocated at the first pool that accrual moves: most entries fall in a second their pools already reached. */
  private saved:
    | Array<{ margin: AssetMargin; borrowIndex: bigint; supplyIndex: bigint; accruedAtMs: number }>
    | undefined;

  accrue(margin: AssetMargin, timeMs: number): void {
    // A pool that accrue leaves alone needs no saving: only accrue moves a pool between a savepoint and its restore
    // (liquidation restores before any loss), and at one log time a pool unmoved once stays unmoved.
    if (!accrualDue(margin, timeMs)) return;
    const pool = margin.lendingPool;
    // A loop, not some(): this runs for every pool an entry touches, and a closure per call is garbage.
    let saved = false;
    if (this.saved === undefined) this.saved = [];
    for (const entry of this.saved) if (entry.margin === margin) saved = true;
    if (!saved) {
      this.saved.push({
        margin,
        borrowIndex: pool.borrowIndex,
        supplyIndex: pool.supplyIndex,
        accruedAtMs: pool.accruedAtMs,
      });
    }
    accrue(margin, timeMs);
  }

  /** Brings forward every pool the account lends to or borrows from (for a health check, then a change). */
  accrueAccount(account: Account, timeMs: number): void {
    for (const balance of account.balances) {
      if (balance !== undefined && (balance.lendScaled !== 0n || balance.borrowScaled !== 0n))
        this.accrue(balance.asset.margin!, timeMs);
    }
  }

  restore<T>(value: T): T {
    if (this.saved === undefined) return value;
    for (const { margin, borrowIndex, supplyIndex, accruedAtMs } of this.saved) {
      margin.lendingPool.borrowIndex = borrowIndex;
      margin.lendingPool.supplyIndex = supplyIndex;
      margin.lendingPool.accruedAtMs = accruedAtMs;
    }
    return value;
  }
}

export function netQuantityUnits(balance: Balance, timeMs: number): bigint {
  return lentUnits(balance, timeMs) - borrowedUnits(balance, timeMs);
}

function borrowableAsset(state: ExchangeState, symbol: string): Asset | Rejection {
  const asset = state.assetsBySymbol.get(symbol);
  if (asset === undefined) return reject('INVALID_ASSET', `Asset ${symbol} does not exist.`);
  if (asset.margin === undefined)
    return reject('INVALID_ASSET', `${symbol} cannot be borrowed or lent.`, 'notBorrowable');
  return asset;
}

/**
 * Checks and performs a Borrow of `units` beyond what redeeming the lend
 * covers: the pool's cash and maximum utilisation, then the account's
 * initial margin with the new debt. Used by borrowLendExecute and by
 * margin orders (autoBorrow).
 */
export function checkBorrow(
  state: ExchangeState,
  balance: Balance,
  units: bigint,
  timeMs: number,
  checkMargin = true,
  redeemedUnits = 0n,
  current?: HealthTerms,
): Rejection | undefined {
  const margin = balance.asset.margin!;
  const pool = margin.lendingPool;
  if (margin.indexPrice === 0n)
    return reject('BORROW_LIMIT', `${balance.asset.symbol} has no index price yet.`, 'noPrice');
  // A redemption in the same instruction has already taken its part of the cash and of the lent total.
  if (units + redeemedUnits > pool.cashUnits)
    return reject('INSUFFICIENT_SUPPLY', `The ${balance.asset.symbol} pool holds ${pool.cashUnits} units.`, 'poolCash');
  if (utilizationAfter(pool, units, -redeemedUnits) > margin.parameters.maxUtilization) {
    return reject(
      'BORROW_LIMIT',
      `The borrow would take ${balance.asset.symbol} above its maximum utilisation.`,
      'maxUtilization',
    );
  }
  if (!checkMargin) return undefined;
  const adjustments = [{ asset: balance.asset, heldUnits: units, borrowedUnits: units }];
  const health =
    current === undefined
      ? accountHealth(state, balance.account, timeMs, adjustments)
      : adjustedHealth(state, balance.account, current, adjustments);
  if (!meetsInitialMargin(health)) {
    return reject(
      'INSUFFICIENT_MARGIN',
      `Net equity ${health.netEquity} would be below the initial requirement ${health.initialRequirement}.`,
      'borrow',
    );
  }
  return undefined;
}

/** A withdrawal of `units` by an account that borrows must leave it at its initial margin. */
export function checkWithdrawalMargin(
  state: ExchangeState,
  account: Account,
  asset: Asset,
  units: bigint,
  timeMs: number,
): Rejection | undefined {
  const health = accountHealth(state, account, timeMs, [{ asset, heldUnits: -units, borrowedUnits: 0n }]);
  if (meetsInitialMargin(health)) return undefined;
  return reject(
    'INSUFFICIENT_MARGIN',
    `Net equity ${health.netEquity} would be below the initial requirement ${health.initialRequirement}.`,
    'withdrawal',
  );
}

/** Checks a redemption of `units` of a lend: the pool's cash and maximum utilisation. */
export function checkRedeem(balance: Balance, units: bigint): Rejection | undefined {
  const margin = balance.asset.margin!;
  if (units > margin.lendingPool.cashUnits)
    return reject(
      'INSUFFICIENT_SUPPLY',
      `The ${balance.asset.symbol} pool cannot pay out ${units} units now.`,
      'poolCash',
    );
  if (
    margin.lendingPool.totalBorrowScaled > 0n &&
    utilizationAfter(margin.lendingPool, 0n, -units) > margin.parameters.maxUtilization
  ) {
    return reject(
      'INSUFFICIENT_SUPPLY',
      `The redemption would take ${balance.asset.symbol} above its maximum utilisation.`,
      'maxUtilization',
    );
  }
  return undefined;
}

export function executeBorrowLend(
  state: ExchangeState,
  recorder: EntryRecorder,
  signer: string,
  instruction: BorrowLendExecute,
): BorrowLendView | Rejection {
  const asset = borrowableAsset(state, instruction.symbol);
  if ('code' in asset) return asset;
  const units = parseAmountUnits(asset.decimals, instruction.quantity, 'Quantity');
  if (typeof units !== 'bigint') return units;
  const account = state.accounts.get(signer);
  if (account === undefined) return reject('INSUFFICIENT_FUNDS', 'The account holds no funds.');
  const timeMs = recorder.timeMs;
  const savepoint = new PoolSavepoint();
  savepoint.accrueAccount(account, timeMs);
  savepoint.accrue(asset.margin!, timeMs);
  const balance = account.balance(asset);
  if (instruction.side === 'Lend') {
    if (balance.available < units) {
      return savepoint.restore(
        reject(
          'INSUFFICIENT_FUNDS',
          `The lend needs ${units} ${asset.symbol} units; ${balance.available} are available.`,
        ),
      );
    }
    const repaid = units < borrowedUnits(balance, timeMs) ? units : borrowedUnits(balance, timeMs);
    if (repaid > 0n) repayUnits(state, recorder, balance, repaid, timeMs);
    if (units > repaid) lendUnits(state, recorder, balance, units - repaid);
    return view(balance, 'Lend', units, repaid, timeMs);
  }
  // One pass for isLiquidatable's rule and the borrow's margin check (nothing changes the account in between).
  const current = account.borrowCount === 0 ? undefined : accountHealthTerms(state, account, timeMs);
  if (current !== undefined && current.health.netEquity < current.health.maintenanceRequirement)
    return savepoint.restore(reject('ACCOUNT_LIQUIDATING', undefined, 'belowMaintenance'));
  const lent = lentUnits(balance, timeMs);
  const redeemed = units < lent ? units : lent;
  const refusal =
    (redeemed > 0n ? checkRedeem(balance, redeemed) : undefined) ??
    (units > redeemed ? checkBorrow(state, balance, units - redeemed, timeMs, true, redeemed, current) : undefined);
  if (refusal !== undefined) return savepoint.restore(refusal);
  if (redeemed > 0n) redeemUnits(state, recorder, balance, redeemed, timeMs);
  if (units > redeemed) borrowUnits(state, recorder, balance, units - redeemed);
  return view(balance, 'Borrow', units, redeemed, timeMs);
}

function view(
  balance: Balance,
  side: 'Borrow' | 'Lend',
  units: bigint,
  offsetUnits: bigint,
  timeMs: number,
): BorrowLendView {
  return {
    account: balance.account.id,
    asset: balance.asset.symbol,
    side,
    quantityUnits: units,
    offsetUnits,
    netQuantityUnits: netQuantityUnits(balance, timeMs),
  };
}

/** accountUpdate: Backpack's PATCH /api/v1/account; a lower leverage limit must still be met. */
export function updateAccount(
  state: ExchangeState,
  signer: string,
  update: AccountUpdate,
  timeMs: number,
): Account | Rejection {
  const account = state.accounts.get(signer);
  if (account === undefined) return reject('RESOURCE_NOT_FOUND', 'The account does not exist.');
  let leverageLimit = account.settings.leverageLimit;
  if (update.leverageLimit !== undefined) {
    const parsed = parseFraction(update.leverageLimit);
    if (parsed === undefined || parsed < wad || parsed > maximumLeverageLimit) {
      return reject('INVALID_CLIENT_REQUEST', 'leverageLimit must be a decimal from 1 to 50.', 'leverageLimitRange');
    }
    leverageLimit = parsed;
  }
  const previous = account.settings.leverageLimit;
  account.settings.leverageLimit = leverageLimit;
  if (account.borrowCount > 0 && !meetsInitialMargin(accountHealth(state, account, timeMs))) {
    account.settings.leverageLimit = previous;
    return reject(
      'INSUFFICIENT_MARGIN',
      'The account would not meet its initial margin under that leverage limit.',
      'leverageLimit',
    );
  }
  if (update.autoBorrowSettlements !== undefined) account.settings.autoBorrowSettlements = update.autoBorrowSettlements;
  if (update.autoLend !== undefined) account.settings.autoLend = update.autoLend;
  if (update.autoRepayBorrows !== undefined) account.settings.autoRepayBorrows = update.autoRepayBorrows;
  // Settings are part of the account's encoding but move no balance: tell the state commitment directly.
  state.changes.accountChanged(account);
  return account;
}
