/**
 * Borrow/lend and cross margin in Backpack's shapes (docs/api.md, "Margin";
 * the rules are docs/margin.md's). Transactions (PATCH /api/v1/account,
 * POST /api/v1/borrowLend) go to the node like every signed request; the
 * queries read the node's state at its log time. The signed queries name
 * their instruction here (Backpack's names, shared/backpack-margin.md §1.1).
 */
import type { FastifyInstance } from 'fastify';
import { formatDecimal, parseAmountUnits, type Asset, type ExchangeState } from '@vex/engine';
import { requireMarket, signedTransaction, type ApiContext } from './context.js';
import { ApiError } from './errors.js';
import { registerMarginHistoryRoutes } from './routes-margin-history.js';
import { registerMarginNativeRoutes } from './routes-margin-native.js';
import { registerSignedQuery } from './signed-query-route.js';
import { maximumBorrowUnits, maximumWithdrawalUnits, spendableUnits } from './margin-limits.js';
import {
  assetUnits,
  marginAssets,
  wireAccountSummary,
  wireCollateralFunctions,
  wireLendingMarket,
  wireLendingPositions,
  wireMarginSummary,
} from './margin-wire.js';
import { decimalValue, errorResponses, noQuery, signedSecurity, symbolString } from './schemas.js';
import { onlyResult } from './submission.js';
import {
  accountSummarySchema,
  booleanText,
  collateralFunctionSchema,
  lendingMarketSchema,
  lendingPositionSchema,
  marginSummarySchema,
  anyObject,
} from './schemas-margin.js';

function requireAsset(state: ExchangeState, symbol: string): Asset {
  const asset = state.assetsBySymbol.get(symbol);
  if (asset === undefined) throw new ApiError('INVALID_ASSET', `Asset ${symbol.slice(0, 40)} does not exist.`);
  return asset;
}

function requireBorrowable(state: ExchangeState, symbol: string): Asset {
  const asset = requireAsset(state, symbol);
  if (asset.margin === undefined) throw new ApiError('INVALID_ASSET', `${asset.symbol} cannot be borrowed or lent.`);
  return asset;
}

const flagsOf = (query: { autoBorrow?: string; autoLendRedeem?: string }) => ({
  autoBorrow: query.autoBorrow === 'true',
  autoLendRedeem: query.autoLendRedeem === 'true',
});

const quantityAnswer = (name: string) => ({
  type: 'object',
  required: [name, 'symbol'],
  properties: {
    [name]: { type: 'string' },
    symbol: { type: 'string' },
    autoBorrow: { type: 'boolean' },
    autoLendRedeem: { type: 'boolean' },
  },
});

export function registerMarginRoutes(app: FastifyInstance, context: ApiContext): void {
  registerGetAccount(app, context);
  registerGetBorrowLendPositions(app, context);
  registerMarginHistoryRoutes(app, context);
  registerMarginNativeRoutes(app, context);
  registerPatchAccount(app, context);
  registerPostBorrowLend(app, context);
  registerGetBorrowLendMarkets(app, context);
  registerGetBorrowLendMarketsHistory(app, context);
  registerGetCollateral(app, context);
  registerGetCapitalCollateral(app, context);
  registerGetAccountLimitsBorrow(app, context);
  registerGetAccountLimitsWithdrawal(app, context);
  registerGetAccountLimitsOrder(app, context);
}

function registerGetAccount(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  const route = {
    path: '/api/v1/account',
    instruction: 'accountQuery',
    summary: 'The signer’s margin settings, open order count and liquidation flag',
    querystring: noQuery,
    answer: accountSummarySchema,
  };
  registerSignedQuery(app, context, route, (account) =>
    wireAccountSummary(node.state, node.state.accounts.get(account)),
  );
}

function registerPatchAccount(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.patch(
    '/api/v1/account',
    {
      schema: {
        summary: 'Change margin settings (instruction accountUpdate); answers the settings after the change',
        tags: ['account', 'margin'],
        security: signedSecurity,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            autoBorrowSettlements: { type: 'boolean' },
            autoLend: { type: 'boolean' },
            autoRepayBorrows: { type: 'boolean' },
            leverageLimit: decimalValue,
          },
        },
        response: { 200: accountSummarySchema, ...errorResponses(401, 409, 503) },
      },
    },
    async (request) => {
      const { account, committed } = await signedTransaction(context, request);
      const value = onlyResult(committed);
      if (value.kind !== 'accountUpdated') throw new ApiError('SERVER_ERROR', `Unexpected result ${value.kind}.`);
      return wireAccountSummary(node.state, node.state.accounts.get(account));
    },
  );
}

