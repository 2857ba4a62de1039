/**
 * Native margin endpoints, beyond Backpack's surface (docs/api.md, "Margin,
 * native"): the index prices in the log, the coverage pools, the signer's
 * coverage shares, and the accounts a keeper may liquidate now. The operator
 * posts prices and anyone submits `liquidate` or coverage pool transactions
 * through POST /api/v1/transactions.
 */
import type { FastifyInstance } from 'fastify';
import { accountsHoldingPositions, coveragePoolAccountId, isLiquidatable, type CoveragePool } from '@vex/engine';
import { signedNativeQuery, type ApiContext } from './context.js';
import { assetUnits, fraction, marginAssets } from './margin-wire.js';
import { arrayOf, getRoute, integer, queryLimit, strictQuery, text, textProperties } from './route-schemas.js';
import { digitsString, noQuery, signedSecurity } from './schemas.js';

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

const marginTags = ['native', 'margin'];

const pricesRoute = {
  summary: 'The index price of every borrowable asset in the log, in USDC per whole unit, with its publication time',
  tags: marginTags,
  querystring: noQuery,
  ok: arrayOf({
    type: 'object',
    required: ['symbol', 'indexPrice'],
    properties: { symbol: text, indexPrice: text, publishedAtMs: integer },
  }),
  errors: [],
};

function registerGetPrices(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  getRoute(app, '/api/v1/prices', pricesRoute, async () =>
    marginAssets(node.state).map((asset) => ({
      symbol: asset.symbol,
      indexPrice: fraction(asset.margin.indexPrice),
      publishedAtMs: asset.margin.priceUpdatedAtMs,
    })),
  );
}

const coveragePoolRoute = {
  summary: 'The coverage pool of every borrowable asset: holdings, shares, withdrawal delay',
  tags: marginTags,
  querystring: noQuery,
  ok: arrayOf({
    type: 'object',
    required: ['symbol', 'holdings', 'totalShares', 'withdrawalDelayMs'],
    properties: {
      ...textProperties('symbol', 'holdings', 'totalShares'),
      underwriters: integer,
      withdrawalDelayMs: integer,
    },
  }),
  errors: [],
};

function registerGetCoveragePool(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  getRoute(app, '/api/v1/coveragePool', coveragePoolRoute, async () =>
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

const coverageSharesRoute = {
  summary:
    'The signer’s coverage pool shares, their value now, and any pending withdrawal request' +
    ' (instruction coveragePoolQuery)',
  tags: marginTags,
  security: signedSecurity,
  querystring: noQuery,
  ok: arrayOf({
    type: 'object',
    required: ['symbol', 'shares', 'value'],
    properties: {
      ...textProperties('symbol', 'shares', 'value', 'withdrawalRequestedShares'),
      withdrawalRequestedAtMs: integer,
      withdrawableAtMs: integer,
    },
  }),
  errors: [401],
};

function registerGetCoverageShares(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  getRoute(app, '/wapi/v1/coveragePool', coverageSharesRoute, async (request) => {
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
  });
}

const liquidationCandidatesRoute = {
  summary: 'Accounts below their maintenance margin now, which a `liquidate` transaction from any key would liquidate',
  tags: marginTags,
  querystring: strictQuery({ limit: digitsString }),
  ok: arrayOf({ type: 'object', properties: { account: text } }),
  errors: [],
};

function registerGetLiquidationsCandidates(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  getRoute(app, '/api/v1/liquidations/candidates', liquidationCandidatesRoute, async (request) => {
    const limit = queryLimit(request.query as { limit?: string }, 100, 1000);
    const state = node.state;
    const candidates: Array<{ account: string }> = [];
    // Only borrowers and holders of positions can be liquidated; the scan is over them, never all accounts.
    const accounts = new Set([...state.borrowers, ...accountsHoldingPositions(state)]);
    for (const account of accounts) {
      if (candidates.length >= limit) break;
      if (account.id === coveragePoolAccountId) continue;
      if (isLiquidatable(state, account, state.logTimeMs)) candidates.push({ account: account.id });
    }
    return candidates;
  });
}
