/**
 * The reference model's order placement (docs/matching.md section 6, checks
 * 1 to 7, and section 8's trigger, take-profit and stop-loss orders). The
 * funds and fill-or-kill checks read a "planned walk": the real walk run on a
 * deep copy of the whole model. Part of the naive reference model
 * (reference-model.ts).
 */
import type { OrderRequest } from '../src/instruction.js';
import { depthOf, walk } from './reference-book.js';
import { exactQuotient, readDecimal } from './reference-decimal.js';
import { amountOf } from './reference-funds.js';
import {
  availableOf,
  copyData,
  fail,
  findMarket,
  isOpen,
  type ModelData,
  type ModelMarket,
  type ModelOrder,
  type ModelResult,
  type ModelTrade,
  type Rejected,
  viewOf,
} from './reference-state.js';

function parsePrice(market: ModelMarket, text: string): bigint | undefined {
  const value = readDecimal(text);
  const ticks = value === undefined ? undefined : exactQuotient(value, market.tick);
  if (ticks === undefined || ticks < market.minPriceTicks || ticks > market.maxPriceTicks) return undefined;
  return ticks;
}

function openCountOn(data: ModelData, account: string, symbol: string): number {
  return data.orders.filter((order) => isOpen(order) && order.account === account && order.market === symbol).length;
}

interface OrderFields {
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly quoteQuantityUnits: bigint | undefined;
  readonly triggerPriceTicks: bigint | undefined;
  readonly takeProfitTicks: bigint | undefined;
  readonly takeProfitLimitTicks: bigint | undefined;
  readonly stopLossTicks: bigint | undefined;
  readonly stopLossLimitTicks: bigint | undefined;
}

/** Check (1): price, quantity (or trigger quantity), quote quantity, then the trigger prices. */
export function parseOrderFields(market: ModelMarket, request: OrderRequest): OrderFields | Rejected {
  let priceTicks = 0n;
  if (request.price !== undefined) {
    const ticks = parsePrice(market, request.price);
    if (ticks === undefined) return fail('INVALID_PRICE');
    priceTicks = ticks;
  }
  let quantitySteps = 0n;
  const quantityText = request.quantity ?? request.triggerQuantity;
  if (quantityText !== undefined) {
    const value = readDecimal(quantityText);
    const steps = value === undefined ? undefined : exactQuotient(value, market.step);
    if (steps === undefined || steps < market.minQuantitySteps || steps > market.maxQuantitySteps)
      return fail('INVALID_QUANTITY');
    quantitySteps = steps;
  }
  let quoteQuantityUnits: bigint | undefined;
  if (request.quoteQuantity !== undefined) {
    const units = amountOf(market.quoteDecimals, request.quoteQuantity);
    if (typeof units !== 'bigint') return units;
    quoteQuantityUnits = units;
    if (request.timeInForce === 'FOK') return fail('INVALID_ORDER');
  }
  const prices: (bigint | undefined)[] = [];
  for (const text of [
    request.triggerPrice,
    request.takeProfitTriggerPrice,
    request.takeProfitLimitPrice,
    request.stopLossTriggerPrice,
    request.stopLossLimitPrice,
  ]) {
    if (text === undefined) {
      prices.push(undefined);
      continue;
    }
    const ticks = parsePrice(market, text);
    if (ticks === undefined) return fail('INVALID_PRICE');
    prices.push(ticks);
  }
  const [triggerPriceTicks, takeProfitTicks, takeProfitLimitTicks, stopLossTicks, stopLossLimitTicks] = prices;
  const triggers = { triggerPriceTicks, takeProfitTicks, takeProfitLimitTicks, stopLossTicks, stopLossLimitTicks };
  return { priceTicks, quantitySteps, quoteQuantityUnits, ...triggers };
}

type NewOrder = (fields: Partial<ModelOrder>) => ModelOrder;

