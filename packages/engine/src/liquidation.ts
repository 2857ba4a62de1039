/**
 * liquidate (docs/margin.md, "Liquidation"): any key may sign it; it is
 * accepted only when the named account borrows or holds a perpetual position
 * and is below its maintenance margin at the current index and mark prices
 * and log time, so every liquidation in the log is provably justified. Liquidation is gradual: one `liquidate` is
 * one bounded step that closes only part of the account, and the keeper
 * sends another while the account is still below maintenance. A step:
 *
 * 1. cancels the account's open orders, redeems its lends (as far as pool
 *    cash allows) and repays each debt from the same asset's balance
 *    (netting, no trade);
 * 2. unless that restored the account (no debt and no position, or net
 *    equity at least the initial requirement: the maintenance margin plus a
 *    buffer), closes its perpetual positions through the book while its net
 *    equity is positive (perps/perp-liquidation.ts), then closes debt
 *    through the book up to the step's budget, max(20 % of the liability
 *    value, min(that value, 100 settlement units)): debt assets one by one,
 *    the settlement asset first, each with IOC system orders inside the
 *    price band (sell collateral no lower than index × (1 − band), buy debt
 *    no higher than index × (1 + band)), stopping once restored; every
 *    system order pays the liquidation fee on its settlement-asset value to
 *    the settlement asset's coverage pool;
 * 3. if the account is still below maintenance and the book closed nothing
 *    in this step, or its net equity is not positive (the backstop): each
 *    asset's coverage pool takes over what the account still holds of it
 *    (balances and coverage shares), and pays the account's debt in it as far
 *    as its holdings go; a debt the pool cannot pay is bad debt, written off
 *    on the asset's lenders by lowering the supply index. Positions go
 *    first (to the coverage pool's account at the bankruptcy price, or by
 *    ADL: perps/perp-liquidation.ts); the debts only once none is left.
 * Each step is a bounded number of passes over the account's assets; each
 * system order meets at most the market's maxMakersPerOrder makers.
 */
import { credit, debit } from './balance-movements.js';
import { PoolSavepoint } from './borrow-lend.js';
import { addToCoveragePool, forfeitCollateralShares, payFromCoveragePool } from './coverage-pool.js';
import type { EntryRecorder } from './entry-recorder.js';
import { accountHealth, isLiquidatable, settlementDecimals, type AccountHealth } from './health.js';
import { unitsForValue, valueUnits } from './index-prices.js';
import type { TraderInstruction } from './instruction.js';
import { borrowedUnits, lentUnits, redeemUnits, repayUnits, writeOffDebt } from './lending-pool.js';
import { divideDown, divideUp, maximum, minimum, multiplyUp, wad } from './margin-fixed-point.js';
import { settlementAssetSymbol } from './margin-state.js';
import type { LiquidationView } from './margin-views.js';
import { cancelAllOrders } from './matching.js';
import { reject, type Rejection } from './result-codes.js';
import { placeSystemOrder } from './system-orders.js';
import {
  backstopPositions,
  closePositionsThroughBook,
  newPositionProgress,
  positionsNotionalUnits,
  type PositionProgress,
} from './perps/perp-liquidation.js';
import { isCoveragePoolAccount } from './perps/pool-positions.js';
import type { Account, Asset, Balance, ExchangeState, Market } from './state.js';

/** The largest part of the account's liability value one step closes through the book: 0.2 (Hyperliquid's 20 %). */
export const liquidationStepPortion = wad / 5n;
/** A step may close at least this many whole settlement units (or the whole debt, if less). */
export const liquidationStepMinimumWholeUnits = 100n;

type Liquidate = Extract<TraderInstruction, { kind: 'liquidate' }>;

type DebtRecord = { repaidByAccountUnits: bigint; paidByCoveragePoolUnits: bigint; socialisedUnits: bigint };

