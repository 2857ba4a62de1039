/**
 * The signer's perpetual positions and their history in Backpack's shapes
 * (docs/api.md, "Perpetuals"): GET /api/v1/position from the state at the
 * node's log time (perp-wire.ts), and /wapi/v1/history/{funding,settlement,
 * position}. The engine reports no per-account funding payment, settlement
 * or position change as an event yet, so the history routes answer what the
 * log lets them derive today: open positions from the state, and no funding
 * payments or settlements (docs/perps.md, section 7, names the events they
 * need).
 */
import type { FastifyInstance } from 'fastify';
import { requireMarket, signedQuery, type ApiContext } from './context.js';
import { positionFigures, renamedFields, wirePosition } from './perp-wire.js';
import { arrayOf, getRoute, strictQuery, text } from './route-schemas.js';
import { pageQueryProperties } from './schemas-margin.js';
import { signedSecurity, symbolString } from './schemas.js';
import { registerSignedQuery } from './signed-query-route.js';

const sqrtFunctionSchema = {
  type: 'object',
  properties: { type: { type: 'string', enum: ['sqrt'] }, base: text, factor: text },
} as const;

const decimalFields = [
  'breakEvenPrice',
  'cumulativeFundingPayment',
  'entryPrice',
  'estLiquidationPrice',
  'imf',
  'markPrice',
  'mmf',
  'netCost',
  'netExposureNotional',
  'netExposureQuantity',
  'netQuantity',
  'pnlRealized',
  'pnlUnrealized',
  'positionId',
  'symbol',
] as const;

export const positionSchema = {
  type: 'object',
  required: [...decimalFields],
  properties: {
    ...Object.fromEntries(decimalFields.map((name) => [name, text])),
    imfFunction: sqrtFunctionSchema,
    mmfFunction: sqrtFunctionSchema,
    subaccountId: { type: 'null' },
  },
} as const;

const positionRouteSchema = {
  summary: 'Open perpetual positions of the signer, in market order (instruction positionQuery)',
  tags: ['account', 'perpetuals'],
  security: signedSecurity,
  querystring: strictQuery({ symbol: symbolString, marketType: { type: 'string', maxLength: 16 } }),
  ok: arrayOf(positionSchema),
  errors: [401],
} as const;

const fundingPaymentSchema = {
  type: 'object',
  properties: {
    ...Object.fromEntries(
      ['fundingRate', 'intervalEndTimestamp', 'quantity', 'symbol', 'userId'].map((name) => [name, text]),
    ),
    subaccountId: { type: 'integer' },
  },
} as const;

const settlementSchema = {
  type: 'object',
  properties: {
    ...Object.fromEntries(['quantity', 'source', 'timestamp', 'userId'].map((name) => [name, text])),
    subaccountId: { type: 'integer' },
  },
} as const;

/** /wapi/v1/history/position's fields, from wirePosition's. */
const positionHistoryFields = {
  id: 'positionId',
  symbol: 'symbol',
  netQuantity: 'netQuantity',
  netExposureQuantity: 'netExposureQuantity',
  netExposureNotional: 'netExposureNotional',
  netCost: 'netCost',
  markPrice: 'markPrice',
  entryPrice: 'entryPrice',
  cumulativePnlRealized: 'pnlRealized',
  unrealizedPnl: 'pnlUnrealized',
  fundingQuantity: 'cumulativeFundingPayment',
  imf: 'imf',
} as const;

const positionHistorySchema = {
  type: 'object',
  properties: {
    ...Object.fromEntries(Object.keys(positionHistoryFields).map((name) => [name, text])),
    state: { type: 'string', enum: ['Open', 'Closed'] },
  },
} as const;

const subaccountId = { type: 'string', pattern: '^[0-9]{1,5}$' } as const;

const tags = ['account', 'perpetuals'];

/** The market named by `symbol`, checked (400 INVALID_MARKET when unknown). */
function checkedSymbol(context: ApiContext, symbol: string | undefined): string | undefined {
  return symbol === undefined ? undefined : requireMarket(context.node.state, symbol).symbol;
}

export function registerPerpAccountRoutes(app: FastifyInstance, context: ApiContext): void {
  getRoute(app, '/api/v1/position', positionRouteSchema, async (request) => {
    const { account } = signedQuery(context, request);
    const symbol = checkedSymbol(context, (request.query as { symbol?: string }).symbol);
    return openPositions(context, account, symbol).map(wirePosition);
  });
  registerEventlessHistory(app, context);
  registerPositionHistory(app, context);
}

function openPositions(context: ApiContext, account: string, symbol: string | undefined) {
  const { state } = context.node;
  return positionFigures(state, state.accounts.get(account)).filter(
    (figures) => symbol === undefined || figures.market.symbol === symbol,
  );
}

const settlementSources = [
  'BackstopLiquidation',
  'CulledBorrowInterest',
  'CulledRealizePnl',
  'CulledRealizePnlBookUtilization',
  'FundingPayment',
  'RealizePnl',
  'TradingFees',
  'TradingFeesSystem',
];

/** The history routes the engine's events cannot answer yet (docs/perps.md, section 7): `[]`, the symbol checked. */
const eventlessHistoryRoutes = [
  {
    path: '/wapi/v1/history/funding',
    instruction: 'fundingHistoryQueryAll',
    summary: 'Funding payments of the signer, newest first: none until the engine reports them',
    tags,
    querystring: strictQuery({ ...pageQueryProperties, symbol: symbolString, subaccountId }),
    answer: arrayOf(fundingPaymentSchema),
  },
  {
    path: '/wapi/v1/history/settlement',
    instruction: 'settlementHistoryQueryAll',
    summary: 'Settlements of the signer’s PnL, funding and fees, newest first: none until the engine reports them',
    tags,
    querystring: strictQuery({ ...pageQueryProperties, source: { type: 'string', enum: settlementSources } }),
    answer: arrayOf(settlementSchema),
  },
];

function registerEventlessHistory(app: FastifyInstance, context: ApiContext): void {
  for (const route of eventlessHistoryRoutes)
    registerSignedQuery<{ symbol?: string }>(app, context, route, async (_account, query) => {
      checkedSymbol(context, query.symbol);
      return [];
    });
}

function registerPositionHistory(app: FastifyInstance, context: ApiContext): void {
  const positionRoute = {
    path: '/wapi/v1/history/position',
    instruction: 'positionHistoryQueryAll',
    summary: 'Positions of the signer: the open ones, from the state (closed ones need position events)',
    tags,
    querystring: strictQuery({
      ...pageQueryProperties,
      symbol: symbolString,
      state: { type: 'string', enum: ['Open', 'Closed'] },
      marketType: { type: 'string', maxLength: 64 },
    }),
    answer: arrayOf(positionHistorySchema),
  };
  type PositionQuery = { symbol?: string; state?: 'Open' | 'Closed' };
  registerSignedQuery<PositionQuery>(app, context, positionRoute, async (account, query) => {
    const symbol = checkedSymbol(context, query.symbol);
    if (query.state === 'Closed') return [];
    return openPositions(context, account, symbol).map((figures) => ({
      ...renamedFields(wirePosition(figures), positionHistoryFields),
      state: 'Open',
    }));
  });
}
