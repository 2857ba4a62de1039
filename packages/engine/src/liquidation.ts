/**
 * liquidate (docs/margin.md, "Liquidation"): any key may sign it; it is
 * accepted only when the named account borrows and is below its maintenance
 * margin at the current index prices and log time, so every liquidation in
 * the log is provably justified. It runs a bounded sequence of steps:
 *
 * 1. cancel the account's open orders; redeem its lends (as far as pool cash
 *    allows) and repay each debt from the same asset's balance;
 * 2. sell the account's other assets for the settlement asset through the
 *    book with IOC system orders no worse than index × (1 − band), repay the
 *    settlement-asset debt, then buy each other debt asset with IOC orders no
 *    worse than index × (1 + band) and repay it;
 * 3. if debt remains (the backstop): each asset's coverage pool takes over
 *    what the account still holds of it, and pays the account's debt in it
 *    as far as its holdings go; the account ends with nothing (the bankruptcy
 *    price); a debt the pool cannot pay is bad debt, written off on the
 *    asset's lenders by lowering the supply index;
 * 4. otherwise a liquidation fee (the settlement asset's liquidationFee × the
 *    value repaid, at most what the account holds) goes to the settlement
 *    asset's coverage pool.
 * Each step is one pass over the account's assets; each system order meets
 * at most the market's maxMakersPerOrder makers.
 */
import { credit, debit } from './balance-movements.js';
import { PoolSavepoint } from './borrow-lend.js';
import { addToCoveragePool, payFromCoveragePool } from './coverage-pool.js';
import type { EntryRecorder } from './entry-recorder.js';
import { isLiquidatable, settlementDecimals } from './health.js';
import { valueUnits } from './index-prices.js';
import type { TraderInstruction } from './instruction.js';
import { borrowedUnits, lentUnits, redeemUnits, repayUnits, writeOffDebt } from './lending-pool.js';
import { divideDown, divideUp, minimum, multiplyUp, wad } from './margin-fixed-point.js';
import { settlementAssetSymbol } from './margin-state.js';
import type { LiquidationView } from './margin-views.js';
import { cancelAllOrders, placeOrder } from './matching.js';
import { reject, type Rejection } from './result-codes.js';
import type { Account, Asset, Balance, ExchangeState, Market } from './state.js';

type Liquidate = Extract<TraderInstruction, { kind: 'liquidate' }>;

interface Progress {
  readonly bookTrades: Array<{ asset: string; units: bigint }>;
  readonly debts: Map<
    Asset,
    { repaidByAccountUnits: bigint; paidByCoveragePoolUnits: bigint; socialisedUnits: bigint }
  >;
  readonly backstop: Array<{ asset: string; units: bigint }>;
  repaidValue: bigint;
}

export function liquidate(
  state: ExchangeState,
  recorder: EntryRecorder,
  liquidator: string,
  instruction: Liquidate,
): LiquidationView | Rejection {
  const account = state.accounts.get(instruction.account);
  const timeMs = recorder.timeMs;
  if (account === undefined) return reject('NOT_LIQUIDATABLE', 'The account does not exist.', 'noAccount');
  const savepoint = new PoolSavepoint();
  savepoint.accrueAccount(account, timeMs);
  if (!isLiquidatable(state, account, timeMs)) {
    return savepoint.restore(
      reject('NOT_LIQUIDATABLE', undefined, account.borrowCount === 0 ? 'noDebt' : 'aboveMaintenance'),
    );
  }
  const progress: Progress = { bookTrades: [], debts: new Map(), backstop: [], repaidValue: 0n };
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
  repayFromHoldings(state, recorder, account, progress);
  const settlement = state.assetsBySymbol.get(settlementAssetSymbol)!;
  for (const balance of account.balances) {
    if (
      balance !== undefined &&
      balance.asset !== settlement &&
      balance.borrowScaled === 0n &&
      balance.available > 0n
    ) {
      tradeThroughBook(state, recorder, balance, 'Ask', balance.available, progress);
    }
  }
  repayFromHoldings(state, recorder, account, progress);
  for (const balance of account.balances) {
    if (balance !== undefined && balance.asset !== settlement && balance.borrowScaled > 0n) {
      tradeThroughBook(state, recorder, balance, 'Bid', borrowedUnits(balance, timeMs), progress);
    }
  }
  repayFromHoldings(state, recorder, account, progress);
  const feeUnits =
    account.borrowCount > 0
      ? backstop(state, recorder, account, progress)
      : chargeFee(recorder, account, settlement, progress);
  const view: LiquidationView = {
    account: account.id,
    liquidator,
    cancelledOrders,
    bookTrades: progress.bookTrades,
    debts: [...progress.debts].map(([asset, debt]) => ({ asset: asset.symbol, ...debt })),
    backstop: progress.backstop,
    feeUnits,
  };
  recorder.events.push({ type: 'liquidation', liquidation: view });
  return view;
}