/** Section 8.1: a trigger order waits, reserving nothing. */
function placeTriggerOrder(
  data: ModelData,
  account: string,
  market: ModelMarket,
  request: OrderRequest,
  fields: OrderFields,
  newOrder: NewOrder,
): ModelResult {
  const triggerPriceTicks = fields.triggerPriceTicks!;
  if (openCountOn(data, account, market.symbol) >= market.maxOpenOrders) return fail('ORDER_LIMIT');
  const last = data.lastPrices.get(market.symbol);
  if (last === undefined || last === triggerPriceTicks) return fail('INVALID_ORDER');
  const valuePrice = request.orderType === 'Limit' ? fields.priceTicks : triggerPriceTicks;
  if (fields.quantitySteps * valuePrice * market.quoteUnitsPerStepTick < market.minOrderValueUnits)
    return fail('ORDER_VALUE_TOO_SMALL');
  const order = newOrder({ status: 'TriggerPending', triggerPriceTicks, triggerRising: triggerPriceTicks > last });
  data.nextOrderId += 1;
  data.orders.push(order);
  return { ok: true, kind: 'order', order: viewOf(order) };
}

/** Section 8.2: the attached take-profit, then the stop-loss, linked to each other when both are there. */
function attachOrders(data: ModelData, request: OrderRequest, fields: OrderFields, newOrder: NewOrder): ModelOrder[] {
  const attached: ModelOrder[] = [];
  for (const [trigger, limit, takeProfit] of [
    [fields.takeProfitTicks, fields.takeProfitLimitTicks, true],
    [fields.stopLossTicks, fields.stopLossLimitTicks, false],
  ] as const) {
    if (trigger === undefined) continue;
    const order = newOrder({
      side: request.side === 'Bid' ? 'Ask' : 'Bid',
      orderType: limit === undefined ? 'Market' : 'Limit',
      priceTicks: limit ?? 0n,
      quoteQuantityUnits: undefined,
      timeInForce: limit === undefined ? 'IOC' : 'GTC',
      postOnly: false,
      clientId: undefined,
      status: 'TriggerPending',
      triggerPriceTicks: trigger,
      triggerRising: takeProfit === (request.side === 'Bid'),
    });
    data.nextOrderId += 1;
    data.orders.push(order);
    attached.push(order);
  }
  if (attached.length === 2) {
    attached[0]!.linkedOrderId = attached[1]!.orderId;
    attached[1]!.linkedOrderId = attached[0]!.orderId;
  }
  return attached;
}

export function placeOrder(
  data: ModelData,
  account: string,
  request: OrderRequest,
  logTimeMs: number,
  trades: ModelTrade[],
): ModelResult {
  // (1) market, price, quantity (or trigger quantity), quote quantity, then the trigger prices.
  const market = findMarket(data, request.symbol);
  if (market === undefined) return fail('INVALID_MARKET');
  const fields = parseOrderFields(market, request);
  if ('ok' in fields) return fields;

  // (2) a client id names at most one open order of an account.
  if (!data.accounts.has(account)) return fail('INSUFFICIENT_FUNDS');
  if (
    request.clientId !== undefined &&
    data.orders.some((order) => isOpen(order) && order.account === account && order.clientId === request.clientId)
  ) {
    return fail('INVALID_ORDER');
  }

  const newOrder: NewOrder = (overrides) => ({
    orderId: data.nextOrderId,
    account,
    market: market.symbol,
    side: request.side,
    orderType: request.orderType,
    priceTicks: fields.priceTicks,
    quantitySteps: fields.quantitySteps,
    quoteQuantityUnits: fields.quoteQuantityUnits,
    timeInForce: request.timeInForce,
    postOnly: request.postOnly,
    selfTradePrevention: request.selfTradePrevention,
    clientId: request.clientId,
    createdAtMs: logTimeMs,
    executedSteps: 0n,
    executedQuoteUnits: 0n,
    status: 'New',
    triggerPriceTicks: undefined,
    triggerRising: false,
    linkedOrderId: undefined,
    ...overrides,
  });

  if (fields.triggerPriceTicks !== undefined)
    return placeTriggerOrder(data, account, market, request, fields, newOrder);

  // (3) room under the open-order limit for the order (if it may rest) and its take-profit and stop-loss.
  const mayRest = request.orderType === 'Limit' && request.timeInForce === 'GTC';
  const attachedCount = (fields.takeProfitTicks !== undefined ? 1 : 0) + (fields.stopLossTicks !== undefined ? 1 : 0);
  const slots = (mayRest ? 1 : 0) + attachedCount;
  if (slots > 0 && openCountOn(data, account, market.symbol) + slots > market.maxOpenOrders) return fail('ORDER_LIMIT');

  const taker = newOrder({});
  // (4) to (7).
  const refusal = admissionRefusal(data, market, taker);
  if (refusal !== undefined) return fail(refusal);

  // From here on the order is accepted and has consumed an id.
  data.nextOrderId += 1;
  data.orders.push(taker);
  walk(data, market, taker, trades);

  const attached = attachOrders(data, request, fields, newOrder);
  const view = viewOf(taker);
  return attached.length === 0
    ? { ok: true, kind: 'order', order: view }
    : { ok: true, kind: 'order', order: view, attached: attached.map(viewOf) };
}

