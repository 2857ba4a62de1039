/**
 * Liquidation of perpetual positions (docs/perps.md, "Liquidation and ADL"),
 * the positions' part of a `liquidate` step (liquidation.ts):
 *
 * 1. Book: while the account's net equity is positive, its positions, in
 *    ascending market index, are closed through the book with IOC system
 *    orders (`LiquidatePositionOnBook`) inside the liquidation band around
 *    the mark, up to the step's budget (stepBudget of the positions'
 *    notional at the mark), stopping once the account meets its initial
 *    requirement. Each order pays the liquidation fee on its USDC notional
 *    to the USDC coverage pool.
 * 2. Backstop: what the book left, when the book closed nothing or net
 *    equity is not positive, the coverage pool's account takes over at the
 *    bankruptcy price (`LiquidatePositionOnBackstop`), provided the USDC
 *    coverage pool can pay what the pool's account loses at the mark.
 * 3. ADL: otherwise the position is closed at the bankruptcy price against
 *    opposite positions of other accounts (`LiquidatePositionOnAdl`), at most
 *    adlCounterpartiesPerStep of them per step, ranked by adl-rank.ts.
 */
import { debit } from '../balance-movements.js';
import { addToCoveragePool } from '../coverage-pool.js';
import type { EntryRecorder } from '../entry-recorder.js';
import { markLeafStale } from '../liabilities-perps.js';
import { accountHealth } from '../health.js';
import { maximum, minimum, multiplyUp } from '../margin-fixed-point.js';
import type { Account, Asset, ExchangeState, Market } from '../state.js';
import { placeSystemOrder } from '../system-orders.js';
import { rankedCounterparties } from './adl-rank.js';
import { settlePerpCash } from './perp-cash.js';
import { reportPositionChanged, reportSettlements } from './perp-events.js';
import type { PerpMarketState } from './perp-market.js';
import { movePosition } from './perp-settlement.js';
import { conformReduceOnlyOrders } from './resting-perp-orders.js';
import { coveragePoolAccount, coveragePoolAccountId, poolLossAtTakeover, settlePoolSide } from './pool-positions.js';
import { positionsInOrder } from './position-codec.js';
import { settlementUnitsTowardPositive } from './position.js';

export type PositionSystemOrderType =
  | 'LiquidatePositionOnBook'
  | 'LiquidatePositionOnBackstop'
  | 'LiquidatePositionOnAdl';

/** One change of the liquidated account's position in a step. */
export interface PositionLiquidationRecord {
  readonly market: string;
  readonly systemOrderType: PositionSystemOrderType;
  /** The change of the liquidated account's position, base units, signed. */
  readonly quantityUnits: bigint;
  /** The USDC notional of the change. */
  readonly quoteUnits: bigint;
  /** The coverage pool's account (backstop) or the deleveraged account (ADL); undefined for the book. */
  readonly counterparty: string | undefined;
}

export interface PositionProgress {
  readonly records: PositionLiquidationRecord[];
  /** The positions' budget of the step (notional at the mark, USDC units) and the notional the book closed. */
  budgetUnits: bigint;
  closedUnits: bigint;
  feeUnits: bigint;
}

export function newPositionProgress(): PositionProgress {
  return { records: [], budgetUnits: 0n, closedUnits: 0n, feeUnits: 0n };
}

function magnitude(quantityUnits: bigint): bigint {
  return quantityUnits < 0n ? -quantityUnits : quantityUnits;
}

/** Whether the account meets its initial requirement (positions and debts counted). */
function meetsInitial(state: ExchangeState, account: Account, timeMs: number): boolean {
  const health = accountHealth(state, account, timeMs);
  return health.netEquity >= health.initialRequirement;
}

/** |quantity| × mark in USDC units, rounded down: what a closed quantity counts against the budget. */
function notionalAtMark(market: Market, quantityUnits: bigint): bigint {
  const mark = (market.perp as PerpMarketState).funding.markPrice;
  return -settlementUnitsTowardPositive(-magnitude(quantityUnits), mark, market.base.decimals, market.quote.decimals);
}

/**
 * The book part: positions in ascending market index, each closed (never
 * flipped) up to what is left of `budgetUnits` with one IOC system order
 * inside the band around the mark; stops once the account meets its initial
 * requirement or the budget is spent.
 */
