/**
 * The perpetuals reference model's liquidation step (docs/margin.md section
 * 8 and docs/perps.md section 6a), written from the docs for what the seeded
 * test arranges (traders hold USDC and positions, borrow only USDC, lend
 * nothing). One `liquidate`: justified only below maintenance; (1) cancel
 * the account's orders and net its USDC debt from its available USDC; unless
 * restored, (2) the book: while net equity is positive, each position in
 * market order gets one IOC system order inside the liquidation band around
 * the mark, sized by what is left of the budget, paying the liquidation fee
 * to the coverage pool; (3) the USDC debt netted again (there is nothing else
 * to sell); (4) if still below maintenance and nothing closed or net equity
 * not positive, each position goes at its bankruptcy price to the coverage
 * pool's account when the pool covers that account's loss, else to ADL
 * against at most 8 opposite positions in ADL order; (5) once no position is
 * left, the margin backstop. Part of the naive perpetuals reference model
 * (reference-perps.ts).
 */
import {
  conformReduceOnly,
  executePerpOrder,
  type ModelPerpTrade,
  plannedWalk,
  quotePerStepTick,
} from './reference-perps-book.js';
import { ceilDiv, magnitude, modelHealth, notionalDown, notionalUp, pendingFunding } from './reference-perps-health.js';
import {
  applyFillRule,
  coveragePoolAccountId,
  emptyPosition,
  type ModelPerpMarket,
  type PerpReferenceModel,
  unrealisedPnl,
} from './reference-perps.js';

const wad = 10n ** 18n;
/** docs/perps.md section 6a: ADL closes against at most this many opposite positions per position and step. */
const adlCounterpartiesPerStep = 8;
/** The settlement asset's decimals in the seeded test. */
const usdcDecimals = 6n;

export interface ModelPositionRecord {
  readonly market: string;
  readonly systemOrderType: 'LiquidatePositionOnBook' | 'LiquidatePositionOnBackstop' | 'LiquidatePositionOnAdl';
  readonly quantityUnits: bigint;
  readonly quoteUnits: bigint;
  readonly counterparty: string | undefined;
}

export type ModelLiquidation =
  | { readonly accepted: false; readonly reason: string }
  | {
      readonly accepted: true;
      readonly positions: ModelPositionRecord[];
      readonly positionBudgetUnits: bigint;
      readonly positionClosedUnits: bigint;
      readonly closedValue: bigint;
      readonly feeUnits: bigint;
      readonly backstopped: boolean;
      readonly trades: ModelPerpTrade[];
    };

interface StepState {
  readonly model: PerpReferenceModel;
  readonly account: string;
  readonly timeMs: number;
  readonly records: ModelPositionRecord[];
  readonly trades: ModelPerpTrade[];
  budgetUnits: bigint;
  closedUnits: bigint;
  closedValue: bigint;
  feeUnits: bigint;
}

/** max(⌈L × 20 %⌉, min(L, 100 USDC)). */
function stepBudget(value: bigint): bigint {
  const minimum = 100n * 10n ** usdcDecimals;
  const portion = ceilDiv(value, 5n);
  return portion > (value < minimum ? value : minimum) ? portion : value < minimum ? value : minimum;
}

function restored(step: StepState): boolean {
  const { model, account } = step;
  if (model.usdcOf(account).borrowed === 0n && model.positionsOf(account).size === 0) return true;
  const health = modelHealth(model, account);
  return health.netEquity >= health.initialRequirement;
}

/** Repays the USDC borrow from the available USDC; returns the units repaid. */
function netDebt(model: PerpReferenceModel, account: string): bigint {
  const usdc = model.usdcOf(account);
  const repaid = usdc.available < usdc.borrowed ? usdc.available : usdc.borrowed;
  usdc.available -= repaid;
  usdc.borrowed -= repaid;
  model.lendingPoolCashUnits += repaid;
  return repaid;
}

