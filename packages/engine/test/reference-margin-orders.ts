/**
 * The margin reference model's margin orders (docs/margin.md section 7):
 * spend and receipt from the order or its planned walk, the shortfall
 * covered by redeeming then borrowing, the health check at both ends of the
 * order's life, placement as a spot order (undone exactly when refused) and
 * what the order received repaying or lent. Part of the naive margin
 * reference model (reference-margin-model.ts).
 */
import type { OrderRequest } from '../src/instruction.js';
import { walk } from './reference-book.js';
import { borrowPoolRefusal, redemptionRefusal } from './reference-margin-borrow-lend.js';
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
  meetsInitial,
  type ModelHealth,
  redeemUnits,
  repayUnits,
} from './reference-margin.js';
import { ceilDiv, larger, smaller } from './reference-margin-math.js';
import { copyMarginData, type MarginData } from './reference-margin-state.js';
import { parseOrderFields, placeOrder } from './reference-orders.js';
import {
  availableOf,
  copyData,
  fail,
  findMarket,
  type ModelData,
  type ModelMarket,
  type ModelOrder,
  type ModelResult,
  type ModelTrade,
} from './reference-state.js';

const flagNames = ['autoBorrow', 'autoBorrowRepay', 'autoLend', 'autoLendRedeem'] as const;

export function hasMarginFlag(request: OrderRequest): boolean {
  return flagNames.some((name) => request[name] === true);
}

/** Whether an order takes the margin path: a margin flag, or an account that borrows. */
export function takesMarginPath(margin: MarginData, account: string, request: OrderRequest): boolean {
  return hasMarginFlag(request) || borrowsAnything(margin, account);
}

interface Flows {
  readonly spentAsset: string;
  readonly spend: bigint;
  readonly receivedAsset: string;
  readonly receipt: bigint;
}

/** Step 2: what the order spends and receives (less the larger fee, rounded up). */
function flowsOf(data: ModelData, market: ModelMarket, taker: ModelOrder): Flows {
  const planned: ModelTrade[] = [];
  if (taker.orderType === 'Market') walk(copyData(data), market, { ...taker }, planned);
  const plannedBase = planned.reduce((sum, trade) => sum + trade.quantitySteps, 0n) * market.stepUnits;
  const plannedQuote = planned.reduce((sum, trade) => sum + trade.quoteUnits, 0n);
  const limitBase = taker.quantitySteps * market.stepUnits;
  const limitQuote = taker.quantitySteps * taker.priceTicks * market.quoteUnitsPerStepTick;
  const limit = taker.orderType === 'Limit';
  const base = limit ? limitBase : plannedBase;
  let quote = limit ? limitQuote : plannedQuote;
  if (taker.side === 'Bid' && taker.quoteQuantityUnits !== undefined) quote = taker.quoteQuantityUnits;
  const feeBps = larger(market.makerBps, market.takerBps);
  const lessFee = (units: bigint) => units - ceilDiv(units * feeBps, 10_000n);
  return taker.side === 'Bid'
    ? { spentAsset: market.quote, spend: quote, receivedAsset: market.base, receipt: lessFee(base) }
    : { spentAsset: market.base, spend: base, receivedAsset: market.quote, receipt: lessFee(quote) };
}

const room = (health: ModelHealth): bigint => health.netEquity - health.initialRequirement;

/** Step 4: the account meets its initial margin at both ends, or (borrowing nothing) falls no further below it. */
function marginHolds(
  data: ModelData,
  margin: MarginData,
  account: string,
  flows: Flows,
  borrowed: bigint,
  timeMs: number,
): boolean {
  const before = healthOf(data, margin, account, timeMs);
  const { spentAsset, receivedAsset, spend, receipt } = flows;
  const unfilled = new Map([[spentAsset, { held: borrowed, owed: borrowed }]]);
  const filled = new Map([[spentAsset, { held: borrowed - spend, owed: borrowed }]]);
  filled.set(receivedAsset, { held: receipt, owed: 0n });
  for (const changes of [unfilled, filled]) {
    const after = healthOf(data, margin, account, timeMs, changes);
    if (meetsInitial(after)) continue;
    if (borrowed === 0n && room(after) >= room(before)) continue;
    return false;
  }
  return true;
}

