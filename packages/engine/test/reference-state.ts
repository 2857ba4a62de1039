/**
 * The reference model's state: what it stores (plain arrays and maps, no
 * indexes), what it shows, and the small helpers every part reads it with.
 * Part of the naive reference model (reference-model.ts).
 */
import type { OrderType, SelfTradePrevention, Side, TimeInForce } from '../src/instruction.js';
import type { Dec } from './reference-decimal.js';

export type ModelStatus =
  | 'New'
  | 'PartiallyFilled'
  | 'Filled'
  | 'Cancelled'
  | 'Expired'
  | 'TriggerPending'
  | 'TriggerFailed';

export interface ModelAsset {
  readonly symbol: string;
  readonly decimals: number;
  deposited: bigint;
  withdrawn: bigint;
}

export interface ModelMarket {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly baseDecimals: number;
  readonly quoteDecimals: number;
  readonly tick: Dec;
  readonly step: Dec;
  readonly stepUnits: bigint;
  readonly quoteUnitsPerStepTick: bigint;
  readonly minQuantitySteps: bigint;
  readonly maxQuantitySteps: bigint;
  readonly minPriceTicks: bigint;
  readonly maxPriceTicks: bigint;
  readonly makerBps: bigint;
  readonly takerBps: bigint;
  readonly maxOpenOrders: number;
  readonly maxMakersPerOrder: number;
  readonly minOrderValueUnits: bigint;
}

export interface ModelOrder {
  readonly orderId: number;
  readonly account: string;
  readonly market: string;
  readonly side: Side;
  readonly orderType: OrderType;
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly quoteQuantityUnits: bigint | undefined;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly clientId: number | undefined;
  readonly createdAtMs: number;
  executedSteps: bigint;
  executedQuoteUnits: bigint;
  status: ModelStatus;
  /**
   * Trigger orders (section 8): trigger price, direction, and the id of a
   * pending partner (take-profit / stop-loss).
   */
  readonly triggerPriceTicks: bigint | undefined;
  readonly triggerRising: boolean;
  linkedOrderId: number | undefined;
}

export interface ModelBalance {
  available: bigint;
  locked: bigint;
  pendingWithdrawal: bigint;
}

export interface ModelWithdrawal {
  readonly withdrawalId: number;
  readonly account: string;
  readonly asset: string;
  readonly quantityUnits: bigint;
}

export interface ModelTrade {
  readonly tradeId: number;
  readonly market: string;
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly quoteUnits: bigint;
  readonly takerSide: Side;
  readonly makerOrderId: number;
  readonly takerOrderId: number;
  readonly makerAccount: string;
  readonly takerAccount: string;
  readonly makerFeeUnits: bigint;
  readonly takerFeeUnits: bigint;
}

/** What the model shows of an order: everything but its trigger direction and partner link. */
export type ModelOrderView = Readonly<Omit<ModelOrder, 'triggerRising' | 'linkedOrderId'>>;

export type ModelResult =
  | { readonly ok: false; readonly code: string }
  | {
      readonly ok: true;
      readonly kind: 'order';
      readonly order: ModelOrderView;
      readonly attached?: readonly ModelOrderView[];
    }
  | { readonly ok: true; readonly kind: 'orders'; readonly orders: readonly ModelOrderView[] }
  | {
      readonly ok: true;
      readonly kind: 'withdrawal';
      readonly withdrawalId: number;
      readonly account: string;
      readonly asset: string;
      readonly quantityUnits: bigint;
      readonly status: 'Pending' | 'Confirmed' | 'Failed';
    }
  | {
      readonly ok: true;
      readonly kind: 'deposit';
      readonly account: string;
      readonly asset: string;
      readonly quantityUnits: bigint;
      readonly blockchain: string;
      readonly chainTransactionId: string;
    }
  | { readonly ok: true; readonly kind: 'listed'; readonly symbol: string };