function debtRecord(
  progress: Progress,
  asset: Asset,
): { repaidByAccountUnits: bigint; paidByCoveragePoolUnits: bigint; socialisedUnits: bigint } {
  let record = progress.debts.get(asset);
  if (record === undefined) {
    record = { repaidByAccountUnits: 0n, paidByCoveragePoolUnits: 0n, socialisedUnits: 0n };
    progress.debts.set(asset, record);
  }
  return record;
}

/** Repays each debt from the same asset's available balance. */
function repayFromHoldings(state: ExchangeState, recorder: EntryRecorder, account: Account, progress: Progress): void {
  const timeMs = recorder.timeMs;
  const decimals = settlementDecimals(state);
  for (const balance of account.balances) {
    if (balance === undefined || balance.borrowScaled === 0n || balance.available === 0n) continue;
    const units = minimum(balance.available, borrowedUnits(balance, timeMs));
    repayUnits(state, recorder, balance, units, timeMs);
    debtRecord(progress, balance.asset).repaidByAccountUnits += units;
    progress.repaidValue += valueUnits(units, balance.asset, balance.asset.margin!.indexPrice, decimals, false);
  }
}

/**
 * The band's limit price in ticks: a sell no lower than index × (1 − band)
 * (rounded up), a buy no higher than index × (1 + band) (rounded down).
 */
function bandTicks(market: Market, side: 'Bid' | 'Ask'): bigint | undefined {
  const margin = market.base.margin!;
  const band = margin.parameters.liquidationBand;
  // ticks = index × (1 ∓ band) × 10^priceScale / (wad × wad × tickUnits), with index and band in wad.
  const denominator = wad * wad * market.tickUnits;
  const numerator = margin.indexPrice * 10n ** BigInt(market.priceScale);
  const limitTicks =
    side === 'Ask'
      ? divideUp(numerator * (wad - band), denominator)
      : divideDown(numerator * (wad + band), denominator);
  if (limitTicks < market.minPriceTicks || limitTicks > market.maxPriceTicks) return undefined;
  return limitTicks;
}

/** One IOC system order for the account on `ASSET_USDC`: sells `units` (Ask) or buys them (Bid), inside the band. */
function tradeThroughBook(
  state: ExchangeState,
  recorder: EntryRecorder,
  balance: Balance,
  side: 'Bid' | 'Ask',
  units: bigint,
  progress: Progress,
): void {
  const market = state.marketsBySymbol.get(`${balance.asset.symbol}_${settlementAssetSymbol}`);
  if (market === undefined || balance.asset.margin === undefined || balance.asset.margin.indexPrice === 0n) return;
  const priceTicks = bandTicks(market, side);
  if (priceTicks === undefined) return;
  let steps = side === 'Ask' ? units / market.stepUnits : divideUp(units, market.stepUnits);
  if (side === 'Bid') {
    const quoteAvailable = balance.account.availableOf(market.quote);
    steps = minimum(steps, quoteAvailable / (priceTicks * market.quoteUnitsPerStepTick));
  }
  steps = minimum(steps, market.maxQuantitySteps);
  if (steps < market.minQuantitySteps || steps === 0n) return;
  const before = balance.available;
  placeOrder(state, recorder, balance.account.id, {
    market,
    side,
    orderType: 'Limit',
    priceTicks,
    quantitySteps: steps,
    quoteQuantityUnits: undefined,
    timeInForce: 'IOC',
    postOnly: false,
    selfTradePrevention: 'RejectTaker',
    clientId: undefined,
  });
  // A refused system order (nothing in the band, below the minimum value) changes nothing and is skipped.
  if (balance.available !== before)
    progress.bookTrades.push({ asset: balance.asset.symbol, units: balance.available - before });
}

/**
 * Step 3: the coverage pools take over the account's holdings and pay its
 * debts; what they cannot pay is socialised on the lenders.
 */
function backstop(state: ExchangeState, recorder: EntryRecorder, account: Account, progress: Progress): bigint {
  const timeMs = recorder.timeMs;
  for (const balance of account.balances) {
    if (balance === undefined || balance.available === 0n || balance.asset.margin === undefined) continue;
    const units = balance.available;
    debit(recorder, balance, units);
    addToCoveragePool(balance.asset.margin.coveragePool, units);
    progress.backstop.push({ asset: balance.asset.symbol, units });
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
  return 0n;
}

/** Step 4: the liquidation fee, from the account's settlement-asset balance to that asset's coverage pool. */
function chargeFee(recorder: EntryRecorder, account: Account, settlement: Asset, progress: Progress): bigint {
  const balance = account.balances[settlement.index];
  if (balance === undefined || settlement.margin === undefined) return 0n;
  const fee = minimum(multiplyUp(progress.repaidValue, settlement.margin.parameters.liquidationFee), balance.available);
  if (fee === 0n) return 0n;
  debit(recorder, balance, fee);
  addToCoveragePool(settlement.margin.coveragePool, fee);
  return fee;
}