/** Step 3: redeem then borrow the shortfall; the refusal code, or the units borrowed. */
function coverShortfall(
  data: ModelData,
  margin: MarginData,
  account: string,
  request: OrderRequest,
  flows: Flows,
  timeMs: number,
): bigint | string {
  const { spentAsset } = flows;
  const pool = margin.pools.get(spentAsset);
  let shortfall = flows.spend - availableOf(data, account, spentAsset);
  if (pool === undefined || shortfall <= 0n || (request.autoLendRedeem !== true && request.autoBorrow !== true))
    return 0n;
  accrue(pool, timeMs);
  if (request.autoLendRedeem === true) {
    const redeemed = smaller(shortfall, lentOf(margin, account, spentAsset, timeMs));
    if (redeemed > 0n) {
      const refusal = redemptionRefusal(margin, spentAsset, redeemed);
      if (refusal !== undefined) return refusal;
      redeemUnits(data, margin, account, spentAsset, redeemed);
      shortfall -= redeemed;
    }
  }
  if (request.autoBorrow !== true || shortfall === 0n || lentOf(margin, account, spentAsset, timeMs) > 0n) return 0n;
  const refusal = borrowPoolRefusal(margin, spentAsset, shortfall);
  if (refusal !== undefined) return refusal;
  return shortfall;
}

/** Step 6: what the order received in this entry repays a borrow of it, and the rest is lent. */
function settleReceipt(
  data: ModelData,
  margin: MarginData,
  account: string,
  request: OrderRequest,
  orderId: number,
  receivedAsset: string,
  trades: readonly ModelTrade[],
  timeMs: number,
): void {
  const pool = margin.pools.get(receivedAsset);
  if (pool === undefined || (request.autoBorrowRepay !== true && request.autoLend !== true)) return;
  const market = findMarket(data, request.symbol)!;
  let received = 0n;
  for (const trade of trades) {
    if (trade.takerOrderId !== orderId) continue;
    const gross = trade.takerSide === 'Bid' ? trade.quantitySteps * market.stepUnits : trade.quoteUnits;
    received += gross - trade.takerFeeUnits;
  }
  if (received <= 0n) return;
  accrue(pool, timeMs);
  if (request.autoBorrowRepay === true) {
    const repaid = smaller(received, borrowedOf(margin, account, receivedAsset, timeMs));
    if (repaid > 0n) repayUnits(data, margin, account, receivedAsset, repaid);
    received -= repaid;
  }
  if (request.autoLend === true && received > 0n && borrowedOf(margin, account, receivedAsset, timeMs) === 0n)
    lendUnits(data, margin, account, receivedAsset, smaller(received, availableOf(data, account, receivedAsset)));
}

function restore(data: ModelData, margin: MarginData, savedData: ModelData, savedMargin: MarginData): void {
  Object.assign(data, savedData);
  Object.assign(margin, savedMargin);
}

export function placeMarginOrder(
  data: ModelData,
  margin: MarginData,
  account: string,
  request: OrderRequest,
  timeMs: number,
  trades: ModelTrade[],
): ModelResult {
  const market = findMarket(data, request.symbol);
  if (market === undefined) return placeOrder(data, account, request, timeMs, trades);
  const fields = parseOrderFields(market, request);
  if ('ok' in fields || !data.accounts.has(account)) return placeOrder(data, account, request, timeMs, trades);
  if (request.triggerPrice !== undefined && hasMarginFlag(request)) return fail('INVALID_ORDER');
  if (isLiquidatable(data, margin, account, timeMs)) return fail('ACCOUNT_LIQUIDATING');
  const savedData = copyData(data);
  const savedMargin = copyMarginData(margin);
  accrueAccountPools(margin, account, timeMs);
  const taker = {
    orderId: data.nextOrderId,
    account,
    market: market.symbol,
    side: request.side,
    postOnly: request.postOnly,
    selfTradePrevention: request.selfTradePrevention,
    clientId: request.clientId,
    createdAtMs: timeMs,
    orderType: request.orderType,
    timeInForce: request.timeInForce,
    ...fields,
    executedSteps: 0n,
    executedQuoteUnits: 0n,
    status: 'New',
  } as unknown as ModelOrder;
  const flows = flowsOf(data, market, taker);
  const borrowed = coverShortfall(data, margin, account, request, flows, timeMs);
  const refusal =
    typeof borrowed === 'string'
      ? borrowed
      : marginHolds(data, margin, account, flows, borrowed, timeMs)
        ? undefined
        : 'INSUFFICIENT_MARGIN';
  if (refusal !== undefined) {
    restore(data, margin, savedData, savedMargin);
    return fail(refusal);
  }
  if (typeof borrowed === 'bigint' && borrowed > 0n) borrowUnits(data, margin, account, flows.spentAsset, borrowed);
  const orderId = data.nextOrderId;
  const placed = placeOrder(data, account, request, timeMs, trades);
  if (!placed.ok) {
    restore(data, margin, savedData, savedMargin);
    return placed;
  }
  settleReceipt(data, margin, account, request, orderId, flows.receivedAsset, trades, timeMs);
  return placed;
}
