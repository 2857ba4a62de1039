/**
 * Public, unsigned market data: assets, markets, depth, trades, tickers,
 * server time and status.
 */
import type { FastifyInstance } from 'fastify';
import {
  candleIntervals,
  depthOf,
  formatDecimal,
  formatPrice,
  formatQuantity,
  type CandleInterval,
  type Market,
} from '@vex/engine';
import { requireMarket, parseInteger, type ApiContext } from './context.js';
import { ApiError } from './errors.js';
import {
  arrayOf,
  getRoute,
  integer,
  queryLimit,
  strictQuery,
  symbolQuery,
  text,
  textProperties,
} from './route-schemas.js';
import { digitsString, noQuery, publicTradeSchema, symbolString } from './schemas.js';
import { candlesBetween, wireCandle } from './klines.js';
import { priceCandlesBetween } from './perp-klines.js';
import { registerPerpRoutes } from './routes-perps.js';
import { computeTicker } from './ticker.js';
import { wireMarket, wirePublicTrade } from './wire-format.js';

/** Backpack's margin function of a perpetual: fraction = max(base, factor × √notional). */
const sqrtFunctionSchema = {
  type: 'object',
  properties: { type: { type: 'string', enum: ['sqrt'] }, ...textProperties('base', 'factor') },
} as const;

const marketsSchema = arrayOf({
  type: 'object',
  properties: {
    ...textProperties('symbol', 'baseSymbol', 'quoteSymbol'),
    marketType: { type: 'string', enum: ['SPOT', 'PERP'] },
    orderBookState: { type: 'string', enum: ['Open'] },
    createdAt: { type: ['string', 'null'], description: 'The listing entry’s log time, ISO 8601 UTC without the Z' },
    visible: { type: 'boolean' },
    filters: {
      type: 'object',
      properties: {
        price: {
          type: 'object',
          properties: {
            ...textProperties('minPrice', 'maxPrice', 'tickSize'),
            meanMarkPriceBand: { type: 'object', properties: textProperties('maxMultiplier', 'minMultiplier') },
          },
        },
        quantity: { type: 'object', properties: textProperties('minQuantity', 'maxQuantity', 'stepSize') },
      },
    },
    fees: { type: 'object', properties: { makerFeeBps: integer, takerFeeBps: integer } },
    limits: {
      type: 'object',
      properties: { maxOpenOrders: integer, maxMakersPerOrder: integer, minOrderValue: text },
    },
    // Perpetuals only (docs/perps.md, "Listing").
    imfFunction: sqrtFunctionSchema,
    mmfFunction: sqrtFunctionSchema,
    fundingInterval: integer,
    ...textProperties('fundingRateUpperBound', 'fundingRateLowerBound', 'openInterestLimit'),
  },
} as const);

const tickerSchema = {
  type: 'object',
  properties: textProperties(
    'symbol',
    'firstPrice',
    'lastPrice',
    'priceChange',
    'priceChangePercent',
    'high',
    'low',
    'volume',
    'quoteVolume',
    'trades',
  ),
} as const;

/** Tickers are recomputed at most once a second per market (each reads up to 10,000 trades). */
const tickerCacheMs = 1000;
const tickerCache = new WeakMap<
  ApiContext,
  Map<string, { readonly atMs: number; readonly value: Promise<Record<string, string>> }>
>();

function ticker(context: ApiContext, market: Market): Promise<Record<string, string>> {
  let cache = tickerCache.get(context);
  if (cache === undefined) {
    cache = new Map();
    tickerCache.set(context, cache);
  }
  const now = context.clock();
  const cached = cache.get(market.symbol);
  if (cached !== undefined && now - cached.atMs < tickerCacheMs && now >= cached.atMs) return cached.value;
  const value = computeTicker(context.node.history, market, now);
  cache.set(market.symbol, { atMs: now, value });
  value.catch(() => cache.delete(market.symbol));
  return value;
}

export function registerPublicRoutes(app: FastifyInstance, context: ApiContext): void {
  registerAssetRoutes(app, context);
  registerMarketRoutes(app, context);
  registerKlineRoutes(app, context);
  registerBookRoutes(app, context);
  registerTickerRoutes(app, context);
  registerStatusRoutes(app, context);
  registerPerpRoutes(app, context);
}

