/**
 * Native margin endpoints, beyond Backpack's surface (docs/api.md, "Margin,
 * native"): the index prices in the log, the coverage pools, the signer's
 * coverage shares, and the accounts a keeper may liquidate now. The operator
 * posts prices and anyone submits `liquidate` or coverage pool transactions
 * through POST /api/v1/transactions.
 */
import type { FastifyInstance } from 'fastify';
import { isLiquidatable, type CoveragePool } from '@vex/engine';
import { signedNativeQuery, parseInteger, type ApiContext } from './context.js';
import { ApiError } from './errors.js';
import { assetUnits, fraction, marginAssets } from './margin-wire.js';
import { digitsString, errorResponses, noQuery, signedSecurity } from './schemas.js';

const text = { type: 'string' } as const;

/** Units a number of shares is worth now (rounded down, as the engine pays them out). */
function shareValue(pool: CoveragePool, shares: bigint): bigint {
  return pool.totalShares === 0n ? 0n : (shares * pool.holdingsUnits) / pool.totalShares;
}

export function registerMarginNativeRoutes(app: FastifyInstance, context: ApiContext): void {
  registerGetPrices(app, context);
  registerGetCoveragePool(app, context);
  registerGetCoverageShares(app, context);
  registerGetLiquidationsCandidates(app, context);
}

function registerGetPrices(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get(
    '/api/v1/prices',
    {
      schema: {
        summary:
          'The index price of every borrowable asset in the log, in USDC per whole unit, with its publication time',
        tags: ['native', 'margin'],
        querystring: noQuery,
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              required: ['symbol', 'indexPrice'],
              properties: { symbol: text, indexPrice: text, publishedAtMs: { type: 'integer' } },
            },
          },
          ...errorResponses(),
        },
      },
    },
    async () =>
      marginAssets(node.state).map((asset) => ({
        symbol: asset.symbol,
        indexPrice: fraction(asset.margin.indexPrice),
        publishedAtMs: asset.margin.priceUpdatedAtMs,
      })),
  );
}

function registerGetCoveragePool(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get(
    '/api/v1/coveragePool',
    {
      schema: {
        summary: 'The coverage pool of every borrowable asset: holdings, shares, withdrawal delay',
        tags: ['native', 'margin'],
        querystring: noQuery,
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              required: ['symbol', 'holdings', 'totalShares', 'withdrawalDelayMs'],
              properties: {
                symbol: text,
                holdings: text,
                totalShares: text,
                underwriters: { type: 'integer' },
                withdrawalDelayMs: { type: 'integer' },
              },
            },
          },
          ...errorResponses(),
        },
      },
    },
    async () =>
      marginAssets(node.state).map((asset) => {
        const pool = asset.margin.coveragePool;
        return {
          symbol: asset.symbol,
          holdings: assetUnits(asset, pool.holdingsUnits),
          totalShares: pool.totalShares.toString(),
          underwriters: pool.shares.size,
          withdrawalDelayMs: asset.margin.parameters.coveragePoolWithdrawalDelayMs,
        };
      }),
  );
}

function registerGetCoverageShares(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get(
    '/wapi/v1/coveragePool',
    {
      schema: {
        summary:
          'The signer’s coverage pool shares, their value now, and any pending withdrawal request' +
          ' (instruction coveragePoolQuery)',
        tags: ['native', 'margin'],
        security: signedSecurity,
        querystring: noQuery,
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              required: ['symbol', 'shares', 'value'],
              properties: {
                symbol: text,
                shares: text,
                value: text,
                withdrawalRequestedShares: text,
                withdrawalRequestedAtMs: { type: 'integer' },
                withdrawableAtMs: { type: 'integer' },
              },
            },
          },
          ...errorResponses(401),
        },
      },
    },
    async (request) => {
      const { account: accountId } = signedNativeQuery(context, request, 'coveragePoolQuery');
      const account = node.state.accounts.get(accountId);
      if (account === undefined) return [];
      return marginAssets(node.state).flatMap((asset) => {
        const pool = asset.margin.coveragePool;
        const shares = pool.shares.get(account) ?? 0n;
        const pending = pool.withdrawalRequests.get(account);
        if (shares === 0n && pending === undefined) return [];
        return [
          {
            symbol: asset.symbol,
            shares: shares.toString(),
            value: assetUnits(asset, shareValue(pool, shares)),
            ...(pending !== undefined
              ? {
                  withdrawalRequestedShares: pending.shares.toString(),
                  withdrawalRequestedAtMs: pending.requestedAtMs,
                  withdrawableAtMs: pending.requestedAtMs + asset.margin.parameters.coveragePoolWithdrawalDelayMs,
                }
              : {}),
          },
        ];
      });
    },
  );
}

function registerGetLiquidationsCandidates(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get(
    '/api/v1/liquidations/candidates',
    {
      schema: {
        summary:
          'Accounts below their maintenance margin now, which a `liquidate` transaction from any key would liquidate',
        tags: ['native', 'margin'],
        querystring: { type: 'object', additionalProperties: false, properties: { limit: digitsString } },
        response: {
          200: { type: 'array', items: { type: 'object', properties: { account: text } } },
          ...errorResponses(),
        },
      },
    },
    async (request) => {
      const limit = parseInteger((request.query as { limit?: string }).limit, 'limit') ?? 100;
      if (limit < 1 || limit > 1000) throw new ApiError('INVALID_CLIENT_REQUEST', 'limit must be from 1 to 1000.');
      const state = node.state;
      const candidates: Array<{ account: string }> = [];
      // Only borrowers can be liquidated; the scan is over them, never all accounts.
      for (const account of state.borrowers) {
        if (candidates.length >= limit) break;
        if (isLiquidatable(state, account, state.logTimeMs)) candidates.push({ account: account.id });
      }
      return candidates;
    },
  );
}