export function closePositionsThroughBook(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  budgetUnits: bigint,
  progress: PositionProgress,
  bandTicks: (market: Market, side: 'Bid' | 'Ask', referencePrice: bigint) => bigint | undefined,
): void {
  progress.budgetUnits = budgetUnits;
  for (const [marketIndex, position] of positionsInOrder(account)) {
    const remaining = budgetUnits - progress.closedUnits;
    if (remaining <= 0n || meetsInitial(state, account, recorder.timeMs)) return;
    const market = state.markets[marketIndex]!;
    const mark = (market.perp as PerpMarketState).funding.markPrice;
    const side = position.quantityUnits > 0n ? 'Ask' : 'Bid';
    // No mark yet, or no band (a base asset without margin parameters): the book part skips the position.
    const priceTicks = mark === 0n || market.base.margin === undefined ? undefined : bandTicks(market, side, mark);
    if (priceTicks === undefined) continue;
    const sizeSteps = magnitude(position.quantityUnits) / market.stepUnits;
    // Steps worth `remaining` at the mark, rounded up, at most the position and the market's maximum.
    const stepValue = maximum(1n, notionalAtMark(market, market.stepUnits));
    const steps = minimum(minimum(sizeSteps, (remaining + stepValue - 1n) / stepValue), market.maxQuantitySteps);
    if (steps < market.minQuantitySteps || steps <= 0n) continue;
    bookOrder(state, recorder, account, market, side, priceTicks, steps, progress);
  }
}

function bookOrder(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  market: Market,
  side: 'Bid' | 'Ask',
  priceTicks: bigint,
  steps: bigint,
  progress: PositionProgress,
): void {
  const firstEvent = recorder.events.length;
  placeSystemOrder(state, recorder, account.id, market, side, priceTicks, steps);
  let filledSteps = 0n;
  let quoteUnits = 0n;
  for (let index = firstEvent; index < recorder.events.length; index += 1) {
    const event = recorder.events[index]!;
    if (event.type !== 'trade' || event.takerAccount !== account.id) continue;
    recorder.events[index] = { ...event, systemOrderType: 'LiquidatePositionOnBook' };
    filledSteps += event.quantitySteps;
    quoteUnits += event.quoteUnits;
  }
  if (filledSteps === 0n) return;
  const quantityUnits = (side === 'Bid' ? filledSteps : -filledSteps) * market.stepUnits;
  progress.records.push({
    market: market.symbol,
    systemOrderType: 'LiquidatePositionOnBook',
    quantityUnits,
    quoteUnits,
    counterparty: undefined,
  });
  progress.closedUnits += notionalAtMark(market, quantityUnits);
  payLiquidationFee(state, recorder, account, market.quote, quoteUnits, progress);
}

/** The liquidation fee on `quoteUnits` (rounded up, at most the available USDC) to the USDC coverage pool. */
function payLiquidationFee(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  usdc: Asset,
  quoteUnits: bigint,
  progress: PositionProgress,
): void {
  const margin = usdc.margin;
  if (margin === undefined) return;
  const balance = account.balance(usdc);
  const fee = minimum(multiplyUp(quoteUnits, margin.parameters.liquidationFee), balance.available);
  if (fee <= 0n) return;
  debit(recorder, balance, fee);
  addToCoveragePool(margin.coveragePool, fee);
  progress.feeUnits += fee;
  state.changes.accountChanged(account);
}

/** The budget's base: the notional of all the account's positions at their marks, USDC units, rounded down. */
export function positionsNotionalUnits(state: ExchangeState, account: Account): bigint {
  let total = 0n;
  for (const [marketIndex, position] of account.positions)
    total += notionalAtMark(state.markets[marketIndex]!, position.quantityUnits);
  return total;
}

/**
 * The bankruptcy price of the whole position, on the tick grid: the price
 * at which closing it leaves the account's net equity (`netEquity`, at the
 * mark) at zero. A long sells for its value at the mark less the net equity,
 * a short buys back for its value plus it; the price per step rounds down
 * for a long and up for a short (against the account, so the one taking the
 * position over never pays more than the account's equity allows), never
 * below zero.
 */
export function bankruptcyPriceTicks(market: Market, quantityUnits: bigint, netEquity: bigint): bigint {
  const steps = magnitude(quantityUnits) / market.stepUnits;
  const value = notionalAtMark(market, quantityUnits);
  const perStep = market.quoteUnitsPerStepTick * steps;
  if (quantityUnits > 0n) {
    const proceeds = value - netEquity;
    return proceeds <= 0n ? 0n : proceeds / perStep;
  }
  const cost = value + netEquity;
  return cost <= 0n ? 0n : (cost + perStep - 1n) / perStep;
}

/**
 * The backstop of the account's positions, in ascending market index: each
 * goes to the coverage pool's account at its bankruptcy price when the USDC
 * coverage pool covers that account's loss at the mark, else to ADL.
 */