export interface ModelOutcome {
  readonly accepted: boolean;
  /** Present when not accepted. */
  readonly rejectionCode: string | undefined;
  readonly results: readonly ModelResult[];
  readonly trades: readonly ModelTrade[];
}

export interface ModelBalanceView {
  readonly asset: string;
  readonly available: bigint;
  readonly locked: bigint;
  readonly pendingWithdrawal: bigint;
}

export interface ModelGenesis {
  readonly operatorKeys: readonly string[];
  readonly feeAccount: string;
}

export type Rejected = { readonly ok: false; readonly code: string };
export const fail = (code: string): Rejected => ({ ok: false, code });

/** Why a taker's walk ended. */
export type StopReason = 'done' | 'noMaker' | 'selfTrade' | 'budget' | 'makerLimit';

export interface ModelData {
  operators: Set<string>;
  feeAccount: string;
  logTimeMs: number;
  assets: ModelAsset[];
  markets: ModelMarket[];
  accounts: Set<string>;
  balances: Map<string, ModelBalance>;
  /** Every order ever accepted, by acceptance; open ones have status New or PartiallyFilled. */
  orders: ModelOrder[];
  withdrawals: ModelWithdrawal[];
  creditedDeposits: Set<string>;
  nextOrderId: number;
  nextTradeId: number;
  nextWithdrawalId: number;
  /** Each market's last trade price in ticks, once it has traded. */
  lastPrices: Map<string, bigint>;
}

export function copyData(data: ModelData): ModelData {
  return {
    operators: new Set(data.operators),
    feeAccount: data.feeAccount,
    logTimeMs: data.logTimeMs,
    assets: data.assets.map((asset) => ({ ...asset })),
    markets: data.markets.slice(),
    accounts: new Set(data.accounts),
    balances: new Map([...data.balances].map(([key, balance]) => [key, { ...balance }])),
    orders: data.orders.map((order) => ({ ...order })),
    withdrawals: data.withdrawals.slice(),
    creditedDeposits: new Set(data.creditedDeposits),
    nextOrderId: data.nextOrderId,
    nextTradeId: data.nextTradeId,
    nextWithdrawalId: data.nextWithdrawalId,
    lastPrices: new Map(data.lastPrices),
  };
}

/** Open: resting in the book, or a pending trigger order. */
export function isOpen(order: ModelOrder): boolean {
  return order.status === 'New' || order.status === 'PartiallyFilled' || order.status === 'TriggerPending';
}

export function isResting(order: ModelOrder): boolean {
  return order.status === 'New' || order.status === 'PartiallyFilled';
}

export function remainingOf(order: ModelOrder): bigint {
  return order.quantitySteps - order.executedSteps;
}

export function viewOf(order: ModelOrder): ModelOrderView {
  const { triggerRising: _direction, linkedOrderId: _partner, ...view } = order;
  return view;
}

export function findMarket(data: ModelData, symbol: string): ModelMarket | undefined {
  return data.markets.find((market) => market.symbol === symbol);
}

/** The account's balance of the asset, created at zero when first touched. */
export function balanceEntry(data: ModelData, account: string, asset: string): ModelBalance {
  const key = `${account}/${asset}`;
  let balance = data.balances.get(key);
  if (balance === undefined) {
    balance = { available: 0n, locked: 0n, pendingWithdrawal: 0n };
    data.balances.set(key, balance);
  }
  return balance;
}

export function availableOf(data: ModelData, account: string, asset: string): bigint {
  return data.balances.get(`${account}/${asset}`)?.available ?? 0n;
}

/** What an order holds locked for `steps` of its remaining quantity. */
export function reservationOf(market: ModelMarket, order: ModelOrder, steps: bigint): bigint {
  if (order.orderType !== 'Limit') return 0n;
  return order.side === 'Bid' ? steps * order.priceTicks * market.quoteUnitsPerStepTick : steps * market.stepUnits;
}
