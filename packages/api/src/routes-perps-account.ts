/**
 * The signer's perpetual positions in Backpack's shapes (docs/api.md,
 * "Perpetuals"): GET /api/v1/position from the state at the node's log time
 * (perp-wire.ts); /wapi/v1/history/{funding,settlement,position} are in
 * routes-perps-history.ts.
 */
import type { FastifyInstance } from 'fastify';
import { requireMarket, signedQuery, type ApiContext } from './context.js';
import { positionFigures, wirePosition } from './perp-wire.js';
import { registerAdlRankRoute } from './routes-adl-rank.js';
import { registerPerpHistoryRoutes } from './routes-perps-history.js';
import { arrayOf, getRoute, strictQuery, text } from './route-schemas.js';
import { signedSecurity, symbolString } from './schemas.js';

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
  registerPerpHistoryRoutes(app, context);
  registerAdlRankRoute(app, context);
}

function openPositions(context: ApiContext, account: string, symbol: string | undefined) {
  const { state } = context.node;
  return positionFigures(state, state.accounts.get(account)).filter(
    (figures) => symbol === undefined || figures.market.symbol === symbol,
  );
}
