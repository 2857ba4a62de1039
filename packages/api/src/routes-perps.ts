/**
 * Perpetual market data (docs/api.md, "Perpetuals"; docs/perps-pricing.md):
 * the mark and index prices with the current interval's estimated funding
 * rate and the open interest, read from the node's state at its log time;
 * the settled funding intervals, read from the ledger's history
 * (docs/log-format.md, "History records"). The signer's positions:
 * routes-perps-account.ts.
 */
import type { FastifyInstance } from 'fastify';
import { estimatedFundingRate, formatDecimal, type Market } from '@vex/engine';
import { parseInteger, requireMarket, type ApiContext } from './context.js';
import { ApiError } from './errors.js';
import { registerPerpAccountRoutes } from './routes-perps-account.js';
import { arrayOf, getRoute, queryLimit, strictQuery, symbolQuery, textProperties } from './route-schemas.js';
import { digitsString, symbolString } from './schemas.js';
import { isoWithoutZone } from './wire-format.js';

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

const fundingRatesRouteSchema = {
  summary: 'Settled funding intervals of a perpetual, newest first',
  tags: ['public'],
  querystring: symbolQuery({ limit: digitsString, offset: digitsString }),
  ok: arrayOf({ type: 'object', properties: textProperties('fundingRate', 'intervalEndTimestamp', 'symbol') }),
  errors: [400],
} as const;

const openInterestRouteSchema = {
  summary: 'Open interest of the perpetuals (the sum of the long positions, in base units)',
  tags: ['public'],
  querystring: strictQuery({ symbol: symbolString }),
  ok: arrayOf({
    type: 'object',
    properties: {
      ...textProperties('openInterest', 'symbol'),
      timestamp: { type: 'integer', description: 'The node’s log time, Unix milliseconds' },
    },
  }),
  errors: [400],
} as const;

/** Backpack's funding history pages up to 10,000 intervals at a time. */
const maximumFundingIntervals = 10_000;
const maximumFundingOffset = 1_000_000;

function requirePerp(market: Market): Market {
  if (market.perp === undefined) throw new ApiError('INVALID_MARKET', `Market ${market.symbol} is not a perpetual.`);
  return market;
}

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

  getRoute(app, '/api/v1/fundingRates', fundingRatesRouteSchema, async (request) => {
    const query = request.query as { symbol: string; limit?: string; offset?: string };
    const market = requirePerp(requireMarket(node.state, query.symbol));
    const limit = queryLimit(query, 100, maximumFundingIntervals);
    const offset = parseInteger(query.offset, 'offset') ?? 0;
    if (offset > maximumFundingOffset)
      throw new ApiError('INVALID_CLIENT_REQUEST', `offset must be at most ${maximumFundingOffset}.`);
    const intervals = await node.history.fundingIntervals(market.symbol, { limit, offset });
    return intervals.map((interval) => ({
      fundingRate: fraction(interval.fundingRate),
      intervalEndTimestamp: isoWithoutZone(interval.intervalEndMs).slice(0, 19),
      symbol: interval.market,
    }));
  });

  getRoute(app, '/api/v1/openInterest', openInterestRouteSchema, async (request) => {
    const { symbol } = request.query as { symbol?: string };
    const markets = symbol === undefined ? node.state.markets : [requireMarket(node.state, symbol)];
    return markets
      .filter((market) => market.perp !== undefined)
      .map((market) => ({
        openInterest: formatDecimal(market.perp!.openInterestUnits, market.base.decimals),
        symbol: market.symbol,
        timestamp: node.state.logTimeMs,
      }));
  });

  registerPerpAccountRoutes(app, context);
}