/** An asset and the chains that carry it. */
const assetSchema = {
  type: 'object',
  properties: {
    symbol: text,
    displayName: text,
    decimals: integer,
    tokens: arrayOf({
      type: 'object',
      properties: {
        blockchain: text,
        depositEnabled: { type: 'boolean' },
        withdrawEnabled: { type: 'boolean' },
        ...textProperties('minimumDeposit', 'minimumWithdrawal', 'maximumWithdrawal', 'withdrawalFee'),
      },
    }),
  },
} as const;

/** Assets and the chains that carry them. */
function registerAssetRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  const route = { summary: 'Listed assets and the blockchains that carry them', tags: ['public'] };
  getRoute(app, '/api/v1/assets', { ...route, querystring: noQuery, ok: arrayOf(assetSchema) }, async () =>
    node.state.assets.map((asset) => {
      const info = context.assets[asset.symbol] ?? {};
      const smallest = formatDecimal(1n, asset.decimals);
      return {
        symbol: asset.symbol,
        displayName: info.displayName ?? asset.symbol,
        decimals: asset.decimals,
        tokens: (info.blockchains ?? []).map((blockchain) => ({
          blockchain,
          depositEnabled: true,
          withdrawEnabled: true,
          minimumDeposit: smallest,
          minimumWithdrawal: smallest,
          maximumWithdrawal: '0',
          withdrawalFee: '0',
        })),
      };
    }),
  );
}

/** Listed markets, all or one. */
function registerMarketRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  const wire = async (market: Market) => wireMarket(market, await context.feed.marketListedAtMs(market.symbol));
  const markets = { summary: 'Listed markets, spot and perpetual, with their filters', tags: ['public'] };
  getRoute(app, '/api/v1/markets', { ...markets, querystring: noQuery, ok: marketsSchema }, async () =>
    Promise.all(node.state.markets.map(wire)),
  );
  const market = { summary: 'One market', tags: ['public'], querystring: symbolQuery() };
  getRoute(app, '/api/v1/market', { ...market, ok: marketsSchema.items, errors: [] }, async (request) =>
    wire(requireMarket(node.state, (request.query as { symbol: string }).symbol)),
  );
}

const klinesRouteSchema = {
  summary:
    'Candles from the log’s trades, or a perpetual’s mark or index prices (docs/api.md, “Candles”); ' +
    'startTime and endTime in Unix seconds',
  tags: ['public'],
  querystring: strictQuery(
    {
      symbol: symbolString,
      interval: { type: 'string', enum: [...candleIntervals] },
      startTime: digitsString,
      endTime: digitsString,
      priceType: { type: 'string', enum: ['Last', 'Index', 'Mark'] },
    },
    ['symbol', 'interval', 'startTime'],
  ),
  ok: arrayOf({
    type: 'object',
    properties: {
      start: { type: 'string', description: 'YYYY-MM-DD HH:MM:SS, UTC' },
      end: { type: 'string', description: 'YYYY-MM-DD HH:MM:SS, UTC' },
      ...textProperties('open', 'high', 'low', 'close', 'volume', 'quoteVolume', 'trades'),
    },
  }),
  errors: [],
} as const;

interface KlinesQuery {
  readonly symbol: string;
  readonly interval: CandleInterval;
  readonly startTime: string;
  readonly endTime?: string;
  readonly priceType?: string;
}

/** Candles from the log’s trades. */
function registerKlineRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  getRoute(app, '/api/v1/klines', klinesRouteSchema, async (request) => {
    const query = request.query as KlinesQuery;
    const market = requireMarket(node.state, query.symbol);
    const maximumSeconds = Math.floor(Number.MAX_SAFE_INTEGER / 1000);
    const startSeconds = parseInteger(query.startTime, 'startTime')!;
    const endSeconds = parseInteger(query.endTime, 'endTime');
    if (startSeconds > maximumSeconds || (endSeconds !== undefined && endSeconds > maximumSeconds)) {
      throw new ApiError('INVALID_CLIENT_REQUEST', 'startTime and endTime are Unix seconds.');
    }
    // Without endTime: up to now, including the current bucket (log time never runs behind the entries).
    const toMs = endSeconds !== undefined ? endSeconds * 1000 : Math.max(context.clock(), node.state.logTimeMs) + 1;
    const fromMs = startSeconds * 1000;
    if (endSeconds !== undefined && toMs <= fromMs)
      throw new ApiError('INVALID_CLIENT_REQUEST', 'endTime must be after startTime.');
    if (query.priceType === 'Mark' || query.priceType === 'Index')
      return priceCandlesBetween(node.history, market, query.priceType, query.interval, fromMs, toMs);
    const candles = await candlesBetween(node.history, market, query.interval, fromMs, toMs);
    return candles.map((candle) => wireCandle(market, candle));
  });
}

