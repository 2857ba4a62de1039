/**
 * The reference model's book and matching walk (docs/matching.md sections 5
 * and 6), done the slow way: the next maker is found by filtering and sorting
 * every open order each time, depth is summed from the orders when asked for.
 * Part of the naive reference model (reference-model.ts).
 */
import type { Side } from '../src/instruction.js';
import { ceilDiv } from './reference-decimal.js';
import {
  balanceEntry,
  fail,
  findMarket,
  isOpen,
  isResting,
  type ModelData,
  type ModelMarket,
  type ModelOrder,
  type ModelResult,
  type ModelTrade,
  remainingOf,
  reservationOf,
  type StopReason,
  viewOf,
} from './reference-state.js';

export interface DepthLevel {
  priceTicks: bigint;
  quantitySteps: bigint;
}

/** Price levels of each side, best first, summed from the open orders. */
export function depthOf(data: ModelData, symbol: string): { bids: DepthLevel[]; asks: DepthLevel[] } {
  const side = (which: Side) => {
    const totals = new Map<bigint, bigint>();
    for (const order of data.orders) {
      if (order.market !== symbol || order.side !== which || !isResting(order)) continue;
      totals.set(order.priceTicks, (totals.get(order.priceTicks) ?? 0n) + remainingOf(order));
    }
    const levels = [...totals].map(([priceTicks, quantitySteps]) => ({ priceTicks, quantitySteps }));
    levels.sort((a, b) => {
      const better = which === 'Bid' ? a.priceTicks > b.priceTicks : a.priceTicks < b.priceTicks;
      return a.priceTicks === b.priceTicks ? 0 : better ? -1 : 1;
    });
    return levels;
  };
  return { bids: side('Bid'), asks: side('Ask') };
}

/** Forgets a pending trigger's partner link, on both sides. */
export function unlink(data: ModelData, order: ModelOrder): void {
  if (order.linkedOrderId === undefined) return;
  const partner = data.orders.find((candidate) => candidate.orderId === order.linkedOrderId);
  if (partner !== undefined) partner.linkedOrderId = undefined;
  order.linkedOrderId = undefined;
}

export function cancelOne(data: ModelData, order: ModelOrder): void {
  if (order.status === 'TriggerPending') {
    unlink(data, order);
    order.status = 'Cancelled';
    return;
  }
  const market = findMarket(data, order.market)!;
  const asset = order.side === 'Bid' ? market.quote : market.base;
  const amount = reservationOf(market, order, remainingOf(order));
  const balance = balanceEntry(data, order.account, asset);
  balance.locked -= amount;
  balance.available += amount;
  order.status = 'Cancelled';
}

export function cancel(
  data: ModelData,
  account: string,
  symbol: string,
  orderId: number | undefined,
  clientId: number | undefined,
): ModelResult {
  if (findMarket(data, symbol) === undefined) return fail('INVALID_MARKET');
  const order = data.orders.find(
    (candidate) =>
      isOpen(candidate) &&
      candidate.account === account &&
      candidate.market === symbol &&
      (orderId !== undefined
        ? candidate.orderId === orderId
        : clientId !== undefined && candidate.clientId === clientId),
  );
  if (order === undefined) return fail('RESOURCE_NOT_FOUND');
  cancelOne(data, order);
  return { ok: true, kind: 'order', order: viewOf(order) };
}

export function cancelAll(data: ModelData, account: string, symbol: string): ModelResult {
  if (findMarket(data, symbol) === undefined) return fail('INVALID_MARKET');
  const mine = data.orders
    .filter((order) => isOpen(order) && order.account === account && order.market === symbol)
    .sort((a, b) => a.orderId - b.orderId);
  for (const order of mine) cancelOne(data, order);
  return { ok: true, kind: 'orders', orders: mine.map(viewOf) };
}

/** The maker the taker would meet next, found the slow way. */
function nextMaker(data: ModelData, market: ModelMarket, taker: ModelOrder): ModelOrder | undefined {
  const opposite: Side = taker.side === 'Bid' ? 'Ask' : 'Bid';
  const candidates = data.orders.filter((order) => {
    if (!isResting(order) || order.market !== market.symbol || order.side !== opposite || order === taker) return false;
    if (taker.orderType === 'Market') return true;
    return taker.side === 'Bid' ? order.priceTicks <= taker.priceTicks : order.priceTicks >= taker.priceTicks;
  });
  candidates.sort((a, b) => {
    if (a.priceTicks !== b.priceTicks) {
      const aBetter = opposite === 'Ask' ? a.priceTicks < b.priceTicks : a.priceTicks > b.priceTicks;
      return aBetter ? -1 : 1;
    }
    return a.orderId - b.orderId;
  });
  return candidates[0];
}

