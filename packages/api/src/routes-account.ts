/**
 * The signer's balances and history, and withdrawal requests. Queries are
 * answered from the node's state (balances) and history index (closed
 * orders, fills, deposits, withdrawals); a withdrawal is a transaction.
 */
import type { FastifyInstance } from 'fastify';
import { balancesOf, formatDecimal } from '@vex/engine';
import { parsePage, signedQuery, signedTransaction, type ApiContext } from './context.js';
import { ApiError } from './errors.js';
import {
  decimalValue,
  depositSchema,
  digitsString,
  errorResponses,
  fillSchema,
  noQuery,
  orderSchema,
  signedSecurity,
  symbolString,
  withdrawalSchema,
  type PageQuery,
} from './schemas.js';
import { onlyResult } from './submission.js';
import { wireDeposit, wireFill, wireOrder, wireWithdrawal } from './wire-format.js';

const pageProperties = { limit: digitsString, offset: digitsString, from: digitsString, to: digitsString } as const;
const textValue = { type: 'string', minLength: 1, maxLength: 256 } as const;

export function registerAccountRoutes(app: FastifyInstance, context: ApiContext): void {
  registerBalanceRoutes(app, context);
  registerDepositAddressRoute(app, context);
  registerHistoryRoutes(app, context);
  registerTransferHistoryRoutes(app, context);
  registerWithdrawalRoute(app, context);
}

const capitalRouteSchema = {
  summary: 'Balances of the signer, every listed asset (instruction balanceQuery)',
  tags: ['account'],
  security: signedSecurity,
  querystring: noQuery,
  response: {
    200: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: {
          available: { type: 'string' },
          locked: { type: 'string' },
          staked: { type: 'string' },
          pendingWithdrawal: { type: 'string' },
        },
      },
    },
    ...errorResponses(401),
  },
} as const;

/** Balances of the signer (positions: routes-perps-account.ts). */
function registerBalanceRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  app.get(
    '/api/v1/capital',
    {
      schema: capitalRouteSchema,
    },
    async (request) => {
      const { account } = signedQuery(context, request);
      const balances: Record<string, Record<string, string>> = {};
      for (const balance of balancesOf(node.state, account)) {
        const decimals = node.state.assetsBySymbol.get(balance.asset)!.decimals;
        balances[balance.asset] = {
          available: formatDecimal(balance.available, decimals),
          locked: formatDecimal(balance.locked, decimals),
          staked: '0',
          pendingWithdrawal: formatDecimal(balance.pendingWithdrawal, decimals),
        };
      }
      return balances;
    },
  );
}

/** Where the signer deposits. */
function registerDepositAddressRoute(app: FastifyInstance, context: ApiContext): void {
  app.get(
    '/wapi/v1/capital/deposit/address',
    {
      schema: {
        summary:
          'The address to deposit to on a blockchain (instruction depositAddressQuery): the operator’s configured address',
        tags: ['account'],
        security: signedSecurity,
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['blockchain'],
          properties: { blockchain: textValue },
        },
        response: { 200: { type: 'object', properties: { address: { type: 'string' } } }, ...errorResponses(401) },
      },
    },
    async (request) => {
      signedQuery(context, request);
      const { blockchain } = request.query as { blockchain: string };
      const address = Object.hasOwn(context.depositAddresses, blockchain)
        ? context.depositAddresses[blockchain]
        : undefined;
      if (address === undefined) {
        const known = Object.keys(context.depositAddresses);
        throw new ApiError(
          'INVALID_CLIENT_REQUEST',
          `No deposit address is configured for ${blockchain.slice(0, 64)}` +
            (known.length > 0 ? ` (configured: ${known.join(', ')}).` : '.'),
        );
      }
      return { address };
    },
  );
}

const liquidationOrders = ['LiquidatePositionOnBook', 'LiquidatePositionOnBackstop', 'LiquidatePositionOnAdl'];

/** Backpack's `fillType` filter as the system order types it keeps (undefined: a user's fill). */
const fillTypeOrders = new Map<string, ReadonlyArray<string | undefined>>([
  ['User', [undefined]],
  ['BookLiquidation', ['LiquidatePositionOnBook']],
  ['Backstop', ['LiquidatePositionOnBackstop']],
  ['Adl', ['LiquidatePositionOnAdl']],
  ['Liquidation', liquidationOrders],
  ['AllLiquidation', liquidationOrders],
]);

