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
import { digitsString, errorResponses, noQuery, publicTradeSchema, symbolString } from './schemas.js';
import { candlesBetween, wireCandle } from './klines.js';
import { computeTicker } from './ticker.js';
import { wireMarket, wirePublicTrade } from './wire-format.js';

const marketsSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      symbol: { type: 'string' },
      baseSymbol: { type: 'string' },
      quoteSymbol: { type: 'string' },
      marketType: { type: 'string', enum: ['SPOT'] },
      orderBookState: { type: 'string', enum: ['Open'] },
      createdAt: { type: ['string', 'null'], description: 'The listing entry’s log time, ISO 8601 UTC without the Z' },
      visible: { type: 'boolean' },
      filters: {
        type: 'object',
        properties: {
          price: {
            type: 'object',
            properties: { minPrice: { type: 'string' }, maxPrice: { type: 'string' }, tickSize: { type: 'string' } },
          },
          quantity: {
            type: 'object',
            properties: {
              minQuantity: { type: 'string' },
              maxQuantity: { type: 'string' },
              stepSize: { type: 'string' },
            },
          },
        },
      },
      fees: { type: 'object', properties: { makerFeeBps: { type: 'integer' }, takerFeeBps: { type: 'integer' } } },
      limits: {
        type: 'object',
        properties: {
          maxOpenOrders: { type: 'integer' },
          maxMakersPerOrder: { type: 'integer' },
          minOrderValue: { type: 'string' },
        },
      },
    },
  },
} as const;

const tickerSchema = {
  type: 'object',
  properties: {
    symbol: { type: 'string' },
    firstPrice: { type: 'string' },
    lastPrice: { type: 'string' },
    priceChange: { type: 'string' },
    priceChangePercent: { type: 'string' },
    high: { type: 'string' },
    low: { type: 'string' },
    volume: { type: 'string' },
    quoteVolume: { type: 'string' },
    trades: { type: 'string' },
  },
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
}

const assetsRouteSchema = {
  summary: 'Listed assets and the blockchains that carry them',
  tags: ['public'],
  querystring: noQuery,
  response: {
    200: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          symbol: { type: 'string' },
          displayName: { type: 'string' },
          decimals: { type: 'integer' },
          tokens: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                blockchain: { type: 'string' },
                depositEnabled: { type: 'boolean' },
                withdrawEnabled: { type: 'boolean' },
                minimumDeposit: { type: 'string' },
                minimumWithdrawal: { type: 'string' },
                maximumWithdrawal: { type: 'string' },
                withdrawalFee: { type: 'string' },
              },
            },
          },
        },
      },
    },
  },
} as const;

/** Assets and the chains that carry them. */
function registerAssetRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  app.get(
    '/api/v1/assets',
    {
      schema: assetsRouteSchema,
    },
    async () =>
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

  app.get(
    '/api/v1/markets',
    {
      schema: {
        summary: 'Listed spot markets with their filters',
        tags: ['public'],
        querystring: noQuery,
        response: { 200: marketsSchema },
      },
    },
    async () =>
      Promise.all(
        node.state.markets.map(async (market) =>
          wireMarket(market, await context.feed.marketListedAtMs(market.symbol)),
        ),
      ),
  );

  app.get(
    '/api/v1/market',
    {
      schema: {
        summary: 'One market',
        tags: ['public'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['symbol'],
          properties: { symbol: symbolString },
        },
        response: { 200: marketsSchema.items, ...errorResponses() },
      },
    },
    async (request) => {
      const market = requireMarket(node.state, (request.query as { symbol: string }).symbol);
      return wireMarket(market, await context.feed.marketListedAtMs(market.symbol));
    },
  );
}

const klinesRouteSchema = {
  summary: 'Candles from the log’s trades (docs/api.md, “Candles”); startTime and endTime in Unix seconds',
  tags: ['public'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    required: ['symbol', 'interval', 'startTime'],
    properties: {
      symbol: symbolString,
      interval: { type: 'string', enum: [...candleIntervals] },
      startTime: digitsString,
      endTime: digitsString,
      priceType: { type: 'string', enum: ['Last', 'Index', 'Mark'] },
    },
  },
  response: {
    200: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          start: { type: 'string', description: 'YYYY-MM-DD HH:MM:SS, UTC' },
          end: { type: 'string', description: 'YYYY-MM-DD HH:MM:SS, UTC' },
          open: { type: 'string' },
          high: { type: 'string' },
          low: { type: 'string' },
          close: { type: 'string' },
          volume: { type: 'string' },
          quoteVolume: { type: 'string' },
          trades: { type: 'string' },
        },
      },
    },
    ...errorResponses(),
  },
} as const;

