/**
 * Request and response shapes of the REST API, as Backpack defines them
 * (shared/backpack-api.md). Decimal amounts travel as strings; requests may
 * pass numbers, which are sent and signed as String(number).
 */

import type { Attestation, InclusionProof } from '@vex/engine/verify';

export type { Attestation, InclusionProof };

export type Decimal = string | number;
export type Side = 'Bid' | 'Ask';
export type OrderType = 'Limit' | 'Market';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK';
export type SelfTradePrevention = 'RejectTaker' | 'RejectMaker' | 'RejectBoth' | 'Allow';
export type OrderStatus =
  | 'New'
  | 'PartiallyFilled'
  | 'Filled'
  | 'Cancelled'
  | 'Expired'
  | 'TriggerPending'
  | 'TriggerFailed';

/** The body of POST /api/v1/order (and one element of POST /api/v1/orders). */
export interface OrderRequest {
  readonly symbol: string;
  readonly side: Side;
  readonly orderType: OrderType;
  /** Limit orders: the limit price. */
  readonly price?: Decimal;
  /** Base quantity; Market orders give this or quoteQuantity. */
  readonly quantity?: Decimal;
  /** Market orders: the quote amount to spend (Bid) or receive (Ask). */
  readonly quoteQuantity?: Decimal;
  /** Default GTC. */
  readonly timeInForce?: TimeInForce;
  readonly postOnly?: boolean;
  readonly reduceOnly?: boolean;
  /** Default RejectTaker. */
  readonly selfTradePrevention?: SelfTradePrevention;
  /** Unsigned 32-bit id chosen by the trader. */
  readonly clientId?: number;
  /**
   * A trigger order: it waits (TriggerPending) until the last trade price
   * reaches triggerPrice, and is sized by triggerQuantity instead of quantity
   * (docs/matching.md, section 8).
   */
  readonly triggerPrice?: Decimal;
  readonly triggerQuantity?: Decimal;
  /** Only LastPrice exists. */
  readonly triggerBy?: 'LastPrice';
  /** A take-profit and/or stop-loss placed with the order: trigger orders on the opposite side for its quantity. */
  readonly takeProfitTriggerPrice?: Decimal;
  readonly takeProfitLimitPrice?: Decimal;
  readonly stopLossTriggerPrice?: Decimal;
  readonly stopLossLimitPrice?: Decimal;
}

/** Which order: by the exchange's id or by the trader's clientId. */
export type OrderSelector =
  | { readonly symbol: string; readonly orderId: number | string; readonly clientId?: undefined }
  | { readonly symbol: string; readonly clientId: number; readonly orderId?: undefined };

export interface WithdrawRequest {
  readonly symbol: string;
  readonly quantity: Decimal;
  readonly address: string;
  readonly blockchain: string;
}

export interface AssetToken {
  readonly blockchain: string;
  readonly depositEnabled: boolean;
  readonly withdrawEnabled: boolean;
  readonly minimumDeposit: string;
  readonly minimumWithdrawal: string;
  readonly maximumWithdrawal: string | null;
  readonly withdrawalFee: string;
}

export interface Asset {
  readonly symbol: string;
  readonly displayName: string;
  readonly tokens: readonly AssetToken[];
}

export interface Market {
  readonly symbol: string;
  readonly baseSymbol: string;
  readonly quoteSymbol: string;
  readonly marketType: 'SPOT' | 'PERP';
  readonly orderBookState: string;
  readonly createdAt: string;
  readonly filters: {
    readonly price: { readonly minPrice: string; readonly maxPrice: string | null; readonly tickSize: string };
    readonly quantity: { readonly minQuantity: string; readonly maxQuantity: string | null; readonly stepSize: string };
  };
}

export interface Depth {
  /** [price, quantity] levels, as decimal strings. */
  readonly asks: ReadonlyArray<readonly [string, string]>;
  readonly bids: ReadonlyArray<readonly [string, string]>;
  readonly lastUpdateId: string;
  /** Microseconds. */
  readonly timestamp: number;
}

export interface Trade {
  readonly id: number;
  readonly isBuyerMaker: boolean;
  readonly price: string;
  readonly quantity: string;
  readonly quoteQuantity: string;
  /** Milliseconds. */
  readonly timestamp: number;
}

export interface Balance {
  readonly available: string;
  readonly locked: string;
  readonly staked: string;
}

