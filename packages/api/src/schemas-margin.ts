/** JSON schemas of the margin routes (routes-margin.ts, routes-margin-native.ts); docs/api.md, "Margin". */
import { arrayOf, text, textProperties } from './route-schemas.js';
import { digitsString } from './schemas.js';

const nullableText = { type: ['string', 'null'] } as const;

/** Query booleans arrive as the text ccxt and the Rust client send. */
export const booleanText = { type: 'string', enum: ['true', 'false'] } as const;

export const pageQueryProperties = {
  limit: digitsString,
  offset: digitsString,
  from: digitsString,
  to: digitsString,
  sortDirection: { type: 'string', enum: ['Asc', 'Desc'] },
} as const;

export const anyObject = { type: 'object', additionalProperties: true } as const;

export const sqrtFunctionSchema = {
  type: 'object',
  required: ['type', 'base', 'factor'],
  properties: { type: { type: 'string', enum: ['sqrt'] }, base: text, factor: text },
} as const;

export const accountSummarySchema = {
  type: 'object',
  required: ['autoBorrowSettlements', 'autoLend', 'autoRepayBorrows', 'leverageLimit', 'liquidating'],
  properties: {
    autoBorrowSettlements: { type: 'boolean' },
    autoLend: { type: 'boolean' },
    autoRealizePnl: { type: 'boolean' },
    autoRepayBorrows: { type: 'boolean' },
    leverageLimit: { type: 'string', description: '"0": no limit beyond the assets’ IMF' },
    limitOrders: { type: 'integer', description: 'Open orders, pending triggers included' },
    liquidating: {
      type: 'boolean',
      description: 'Below maintenance margin with debt: a liquidation would be accepted',
    },
  },
} as const;

export const lendingMarketSchema = {
  type: 'object',
  required: [
    'symbol',
    'state',
    'borrowInterestRate',
    'lendInterestRate',
    'utilization',
    'borrowedQuantity',
    'lentQuantity',
  ],
  properties: {
    state: { type: 'string', enum: ['Open', 'Closed', 'RepayOnly'] },
    assetMarkPrice: text,
    borrowInterestRate: { type: 'string', description: 'Yearly, simple (docs/margin.md)' },
    ...textProperties('borrowedQuantity', 'fee', 'lendInterestRate', 'lentQuantity', 'maxUtilization'),
    openBorrowLendLimit: { type: 'string', description: 'The pool’s cash: lent in, not borrowed out' },
    optimalUtilization: text,
    symbol: text,
    timestamp: { type: 'string', description: 'RFC 3339, the state’s log time' },
    utilization: text,
    stepSize: text,
  },
} as const;

export const collateralFunctionSchema = {
  type: 'object',
  required: ['symbol', 'imfFunction', 'mmfFunction', 'haircutFunction'],
  properties: {
    symbol: text,
    imfFunction: sqrtFunctionSchema,
    mmfFunction: sqrtFunctionSchema,
    haircutFunction: {
      type: 'object',
      required: ['weight', 'kind'],
      properties: {
        weight: text,
        kind: {
          type: 'object',
          required: ['type'],
          properties: {
            type: { type: 'string', enum: ['identity', 'inverseSqrt'] },
            base: text,
            positiveCurvePenalty: text,
          },
        },
      },
    },
  },
} as const;

export const lendingPositionSchema = {
  type: 'object',
  required: ['id', 'symbol', 'netQuantity', 'markPrice', 'imf', 'mmf'],
  properties: {
    ...textProperties('id', 'symbol'),
    netQuantity: { type: 'string', description: 'Positive when lent, negative when borrowed' },
    ...textProperties('markPrice', 'netExposureQuantity', 'netExposureNotional', 'imf'),
    imfFunction: sqrtFunctionSchema,
    mmf: text,
    mmfFunction: sqrtFunctionSchema,
  },
} as const;

export const marginSummarySchema = {
  type: 'object',
  required: ['assetsValue', 'borrowLiability', 'collateral', 'netEquity', 'netEquityAvailable', 'netEquityLocked'],
  properties: {
    ...textProperties('assetsValue', 'borrowLiability'),
    collateral: arrayOf({
      type: 'object',
      properties: textProperties(
        'symbol',
        'assetMarkPrice',
        'totalQuantity',
        'balanceNotional',
        'collateralWeight',
        'collateralValue',
        'openOrderQuantity',
        'lendQuantity',
        'availableQuantity',
      ),
    }),
    ...textProperties('imf', 'mmf', 'unsettledEquity', 'liabilitiesValue'),
    marginFraction: nullableText,
    ...textProperties('netEquity', 'netEquityAvailable', 'netEquityLocked', 'netExposureFutures', 'pnlUnrealized'),
    liquidating: { type: 'boolean' },
  },
} as const;