/** Matches the taker against the book until something stops it; returns why it stopped. */
function matchUntilStopped(data: ModelData, market: ModelMarket, taker: ModelOrder, trades: ModelTrade[]): StopReason {
  const quoteSized = taker.quoteQuantityUnits !== undefined;
  let makersMet = 0;
  for (;;) {
    if (!quoteSized && remainingOf(taker) === 0n) return 'done';
    if (quoteSized && taker.quoteQuantityUnits! === taker.executedQuoteUnits) return 'budget';
    const maker = nextMaker(data, market, taker);
    if (maker === undefined) return 'noMaker';
    if (makersMet === market.maxMakersPerOrder) return 'makerLimit';
    makersMet += 1;
    if (maker.account === taker.account && taker.selfTradePrevention !== 'Allow') {
      if (taker.selfTradePrevention === 'RejectTaker') return 'selfTrade';
      cancelOne(data, maker);
      if (taker.selfTradePrevention === 'RejectBoth') return 'selfTrade';
      continue;
    }
    const price = maker.priceTicks;
    let steps: bigint;
    if (quoteSized) {
      const budgetLeft = taker.quoteQuantityUnits! - taker.executedQuoteUnits;
      const affordable = budgetLeft / (price * market.quoteUnitsPerStepTick);
      steps = affordable < remainingOf(maker) ? affordable : remainingOf(maker);
      if (steps === 0n) return 'budget';
    } else {
      steps = remainingOf(taker) < remainingOf(maker) ? remainingOf(taker) : remainingOf(maker);
    }
    trades.push(fill(data, market, taker, maker, steps, price));
  }
}

/**
 * Locks a limit taker's reservation, matches it against the book, and
 * settles its final status. The taker is already in `orders`
 * (or is a throwaway copy when planning).
 */
export function walk(data: ModelData, market: ModelMarket, taker: ModelOrder, trades: ModelTrade[]): void {
  const lockedAsset = taker.side === 'Bid' ? market.quote : market.base;
  if (taker.orderType === 'Limit') {
    const amount = reservationOf(market, taker, taker.quantitySteps);
    const balance = balanceEntry(data, taker.account, lockedAsset);
    balance.available -= amount;
    balance.locked += amount;
  }
  const quoteSized = taker.quoteQuantityUnits !== undefined;
  const stop = matchUntilStopped(data, market, taker, trades);

  // Final status.
  if (stop === 'selfTrade') taker.status = 'Cancelled';
  else if (quoteSized) taker.status = stop === 'budget' && taker.executedSteps > 0n ? 'Filled' : 'Expired';
  else if (remainingOf(taker) === 0n) taker.status = 'Filled';
  else if (taker.orderType === 'Limit' && taker.timeInForce === 'GTC' && stop !== 'makerLimit') {
    taker.status = taker.executedSteps === 0n ? 'New' : 'PartiallyFilled';
  } else taker.status = 'Expired';

  if (!isOpen(taker) && taker.orderType === 'Limit') {
    const amount = reservationOf(market, taker, remainingOf(taker));
    const balance = balanceEntry(data, taker.account, lockedAsset);
    balance.locked -= amount;
    balance.available += amount;
  }
}

/** One fill of `steps` at the maker's price `price`, with its money movements. */
function fill(
  data: ModelData,
  market: ModelMarket,
  taker: ModelOrder,
  maker: ModelOrder,
  steps: bigint,
  price: bigint,
): ModelTrade {
  const qpst = market.quoteUnitsPerStepTick;
  const baseUnits = steps * market.stepUnits;
  const quoteUnits = steps * price * qpst;
  const balance = (account: string, asset: string) => balanceEntry(data, account, asset);
  const fee = (asset: string) => balanceEntry(data, data.feeAccount, asset);
  let takerFee: bigint;
  let makerFee: bigint;
  if (taker.side === 'Bid') {
    // The taker buys: pays quote, receives base; the maker sells.
    takerFee = ceilDiv(baseUnits * market.takerBps, 10_000n);
    makerFee = ceilDiv(quoteUnits * market.makerBps, 10_000n);
    const takerQuote = balance(taker.account, market.quote);
    if (taker.orderType === 'Limit') {
      takerQuote.locked -= steps * taker.priceTicks * qpst;
      takerQuote.available += steps * (taker.priceTicks - price) * qpst;
    } else {
      takerQuote.available -= quoteUnits;
    }
    balance(taker.account, market.base).available += baseUnits - takerFee;
    balance(maker.account, market.base).locked -= baseUnits;
    balance(maker.account, market.quote).available += quoteUnits - makerFee;
    fee(market.base).available += takerFee;
    fee(market.quote).available += makerFee;
  } else {
    // The taker sells: gives base, receives quote; the maker buys.
    takerFee = ceilDiv(quoteUnits * market.takerBps, 10_000n);
    makerFee = ceilDiv(baseUnits * market.makerBps, 10_000n);
    const takerBase = balance(taker.account, market.base);
    if (taker.orderType === 'Limit') takerBase.locked -= baseUnits;
    else takerBase.available -= baseUnits;
    balance(taker.account, market.quote).available += quoteUnits - takerFee;
    balance(maker.account, market.quote).locked -= quoteUnits;
    balance(maker.account, market.base).available += baseUnits - makerFee;
    fee(market.quote).available += takerFee;
    fee(market.base).available += makerFee;
  }
  taker.executedSteps += steps;
  taker.executedQuoteUnits += quoteUnits;
  maker.executedSteps += steps;
  maker.executedQuoteUnits += quoteUnits;
  maker.status = remainingOf(maker) === 0n ? 'Filled' : 'PartiallyFilled';
  data.lastPrices.set(market.symbol, price);
  const trade: ModelTrade = {
    tradeId: data.nextTradeId,
    market: market.symbol,
    priceTicks: price,
    quantitySteps: steps,
    quoteUnits,
    takerSide: taker.side,
    makerOrderId: maker.orderId,
    takerOrderId: taker.orderId,
    makerAccount: maker.account,
    takerAccount: taker.account,
    makerFeeUnits: makerFee,
    takerFeeUnits: takerFee,
  };
  data.nextTradeId += 1;
  return trade;
}