export function liquidateModel(model: PerpReferenceModel, account: string, timeMs: number): ModelLiquidation {
  if (account === coveragePoolAccountId) return { accepted: false, reason: 'coveragePool' };
  if (model.usdcOf(account).borrowed === 0n && model.positionsOf(account).size === 0)
    return { accepted: false, reason: 'noDebt' };
  const before = modelHealth(model, account);
  if (before.netEquity >= before.maintenanceRequirement) return { accepted: false, reason: 'aboveMaintenance' };
  const step: StepState = {
    ...{ model, account, timeMs, records: [], trades: [] },
    ...{ budgetUnits: 0n, closedUnits: 0n, closedValue: 0n, feeUnits: 0n },
  };
  for (let index = model.orders.length - 1; index >= 0; index -= 1)
    if (model.orders[index]!.account === account) model.orders.splice(index, 1);
  netDebt(model, account);
  const backstopped = restored(step) ? false : closeAndBackstop(step);
  const { records, budgetUnits, closedUnits, closedValue, feeUnits, trades } = step;
  return {
    ...{ accepted: true, positions: records, positionBudgetUnits: budgetUnits, positionClosedUnits: closedUnits },
    ...{ closedValue, feeUnits, backstopped, trades },
  };
}

function closeAndBackstop(step: StepState): boolean {
  const { model, account } = step;
  if (model.positionsOf(account).size > 0 && modelHealth(model, account).netEquity > 0n) closeThroughBook(step);
  if (!restored(step)) {
    // The debts through the book: the USDC debt, within the budget of the liability value; nothing to sell, so
    // only what the account holds available repays it.
    const liabilities = model.usdcOf(account).borrowed + lossesOf(model, account);
    if (stepBudget(liabilities) > 0n) step.closedValue += netDebt(model, account);
  }
  const after = modelHealth(model, account);
  const closedNothing = step.closedValue === 0n && step.closedUnits === 0n;
  if (after.netEquity >= after.maintenanceRequirement || !(closedNothing || after.netEquity <= 0n)) return false;
  let backstopped = false;
  if (model.positionsOf(account).size > 0) {
    backstopPositions(step);
    backstopped = true;
  }
  const left = modelHealth(model, account);
  const usdc = model.usdcOf(account);
  if (model.positionsOf(account).size === 0 && usdc.borrowed > 0n && left.netEquity < left.maintenanceRequirement) {
    // docs/margin.md section 8, part 7: the pool takes the USDC held, pays the debt as far as it holds, the rest is
    // written off on the lenders.
    model.coveragePoolUnits += usdc.available;
    usdc.available = 0n;
    const paid = usdc.borrowed < model.coveragePoolUnits ? usdc.borrowed : model.coveragePoolUnits;
    model.coveragePoolUnits -= paid;
    model.lendingPoolCashUnits += paid;
    if (paid < usdc.borrowed) model.meet('bad debt socialised');
    usdc.borrowed = 0n;
    model.meet('margin backstop');
    backstopped = true;
  }
  return backstopped;
}

/** The liability side of the positions' PnL: Σ of the losses (funding pending counted). */
function lossesOf(model: PerpReferenceModel, account: string): bigint {
  let losses = 0n;
  for (const [symbol, position] of model.positionsOf(account)) {
    const market = model.markets.get(symbol)!;
    if (market.markPrice === 0n) continue;
    const equity = unrealisedPnl(market, position, market.markPrice) - pendingFunding(market, position);
    if (equity < 0n) losses -= equity;
  }
  return losses;
}

/** The band limit: a sell no lower than mark × (1 − band) rounded up, a buy no higher than mark × (1 + band) down. */
function bandTicks(market: ModelPerpMarket, sell: boolean): bigint | undefined {
  const numerator = market.markPrice * 10n ** BigInt(market.usdcDecimals);
  const denominator = wad * wad * market.tickQuoteUnits;
  const ticks = sell
    ? ceilDiv(numerator * (wad - market.liquidationBand), denominator)
    : (numerator * (wad + market.liquidationBand)) / denominator;
  return ticks < market.minPriceTicks || ticks > market.maxPriceTicks ? undefined : ticks;
}

