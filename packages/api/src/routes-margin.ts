/**
 * Borrow/lend and cross margin in Backpack's shapes (docs/api.md, "Margin";
 * the rules are docs/margin.md's). Transactions (PATCH /api/v1/account,
 * POST /api/v1/borrowLend) go to the node like every signed request; the
 * queries read the node's state at its log time. The signed queries name
 * their instruction here (Backpack's names, shared/backpack-margin.md §1.1).
 */
import type { FastifyInstance } from 'fastify';
import { formatDecimal, parseAmountUnits, type Asset, type ExchangeState } from '@vex/engine';
import { requireMarket, signedNativeQuery, signedTransaction, type ApiContext } from './context.js';
import { ApiError } from './errors.js';
import { registerMarginNativeRoutes } from './routes-margin-native.js';
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
  pageQueryProperties,
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
  registerEmptyHistories(app, context);
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
  registerGetHistoryBorrowLendPositions(app, context);
}

function registerGetAccount(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get(
    '/api/v1/account',
    {
      schema: {
        summary: 'The signer’s margin settings, open order count and liquidation flag (instruction accountQuery)',
        tags: ['account', 'margin'],
        security: signedSecurity,
        querystring: noQuery,
        response: { 200: accountSummarySchema, ...errorResponses(401) },
      },
    },
    async (request) => {
      const { account } = signedNativeQuery(context, request, 'accountQuery');
      return wireAccountSummary(node.state, node.state.accounts.get(account));
    },
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
  app.get(
    '/api/v1/borrowLend/positions',
    {
      schema: {
        summary: 'The signer’s open borrow and lend positions (instruction borrowLendPositionQuery)',
        tags: ['margin'],
        security: signedSecurity,
        querystring: noQuery,
        response: { 200: { type: 'array', items: lendingPositionSchema }, ...errorResponses(401) },
      },
    },
    async (request) => {
      const { account } = signedNativeQuery(context, request, 'borrowLendPositionQuery');
      return wireLendingPositions(node.state, node.state.accounts.get(account));
    },
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
  app.get(
    '/api/v1/capital/collateral',
    {
      schema: {
        summary:
          'The signer’s margin summary: collateral per asset, net equity, requirements (instruction collateralQuery)',
        tags: ['account', 'margin'],
        security: signedSecurity,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { subaccountId: { type: 'string', pattern: '^0$' } },
        },
        response: { 200: marginSummarySchema, ...errorResponses(401) },
      },
    },
    async (request) => {
      const { account } = signedNativeQuery(context, request, 'collateralQuery');
      return wireMarginSummary(node.state, node.state.accounts.get(account));
    },
  );
}

function registerGetAccountLimitsBorrow(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get(
    '/api/v1/account/limits/borrow',
    {
      schema: {
        summary: 'The largest borrow the signer can make now (instruction maxBorrowQuantity)',
        tags: ['account', 'margin'],
        security: signedSecurity,
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['symbol'],
          properties: { symbol: symbolString },
        },
        response: { 200: quantityAnswer('maxBorrowQuantity'), ...errorResponses(401) },
      },
    },
    async (request) => {
      const { account } = signedNativeQuery(context, request, 'maxBorrowQuantity');
      const asset = requireBorrowable(node.state, (request.query as { symbol: string }).symbol);
      const units = maximumBorrowUnits(node.state, node.state.accounts.get(account), asset);
      return { maxBorrowQuantity: assetUnits(asset, units), symbol: asset.symbol };
    },
  );
}

function registerGetAccountLimitsWithdrawal(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get(
    '/api/v1/account/limits/withdrawal',
    {
      schema: {
        summary: 'The largest withdrawal the signer can request now (instruction maxWithdrawalQuantity)',
        tags: ['account', 'margin'],
        security: signedSecurity,
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['symbol'],
          properties: { symbol: symbolString, autoBorrow: booleanText, autoLendRedeem: booleanText },
        },
        response: { 200: quantityAnswer('maxWithdrawalQuantity'), ...errorResponses(401) },
      },
    },
    async (request) => {
      const { account } = signedNativeQuery(context, request, 'maxWithdrawalQuantity');
      const query = request.query as { symbol: string; autoBorrow?: string; autoLendRedeem?: string };
      const asset = requireAsset(node.state, query.symbol);
      const flags = flagsOf(query);
      const units = maximumWithdrawalUnits(node.state, node.state.accounts.get(account), asset, flags);
      return { maxWithdrawalQuantity: assetUnits(asset, units), symbol: asset.symbol, ...flags };
    },
  );
}