/** GET /api/v1/capital: balances by asset symbol. */
export type Balances = Readonly<Record<string, Balance>>;

export interface Order {
  readonly id: string;
  readonly clientId?: number | null;
  readonly symbol: string;
  readonly side: Side;
  readonly orderType: OrderType;
  readonly price?: string | null;
  readonly quantity?: string | null;
  readonly quoteQuantity?: string | null;
  readonly executedQuantity: string;
  readonly executedQuoteQuantity: string;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  readonly reduceOnly?: boolean | null;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly status: OrderStatus;
  readonly triggerPrice?: string | null;
  /** Trigger orders: their size (quantity is null while they are pending). */
  readonly triggerQuantity?: string | null;
  readonly triggerBy?: string | null;
  /** In the answer to placing an order with a take-profit / stop-loss. */
  readonly takeProfitTriggerPrice?: string | null;
  readonly takeProfitLimitPrice?: string | null;
  readonly stopLossTriggerPrice?: string | null;
  readonly stopLossLimitPrice?: string | null;
  /** Milliseconds. */
  readonly createdAt: number;
}

export interface Fill {
  readonly tradeId: number;
  readonly orderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly price: string;
  readonly quantity: string;
  readonly fee: string;
  readonly feeSymbol: string;
  readonly isMaker: boolean;
  /** ISO 8601 without a zone, UTC. */
  readonly timestamp: string;
}

export interface Deposit {
  readonly id: number;
  readonly symbol: string;
  readonly quantity: string;
  readonly blockchain?: string;
  readonly status?: string;
  readonly transactionHash?: string | null;
  readonly createdAt?: string;
  readonly [field: string]: unknown;
}

export interface Withdrawal {
  readonly id: number;
  readonly blockchain: string;
  readonly symbol: string;
  readonly quantity: string;
  readonly fee: string;
  readonly status: string;
  readonly toAddress: string;
  readonly transactionHash?: string | null;
  readonly createdAt: string;
  readonly [field: string]: unknown;
}

/** Filters of the history queries; all optional. `from`/`to` are Unix ms. */
export interface HistoryFilter {
  readonly symbol?: string;
  readonly limit?: number;
  readonly offset?: number;
  readonly from?: number;
  readonly to?: number;
}

export interface FillFilter extends HistoryFilter {
  readonly orderId?: number | string;
  /** e.g. "User"; ccxt sends it, the exchange may ignore it. */
  readonly fillType?: string;
}

export interface OrderHistoryFilter {
  readonly symbol?: string;
  readonly orderId?: number | string;
  readonly limit?: number;
  readonly offset?: number;
}

export type CapitalFilter = Omit<HistoryFilter, 'symbol'>;

/**
 * The body of POST /api/v1/transactions: one instruction signed exactly as a
 * REST request would sign it. `message` is the signing string (UTF-8 text).
 */
export interface SignedTransactionBody {
  readonly message: string;
  /** Base64 of the signer's 32-byte public key. */
  readonly publicKey: string;
  /** Base64 of the 64-byte signature over the UTF-8 bytes of `message`. */
  readonly signature: string;
}

/** A JSON object whose shape the API defines. */
export type JsonObject = { readonly [field: string]: unknown };

/** One instruction's result in a TransactionReceipt (a batch has one per order). */
export type TransactionResult =
  | {
      readonly ok: true;
      readonly kind: 'order' | 'orders' | 'withdrawal' | 'deposit' | 'listed' | 'reserves';
      readonly order?: Order;
      readonly orders?: readonly Order[];
      readonly withdrawal?: Withdrawal;
      readonly deposit?: Deposit;
      readonly symbol?: string;
      /** kind 'reserves': the reserves now stated for `symbol`. */
      readonly quantity?: string;
    }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** POST /api/v1/transactions answers once the entry is durable. A refused transaction is an ExchangeError instead. */
export interface TransactionReceipt {
  /** The entry's sequence number in the log. */
  readonly sequence: number;
  readonly logTimeMs: number;
  readonly results: readonly TransactionResult[];
  readonly [field: string]: unknown;
}