function closeThroughBook(step: StepState): void {
  const { model, account, timeMs } = step;
  let notional = 0n;
  for (const [symbol, position] of model.positionsOf(account))
    notional += notionalDown(model.markets.get(symbol)!, position.quantityUnits);
  step.budgetUnits = stepBudget(notional);
  for (const market of model.markets.values()) {
    const position = model.positionsOf(account).get(market.symbol);
    if (position === undefined) continue;
    const remaining = step.budgetUnits - step.closedUnits;
    const health = modelHealth(model, account);
    if (remaining <= 0n || health.netEquity >= health.initialRequirement) return;
    const sell = position.quantityUnits > 0n;
    const priceTicks = market.markPrice === 0n ? undefined : bandTicks(market, sell);
    if (priceTicks === undefined) continue;
    const size = magnitude(position.quantityUnits) / market.stepBaseUnits;
    const stepValue = notionalDown(market, market.stepBaseUnits) > 0n ? notionalDown(market, market.stepBaseUnits) : 1n;
    let steps = ceilDiv(remaining, stepValue);
    if (steps > size) steps = size;
    if (steps > market.maxQuantitySteps) steps = market.maxQuantitySteps;
    if (steps < market.minQuantitySteps || steps <= 0n) continue;
    const order = {
      ...{ symbol: market.symbol, side: sell ? ('Ask' as const) : ('Bid' as const), orderType: 'Limit' as const },
      ...{ priceTicks, quantitySteps: steps, timeInForce: 'IOC' as const, reduceOnly: false },
    };
    // An IOC that would fill nothing is refused (docs/matching.md, would-not-fill): the position is skipped.
    if (plannedWalk(model, market, account, order).steps === 0n) continue;
    const trades = executePerpOrder(model, account, order, model.nextOrderId++, timeMs);
    step.trades.push(...trades);
    let filled = 0n;
    let quoteUnits = 0n;
    for (const trade of trades) {
      filled += trade.quantitySteps;
      quoteUnits += trade.quoteUnits;
    }
    const quantityUnits = (sell ? -filled : filled) * market.stepBaseUnits;
    step.records.push({
      ...{ market: market.symbol, systemOrderType: 'LiquidatePositionOnBook', quantityUnits, quoteUnits },
      counterparty: undefined,
    });
    step.closedUnits += notionalDown(market, quantityUnits);
    const usdc = model.usdcOf(account);
    const due = ceilDiv(quoteUnits * model.usdcMargin.liquidationFee, wad);
    const fee = due < usdc.available ? due : usdc.available;
    usdc.available -= fee;
    model.coveragePoolUnits += fee;
    step.feeUnits += fee;
    model.meet('position closed on the book');
  }
}

/** The whole position's price per step at which closing it leaves net equity `equity` at zero, on the tick grid. */
function bankruptcyTicks(market: ModelPerpMarket, quantityUnits: bigint, equity: bigint): bigint {
  const perStep = quotePerStepTick(market) * (magnitude(quantityUnits) / market.stepBaseUnits);
  const value = notionalDown(market, quantityUnits);
  if (quantityUnits > 0n) return value - equity <= 0n ? 0n : (value - equity) / perStep;
  return value + equity <= 0n ? 0n : ceilDiv(value + equity, perStep);
}

/** What the coverage pool's account would lose by taking `quantityUnits` for `quoteUnits` now (0 for a gain). */
function poolLoss(model: PerpReferenceModel, market: ModelPerpMarket, quantityUnits: bigint, quoteUnits: bigint) {
  const position = { ...(model.positionsOf(coveragePoolAccountId).get(market.symbol) ?? emptyPosition(market)) };
  const funding = pendingFunding(market, position);
  position.fundingIndexAtSettlement = market.fundingIndex;
  let pnl = applyFillRule(position, quantityUnits, quantityUnits > 0n ? quoteUnits : -quoteUnits);
  if (position.quantityUnits !== 0n) pnl += unrealisedPnl(market, position, market.markPrice);
  return pnl - funding < 0n ? funding - pnl : 0n;
}

