/**
 * The margin reference model's account instructions, from docs/margin.md:
 * borrowLendExecute (5.4), accountUpdate (2, 6) and the withdrawal check (6).
 * Part of the naive margin reference model (reference-margin-model.ts).
 */
import type { Instruction } from '../src/instruction.js';
import type { AccountSettingsView, BorrowLendView } from '../src/margin-views.js';
import { amountOf } from './reference-funds.js';
import {
  accrue,
  accrueAccountPools,
  borrowedOf,
  borrowsAnything,
  borrowUnits,
  healthOf,
  isLiquidatable,
  lendUnits,
  lentOf,
  limitUtilisation,
  meetsInitial,
  redeemUnits,
  repayUnits,
  totalBorrowed,
  totalLent,
} from './reference-margin.js';
import { smaller, WAD, wadOf } from './reference-margin-math.js';
import { type MarginData, settingsOf } from './reference-margin-state.js';
import { availableOf, fail, type ModelData, type Rejected } from './reference-state.js';

export type ModelBorrowLendResult = { readonly ok: true; readonly kind: 'borrowLend' } & BorrowLendView;

export type ModelSettingsResult = { readonly ok: true; readonly kind: 'accountUpdated' } & AccountSettingsView;

/**
 * Section 5.4's redemption checks for `units` of the account's lend: the
 * pool's cash covers it and, if anything is borrowed, utilisation after it
 * (rounded up) stays within maxUtilization. The refusal code, or undefined.
 */
export function redemptionRefusal(margin: MarginData, asset: string, units: bigint): string | undefined {
  const pool = margin.pools.get(asset)!;
  if (units > pool.cashUnits) return 'INSUFFICIENT_SUPPLY';
  const utilisation = limitUtilisation(totalBorrowed(pool), totalLent(pool) - units);
  if (utilisation === undefined || utilisation > pool.parameters.maxUtilization) return 'INSUFFICIENT_SUPPLY';
  return undefined;
}

/** Section 5.4's pool checks for a new borrow of `units` (after any redemption); the refusal code, or undefined. */
export function borrowPoolRefusal(margin: MarginData, asset: string, units: bigint): string | undefined {
  const pool = margin.pools.get(asset)!;
  if (pool.indexPrice === 0n) return 'BORROW_LIMIT';
  if (units > pool.cashUnits) return 'INSUFFICIENT_SUPPLY';
  const utilisation = limitUtilisation(totalBorrowed(pool) + units, totalLent(pool));
  if (utilisation === undefined || utilisation > pool.parameters.maxUtilization) return 'BORROW_LIMIT';
  return undefined;
}

export function borrowLend(
  data: ModelData,
  margin: MarginData,
  account: string,
  instruction: Extract<Instruction, { kind: 'borrowLendExecute' }>,
  timeMs: number,
): ModelBorrowLendResult | Rejected {
  const asset = instruction.symbol;
  const pool = margin.pools.get(asset);
  if (pool === undefined) return fail('INVALID_ASSET');
  const decimals = data.assets.find((candidate) => candidate.symbol === asset)!.decimals;
  const quantity = amountOf(decimals, instruction.quantity);
  if (typeof quantity !== 'bigint') return quantity;
  if (!data.accounts.has(account)) return fail('INSUFFICIENT_FUNDS');
  let offset: bigint;
  accrueAccountPools(margin, account, timeMs);
  accrue(pool, timeMs);
  if (instruction.side === 'Lend') {
    if (availableOf(data, account, asset) < quantity) return fail('INSUFFICIENT_FUNDS');
    offset = smaller(quantity, borrowedOf(margin, account, asset, timeMs));
    if (offset > 0n) repayUnits(data, margin, account, asset, offset);
    if (quantity > offset) lendUnits(data, margin, account, asset, quantity - offset);
  } else {
    if (isLiquidatable(data, margin, account, timeMs)) return fail('ACCOUNT_LIQUIDATING');
    offset = smaller(quantity, lentOf(margin, account, asset, timeMs));
    if (offset > 0n) {
      const refusal = redemptionRefusal(margin, asset, offset);
      if (refusal !== undefined) return fail(refusal);
      redeemUnits(data, margin, account, asset, offset);
    }
    const rest = quantity - offset;
    if (rest > 0n) {
      const refusal = borrowPoolRefusal(margin, asset, rest);
      if (refusal !== undefined) return fail(refusal);
      const after = healthOf(data, margin, account, timeMs, new Map([[asset, { held: rest, owed: rest }]]));
      if (!meetsInitial(after)) return fail('INSUFFICIENT_MARGIN');
      borrowUnits(data, margin, account, asset, rest);
    }
  }
  const net = lentOf(margin, account, asset, timeMs) - borrowedOf(margin, account, asset, timeMs);
  return {
    ok: true,
    kind: 'borrowLend',
    account,
    asset,
    side: instruction.side,
    quantityUnits: quantity,
    offsetUnits: offset,
    netQuantityUnits: net,
  };
}

export function updateAccount(
  data: ModelData,
  margin: MarginData,
  account: string,
  instruction: Extract<Instruction, { kind: 'accountUpdate' }>,
  timeMs: number,
): ModelSettingsResult | Rejected {
  if (!data.accounts.has(account)) return fail('RESOURCE_NOT_FOUND');
  const settings = settingsOf(margin, account);
  if (instruction.leverageLimit !== undefined) {
    const limit = wadOf(instruction.leverageLimit);
    if (limit === undefined || limit < WAD || limit > 50n * WAD) return fail('INVALID_CLIENT_REQUEST');
    const before = settings.leverageLimit;
    settings.leverageLimit = limit;
    if (borrowsAnything(margin, account) && !meetsInitial(healthOf(data, margin, account, timeMs))) {
      settings.leverageLimit = before;
      return fail('INSUFFICIENT_MARGIN');
    }
  }
  if (instruction.autoBorrowSettlements !== undefined)
    settings.autoBorrowSettlements = instruction.autoBorrowSettlements;
  if (instruction.autoLend !== undefined) settings.autoLend = instruction.autoLend;
  if (instruction.autoRepayBorrows !== undefined) settings.autoRepayBorrows = instruction.autoRepayBorrows;
  return { ok: true, kind: 'accountUpdated', account, ...settings };
}

/** Section 6: a withdrawal (already pending) by an account that borrows must leave it at its initial margin. */
export function withdrawalKeepsMargin(data: ModelData, margin: MarginData, account: string, timeMs: number): boolean {
  return !borrowsAnything(margin, account) || meetsInitial(healthOf(data, margin, account, timeMs));
}
