/**
 * JSON schemas shared by the routes. Ajv runs with coerceTypes, useDefaults
 * and removeAdditional all off: a body is validated exactly as it was signed,
 * so no schema may declare `default` (it would add a key the client never
 * signed), and every body and query rejects unknown fields.
 */
import { errorSchema } from './errors.js';

/** Routes without parameters still refuse unknown ones. */
export const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

/** Query parameters arrive as strings; integers are declared as digit strings and parsed in the handler. */
export const digitsString = { type: 'string', pattern: '^[0-9]{1,16}$' } as const;
export const symbolString = { type: 'string', pattern: '^[A-Za-z0-9_]{1,40}$' } as const;
/** Decimal amounts: strings (ccxt, the Rust client) or JSON numbers; the engine parses them exactly. */
export const decimalValue = { type: ['string', 'number'], maxLength: 48 } as const;

export const orderRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['symbol', 'side', 'orderType'],
  properties: {
    symbol: symbolString,
    side: { type: 'string', enum: ['Bid', 'Ask'] },
    orderType: { type: 'string', enum: ['Limit', 'Market'] },
    price: decimalValue,
    quantity: decimalValue,
    quoteQuantity: decimalValue,
    timeInForce: { type: 'string', enum: ['GTC', 'IOC', 'FOK'] },
    postOnly: { type: 'boolean' },
    reduceOnly: { type: 'boolean' },
    // Spot margin flags (docs/margin.md, "Margin orders").
    autoBorrow: { type: 'boolean' },
    autoBorrowRepay: { type: 'boolean' },
    autoLend: { type: 'boolean' },
    autoLendRedeem: { type: 'boolean' },
    selfTradePrevention: { type: 'string', enum: ['RejectTaker', 'RejectMaker', 'RejectBoth', 'Allow'] },
    clientId: { anyOf: [{ type: 'integer', minimum: 0, maximum: 4_294_967_295 }, digitsString] },
    // Trigger orders and attached take-profit / stop-loss (docs/matching.md, section 8).
    triggerPrice: decimalValue,
    triggerQuantity: decimalValue,
    triggerBy: { type: 'string' },
    takeProfitTriggerPrice: decimalValue,
    takeProfitLimitPrice: decimalValue,
    takeProfitTriggerBy: { type: 'string' },
    stopLossTriggerPrice: decimalValue,
    stopLossLimitPrice: decimalValue,
    stopLossTriggerBy: { type: 'string' },
  },
} as const;

const nullableString = { type: ['string', 'null'] } as const;

export const orderSchema = {
  type: 'object',
  required: ['id', 'symbol', 'side', 'orderType', 'status', 'createdAt'],
  properties: {
    id: { type: 'string' },
    clientId: { type: ['integer', 'null'] },
    symbol: { type: 'string' },
    side: { type: 'string', enum: ['Bid', 'Ask'] },
    orderType: { type: 'string', enum: ['Limit', 'Market'] },
    price: nullableString,
    quantity: nullableString,
    quoteQuantity: nullableString,
    executedQuantity: { type: 'string' },
    executedQuoteQuantity: { type: 'string' },
    timeInForce: { type: 'string' },
    postOnly: { type: 'boolean' },
    reduceOnly: { type: 'boolean' },
    selfTradePrevention: { type: 'string' },
    status: {
      type: 'string',
      enum: ['New', 'PartiallyFilled', 'Filled', 'Cancelled', 'Expired', 'TriggerPending', 'TriggerFailed'],
    },
    triggerPrice: nullableString,
    triggerQuantity: nullableString,
    triggerBy: nullableString,
    takeProfitTriggerPrice: nullableString,
    takeProfitLimitPrice: nullableString,
    takeProfitTriggerBy: nullableString,
    stopLossTriggerPrice: nullableString,
    stopLossLimitPrice: nullableString,
    stopLossTriggerBy: nullableString,
    createdAt: { type: 'integer', description: 'Unix milliseconds' },
  },
} as const;

export const withdrawalSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    blockchain: { type: 'string' },
    symbol: { type: 'string' },
    quantity: { type: 'string' },
    fee: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'confirmed', 'failed'] },
    toAddress: { type: 'string' },
    transactionHash: nullableString,
    reason: nullableString,
    isInternal: { type: 'boolean' },
    createdAt: { type: 'string', description: 'ISO 8601, UTC, without Z' },
  },
} as const;

export const depositSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    source: { type: 'string' },
    blockchain: { type: 'string' },
    symbol: { type: 'string' },
    quantity: { type: 'string' },
    status: { type: 'string', enum: ['confirmed'] },
    transactionHash: { type: 'string' },
    fromAddress: { type: 'null' },
    toAddress: { type: 'null' },
    createdAt: { type: 'string', description: 'ISO 8601, UTC, without Z' },
  },
} as const;

export const fillSchema = {
  type: 'object',
  properties: {
    tradeId: { type: 'integer' },
    orderId: { type: 'string' },
    symbol: { type: 'string' },
    side: { type: 'string', enum: ['Bid', 'Ask'] },
    price: { type: 'string' },
    quantity: { type: 'string' },
    quoteQuantity: { type: 'string' },
    fee: { type: 'string' },
    feeSymbol: { type: 'string' },
    isMaker: { type: 'boolean' },
    systemOrderType: {
      type: 'string',
      enum: ['LiquidatePositionOnBook', 'LiquidatePositionOnBackstop', 'LiquidatePositionOnAdl'],
      description: "A liquidation's fill (docs/perps.md, Liquidation and ADL); absent on a user's fill",
    },
    timestamp: { type: 'string', description: 'ISO 8601, UTC, without Z' },
  },
} as const;

export const publicTradeSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    price: { type: 'string' },
    quantity: { type: 'string' },
    quoteQuantity: { type: 'string' },
    isBuyerMaker: { type: 'boolean' },
    timestamp: { type: 'integer', description: 'Unix milliseconds' },
  },
} as const;

/** The error answers a route may give, for the OpenAPI document. */
export function errorResponses(...statuses: number[]): Record<number, typeof errorSchema> {
  const responses: Record<number, typeof errorSchema> = {};
  for (const status of [400, 429, ...statuses]) responses[status] = errorSchema;
  return responses;
}

/** The OpenAPI security requirement of signed routes (the headers are checked by the handler, not by schema). */
export const signedSecurity = [{ backpackApiKey: [], backpackSignature: [], backpackTimestamp: [] }];

/** Standard paging for history queries. */
export interface PageQuery {
  readonly limit?: string;
  readonly offset?: string;
  readonly from?: string;
  readonly to?: string;
}

export const maximumPageSize = 1000;
export const defaultPageSize = 100;
export const maximumPageOffset = 100_000;