/** The signer’s fills and orders. */
function registerHistoryRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  app.get(
    '/wapi/v1/history/fills',
    {
      schema: {
        summary: 'Fills of the signer, newest first (instruction fillHistoryQueryAll)',
        tags: ['account'],
        security: signedSecurity,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...pageProperties,
            symbol: symbolString,
            fillType: { type: 'string', pattern: '^[A-Za-z]{1,40}$' },
            marketType: { type: 'string', enum: ['SPOT'] },
          },
        },
        response: { 200: { type: 'array', items: fillSchema }, ...errorResponses(401) },
      },
    },
    async (request) => {
      const { account } = signedQuery(context, request);
      const query = request.query as PageQuery & { symbol?: string; fillType?: string };
      const systemOrderTypes = query.fillType === undefined ? undefined : fillTypeOrders.get(query.fillType);
      // A fill type this exchange never produces (collateral conversions): none.
      if (query.fillType !== undefined && systemOrderTypes === undefined) return [];
      const page = { ...parsePage(query, node.state), systemOrderTypes };
      const fills = await node.history.fills(account, page);
      return fills.map((fill) => wireFill(node.state, fill));
    },
  );

  app.get(
    '/wapi/v1/history/orders',
    {
      schema: {
        summary: 'Orders of the signer, latest status, newest first (instruction orderHistoryQueryAll)',
        tags: ['account'],
        security: signedSecurity,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ...pageProperties, symbol: symbolString, marketType: { type: 'string', enum: ['SPOT'] } },
        },
        response: { 200: { type: 'array', items: orderSchema }, ...errorResponses(401) },
      },
    },
    async (request) => {
      const { account } = signedQuery(context, request);
      const page = parsePage(request.query as PageQuery & { symbol?: string }, node.state);
      const orders = await node.history.orders(account, page);
      return orders.map((order) => wireOrder(node.state, order));
    },
  );
}

/** The signer’s deposits and withdrawals. */
function registerTransferHistoryRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  app.get(
    '/wapi/v1/capital/deposits',
    {
      schema: {
        summary: 'Deposits credited to the signer, newest first (instruction depositQueryAll)',
        tags: ['account'],
        security: signedSecurity,
        querystring: {
          type: 'object',
          additionalProperties: false,
          // ccxt's fetchDeposits sends `endTime` for the upper bound; it means `to`.
          properties: { ...pageProperties, endTime: digitsString },
        },
        response: { 200: { type: 'array', items: depositSchema }, ...errorResponses(401) },
      },
    },
    async (request) => {
      const { account } = signedQuery(context, request);
      const query = request.query as PageQuery & { endTime?: string };
      if (query.to !== undefined && query.endTime !== undefined)
        throw new ApiError('INVALID_CLIENT_REQUEST', 'Give at most one of to and endTime.');
      const page = parsePage({ ...query, ...(query.endTime !== undefined ? { to: query.endTime } : {}) }, node.state);
      const deposits = await node.history.deposits(account, page);
      return deposits.map((deposit) => wireDeposit(node.state, deposit));
    },
  );

  app.get(
    '/wapi/v1/capital/withdrawals',
    {
      schema: {
        summary: 'Withdrawals of the signer, latest status, newest first (instruction withdrawalQueryAll)',
        tags: ['account'],
        security: signedSecurity,
        querystring: { type: 'object', additionalProperties: false, properties: pageProperties },
        response: { 200: { type: 'array', items: withdrawalSchema }, ...errorResponses(401) },
      },
    },
    async (request) => {
      const { account } = signedQuery(context, request);
      const page = parsePage(request.query as PageQuery, node.state);
      const withdrawals = await node.history.withdrawals(account, page);
      return withdrawals.map((withdrawal) => wireWithdrawal(node.state, withdrawal));
    },
  );
}

/** A withdrawal request. */
function registerWithdrawalRoute(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  app.post(
    '/wapi/v1/capital/withdrawals',
    {
      schema: {
        summary: 'Request a withdrawal (instruction withdraw); the operator settles it later',
        tags: ['account'],
        security: signedSecurity,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['address', 'blockchain', 'quantity', 'symbol'],
          properties: { address: textValue, blockchain: textValue, quantity: decimalValue, symbol: symbolString },
        },
        response: { 200: withdrawalSchema, ...errorResponses(401, 409, 503) },
      },
    },
    async (request) => {
      const { committed } = await signedTransaction(context, request);
      const value = onlyResult(committed);
      if (value.kind !== 'withdrawal') throw new ApiError('SERVER_ERROR', `Unexpected result ${value.kind}.`);
      return wireWithdrawal(node.state, value.withdrawal);
    },
  );
}
