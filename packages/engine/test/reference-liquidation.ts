/**
 * The margin reference model's liquidation, written from docs/margin.md
 * section 8 (gradual liquidation) and 9a (shares burnt by the backstop), not
 * from the engine. One `liquidate` is one bounded step: accepted only for an
 * account that borrows and is below maintenance; (1) cancel its orders,
 * (2) redeem its lends as far as each pool's cash allows, (3) net each debt
 * from the same asset's available and stop if restored (no debt, or net
 * equity ≥ initial requirement), (4) budget B = max(⌈L·0.2⌉, min(L, 100
 * USDC)) on the liability value L, (5) the debts one at a time, USDC first,
 * each sized from the budget left at its index price: raise USDC by IOC asks
 * of held collateral at the band's lowest price, bid for a non-USDC debt at
 * the band's highest price, net it and count the value repaid as closed;
 * (6) after each system order that traded a fee of ⌈V × USDC liquidationFee⌉
 * (at most the USDC available) to the USDC coverage pool; (7) the backstop
 * when still owing and below maintenance and either nothing closed or net
 * equity ≤ 0: the coverage pools take every available holding and burn the
 * collateral shares, pay the debts as far as they hold, and the rest is
 * written off on the lenders. Part of the naive margin reference model
 * (reference-margin-model.ts).
 */
import type { LiquidationView } from '../src/margin-views.js';
import { cancelOne } from './reference-book.js';
import { pow10, unitsToDecimal } from './reference-decimal.js';
import {
  accrueAccountPools,
  borrowedOf,
  borrowsAnything,
  collateralSharesOf,
  healthOf,
  isLiquidatable,
  lentOf,
  meetsInitial,
  redeemUnits,
  repayUnits,
  totalLent,
  valueOf,
} from './reference-margin.js';
import { ceilDiv, floorDiv, larger, smaller, WAD } from './reference-margin-math.js';
import { type MarginData, type ModelPool, SETTLEMENT } from './reference-margin-state.js';
import { placeOrder } from './reference-orders.js';
import {
  availableOf,
  balanceEntry,
  fail,
  isOpen,
  type ModelData,
  type ModelMarket,
  type ModelTrade,
  type Rejected,
} from './reference-state.js';

/** Section 8's constants: the step portion π = 0.2 (wad) and the step minimum m = 100 whole settlement units. */
const STEP_PORTION = WAD / 5n;
const STEP_MINIMUM_WHOLE = 100n;

export interface ModelDebtOutcome {
  readonly asset: string;
  repaidByAccountUnits: bigint;
  paidByCoveragePoolUnits: bigint;
  socialisedUnits: bigint;
}

/** The step's result: the engine's view type (only types are shared), built by the model from the doc. */
export type ModelLiquidationResult = { readonly ok: true; readonly kind: 'liquidation' } & LiquidationView;

/** A socialised loss the model reports, for comparison with the engine's event. */
export interface ModelSocialisedLoss {
  readonly asset: string;
  readonly units: bigint;
  readonly supplyIndex: bigint;
}

interface Step {
  readonly data: ModelData;
  readonly margin: MarginData;
  readonly account: string;
  readonly timeMs: number;
  readonly trades: ModelTrade[];
  /** The debt assets at the start of the step, in asset order. */
  readonly debtAssets: readonly string[];
  /** What was paid per debt asset, in the order of the first payment (section 8, "Result and event"). */
  readonly debts: Map<string, ModelDebtOutcome>;
  readonly bookUnits: Map<string, bigint>;
  readonly losses: ModelSocialisedLoss[];
  readonly settlementDecimals: number;
  feeUnits: bigint;
}

const decimalsOf = (step: Step, asset: string): number =>
  step.data.assets.find((candidate) => candidate.symbol === asset)!.decimals;

const marketOf = (step: Step, base: string): ModelMarket | undefined =>
  step.data.markets.find((market) => market.symbol === `${base}_${SETTLEMENT}`);

/** Restored: no debt, or net equity at least the initial requirement. */
function restored(step: Step): boolean {
  if (!borrowsAnything(step.margin, step.account)) return true;
  return meetsInitial(healthOf(step.data, step.margin, step.account, step.timeMs));
}