function registerPostBorrowLend(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.post(
    '/api/v1/borrowLend',
    {
      schema: {
        summary:
          'Borrow or lend an asset (instruction borrowLendExecute); a Lend repays an open borrow first,' +
          ' a Borrow redeems an open lend first',
        tags: ['margin'],
        security: signedSecurity,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['quantity', 'side', 'symbol'],
          properties: {
            quantity: decimalValue,
            side: { type: 'string', enum: ['Borrow', 'Lend'] },
            symbol: symbolString,
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['symbol', 'side', 'quantity', 'offsetQuantity', 'netQuantity'],
            properties: {
              symbol: { type: 'string' },
              side: { type: 'string', enum: ['Borrow', 'Lend'] },
              quantity: { type: 'string' },
              offsetQuantity: {
                type: 'string',
                description: 'The part that repaid a borrow (Lend) or redeemed a lend (Borrow)',
              },
              netQuantity: { type: 'string', description: 'The position after it: positive lent, negative borrowed' },
            },
          },
          ...errorResponses(401, 409, 503),
        },
      },
    },
    async (request) => {
      const { committed } = await signedTransaction(context, request);
      const value = onlyResult(committed);
      if (value.kind !== 'borrowLend') throw new ApiError('SERVER_ERROR', `Unexpected result ${value.kind}.`);
      const view = value.borrowLend;
      const asset = requireAsset(node.state, view.asset);
      return {
        symbol: view.asset,
        side: view.side,
        quantity: assetUnits(asset, view.quantityUnits),
        offsetQuantity: assetUnits(asset, view.offsetUnits),
        netQuantity: assetUnits(asset, view.netQuantityUnits),
      };
    },
  );
}

function registerGetBorrowLendPositions(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  const route = {
    path: '/api/v1/borrowLend/positions',
    instruction: 'borrowLendPositionQuery',
    summary: 'The signer’s open borrow and lend positions',
    tags: ['margin'],
    querystring: noQuery,
    answer: { type: 'array', items: lendingPositionSchema },
  };
  registerSignedQuery(app, context, route, (account) =>
    wireLendingPositions(node.state, node.state.accounts.get(account)),
  );
}

function registerGetBorrowLendMarkets(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get(
    '/api/v1/borrowLend/markets',
    {
      schema: {
        summary: 'Every lending market: rates, utilisation, borrowed and lent totals, parameters',
        tags: ['public', 'margin'],
        querystring: noQuery,
        response: { 200: { type: 'array', items: lendingMarketSchema }, ...errorResponses() },
      },
    },
    async () => marginAssets(node.state).map((asset) => wireLendingMarket(node.state, asset)),
  );
}

function registerGetBorrowLendMarketsHistory(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get(
    '/api/v1/borrowLend/markets/history',
    {
      schema: {
        summary: 'Lending market rates over time: the current point only (the history index keeps no rate history yet)',
        tags: ['public', 'margin'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['interval'],
          properties: { interval: { type: 'string', enum: ['1d', '1w', '1month', '1year'] }, symbol: symbolString },
        },
        response: { 200: { type: 'array', items: anyObject }, ...errorResponses() },
      },
    },
    async (request) => {
      const { symbol } = request.query as { symbol?: string };
      const assets = symbol === undefined ? marginAssets(node.state) : [requireBorrowable(node.state, symbol)];
      return assets.map((asset) => {
        const market = wireLendingMarket(node.state, asset as Parameters<typeof wireLendingMarket>[1]);
        const { borrowInterestRate, borrowedQuantity, lendInterestRate, lentQuantity, timestamp, utilization } = market;
        return {
          symbol: asset.symbol,
          borrowInterestRate,
          borrowedQuantity,
          lendInterestRate,
          lentQuantity,
          timestamp,
          utilization,
        };
      });
    },
  );
}

function registerGetCollateral(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get(
    '/api/v1/collateral',
    {
      schema: {
        summary: 'Collateral functions of every borrowable asset: weight, haircut, IMF and MMF',
        tags: ['public', 'margin'],
        querystring: noQuery,
        response: { 200: { type: 'array', items: collateralFunctionSchema }, ...errorResponses() },
      },
    },
    async () => marginAssets(node.state).map(wireCollateralFunctions),
  );
}