/** The schema of GET /api/v1/account/limits/order. */
const accountLimitsOrderSchema = {
  summary:
    'The largest order quantity the signer’s balances, lends and borrowing power pay for' +
    ' (instruction maxOrderQuantity)',
  tags: ['account', 'margin'],
  security: signedSecurity,
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
  response: {
    200: {
      type: 'object',
      required: ['maxOrderQuantity', 'side', 'symbol'],
      properties: {
        maxOrderQuantity: { type: 'string' },
        side: { type: 'string' },
        symbol: { type: 'string' },
        price: { type: 'string' },
      },
    },
    ...errorResponses(401),
  },
};

function registerGetAccountLimitsOrder(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get('/api/v1/account/limits/order', { schema: accountLimitsOrderSchema }, async (request) => {
    const { account } = signedNativeQuery(context, request, 'maxOrderQuantity');
    const query = request.query as {
      symbol: string;
      side: 'Bid' | 'Ask';
      price?: string;
      autoBorrow?: string;
      autoLendRedeem?: string;
    };
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

function registerEmptyHistories(app: FastifyInstance, context: ApiContext): void {
  const history = (path: string, instruction: string, summary: string, extra: Record<string, unknown>) =>
    app.get(
      path,
      {
        schema: {
          summary:
            `${summary} (instruction ${instruction}):` + ' an empty list until the history index records margin events',
          tags: ['account', 'margin'],
          security: signedSecurity,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { ...pageQueryProperties, ...extra },
          },
          response: { 200: { type: 'array', items: anyObject }, ...errorResponses(401) },
        },
      },
      async (request) => {
        signedNativeQuery(context, request, instruction);
        return [];
      },
    );
  history(
    '/wapi/v1/history/borrowLend',
    'borrowHistoryQueryAll',
    'Borrow, repay, lend and redeem events of the signer',
    {
      type: { type: 'string', enum: ['Borrow', 'BorrowRepay', 'Lend', 'LendRedeem'] },
      sources: { type: 'string', maxLength: 256 },
      positionId: { type: 'string', maxLength: 40 },
      symbol: symbolString,
    },
  );
  history('/wapi/v1/history/interest', 'interestHistoryQueryAll', 'Interest paid and earned by the signer', {
    asset: symbolString,
    symbol: symbolString,
    positionId: { type: 'string', maxLength: 40 },
    source: { type: 'string', enum: ['UnrealizedPnl', 'BorrowLend'] },
  });
}

function registerGetHistoryBorrowLendPositions(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get(
    '/wapi/v1/history/borrowLend/positions',
    {
      schema: {
        summary:
          'The signer’s borrow and lend positions (instruction borrowPositionHistoryQueryAll):' +
          ' the open ones; closed ones are not kept yet',
        tags: ['account', 'margin'],
        security: signedSecurity,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...pageQueryProperties,
            symbol: symbolString,
            side: { type: 'string', enum: ['Borrow', 'Lend'] },
            state: { type: 'string', enum: ['Open', 'Closed'] },
          },
        },
        response: { 200: { type: 'array', items: anyObject }, ...errorResponses(401) },
      },
    },
    async (request) => {
      const { account } = signedNativeQuery(context, request, 'borrowPositionHistoryQueryAll');
      const query = request.query as { symbol?: string; side?: 'Borrow' | 'Lend'; state?: 'Open' | 'Closed' };
      if (query.state === 'Closed') return [];
      return wireLendingPositions(node.state, node.state.accounts.get(account))
        .map((position) => {
          const net = String(position.netQuantity);
          const side = net.startsWith('-') ? 'Borrow' : 'Lend';
          return {
            positionId: position.id,
            quantity: net.replace('-', ''),
            symbol: position.symbol,
            side,
            state: 'Open',
            source: 'Manual',
          };
        })
        .filter(
          (position) =>
            (query.symbol === undefined || position.symbol === query.symbol) &&
            (query.side === undefined || position.side === query.side),
        );
    },
  );
}