/** The record of what was paid on a debt, created at its first payment. */
function debtOf(step: Step, asset: string): ModelDebtOutcome {
  let debt = step.debts.get(asset);
  if (debt === undefined) {
    debt = { asset, repaidByAccountUnits: 0n, paidByCoveragePoolUnits: 0n, socialisedUnits: 0n };
    step.debts.set(asset, debt);
  }
  return debt;
}

/** Part 3 for one debt: min(available, owed) repaid; the units repaid. */
function net(step: Step, asset: string): bigint {
  const owed = borrowedOf(step.margin, step.account, asset, step.timeMs);
  const paid = smaller(owed, availableOf(step.data, step.account, asset));
  if (paid === 0n) return 0n;
  repayUnits(step.data, step.margin, step.account, asset, paid);
  debtOf(step, asset).repaidByAccountUnits += paid;
  return paid;
}

/** Ticks of P·(1 ± band) on the market, rounded up for an ask and down for a bid; undefined outside its range. */
function bandTicks(market: ModelMarket, pool: ModelPool, ask: boolean): bigint | undefined {
  const band = pool.parameters.liquidationBand;
  const numerator = pool.indexPrice * (ask ? WAD - band : WAD + band) * pow10(market.tick.exponent);
  const denominator = WAD * WAD * market.tick.digits;
  const ticks = ask ? ceilDiv(numerator, denominator) : floorDiv(numerator, denominator);
  return ticks < market.minPriceTicks || ticks > market.maxPriceTicks ? undefined : ticks;
}

/**
 * One IOC system order of the account (limited to the market's maximum, skipped below its minimum or when
 * refused); the settlement units it moved (an ask's proceeds, a bid's cost). Part 6: the fee after it.
 */
function systemOrder(step: Step, market: ModelMarket, ask: boolean, ticks: bigint, wanted: bigint): bigint {
  const steps = smaller(wanted, market.maxQuantitySteps);
  if (steps <= 0n || steps < market.minQuantitySteps) return 0n;
  const first = step.trades.length;
  const settlementBefore = availableOf(step.data, step.account, SETTLEMENT);
  const order = {
    symbol: market.symbol,
    side: ask ? ('Ask' as const) : ('Bid' as const),
    orderType: 'Limit' as const,
    price: unitsToDecimal(ticks * market.tick.digits, market.tick.exponent),
    quantity: unitsToDecimal(steps * market.stepUnits, market.baseDecimals),
    timeInForce: 'IOC' as const,
    postOnly: false,
    selfTradePrevention: 'RejectTaker' as const,
  };
  const result = placeOrder(step.data, step.account, order, step.timeMs, step.trades);
  if (!result.ok || step.trades.length === first) return 0n;
  // Bought: what the account received (less the taker fee, charged in base); sold: what left it.
  let units = 0n;
  for (const trade of step.trades.slice(first))
    units += trade.quantitySteps * market.stepUnits - (ask ? 0n : trade.takerFeeUnits);
  step.bookUnits.set(market.base, (step.bookUnits.get(market.base) ?? 0n) + (ask ? -units : units));
  const settlementAfter = availableOf(step.data, step.account, SETTLEMENT);
  const moved = ask ? settlementAfter - settlementBefore : settlementBefore - settlementAfter;
  const fee = smaller(
    ceilDiv(moved * step.margin.pools.get(SETTLEMENT)!.parameters.liquidationFee, WAD),
    settlementAfter,
  );
  if (fee > 0n) {
    balanceEntry(step.data, step.account, SETTLEMENT).available -= fee;
    step.margin.coverage.get(SETTLEMENT)!.holdingsUnits += fee;
    step.feeUnits += fee;
  }
  return ask ? moved - fee : moved;
}

/** Raise X settlement units: asks of each held, unborrowed non-settlement asset while X > 0. */
function raise(step: Step, wanted: bigint): void {
  let left = wanted;
  for (const asset of step.data.assets) {
    if (left <= 0n) return;
    if (asset.symbol === SETTLEMENT || borrowedOf(step.margin, step.account, asset.symbol, step.timeMs) > 0n) continue;
    const available = availableOf(step.data, step.account, asset.symbol);
    const market = marketOf(step, asset.symbol);
    const pool = step.margin.pools.get(asset.symbol);
    if (available === 0n || market === undefined || pool === undefined || pool.indexPrice === 0n) continue;
    const ticks = bandTicks(market, pool, true);
    if (ticks === undefined || ticks === 0n) continue;
    const steps = smaller(available / market.stepUnits, ceilDiv(left, ticks * market.quoteUnitsPerStepTick));
    left -= systemOrder(step, market, true, ticks, steps);
  }
}