interface Progress {
  readonly settlement: Asset;
  readonly bookTrades: Array<{ asset: string; units: bigint }>;
  readonly debts: Map<Asset, DebtRecord>;
  readonly backstop: Array<{ asset: string; units: bigint; shares: bigint }>;
  /** Value (index, rounded down) of the debt repaid after the budget was set: what the book closed. */
  closedValue: bigint;
  feeUnits: bigint;
  /** The perpetual positions' part of the step (perps/perp-liquidation.ts). */
  readonly positions: PositionProgress;
}

export function liquidate(
  state: ExchangeState,
  recorder: EntryRecorder,
  liquidator: string,
  instruction: Liquidate,
  entrySignature: Uint8Array = new Uint8Array(64),
): LiquidationView | Rejection {
  const account = state.accounts.get(instruction.account);
  const timeMs = recorder.timeMs;
  if (account === undefined) return reject('NOT_LIQUIDATABLE', 'The account does not exist.', 'noAccount');
  if (isCoveragePoolAccount(account)) {
    return reject('NOT_LIQUIDATABLE', "The coverage pool's account is never liquidated.", 'coveragePool');
  }
  const savepoint = new PoolSavepoint();
  savepoint.accrueAccount(account, timeMs);
  if (!isLiquidatable(state, account, timeMs)) {
    const holdsNothing = account.borrowCount === 0 && account.positions.size === 0;
    return savepoint.restore(reject('NOT_LIQUIDATABLE', undefined, holdsNothing ? 'noDebt' : 'aboveMaintenance'));
  }
  const before = accountHealth(state, account, timeMs);
  const heldPositions = account.positions.size > 0;
  const settlement = state.assetsBySymbol.get(settlementAssetSymbol)!;
  const progress: Progress = {
    settlement,
    bookTrades: [],
    debts: new Map(),
    backstop: [],
    closedValue: 0n,
    feeUnits: 0n,
    positions: newPositionProgress(),
  };
  let cancelledOrders = 0;
  for (const market of state.markets) {
    if (account.openOrderCountOn(market) > 0)
      cancelledOrders += cancelAllOrders(state, recorder, account.id, market).length;
  }
  for (const balance of account.balances) {
    if (balance === undefined || balance.lendScaled === 0n) continue;
    const units = minimum(lentUnits(balance, timeMs), balance.asset.margin!.lendingPool.cashUnits);
    if (units > 0n) redeemUnits(state, recorder, balance, units, timeMs);
  }
  for (const balance of account.balances)
    if (balance !== undefined) repayFromHoldings(state, recorder, balance, progress);
  const step = isRestored(state, account, timeMs)
    ? { budgetValue: 0n, backstopped: false }
    : closeAndBackstop(state, recorder, account, progress, entrySignature);
  const after = accountHealth(state, account, timeMs);
  const view = liquidationView(account, liquidator, cancelledOrders, progress, before, after, step, heldPositions);
  recorder.events.push({ type: 'liquidation', liquidation: view });
  return view;
}

/**
 * Steps 2 and 3 for an account netting did not restore: positions through
 * the book (while net equity is positive), debts through the book, then the
 * backstop when the account is still below maintenance and the book closed
 * nothing or its net equity is not positive: positions first
 * (perps/perp-liquidation.ts: the pool's account or ADL), then, once no
 * position is left, the debts.
 */
