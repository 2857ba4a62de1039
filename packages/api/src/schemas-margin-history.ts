/**
 * JSON schemas of the borrow/lend history routes (docs/api.md, "Margin"):
 * Backpack's query parameters and answer shapes (shared/backpack-margin.md §1.9).
 */
import { symbolString } from './schemas.js';
import { pageQueryProperties } from './schemas-margin.js';

const positionIdString = { type: 'string', pattern: '^[0-9]{1,30}$' } as const;
const sideEnum = { type: 'string', enum: ['Borrow', 'Lend'] } as const;
const eventTypeEnum = { type: 'string', enum: ['Borrow', 'BorrowRepay', 'Lend', 'LendRedeem'] } as const;
const sourceString = {
  type: 'string',
  description: 'Manual, SpotMargin, AutoBorrowRepay, AutoLend, Liquidation, SocialisedLoss',
} as const;

const query = (properties: Record<string, unknown>) =>
  ({ type: 'object', additionalProperties: false, properties: { ...pageQueryProperties, ...properties } }) as const;

export const borrowLendHistoryQuery = query({
  type: eventTypeEnum,
  sources: { type: 'string', maxLength: 256, description: 'Comma-separated sources' },
  positionId: positionIdString,
  symbol: symbolString,
});

export const interestHistoryQuery = query({
  asset: symbolString,
  symbol: symbolString,
  positionId: positionIdString,
  source: { type: 'string', enum: ['UnrealizedPnl', 'BorrowLend'] },
});

export const lendingPositionHistoryQuery = query({
  symbol: symbolString,
  side: sideEnum,
  state: { type: 'string', enum: ['Open', 'Closed'] },
});

export const borrowLendHistorySchema = {
  type: 'object',
  required: ['eventType', 'positionId', 'positionQuantity', 'quantity', 'source', 'symbol', 'timestamp'],
  properties: {
    eventType: eventTypeEnum,
    positionId: { type: 'string' },
    positionQuantity: { type: 'string', description: 'The position after it: positive lent, negative borrowed' },
    quantity: { type: 'string' },
    source: sourceString,
    symbol: { type: 'string' },
    timestamp: { type: 'string' },
    spotMarginOrderId: { type: 'string' },
  },
} as const;

export const interestHistorySchema = {
  type: 'object',
  required: [
    'paymentType',
    'interestRate',
    'interval',
    'marketSymbol',
    'positionId',
    'quantity',
    'symbol',
    'timestamp',
  ],
  properties: {
    paymentType: sideEnum,
    interestRate: { type: 'string', description: 'The yearly rate the payment amounts to over its interval' },
    interval: { type: 'integer', description: 'Milliseconds since the position’s previous change' },
    marketSymbol: { type: 'string' },
    positionId: { type: 'string' },
    quantity: { type: 'string', description: 'Paid on a borrow, earned on a lend (negative after a socialised loss)' },
    symbol: { type: 'string' },
    timestamp: { type: 'string' },
  },
} as const;

export const lendingPositionHistorySchema = {
  type: 'object',
  required: ['positionId', 'quantity', 'symbol', 'source', 'cumulativeInterest', 'avgInterestRate', 'side', 'state'],
  properties: {
    positionId: { type: 'string' },
    quantity: { type: 'string' },
    symbol: { type: 'string' },
    source: sourceString,
    cumulativeInterest: { type: 'string' },
    avgInterestRate: { type: 'string' },
    side: sideEnum,
    state: { type: 'string', enum: ['Open', 'Closed'] },
    createdAt: { type: 'string' },
    closedAt: { type: 'string' },
  },
} as const;