/** Candles from the log’s trades. */
function registerKlineRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  app.get(
    '/api/v1/klines',
    {
      schema: klinesRouteSchema,
    },
    async (request) => {
      const query = request.query as {
        symbol: string;
        interval: CandleInterval;
        startTime: string;
        endTime?: string;
        priceType?: string;
      };
      const market = requireMarket(node.state, query.symbol);
      if (query.priceType !== undefined && query.priceType !== 'Last') {
        throw new ApiError(
          'INVALID_CLIENT_REQUEST',
          `priceType ${query.priceType} is not available: this spot exchange has no ${query.priceType.toLowerCase()} prices yet; use Last.`,
        );
      }
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
      const candles = await candlesBetween(node.history, market, query.interval, fromMs, toMs);
      return candles.map((candle) => wireCandle(market, candle));
    },
  );
}

const depthRouteSchema = {
  summary: 'Order book snapshot; lastUpdateId lines up with the depth stream’s U/u',
  tags: ['public'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    required: ['symbol'],
    properties: { symbol: symbolString, limit: digitsString },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        asks: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
        bids: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
        lastUpdateId: { type: 'string' },
        timestamp: { type: 'integer', description: 'Unix microseconds' },
      },
    },
    ...errorResponses(),
  },
} as const;

/** The order book and recent public trades. */
function registerBookRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  app.get(
    '/api/v1/depth',
    {
      schema: depthRouteSchema,
    },
    async (request) => {
      const query = request.query as { symbol: string; limit?: string };
      const market = requireMarket(node.state, query.symbol);
      const limit = parseInteger(query.limit, 'limit') ?? 1000;
      if (limit < 1 || limit > 5000) throw new ApiError('INVALID_CLIENT_REQUEST', 'limit must be from 1 to 5000.');
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
    },
  );

  app.get(
    '/api/v1/trades',
    {
      schema: {
        summary: 'Recent public trades, oldest first',
        tags: ['public'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['symbol'],
          properties: { symbol: symbolString, limit: digitsString },
        },
        response: { 200: { type: 'array', items: publicTradeSchema }, ...errorResponses() },
      },
    },
    async (request) => {
      const query = request.query as { symbol: string; limit?: string };
      const market = requireMarket(node.state, query.symbol);
      const limit = parseInteger(query.limit, 'limit') ?? 100;
      if (limit < 1 || limit > 1000) throw new ApiError('INVALID_CLIENT_REQUEST', 'limit must be from 1 to 1000.');
      const trades = await node.history.trades(market.symbol, limit);
      return trades.reverse().map((trade) => wirePublicTrade(node.state, trade));
    },
  );
}

/** 24-hour statistics, one market or all. */
function registerTickerRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  app.get(
    '/api/v1/ticker',
    {
      schema: {
        summary: '24-hour statistics of one market',
        tags: ['public'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['symbol'],
          properties: { symbol: symbolString, interval: { type: 'string', enum: ['1d'] } },
        },
        response: { 200: tickerSchema, ...errorResponses() },
      },
    },
    async (request) => ticker(context, requireMarket(node.state, (request.query as { symbol: string }).symbol)),
  );

  app.get(
    '/api/v1/tickers',
    {
      schema: {
        summary: '24-hour statistics of every market',
        tags: ['public'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { interval: { type: 'string', enum: ['1d'] } },
        },
        response: { 200: { type: 'array', items: tickerSchema } },
      },
    },
    async () => Promise.all(node.state.markets.map((market) => ticker(context, market))),
  );
}

const statusRouteSchema = {
  summary: 'Node status: the head of the log',
  tags: ['public', 'native'],
  querystring: noQuery,
  response: {
    200: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['Ok', 'Halted'] },
        message: { type: ['string', 'null'] },
        exchangeName: { type: 'string' },
        version: { type: 'string' },
        sequence: { type: 'integer', description: 'Sequence of the last entry; 0 for an empty log' },
        entryHash: { type: 'string', description: 'Hex hash of the last entry' },
        logTimeMs: { type: 'integer' },
        serverTimeMs: { type: 'integer' },
      },
    },
  },
} as const;

/** Server time, liveness and the node’s status. */
function registerStatusRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  app.get(
    '/api/v1/time',
    {
      schema: {
        summary: 'Server time, Unix milliseconds',
        tags: ['public'],
        querystring: noQuery,
        response: { 200: { type: 'integer' } },
      },
    },
    async () => context.clock(),
  );

  app.get(
    '/api/v1/ping',
    {
      schema: { summary: 'Liveness', tags: ['public'], querystring: noQuery, response: { 200: { type: 'string' } } },
    },
    async (_request, reply) => reply.type('text/plain').send('pong'),
  );

  app.get(
    '/api/v1/status',
    {
      schema: statusRouteSchema,
    },
    async () => {
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
    },
  );
}