/** GET /api/v1/status: the head of the log. */
export interface NodeStatus {
  readonly status: string;
  readonly exchangeName?: string;
  readonly version?: string;
  /** Sequence of the last entry; 0 for an empty log. */
  readonly sequence: number;
  /** Hex hash of the last entry. */
  readonly entryHash: string;
  readonly logTimeMs: number;
  readonly serverTimeMs?: number;
  readonly [field: string]: unknown;
}

export interface DepositCredit {
  /** Base64 public key (account id) of the credited account. */
  readonly account: string;
  readonly symbol: string;
  readonly quantity: Decimal;
  readonly blockchain: string;
  /** The chain transaction that carried the deposit; each is credited at most once. */
  readonly chainTransactionId: string;
}

export interface WithdrawalCompletion {
  readonly withdrawalId: number;
  readonly chainTransactionId: string;
}

export interface WithdrawalFailure {
  readonly withdrawalId: number;
  readonly reason: string;
}

export interface AssetListing {
  /** Upper-case letters and digits, no "_". */
  readonly symbol: string;
  /** Decimal places of the asset's base unit, 0 to 18. */
  readonly decimals: number;
}

export interface MarketListing {
  /** BASE_QUOTE, e.g. SOL_USDC. */
  readonly symbol: string;
  readonly baseSymbol: string;
  readonly quoteSymbol: string;
  readonly tickSize: Decimal;
  readonly stepSize: Decimal;
  readonly minQuantity: Decimal;
  readonly maxQuantity: Decimal;
  readonly minPrice: Decimal;
  readonly maxPrice: Decimal;
  readonly makerFeeBps: number;
  readonly takerFeeBps: number;
  /** Order limits (docs/matching.md, section 4.6); absent means the protocol default. */
  readonly maxOpenOrders?: number;
  readonly maxMakersPerOrder?: number;
  /** The smallest order value, in the quote asset. */
  readonly minOrderValue?: Decimal;
  /** A perpetual (symbol BASE_USDC_PERP) and its fields (docs/perps.md, "Listing"); absent: SPOT. */
  readonly marketType?: 'SPOT' | 'PERP';
  readonly imfBase?: Decimal;
  readonly imfFactor?: Decimal;
  readonly mmfBase?: Decimal;
  readonly mmfFactor?: Decimal;
  readonly fundingIntervalMs?: number;
  readonly fundingRateUpperBoundBps?: number;
  readonly fundingRateLowerBoundBps?: number;
  readonly openInterestLimit?: Decimal;
  readonly markBandMaxMultiplier?: Decimal;
  readonly markBandMinMultiplier?: Decimal;
}

export interface ReservesStatement {
  /** The asset, e.g. USDC. */
  readonly symbol: string;
  /** The reserves held, exact in the asset's decimals. */
  readonly quantity: Decimal;
}

/** GET /api/v1/genesis: what the exchange was started with; attestations must be signed by one of `operatorKeys`. */
export interface GenesisInfo {
  readonly exchangeName: string;
  readonly feeAccount: string;
  readonly operatorKeys: readonly string[];
  /** Deposit tokens: asset symbol → custodian key (present only when the genesis names any). */
  readonly custodians?: Readonly<Record<string, string>>;
  /** Lower-case hex; every attestation carries it. */
  readonly genesisHash: string;
}

/** An attestation as the API serves it: the signed object and the derived, unsigned list of short assets. */
export type ServedAttestation = Attestation & { readonly short: readonly string[] };

/** An inclusion proof as the API serves it (its attestation carries `short`). */
export type ServedInclusionProof = InclusionProof & { readonly attestation: ServedAttestation };

/** One asset of GET /api/v1/reserves; amounts are decimals in the asset's units. */
export interface AssetReserves {
  readonly symbol: string;
  readonly reserves: string;
  /** Who stated the reserves: the operator, or a deposit token's custodian named in the genesis. */
  readonly reservesAttestedBy: 'operator' | 'custodian';
  /** The custodian's key (deposit tokens only). */
  readonly custodianKey?: string;
  /** claims − debts. */
  readonly liabilities: string;
  readonly claims: string;
  readonly debts: string;
  /** reserves − liabilities; negative when short. */
  readonly difference: string;
  readonly short: boolean;
}

/** GET /api/v1/reserves: the latest attestation's reserves and liabilities. */
export interface Reserves {
  /** The attestation the figures are from. */
  readonly sequence: number;
  readonly logTimeMs: number;
  readonly assets: readonly AssetReserves[];
  readonly short: readonly string[];
}