function closeAndBackstop(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  progress: Progress,
  entrySignature: Uint8Array,
): { budgetValue: bigint; backstopped: boolean } {
  const timeMs = recorder.timeMs;
  const positions = progress.positions;
  if (account.positions.size > 0 && accountHealth(state, account, timeMs).netEquity > 0n) {
    const budget = stepBudget(state, positionsNotionalUnits(state, account));
    closePositionsThroughBook(state, recorder, account, budget, positions, bandTicks);
  }
  let budgetValue = 0n;
  if (!isRestored(state, account, timeMs)) {
    budgetValue = stepBudget(state, accountHealth(state, account, timeMs).liabilityValue);
    closeThroughBook(state, recorder, account, budgetValue, progress);
  }
  const after = accountHealth(state, account, timeMs);
  const closedNothing = progress.closedValue === 0n && positions.closedUnits === 0n;
  if (after.netEquity >= after.maintenanceRequirement || !(closedNothing || after.netEquity <= 0n))
    return { budgetValue, backstopped: false };
  let backstopped = false;
  if (account.positions.size > 0) {
    backstopPositions(state, recorder, account, entrySignature, positions);
    backstopped = true;
  }
  const left = accountHealth(state, account, timeMs);
  if (account.positions.size === 0 && account.borrowCount > 0 && left.netEquity < left.maintenanceRequirement) {
    backstop(state, recorder, account, progress);
    backstopped = true;
  }
  return { budgetValue, backstopped };
}

function liquidationView(
  account: Account,
  liquidator: string,
  cancelledOrders: number,
  progress: Progress,
  before: AccountHealth,
  after: AccountHealth,
  step: { budgetValue: bigint; backstopped: boolean },
  heldPositions: boolean,
): LiquidationView {
  const { budgetValue, backstopped } = step;
  return {
    account: account.id,
    liquidator,
    cancelledOrders,
    bookTrades: progress.bookTrades,
    debts: [...progress.debts].map(([asset, debt]) => ({ asset: asset.symbol, ...debt })),
    backstop: progress.backstop,
    ...(heldPositions
      ? {
          positions: progress.positions.records,
          positionBudgetUnits: progress.positions.budgetUnits,
          positionClosedUnits: progress.positions.closedUnits,
        }
      : {}),
    feeUnits: progress.feeUnits + progress.positions.feeUnits,
    netEquityBefore: before.netEquity,
    maintenanceRequirementBefore: before.maintenanceRequirement,
    budgetValue,
    closedValue: progress.closedValue,
    backstopped,
    netEquityAfter: after.netEquity,
    maintenanceRequirementAfter: after.maintenanceRequirement,
    initialRequirementAfter: after.initialRequirement,
  };
}

/**
 * Restored: no debt and no position left, or net equity at least the initial
 * requirement (maintenance plus the buffer).
 */
function isRestored(state: ExchangeState, account: Account, timeMs: number): boolean {
  if (account.borrowCount === 0 && account.positions.size === 0) return true;
  const health = accountHealth(state, account, timeMs);
  return health.netEquity >= health.initialRequirement;
}

/** The step's budget: max(⌈liabilities × portion⌉, min(liabilities, the minimum)), settlement units. */
export function stepBudget(state: ExchangeState, liabilityValue: bigint): bigint {
  const minimumValue = liquidationStepMinimumWholeUnits * 10n ** BigInt(settlementDecimals(state));
  return maximum(multiplyUp(liabilityValue, liquidationStepPortion), minimum(liabilityValue, minimumValue));
}

function debtRecord(progress: Progress, asset: Asset): DebtRecord {
  let record = progress.debts.get(asset);
  if (record === undefined) {
    record = { repaidByAccountUnits: 0n, paidByCoveragePoolUnits: 0n, socialisedUnits: 0n };
    progress.debts.set(asset, record);
  }
  return record;
}

/** Repays the balance's debt from its own available units; returns the value repaid (index, rounded down). */
function repayFromHoldings(
  state: ExchangeState,
  recorder: EntryRecorder,
  balance: Balance,
  progress: Progress,
): bigint {
  if (balance.borrowScaled === 0n || balance.available === 0n) return 0n;
  const timeMs = recorder.timeMs;
  const units = minimum(balance.available, borrowedUnits(balance, timeMs));
  repayUnits(state, recorder, balance, units, timeMs);
  debtRecord(progress, balance.asset).repaidByAccountUnits += units;
  return valueUnits(units, balance.asset, balance.asset.margin!.indexPrice, settlementDecimals(state), false);
}

