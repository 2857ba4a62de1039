/**
 * The margin reference model's liquidation (docs/margin.md section 8), kept
 * in its own file so the rule can change on its own (gradual liquidation is
 * under way elsewhere). The rule modelled here is the complete liquidation
 * of section 8: accepted only for an account that borrows and is below its
 * maintenance margin; then (1) cancel all its open orders, (2) redeem its
 * lends as far as each pool's cash allows, (3) repay debts from available,
 * (4) an IOC ask of each non-settlement holding it does not borrow on
 * ASSET_USDC at ⌈P·(1−band)⌉ ticks, then (3), (5) an IOC bid for each
 * non-settlement debt at ⌊P·(1+band)⌋ ticks limited by the settlement
 * balance, then (3), (6) with no debt left a fee of ⌈repaid value × fee⌉ to
 * the settlement coverage pool, (7) otherwise the backstop: the coverage
 * pools take every borrowable holding, pay each debt as far as they can,
 * and the rest is written off on the lenders by lowering the supply index.
 * Part of the naive margin reference model (reference-margin-model.ts).
 */
import { cancelOne } from './reference-book.js';
import { pow10, unitsToDecimal } from './reference-decimal.js';
import {
  accrueAccountPools,
  borrowedOf,
  borrowsAnything,
  isLiquidatable,
  lentOf,
  redeemUnits,
  repayUnits,
  totalLent,
} from './reference-margin.js';
import { ceilDiv, floorDiv, smaller, WAD } from './reference-margin-math.js';
import { type MarginData, SETTLEMENT } from './reference-margin-state.js';
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

export interface ModelDebtOutcome {
  readonly asset: string;
  repaidByAccountUnits: bigint;
  paidByCoveragePoolUnits: bigint;
  socialisedUnits: bigint;
}

export interface ModelLiquidationResult {
  readonly ok: true;
  readonly kind: 'liquidation';
  readonly account: string;
  readonly liquidator: string;
  readonly cancelledOrders: number;
  readonly bookTrades: { asset: string; units: bigint }[];
  readonly debts: ModelDebtOutcome[];
  readonly backstop: { asset: string; units: bigint }[];
  readonly feeUnits: bigint;
}

/** A socialised loss the model reports, for comparison with the engine's event. */
export interface ModelSocialisedLoss {
  readonly asset: string;
  readonly units: bigint;
  readonly supplyIndex: bigint;
}

interface Run {
  readonly data: ModelData;
  readonly margin: MarginData;
  readonly account: string;
  readonly timeMs: number;
  readonly trades: ModelTrade[];
  readonly debts: ModelDebtOutcome[];
  readonly bookUnits: Map<string, bigint>;
  readonly losses: ModelSocialisedLoss[];
}

/** Step 3: each debt repaid from the same asset's available balance. */
function repayFromAvailable(run: Run): void {
  for (const debt of run.debts) {
    const owed = borrowedOf(run.margin, run.account, debt.asset, run.timeMs);
    const paid = smaller(owed, availableOf(run.data, run.account, debt.asset));
    if (paid === 0n) continue;
    repayUnits(run.data, run.margin, run.account, debt.asset, paid);
    debt.repaidByAccountUnits += paid;
  }
}

/** Ticks of P·(1 ± band) on the market, rounded up for an ask and down for a bid; undefined outside its range. */
function bandTicks(market: ModelMarket, price: bigint, band: bigint, ask: boolean): bigint | undefined {
  const fraction = ask ? WAD - band : WAD + band;
  const numerator = price * fraction * pow10(market.tick.exponent);
  const denominator = WAD * WAD * market.tick.digits;
  const ticks = ask ? ceilDiv(numerator, denominator) : floorDiv(numerator, denominator);
  return ticks < market.minPriceTicks || ticks > market.maxPriceTicks ? undefined : ticks;
}