export function backstopPositions(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  entrySignature: Uint8Array,
  progress: PositionProgress,
): void {
  for (const [marketIndex, position] of positionsInOrder(account)) {
    const market = state.markets[marketIndex]!;
    const perp = market.perp as PerpMarketState;
    const usdcMargin = market.quote.margin;
    if (perp.funding.markPrice === 0n || usdcMargin === undefined) continue;
    const netEquity = accountHealth(state, account, recorder.timeMs).netEquity;
    const priceTicks = bankruptcyPriceTicks(market, position.quantityUnits, netEquity);
    const quantityUnits = position.quantityUnits;
    const pool = coveragePoolAccount(state, entrySignature);
    const quoteUnits = quoteAt(market, quantityUnits, priceTicks);
    if (poolLossAtTakeover(pool, market, quantityUnits, quoteUnits) <= usdcMargin.coveragePool.holdingsUnits) {
      transfer(state, recorder, account, pool, market, quantityUnits, priceTicks, progress);
      continue;
    }
    for (const counterparty of rankedCounterparties(state, market, quantityUnits, account)) {
      const remaining = account.positions.get(marketIndex)?.quantityUnits ?? 0n;
      if (remaining === 0n) break;
      const opposite = counterparty.positions.get(marketIndex)!.quantityUnits;
      const size = minimum(magnitude(remaining), magnitude(opposite));
      transfer(state, recorder, account, counterparty, market, remaining > 0n ? size : -size, priceTicks, progress);
    }
  }
}

function quoteAt(market: Market, quantityUnits: bigint, priceTicks: bigint): bigint {
  const steps = magnitude(quantityUnits) / market.stepUnits;
  return steps * priceTicks * market.quoteUnitsPerStepTick;
}

/**
 * Moves `quantityUnits` (the liquidated account's side: positive closes part
 * of its long) from the liquidated account to `counterparty` at
 * `priceTicks`, settling both in USDC (the pool's account through the
 * coverage pool), with events.
 */
function transfer(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  counterparty: Account,
  market: Market,
  quantityUnits: bigint,
  priceTicks: bigint,
  progress: PositionProgress,
): void {
  const quoteUnits = quoteAt(market, quantityUnits, priceTicks);
  const isPool = counterparty.id === coveragePoolAccountId;
  const systemOrderType = isPool ? 'LiquidatePositionOnBackstop' : 'LiquidatePositionOnAdl';
  settleTransferSide(state, recorder, account, market, -quantityUnits, quoteUnits, false);
  settleTransferSide(state, recorder, counterparty, market, quantityUnits, quoteUnits, isPool);
  recorder.events.push({
    type: 'perpLiquidationTrade',
    tradeId: state.nextTradeId,
    market: market.symbol,
    systemOrderType,
    priceTicks,
    quantitySteps: magnitude(quantityUnits) / market.stepUnits,
    quoteUnits,
    account: account.id,
    side: quantityUnits > 0n ? 'Ask' : 'Bid',
    counterparty: counterparty.id,
    timeMs: recorder.timeMs,
  });
  state.nextTradeId += 1;
  progress.records.push({
    market: market.symbol,
    systemOrderType,
    quantityUnits: -quantityUnits,
    quoteUnits,
    counterparty: counterparty.id,
  });
}

/** One side of a transfer: its position moves (funding settled, PnL realised), then its USDC (no fee). */
function settleTransferSide(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  market: Market,
  deltaUnits: bigint,
  quoteUnits: bigint,
  isPool: boolean,
): void {
  // movePosition's answer is overwritten by its next call: read before anything else runs.
  const { position, realisedUnits, fundingUnits, openInterestChangeUnits } = movePosition(
    account,
    market,
    deltaUnits,
    quoteUnits,
    recorder.timeMs,
    recorder,
  );
  (market.perp as PerpMarketState).openInterestUnits += openInterestChangeUnits;
  state.changes.accountChanged(account);
  // Its leaf counts the position's pending amounts (liabilities-perps.ts), and an ADL counterparty's resting
  // reduce-only orders must still face what is left of its position (docs/perps.md, section 4a).
  markLeafStale(state, account);
  conformReduceOnlyOrders(state, recorder, account, market);
  const net = realisedUnits - fundingUnits;
  if (isPool) settlePoolSide(market.quote, net);
  else settlePerpCash(state, recorder, account, market.quote, net);
  reportSettlements(recorder, account, market, realisedUnits, fundingUnits, 0n);
  reportPositionChanged(recorder, account, market, position, 0n);
}
