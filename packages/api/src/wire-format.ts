/**
 * Engine views → the JSON shapes Backpack clients (ccxt's `backpack` class,
 * the Rust client) parse. Amounts leave the engine as bigint ticks, steps and
 * units and are written here as exact decimal strings; nothing is rounded.
 */
import {
  formatDecimal,
  formatPrice,
  formatQuantity,
  type AttachedViews,
  type DepositView,
  type ExchangeState,
  type Market,
  type PerpParameters,
  type OrderView,
  type WithdrawalView,
} from '@vex/engine';
import type { FillRecord, PublicTrade } from './node-port.js';

export function marketOf(state: ExchangeState, symbol: string): Market {
  const market = state.marketsBySymbol.get(symbol);
  // Markets are never delisted, so every view names a listed market.
  if (market === undefined) throw new Error(`Market ${symbol} is not listed.`);
  return market;
}

export function assetDecimals(state: ExchangeState, symbol: string): number {
  const asset = state.assetsBySymbol.get(symbol);
  if (asset === undefined) throw new Error(`Asset ${symbol} is not listed.`);
  return asset.decimals;
}

export function formatUnits(state: ExchangeState, asset: string, units: bigint): string {
  return formatDecimal(units, assetDecimals(state, asset));
}

/** Backpack's history timestamps: ISO 8601 in UTC without the trailing `Z`. */
export function isoWithoutZone(timeMs: number): string {
  return new Date(timeMs).toISOString().slice(0, -1);
}

export interface WireOrder {
  readonly id: string;
  readonly clientId: number | null;
  readonly symbol: string;
  readonly side: 'Bid' | 'Ask';
  readonly orderType: 'Limit' | 'Market';
  readonly price: string | null;
  readonly quantity: string | null;
  readonly quoteQuantity: string | null;
  readonly executedQuantity: string;
  readonly executedQuoteQuantity: string;
  readonly timeInForce: string;
  readonly postOnly: boolean;
  readonly reduceOnly: boolean;
  readonly selfTradePrevention: string;
  readonly status: string;
  readonly triggerPrice: string | null;
  readonly triggerQuantity: string | null;
  readonly triggerBy: string | null;
  readonly takeProfitTriggerPrice: string | null;
  readonly takeProfitLimitPrice: string | null;
  readonly takeProfitTriggerBy: string | null;
  readonly stopLossTriggerPrice: string | null;
  readonly stopLossLimitPrice: string | null;
  readonly stopLossTriggerBy: string | null;
  readonly createdAt: number;
}

/**
 * The limit price of an attached take-profit or stop-loss order, null for a market one or none. A module function,
 * not a closure in wireOrder: under tsx (the node's bench and dev runs) esbuild's keepNames names every closure
 * created with a defineProperty call, once per order answered (63 of wireOrder's 512 ms in a whole bench:node run).
 */
function attachedLimitPrice(market: Market, view: OrderView | undefined): string | null {
  return view !== undefined && view.orderType === 'Limit' ? formatPrice(market, view.priceTicks) : null;
}

/**
 * An order in Backpack's shape. A trigger order reports its trigger price and
 * its size as `triggerQuantity` (and `quantity: null` while it is pending, as
 * Backpack does); an order placed with a take-profit or stop-loss reports
 * their trigger and limit prices (`attached`, only in the answer to its
 * placement: they are orders of their own, listed by id).
 */
export function wireOrder(state: ExchangeState, order: OrderView, attached?: AttachedViews): WireOrder {
  const market = marketOf(state, order.market);
  const isLimit = order.orderType === 'Limit';
  const isTrigger = order.triggerPriceTicks !== undefined;
  const takeProfit = attached?.takeProfit;
  const stopLoss = attached?.stopLoss;
  return {
    id: String(order.orderId),
    clientId: order.clientId ?? null,
    symbol: order.market,
    side: order.side,
    orderType: order.orderType,
    price: isLimit ? formatPrice(market, order.priceTicks) : null,
    quantity:
      order.status === 'TriggerPending'
        ? null
        : isLimit || order.quoteQuantityUnits === undefined
          ? formatQuantity(market, order.quantitySteps)
          : null,
    quoteQuantity:
      order.quoteQuantityUnits === undefined ? null : formatDecimal(order.quoteQuantityUnits, market.quote.decimals),
    executedQuantity: formatQuantity(market, order.executedSteps),
    executedQuoteQuantity: formatDecimal(order.executedQuoteUnits, market.quote.decimals),
    timeInForce: order.timeInForce,
    postOnly: order.postOnly,
    reduceOnly: order.reduceOnly === true,
    selfTradePrevention: order.selfTradePrevention,
    status: order.status,
    triggerPrice: isTrigger ? formatPrice(market, order.triggerPriceTicks!) : null,
    triggerQuantity: isTrigger ? formatQuantity(market, order.quantitySteps) : null,
    triggerBy: isTrigger ? 'LastPrice' : null,
    takeProfitTriggerPrice: takeProfit === undefined ? null : formatPrice(market, takeProfit.triggerPriceTicks!),
    takeProfitLimitPrice: attachedLimitPrice(market, takeProfit),
    takeProfitTriggerBy: takeProfit !== undefined ? 'LastPrice' : null,
    stopLossTriggerPrice: stopLoss === undefined ? null : formatPrice(market, stopLoss.triggerPriceTicks!),
    stopLossLimitPrice: attachedLimitPrice(market, stopLoss),
    stopLossTriggerBy: stopLoss !== undefined ? 'LastPrice' : null,
    createdAt: order.createdAtMs,
  };
}