/**
 * The book part of a step: debt assets in turn, the settlement asset first
 * and then by asset index, each closed up to what is left of the budget
 * (in units at the index price, rounded up, at most the debt), stopping once
 * the account is restored or the budget is spent.
 */
function closeThroughBook(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  budgetValue: bigint,
  progress: Progress,
): void {
  const timeMs = recorder.timeMs;
  const decimals = settlementDecimals(state);
  const settlementBalance = account.balances[progress.settlement.index];
  const debtBalances = account.balances.filter(
    (balance): balance is Balance =>
      balance !== undefined && balance.borrowScaled > 0n && balance.asset !== progress.settlement,
  );
  if (settlementBalance !== undefined && settlementBalance.borrowScaled > 0n) debtBalances.unshift(settlementBalance);
  for (const balance of debtBalances) {
    const remaining = budgetValue - progress.closedValue;
    if (remaining <= 0n || isRestored(state, account, timeMs)) return;
    const asset = balance.asset;
    const want = minimum(
      borrowedUnits(balance, timeMs),
      unitsForValue(remaining, asset, asset.margin!.indexPrice, decimals),
    );
    if (asset === progress.settlement) raiseSettlement(state, recorder, account, want - balance.available, progress);
    else buyDebt(state, recorder, balance, want, progress);
    progress.closedValue += repayFromHoldings(state, recorder, balance, progress);
  }
}

/**
 * Raises `shortfall` settlement units by selling collateral: the account's
 * other assets it does not borrow, by asset index, one IOC ask each, sized to
 * raise what is still short at the band's lowest price.
 */
function raiseSettlement(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  shortfall: bigint,
  progress: Progress,
): void {
  let shortUnits = shortfall;
  for (const balance of account.balances) {
    if (shortUnits <= 0n) return;
    if (balance === undefined || balance.asset === progress.settlement) continue;
    if (balance.borrowScaled > 0n || balance.available === 0n) continue;
    const market = liquidationMarket(state, balance.asset);
    const priceTicks = market === undefined ? undefined : bandTicks(market, 'Ask');
    if (market === undefined || priceTicks === undefined) continue;
    const steps = minimum(
      balance.available / market.stepUnits,
      divideUp(shortUnits, priceTicks * market.quoteUnitsPerStepTick),
    );
    shortUnits -= systemOrder(state, recorder, balance, market, 'Ask', priceTicks, steps, progress);
  }
}

/** Buys `want` units of the balance's debt asset (whole steps, rounded up) with one IOC bid inside the band. */
function buyDebt(
  state: ExchangeState,
  recorder: EntryRecorder,
  balance: Balance,
  want: bigint,
  progress: Progress,
): void {
  const market = liquidationMarket(state, balance.asset);
  const priceTicks = market === undefined ? undefined : bandTicks(market, 'Bid');
  if (market === undefined || priceTicks === undefined) return;
  const account = balance.account;
  let steps = divideUp(want, market.stepUnits);
  const stepCost = priceTicks * market.quoteUnitsPerStepTick;
  raiseSettlement(state, recorder, account, steps * stepCost - account.availableOf(market.quote), progress);
  steps = minimum(steps, account.availableOf(market.quote) / stepCost);
  systemOrder(state, recorder, balance, market, 'Bid', priceTicks, steps, progress);
}

function liquidationMarket(state: ExchangeState, asset: Asset): Market | undefined {
  const market = state.marketsBySymbol.get(`${asset.symbol}_${settlementAssetSymbol}`);
  if (market === undefined || asset.margin === undefined || asset.margin.indexPrice === 0n) return undefined;
  return market;
}

/**
 * The band's limit price in ticks: a sell no lower than reference × (1 − band)
 * (rounded up), a buy no higher than reference × (1 + band) (rounded down).
 * The reference is the base asset's index price, or a perpetual's mark.
 */