/** One IOC system order of the account; the base units it bought (+) or sold (−). */
function systemOrder(run: Run, market: ModelMarket, ask: boolean, ticks: bigint, steps: bigint): void {
  if (steps <= 0n) return;
  const first = run.trades.length;
  const priceText = unitsToDecimal(ticks * market.tick.digits, market.tick.exponent);
  const result = placeOrder(
    run.data,
    run.account,
    {
      symbol: market.symbol,
      side: ask ? 'Ask' : 'Bid',
      orderType: 'Limit',
      price: priceText,
      quantity: unitsToDecimal(steps * market.stepUnits, market.baseDecimals),
      timeInForce: 'IOC',
      postOnly: false,
      selfTradePrevention: 'RejectTaker',
    },
    run.timeMs,
    run.trades,
  );
  if (!result.ok) return;
  // Bought: what the account received (less the taker fee, charged in base); sold: what left it.
  let units = 0n;
  for (const trade of run.trades.slice(first))
    units += trade.quantitySteps * market.stepUnits - (ask ? 0n : trade.takerFeeUnits);
  if (units > 0n) run.bookUnits.set(market.base, (run.bookUnits.get(market.base) ?? 0n) + (ask ? -units : units));
}

function sellCollateral(run: Run): void {
  const { data, margin, account } = run;
  for (const asset of data.assets) {
    if (asset.symbol === SETTLEMENT || borrowedOf(margin, account, asset.symbol, run.timeMs) > 0n) continue;
    const available = availableOf(data, account, asset.symbol);
    const market = data.markets.find((candidate) => candidate.symbol === `${asset.symbol}_${SETTLEMENT}`);
    const pool = margin.pools.get(asset.symbol);
    if (available === 0n || market === undefined || pool === undefined || pool.indexPrice === 0n) continue;
    const ticks = bandTicks(market, pool.indexPrice, pool.parameters.liquidationBand, true);
    if (ticks === undefined) continue;
    systemOrder(run, market, true, ticks, smaller(available / market.stepUnits, market.maxQuantitySteps));
  }
  repayFromAvailable(run);
}

function buyDebts(run: Run): void {
  const { data, margin, account } = run;
  for (const debt of run.debts) {
    if (debt.asset === SETTLEMENT) continue;
    const owed = borrowedOf(margin, account, debt.asset, run.timeMs);
    const market = data.markets.find((candidate) => candidate.symbol === `${debt.asset}_${SETTLEMENT}`);
    const pool = margin.pools.get(debt.asset)!;
    if (owed === 0n || market === undefined) continue;
    const ticks = bandTicks(market, pool.indexPrice, pool.parameters.liquidationBand, false);
    if (ticks === undefined || ticks === 0n) continue;
    const affordable = availableOf(data, account, SETTLEMENT) / (ticks * market.quoteUnitsPerStepTick);
    const steps = smaller(smaller(ceilDiv(owed, market.stepUnits), affordable), market.maxQuantitySteps);
    systemOrder(run, market, false, ticks, steps);
  }
  repayFromAvailable(run);
}

/** Step 7: the coverage pools take the holdings, pay the debts, and the rest is socialised. */
function backstop(run: Run): { asset: string; units: bigint }[] {
  const { data, margin, account } = run;
  const takeovers: { asset: string; units: bigint }[] = [];
  for (const asset of data.assets) {
    const coverage = margin.coverage.get(asset.symbol);
    const available = availableOf(data, account, asset.symbol);
    if (coverage === undefined || available === 0n) continue;
    balanceEntry(data, account, asset.symbol).available = 0n;
    coverage.holdingsUnits += available;
    takeovers.push({ asset: asset.symbol, units: available });
  }
  for (const debt of run.debts) {
    const owed = borrowedOf(margin, account, debt.asset, run.timeMs);
    if (owed === 0n) continue;
    const coverage = margin.coverage.get(debt.asset)!;
    const paid = smaller(owed, coverage.holdingsUnits);
    if (paid > 0n) {
      coverage.holdingsUnits -= paid;
      balanceEntry(data, account, debt.asset).available += paid;
      repayUnits(data, margin, account, debt.asset, paid);
      debt.paidByCoveragePoolUnits += paid;
    }
    const rest = borrowedOf(margin, account, debt.asset, run.timeMs);
    if (rest > 0n) socialise(run, debt, rest);
  }
  return takeovers;
}