/** Part 5 for a non-settlement debt: raise the cost at the band's highest price, then bid what is affordable. */
function buy(step: Step, asset: string, wantUnits: bigint): void {
  const market = marketOf(step, asset);
  const pool = step.margin.pools.get(asset)!;
  if (market === undefined || pool.indexPrice === 0n) return;
  const ticks = bandTicks(market, pool, false);
  if (ticks === undefined || ticks === 0n) return;
  const steps = ceilDiv(wantUnits, market.stepUnits);
  const stepCost = ticks * market.quoteUnitsPerStepTick;
  raise(step, steps * stepCost - availableOf(step.data, step.account, SETTLEMENT));
  const affordable = availableOf(step.data, step.account, SETTLEMENT) / stepCost;
  systemOrder(step, market, false, ticks, smaller(steps, affordable));
}

/** Part 5: the debts in turn, settlement first, each sized from the budget left; C, the value closed. */
function closeThroughBook(step: Step, budget: bigint): bigint {
  let closed = 0n;
  const order = [
    ...step.debtAssets.filter((asset) => asset === SETTLEMENT),
    ...step.debtAssets.filter((asset) => asset !== SETTLEMENT),
  ];
  for (const asset of order) {
    if (restored(step) || closed >= budget) break;
    const owed = borrowedOf(step.margin, step.account, asset, step.timeMs);
    if (owed === 0n) continue;
    const pool = step.margin.pools.get(asset)!;
    const decimals = decimalsOf(step, asset);
    const perBudget = ceilDiv(
      (budget - closed) * pow10(decimals) * WAD,
      pool.indexPrice * pow10(step.settlementDecimals),
    );
    const want = smaller(owed, perBudget);
    if (asset === SETTLEMENT) raise(step, want - availableOf(step.data, step.account, SETTLEMENT));
    else buy(step, asset, want);
    const repaid = net(step, asset);
    closed += valueOf(repaid, pool.indexPrice, decimals, step.settlementDecimals, false);
  }
  return closed;
}

/** Part 7: the coverage pools take the holdings and collateral shares, pay the debts; the rest is socialised. */
function backstop(step: Step): { asset: string; units: bigint; shares: bigint }[] {
  const { data, margin, account } = step;
  const takeovers: { asset: string; units: bigint; shares: bigint }[] = [];
  for (const asset of data.assets) {
    const coverage = margin.coverage.get(asset.symbol);
    if (coverage === undefined) continue;
    const units = availableOf(data, account, asset.symbol);
    const shares = collateralSharesOf(margin, account, asset.symbol);
    if (units === 0n && shares === 0n) continue;
    if (units > 0n) {
      balanceEntry(data, account, asset.symbol).available = 0n;
      coverage.holdingsUnits += units;
    }
    if (shares > 0n) {
      const left = coverage.shares.get(account)! - shares;
      if (left === 0n) coverage.shares.delete(account);
      else coverage.shares.set(account, left);
      coverage.totalShares -= shares;
    }
    takeovers.push({ asset: asset.symbol, units, shares });
  }
  for (const asset of step.debtAssets) {
    const owed = borrowedOf(margin, account, asset, step.timeMs);
    if (owed === 0n) continue;
    const coverage = margin.coverage.get(asset)!;
    const paid = smaller(owed, coverage.holdingsUnits);
    if (paid > 0n) {
      coverage.holdingsUnits -= paid;
      balanceEntry(data, account, asset).available += paid;
      repayUnits(data, margin, account, asset, paid);
      debtOf(step, asset).paidByCoveragePoolUnits += paid;
    }
    const rest = borrowedOf(margin, account, asset, step.timeMs);
    if (rest > 0n) socialise(step, debtOf(step, asset), rest);
  }
  return takeovers;
}