function backstopPositions(step: StepState): void {
  const { model, account } = step;
  for (const market of model.markets.values()) {
    const position = model.positionsOf(account).get(market.symbol);
    if (position === undefined || market.markPrice === 0n) continue;
    const quantityUnits = position.quantityUnits;
    const priceTicks = bankruptcyTicks(market, quantityUnits, modelHealth(model, account).netEquity);
    const quoteUnits = (magnitude(quantityUnits) / market.stepBaseUnits) * priceTicks * quotePerStepTick(market);
    if (poolLoss(model, market, quantityUnits, quoteUnits) <= model.coveragePoolUnits) {
      model.ordinalOf(coveragePoolAccountId);
      transfer(step, market, coveragePoolAccountId, quantityUnits, priceTicks);
      model.meet('position taken over by the pool');
      continue;
    }
    for (const counterparty of adlRanking(model, market, quantityUnits < 0n, account)) {
      const remaining = model.positionsOf(account).get(market.symbol)?.quantityUnits ?? 0n;
      if (remaining === 0n) break;
      const opposite = model.positionsOf(counterparty).get(market.symbol)!.quantityUnits;
      const size = magnitude(remaining) < magnitude(opposite) ? magnitude(remaining) : magnitude(opposite);
      transfer(step, market, counterparty, remaining > 0n ? size : -size, priceTicks);
      model.meet('position deleveraged');
    }
  }
}

/**
 * The ADL order of one side (longs when `long`): PnL (realised + unrealised
 * at the mark) × notional ÷ equity (at least 1), highest first, ties to the
 * lower ordinal; the liquidated account and the pool's account excepted; the
 * first 8.
 */
function adlRanking(model: PerpReferenceModel, market: ModelPerpMarket, long: boolean, liquidated: string): string[] {
  const scores: Array<{ account: string; pnl: bigint; notional: bigint; equity: bigint }> = [];
  for (const [account, positions] of model.positions) {
    const position = positions.get(market.symbol);
    if (position === undefined || position.quantityUnits > 0n !== long) continue;
    if (account === coveragePoolAccountId || account === liquidated) continue;
    const equity = modelHealth(model, account).netEquity;
    scores.push({
      account,
      pnl: position.realisedPnlUnits + unrealisedPnl(market, position, market.markPrice),
      notional: notionalUp(market, position.quantityUnits),
      equity: equity > 0n ? equity : 1n,
    });
  }
  scores.sort((left, right) => {
    const leftKey = left.pnl * left.notional * right.equity;
    const rightKey = right.pnl * right.notional * left.equity;
    if (leftKey !== rightKey) return leftKey > rightKey ? -1 : 1;
    return model.ordinalOf(left.account) - model.ordinalOf(right.account);
  });
  return scores.slice(0, adlCounterpartiesPerStep).map((score) => score.account);
}

/** Moves `quantityUnits` of the liquidated account's position (its sign) to `counterparty` at `priceTicks`, no fee. */
function transfer(
  step: StepState,
  market: ModelPerpMarket,
  counterparty: string,
  quantityUnits: bigint,
  priceTicks: bigint,
): void {
  const { model, account, timeMs } = step;
  const quoteUnits = (magnitude(quantityUnits) / market.stepBaseUnits) * priceTicks * quotePerStepTick(market);
  model.side(market, account, -quantityUnits, quoteUnits, 0n, timeMs);
  model.side(market, counterparty, quantityUnits, quoteUnits, 0n, timeMs);
  conformReduceOnly(model, market, [account, counterparty]);
  const systemOrderType =
    counterparty === coveragePoolAccountId ? 'LiquidatePositionOnBackstop' : 'LiquidatePositionOnAdl';
  step.records.push({
    market: market.symbol,
    systemOrderType,
    quantityUnits: -quantityUnits,
    quoteUnits,
    counterparty,
  });
}