function socialise(run: Run, debt: ModelDebtOutcome, units: bigint): void {
  const pool = run.margin.pools.get(debt.asset)!;
  const position = run.margin.positions.get(`${run.account}/${debt.asset}`)!;
  const lent = totalLent(pool);
  pool.totalBorrowScaled -= position.borrowScaled;
  position.borrowScaled = 0n;
  if (pool.totalSupplyScaled > 0n)
    pool.supplyIndex = floorDiv((lent > units ? lent - units : 0n) * WAD, pool.totalSupplyScaled);
  debt.socialisedUnits += units;
  run.losses.push({ asset: debt.asset, units, supplyIndex: pool.supplyIndex });
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
  accrueAccountPools(margin, account, timeMs);
  const open = data.orders.filter((order) => order.account === account && isOpen(order));
  for (const order of open.sort((a, b) => a.orderId - b.orderId)) cancelOne(data, order);
  const debts: ModelDebtOutcome[] = [];
  for (const asset of data.assets) {
    if (lentOf(margin, account, asset.symbol, timeMs) > 0n) {
      const cash = margin.pools.get(asset.symbol)!.cashUnits;
      const redeemed = smaller(lentOf(margin, account, asset.symbol, timeMs), cash);
      if (redeemed > 0n) redeemUnits(data, margin, account, asset.symbol, redeemed);
    }
    if (borrowedOf(margin, account, asset.symbol, timeMs) > 0n)
      debts.push({ asset: asset.symbol, repaidByAccountUnits: 0n, paidByCoveragePoolUnits: 0n, socialisedUnits: 0n });
  }
  const run: Run = { data, margin, account, timeMs, trades, debts, bookUnits: new Map(), losses };
  repayFromAvailable(run);
  sellCollateral(run);
  buyDebts(run);
  const settled = debts.every((debt) => borrowedOf(margin, account, debt.asset, timeMs) === 0n);
  let feeUnits = 0n;
  let takeovers: { asset: string; units: bigint }[] = [];
  if (settled) feeUnits = chargeFee(run);
  else takeovers = backstop(run);
  const bookTrades = [...run.bookUnits].map(([asset, units]) => ({ asset, units }));
  return {
    ok: true,
    kind: 'liquidation',
    account,
    liquidator,
    cancelledOrders: open.length,
    bookTrades,
    debts,
    backstop: takeovers,
    feeUnits,
  };
}

/** Step 6: the fee on the value repaid, rounded up, at most the settlement balance, to the settlement pool. */
function chargeFee(run: Run): bigint {
  const { data, margin, account } = run;
  const settlementDecimals = data.assets.find((asset) => asset.symbol === SETTLEMENT)!.decimals;
  let repaidValue = 0n;
  for (const debt of run.debts) {
    const pool = margin.pools.get(debt.asset)!;
    const decimals = data.assets.find((asset) => asset.symbol === debt.asset)!.decimals;
    const numerator = debt.repaidByAccountUnits * pool.indexPrice * pow10(settlementDecimals);
    repaidValue += floorDiv(numerator, pow10(decimals) * WAD);
  }
  const settlementPool = margin.pools.get(SETTLEMENT)!;
  const fee = smaller(
    ceilDiv(repaidValue * settlementPool.parameters.liquidationFee, WAD),
    availableOf(data, account, SETTLEMENT),
  );
  if (fee > 0n) {
    balanceEntry(data, account, SETTLEMENT).available -= fee;
    margin.coverage.get(SETTLEMENT)!.holdingsUnits += fee;
  }
  return fee;
}