function registerGetCapitalCollateral(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  const route = {
    path: '/api/v1/capital/collateral',
    instruction: 'collateralQuery',
    summary: 'The signer’s margin summary: collateral per asset, net equity, requirements',
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: { subaccountId: { type: 'string', pattern: '^0$' } },
    },
    answer: marginSummarySchema,
  };
  registerSignedQuery(app, context, route, (account) =>
    wireMarginSummary(node.state, node.state.accounts.get(account)),
  );
}

function registerGetAccountLimitsBorrow(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  const route = {
    path: '/api/v1/account/limits/borrow',
    instruction: 'maxBorrowQuantity',
    summary: 'The largest borrow the signer can make now',
    querystring: {
      type: 'object',
      additionalProperties: false,
      required: ['symbol'],
      properties: { symbol: symbolString },
    },
    answer: quantityAnswer('maxBorrowQuantity'),
  };
  registerSignedQuery<{ symbol: string }>(app, context, route, (account, query) => {
    const asset = requireBorrowable(node.state, query.symbol);
    const units = maximumBorrowUnits(node.state, node.state.accounts.get(account), asset);
    return { maxBorrowQuantity: assetUnits(asset, units), symbol: asset.symbol };
  });
}

function registerGetAccountLimitsWithdrawal(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  const route = {
    path: '/api/v1/account/limits/withdrawal',
    instruction: 'maxWithdrawalQuantity',
    summary: 'The largest withdrawal the signer can request now',
    querystring: {
      type: 'object',
      additionalProperties: false,
      required: ['symbol'],
      properties: { symbol: symbolString, autoBorrow: booleanText, autoLendRedeem: booleanText },
    },
    answer: quantityAnswer('maxWithdrawalQuantity'),
  };
  type Query = { symbol: string; autoBorrow?: string; autoLendRedeem?: string };
  registerSignedQuery<Query>(app, context, route, (account, query) => {
    const asset = requireAsset(node.state, query.symbol);
    const flags = flagsOf(query);
    const units = maximumWithdrawalUnits(node.state, node.state.accounts.get(account), asset, flags);
    return { maxWithdrawalQuantity: assetUnits(asset, units), symbol: asset.symbol, ...flags };
  });
}

/** GET /api/v1/account/limits/order. */
const accountLimitsOrderRoute = {
  path: '/api/v1/account/limits/order',
  instruction: 'maxOrderQuantity',
  summary: 'The largest order quantity the signer’s balances, lends and borrowing power pay for',
  querystring: {
    type: 'object',
    additionalProperties: false,
    required: ['symbol', 'side'],
    properties: {
      symbol: symbolString,
      side: { type: 'string', enum: ['Bid', 'Ask'] },
      price: { type: 'string', maxLength: 48 },
      reduceOnly: booleanText,
      autoBorrow: booleanText,
      autoBorrowRepay: booleanText,
      autoLendRedeem: booleanText,
    },
  },
  answer: {
    type: 'object',
    required: ['maxOrderQuantity', 'side', 'symbol'],
    properties: {
      maxOrderQuantity: { type: 'string' },
      side: { type: 'string' },
      symbol: { type: 'string' },
      price: { type: 'string' },
    },
  },
};

interface LimitsOrderQuery {
  readonly symbol: string;
  readonly side: 'Bid' | 'Ask';
  readonly price?: string;
  readonly autoBorrow?: string;
  readonly autoLendRedeem?: string;
}

function registerGetAccountLimitsOrder(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  registerSignedQuery<LimitsOrderQuery>(app, context, accountLimitsOrderRoute, (account, query) => {
    const market = requireMarket(node.state, query.symbol);
    const holder = node.state.accounts.get(account);
    const flags = flagsOf(query);
    let baseUnits: bigint;
    if (query.side === 'Ask') {
      baseUnits = spendableUnits(node.state, holder, market.base, flags);
    } else {
      if (query.price === undefined)
        throw new ApiError(
          'INVALID_CLIENT_REQUEST',
          'A Bid needs the price to turn the quote balance into a quantity.',
        );
      const priceUnits = parseAmountUnits(market.quote.decimals, query.price, 'price');
      if (typeof priceUnits !== 'bigint' || priceUnits <= 0n)
        throw new ApiError('INVALID_PRICE', 'price must be a positive decimal.');
      const quote = spendableUnits(node.state, holder, market.quote, flags);
      baseUnits = (quote * 10n ** BigInt(market.base.decimals)) / priceUnits;
    }
    const steps = baseUnits / market.stepUnits;
    return {
      maxOrderQuantity: formatDecimal(steps * market.stepUnits, market.base.decimals),
      side: query.side,
      symbol: market.symbol,
      ...(query.price !== undefined ? { price: query.price } : {}),
    };
  });
}