const priceLevels = arrayOf(arrayOf(text));

const depthRouteSchema = {
  summary: 'Order book snapshot; lastUpdateId lines up with the depth stream’s U/u',
  tags: ['public'],
  querystring: symbolQuery({ limit: digitsString }),
  ok: {
    type: 'object',
    properties: {
      asks: priceLevels,
      bids: priceLevels,
      lastUpdateId: text,
      timestamp: { type: 'integer', description: 'Unix microseconds' },
    },
  },
  errors: [],
} as const;

/** The order book and recent public trades. */
function registerBookRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  getRoute(app, '/api/v1/depth', depthRouteSchema, async (request) => {
    const query = request.query as { symbol: string; limit?: string };
    const market = requireMarket(node.state, query.symbol);
    const limit = queryLimit(query, 1000, 5000);
    // Read the book and the update id in the same tick, so they describe the same moment.
    const lastUpdateId = context.feed.depthUpdateId(market.symbol);
    const { asks, bids } = depthOf(market, limit);
    const level = (entry: { priceTicks: bigint; quantitySteps: bigint }): [string, string] => [
      formatPrice(market, entry.priceTicks),
      formatQuantity(market, entry.quantitySteps),
    ];
    // Backpack lists both sides in ascending price order.
    return {
      asks: asks.map(level),
      bids: bids.map(level).reverse(),
      lastUpdateId: String(lastUpdateId),
      timestamp: context.clock() * 1000,
    };
  });

  const trades = { summary: 'Recent public trades, oldest first', tags: ['public'] };
  const tradesQuery = symbolQuery({ limit: digitsString });
  getRoute(
    app,
    '/api/v1/trades',
    { ...trades, querystring: tradesQuery, ok: arrayOf(publicTradeSchema), errors: [] },
    async (request) => {
      const query = request.query as { symbol: string; limit?: string };
      const market = requireMarket(node.state, query.symbol);
      const limit = queryLimit(query, 100, 1000);
      const found = await node.history.trades(market.symbol, limit);
      return found.reverse().map((trade) => wirePublicTrade(node.state, trade));
    },
  );
}

/** 24-hour statistics, one market or all. */
function registerTickerRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  const interval = { type: 'string', enum: ['1d'] } as const;
  const one = { summary: '24-hour statistics of one market', tags: ['public'], querystring: symbolQuery({ interval }) };
  getRoute(app, '/api/v1/ticker', { ...one, ok: tickerSchema, errors: [] }, async (request) =>
    ticker(context, requireMarket(node.state, (request.query as { symbol: string }).symbol)),
  );
  const all = {
    summary: '24-hour statistics of every market',
    tags: ['public'],
    querystring: strictQuery({ interval }),
  };
  getRoute(app, '/api/v1/tickers', { ...all, ok: arrayOf(tickerSchema) }, async () =>
    Promise.all(node.state.markets.map((market) => ticker(context, market))),
  );
}

const statusSchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['Ok', 'Halted'] },
    message: { type: ['string', 'null'] },
    exchangeName: text,
    version: text,
    sequence: { type: 'integer', description: 'Sequence of the last entry; 0 for an empty log' },
    entryHash: { type: 'string', description: 'Hex hash of the last entry' },
    logTimeMs: integer,
    serverTimeMs: integer,
  },
} as const;

/** Server time, liveness and the node’s status. */
function registerStatusRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  const time = { summary: 'Server time, Unix milliseconds', tags: ['public'], querystring: noQuery };
  getRoute(app, '/api/v1/time', { ...time, ok: integer }, async () => context.clock());
  const ping = { summary: 'Liveness', tags: ['public'], querystring: noQuery };
  getRoute(app, '/api/v1/ping', { ...ping, ok: text }, async (_request, reply) =>
    reply.type('text/plain').send('pong'),
  );
  const status = { summary: 'Node status: the head of the log', tags: ['public', 'native'], querystring: noQuery };
  getRoute(app, '/api/v1/status', { ...status, ok: statusSchema }, async () => {
    const head = node.head();
    const halted = node.haltedBy;
    return {
      status: halted === undefined ? 'Ok' : 'Halted',
      message: halted === undefined ? null : halted.message,
      exchangeName: node.state.genesis.exchangeName,
      version: context.version,
      sequence: head.sequence,
      entryHash: head.entryHash,
      logTimeMs: head.logTimeMs,
      serverTimeMs: context.clock(),
    };
  });
}