function socialise(step: Step, debt: ModelDebtOutcome, units: bigint): void {
  const pool = step.margin.pools.get(debt.asset)!;
  const position = step.margin.positions.get(`${step.account}/${debt.asset}`)!;
  const lent = totalLent(pool);
  pool.totalBorrowScaled -= position.borrowScaled;
  position.borrowScaled = 0n;
  if (pool.totalSupplyScaled > 0n)
    pool.supplyIndex = floorDiv((lent > units ? lent - units : 0n) * WAD, pool.totalSupplyScaled);
  if (pool.supplyIndex === 0n) {
    // Wiped (5.2a): a new supply epoch at index 1 with nothing lent; the open lends are now worth nothing.
    pool.supplyEpoch += 1;
    pool.supplyIndex = WAD;
    pool.totalSupplyScaled = 0n;
  }
  debt.socialisedUnits += units;
  step.losses.push({ asset: debt.asset, units, supplyIndex: pool.supplyIndex });
}

/** Parts 1 and 2: cancel the account's orders, redeem its lends; the debts of the step, in asset order. */
function prepare(data: ModelData, margin: MarginData, account: string, timeMs: number) {
  const open = data.orders.filter((order) => order.account === account && isOpen(order));
  for (const order of open.sort((a, b) => a.orderId - b.orderId)) cancelOne(data, order);
  const debtAssets: string[] = [];
  for (const asset of data.assets) {
    const lent = lentOf(margin, account, asset.symbol, timeMs);
    if (lent > 0n) {
      const redeemed = smaller(lent, margin.pools.get(asset.symbol)!.cashUnits);
      if (redeemed > 0n) redeemUnits(data, margin, account, asset.symbol, redeemed);
    }
    if (borrowedOf(margin, account, asset.symbol, timeMs) > 0n) debtAssets.push(asset.symbol);
  }
  return { cancelledOrders: open.length, debtAssets };
}

export function liquidate(
  data: ModelData,
  margin: MarginData,
  liquidator: string,
  account: string,
  timeMs: number,
  trades: ModelTrade[],
  losses: ModelSocialisedLoss[],
): ModelLiquidationResult | Rejected {
  if (!data.accounts.has(account) || !borrowsAnything(margin, account)) return fail('NOT_LIQUIDATABLE');
  if (!isLiquidatable(data, margin, account, timeMs)) return fail('NOT_LIQUIDATABLE');
  const before = healthOf(data, margin, account, timeMs);
  accrueAccountPools(margin, account, timeMs);
  const { cancelledOrders, debtAssets } = prepare(data, margin, account, timeMs);
  const settlementDecimals = data.assets.find((asset) => asset.symbol === SETTLEMENT)!.decimals;
  const step: Step = {
    ...{ data, margin, account, timeMs, trades, debtAssets, losses, settlementDecimals },
    debts: new Map(),
    bookUnits: new Map(),
    feeUnits: 0n,
  };
  for (const asset of debtAssets) net(step, asset);
  let budgetValue = 0n;
  let closedValue = 0n;
  let takeovers: { asset: string; units: bigint; shares: bigint }[] = [];
  let backstopped = false;
  if (!restored(step)) {
    const liabilities = healthOf(data, margin, account, timeMs).liabilityValue;
    const minimum = STEP_MINIMUM_WHOLE * pow10(settlementDecimals);
    budgetValue = larger(ceilDiv(liabilities * STEP_PORTION, WAD), smaller(liabilities, minimum));
    closedValue = closeThroughBook(step, budgetValue);
    const health = healthOf(data, margin, account, timeMs);
    const owing = borrowsAnything(margin, account) && health.netEquity < health.maintenanceRequirement;
    backstopped = owing && (closedValue === 0n || health.netEquity <= 0n);
    if (backstopped) takeovers = backstop(step);
  }
  const after = healthOf(data, margin, account, timeMs);
  return {
    ok: true,
    kind: 'liquidation',
    account,
    liquidator,
    cancelledOrders,
    bookTrades: [...step.bookUnits].map(([asset, units]) => ({ asset, units })),
    debts: [...step.debts.values()],
    backstop: takeovers,
    feeUnits: step.feeUnits,
    netEquityBefore: before.netEquity,
    maintenanceRequirementBefore: before.maintenanceRequirement,
    budgetValue,
    closedValue,
    backstopped,
    netEquityAfter: after.netEquity,
    maintenanceRequirementAfter: after.maintenanceRequirement,
    initialRequirementAfter: after.initialRequirement,
  };
}