function bandTicks(market: Market, side: 'Bid' | 'Ask', referencePrice?: bigint): bigint | undefined {
  const margin = market.base.margin!;
  const band = margin.parameters.liquidationBand;
  // ticks = index × (1 ∓ band) × 10^priceScale / (wad × wad × tickUnits), with index and band in wad.
  const denominator = wad * wad * market.tickUnits;
  const numerator = (referencePrice ?? margin.indexPrice) * 10n ** BigInt(market.priceScale);
  const limitTicks =
    side === 'Ask'
      ? divideUp(numerator * (wad - band), denominator)
      : divideDown(numerator * (wad + band), denominator);
  if (limitTicks < market.minPriceTicks || limitTicks > market.maxPriceTicks) return undefined;
  return limitTicks;
}

/**
 * One IOC system order for the account on `ASSET_USDC` (at most the market's
 * maximum quantity), then the liquidation fee on the settlement units it
 * moved. Returns the settlement units it raised (an ask's proceeds after the
 * fee; zero for a bid). A refused order (nothing in the band, below the
 * minimum quantity or value) changes nothing and is skipped.
 */
function systemOrder(
  state: ExchangeState,
  recorder: EntryRecorder,
  balance: Balance,
  market: Market,
  side: 'Bid' | 'Ask',
  priceTicks: bigint,
  requestedSteps: bigint,
  progress: Progress,
): bigint {
  const steps = minimum(requestedSteps, market.maxQuantitySteps);
  if (steps < market.minQuantitySteps || steps <= 0n) return 0n;
  const account = balance.account;
  const before = balance.available;
  const settlementBefore = account.availableOf(progress.settlement);
  placeSystemOrder(state, recorder, account.id, market, side, priceTicks, steps);
  if (balance.available === before) return 0n;
  progress.bookTrades.push({ asset: balance.asset.symbol, units: balance.available - before });
  const settlementBalance = account.balance(progress.settlement);
  const moved = settlementBalance.available - settlementBefore;
  const fee = minimum(
    multiplyUp(moved < 0n ? -moved : moved, progress.settlement.margin!.parameters.liquidationFee),
    settlementBalance.available,
  );
  if (fee > 0n) {
    debit(recorder, settlementBalance, fee);
    addToCoveragePool(progress.settlement.margin!.coveragePool, fee);
    progress.feeUnits += fee;
  }
  return moved > 0n ? moved - fee : 0n;
}

/**
 * The backstop: the coverage pools take over the account's holdings and
 * collateral shares and pay its debts; what they cannot pay is socialised on
 * the lenders.
 */
function backstop(state: ExchangeState, recorder: EntryRecorder, account: Account, progress: Progress): void {
  const timeMs = recorder.timeMs;
  for (const asset of state.assets) {
    if (asset.margin === undefined) continue;
    const pool = asset.margin.coveragePool;
    const balance = account.balances[asset.index];
    const units = balance === undefined ? 0n : balance.available;
    if (units > 0n) {
      debit(recorder, balance!, units);
      addToCoveragePool(pool, units);
    }
    const shares = forfeitCollateralShares(state, pool, account);
    if (units > 0n || shares > 0n) progress.backstop.push({ asset: asset.symbol, units, shares });
  }
  for (const balance of account.balances) {
    if (balance === undefined || balance.borrowScaled === 0n) continue;
    const margin = balance.asset.margin!;
    const paid = payFromCoveragePool(margin.coveragePool, borrowedUnits(balance, timeMs));
    if (paid > 0n) {
      credit(recorder, balance, paid);
      repayUnits(state, recorder, balance, paid, timeMs);
      debtRecord(progress, balance.asset).paidByCoveragePoolUnits += paid;
    }
    if (balance.borrowScaled === 0n) continue;
    const socialised = writeOffDebt(state, balance, timeMs);
    debtRecord(progress, balance.asset).socialisedUnits += socialised;
    recorder.events.push({
      type: 'socialisedLoss',
      asset: balance.asset.symbol,
      units: socialised,
      supplyIndex: margin.lendingPool.supplyIndex,
    });
  }
}