export function wireFill(state: ExchangeState, fill: FillRecord): Record<string, unknown> {
  const market = marketOf(state, fill.market);
  return {
    tradeId: fill.tradeId,
    orderId: String(fill.orderId),
    symbol: fill.market,
    side: fill.side,
    price: formatPrice(market, fill.priceTicks),
    quantity: formatQuantity(market, fill.quantitySteps),
    quoteQuantity: formatDecimal(fill.quoteUnits, market.quote.decimals),
    fee: formatUnits(state, fill.feeAsset, fill.feeUnits),
    feeSymbol: fill.feeAsset,
    isMaker: fill.isMaker,
    // Backpack's `systemOrderType` of a liquidation's fill (docs/api.md, "Fills"); absent on a user's fill.
    ...(fill.systemOrderType === undefined ? {} : { systemOrderType: fill.systemOrderType }),
    timestamp: isoWithoutZone(fill.timeMs),
  };
}

export function wirePublicTrade(state: ExchangeState, trade: PublicTrade): Record<string, unknown> {
  const market = marketOf(state, trade.market);
  return {
    id: trade.tradeId,
    price: formatPrice(market, trade.priceTicks),
    quantity: formatQuantity(market, trade.quantitySteps),
    quoteQuantity: formatDecimal(trade.quoteUnits, market.quote.decimals),
    isBuyerMaker: trade.isBuyerMaker,
    timestamp: trade.timeMs,
  };
}

/** ccxt's parseTransactionStatus maps `pending` and `confirmed` (→ ok); `failed` passes through as ccxt's own `failed`. */
const withdrawalStatus: Record<WithdrawalView['status'], string> = {
  Pending: 'pending',
  Confirmed: 'confirmed',
  Failed: 'failed',
};

export function wireWithdrawal(state: ExchangeState, withdrawal: WithdrawalView): Record<string, unknown> {
  return {
    id: withdrawal.withdrawalId,
    blockchain: withdrawal.blockchain,
    symbol: withdrawal.asset,
    quantity: formatUnits(state, withdrawal.asset, withdrawal.quantityUnits),
    fee: '0',
    status: withdrawalStatus[withdrawal.status],
    toAddress: withdrawal.address,
    transactionHash: withdrawal.chainTransactionId ?? null,
    reason: withdrawal.reason ?? null,
    isInternal: false,
    createdAt: isoWithoutZone(withdrawal.createdAtMs),
  };
}

export function wireDeposit(state: ExchangeState, deposit: DepositView): Record<string, unknown> {
  return {
    id: deposit.depositId,
    source: deposit.blockchain,
    blockchain: deposit.blockchain,
    symbol: deposit.asset,
    quantity: formatUnits(state, deposit.asset, deposit.quantityUnits),
    status: 'confirmed',
    transactionHash: deposit.chainTransactionId,
    fromAddress: null,
    toAddress: null,
    createdAt: isoWithoutZone(deposit.createdAtMs),
  };
}

/** `listedAtMs`: the log time of the market's listing entry, Backpack's `createdAt` (null when the ledger predates that record). */
export function wireMarket(market: Market, listedAtMs: number | undefined): Record<string, unknown> {
  return {
    symbol: market.symbol,
    baseSymbol: market.base.symbol,
    quoteSymbol: market.quote.symbol,
    marketType: market.perp === undefined ? 'SPOT' : 'PERP',
    orderBookState: 'Open',
    createdAt: listedAtMs === undefined ? null : isoWithoutZone(listedAtMs),
    visible: true,
    filters: {
      price: {
        minPrice: formatPrice(market, market.minPriceTicks),
        maxPrice: formatPrice(market, market.maxPriceTicks),
        tickSize: market.tickSize,
        // Backpack's band of the mark price around the index (perpetuals only).
        ...(market.perp === undefined
          ? {}
          : {
              meanMarkPriceBand: {
                maxMultiplier: formatDecimal(market.perp.parameters.markBandMaxMultiplier, 18),
                minMultiplier: formatDecimal(market.perp.parameters.markBandMinMultiplier, 18),
              },
            }),
      },
      quantity: {
        minQuantity: formatQuantity(market, market.minQuantitySteps),
        maxQuantity: formatQuantity(market, market.maxQuantitySteps),
        stepSize: market.stepSize,
      },
    },
    fees: {
      makerFeeBps: Number(market.makerFeeBasisPoints),
      takerFeeBps: Number(market.takerFeeBasisPoints),
    },
    // The order limits of docs/matching.md, section 4.6 (not a Backpack field).
    limits: {
      maxOpenOrders: market.maxOpenOrders,
      maxMakersPerOrder: market.maxMakersPerOrder,
      minOrderValue: formatDecimal(market.minOrderValueUnits, market.quote.decimals),
    },
    ...(market.perp === undefined ? {} : wirePerpFields(market, market.perp.parameters)),
  };
}

/** A perpetual's Backpack fields (docs/perps.md, "Listing"); spot markets leave them out. */
function wirePerpFields(market: Market, parameters: PerpParameters): Record<string, unknown> {
  const fraction = (value: bigint): string => formatDecimal(value, 18);
  const sqrt = (margin: PerpParameters['imf']) => ({
    type: 'sqrt',
    base: fraction(margin.base),
    factor: fraction(margin.factor),
  });
  return {
    imfFunction: sqrt(parameters.imf),
    mmfFunction: sqrt(parameters.mmf),
    fundingInterval: parameters.fundingIntervalMs,
    fundingRateUpperBound: String(parameters.fundingRateUpperBoundBps),
    fundingRateLowerBound: String(parameters.fundingRateLowerBoundBps),
    openInterestLimit: formatDecimal(parameters.openInterestLimitUnits, market.base.decimals),
  };
}