/** Check (4): the asset and amount the order needs available, reading the planned walk where the docs say so. */
function fundsNeeded(market: ModelMarket, taker: ModelOrder, plan: () => ModelTrade[]): [string, bigint] {
  const { quantitySteps, priceTicks, quoteQuantityUnits } = taker;
  if (taker.side === 'Bid') {
    if (taker.orderType === 'Limit') return [market.quote, quantitySteps * priceTicks * market.quoteUnitsPerStepTick];
    if (quoteQuantityUnits !== undefined) return [market.quote, quoteQuantityUnits];
    return [market.quote, plan().reduce((sum, trade) => sum + trade.quoteUnits, 0n)];
  }
  if (taker.orderType === 'Limit' || quoteQuantityUnits === undefined)
    return [market.base, quantitySteps * market.stepUnits];
  return [market.base, plan().reduce((sum, trade) => sum + trade.quantitySteps, 0n) * market.stepUnits];
}

/** Check (5): a post-only order that would cross the book. */
function postOnlyCrosses(data: ModelData, market: ModelMarket, taker: ModelOrder): boolean {
  const depth = depthOf(data, market.symbol);
  if (taker.side === 'Bid') {
    const bestAsk = depth.asks[0];
    return bestAsk !== undefined && taker.priceTicks >= bestAsk.priceTicks;
  }
  const bestBid = depth.bids[0];
  return bestBid !== undefined && taker.priceTicks <= bestBid.priceTicks;
}

/** Checks 4 to 7 for an order about to execute (new, or a trigger firing); the refusal code, or undefined. */
export function admissionRefusal(data: ModelData, market: ModelMarket, taker: ModelOrder): string | undefined {
  const mayRest = taker.orderType === 'Limit' && taker.timeInForce === 'GTC';
  const { quantitySteps, priceTicks, quoteQuantityUnits } = taker;
  // The planned walk: the same walk, run on a throwaway copy of everything.
  let planned: ModelTrade[] | undefined;
  const plan = (): ModelTrade[] => {
    if (planned === undefined) {
      const plannedTrades: ModelTrade[] = [];
      walk(copyData(data), market, { ...taker, status: 'New' }, plannedTrades);
      planned = plannedTrades;
    }
    return planned;
  };

  // (4) funds.
  const [needAsset, needed] = fundsNeeded(market, taker, plan);
  if (availableOf(data, taker.account, needAsset) < needed) return 'INSUFFICIENT_FUNDS';

  // (5) post-only must not cross.
  if (taker.postOnly && postOnlyCrosses(data, market, taker)) return 'INVALID_ORDER';

  // (6) an order that cannot rest must execute something; fill-or-kill all of it.
  if (!mayRest) {
    const plannedSteps = plan().reduce((sum, trade) => sum + trade.quantitySteps, 0n);
    if (plannedSteps === 0n) return 'ORDER_WOULD_NOT_FILL';
    if (taker.timeInForce === 'FOK' && plannedSteps < quantitySteps) return 'ORDER_WOULD_NOT_FILL';
  }

  // (7) the minimum order value.
  let value: bigint;
  if (taker.orderType === 'Limit') value = quantitySteps * priceTicks * market.quoteUnitsPerStepTick;
  else if (quoteQuantityUnits !== undefined) value = quoteQuantityUnits;
  else value = plan().reduce((sum, trade) => sum + trade.quoteUnits, 0n);
  if (value < market.minOrderValueUnits) return 'ORDER_VALUE_TOO_SMALL';
  return undefined;
}
