/**
 * Perpetual market data (docs/api.md, "Perpetuals"; docs/perps-pricing.md):
 * the mark and index prices with the current interval's estimated funding
 * rate, read from the node's state at its log time.
 */
import type { FastifyInstance } from 'fastify';
import { estimatedFundingRate, formatDecimal, type Market } from '@vex/engine';
import { requireMarket, type ApiContext } from './context.js';
import { arrayOf, getRoute, strictQuery, textProperties } from './route-schemas.js';
import { symbolString } from './schemas.js';

/** Prices and rates are wad (18 decimals) in the engine. */
const fraction = (value: bigint): string => formatDecimal(value, 18);

const markPriceSchema = {
  type: 'object',
  properties: {
    ...textProperties('fundingRate', 'indexPrice', 'markPrice', 'symbol'),
    nextFundingTimestamp: { type: 'integer', description: 'The next funding boundary, Unix milliseconds of log time' },
  },
} as const;

const markPricesRouteSchema = {
  summary: 'Mark and index prices of the perpetuals, with the current interval’s estimated funding rate',
  tags: ['public'],
  querystring: strictQuery({ symbol: symbolString, marketType: { type: 'string', enum: ['PERP'] } }),
  ok: arrayOf(markPriceSchema),
  errors: [],
} as const;

function wireMarkPrice(market: Market) {
  const perp = market.perp!;
  return {
    fundingRate: fraction(estimatedFundingRate(perp.funding, perp.fundingParameters)),
    indexPrice: fraction(perp.funding.markIndexPrice),
    markPrice: fraction(perp.funding.markPrice),
    nextFundingTimestamp: perp.funding.nextFundingAtMs,
    symbol: market.symbol,
  };
}

export function registerPerpRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  getRoute(app, '/api/v1/markPrices', markPricesRouteSchema, async (request) => {
    const { symbol } = request.query as { symbol?: string };
    const markets = symbol === undefined ? node.state.markets : [requireMarket(node.state, symbol)];
    return markets.filter((market) => market.perp !== undefined).map(wireMarkPrice);
  });
}
