/**
 * GET /api/v1/position/adlRank (docs/api.md, "Perpetuals"; docs/perps.md,
 * "Liquidation and ADL"): where each of the signer's positions stands in
 * its market side's auto-deleveraging order, from the state at the node's
 * log time, with the figures the rank is computed from. A native route
 * (Backpack serves no ADL rank); signed with instruction `adlRankQuery`.
 */
import { adlRankOf, formatDecimal, type ExchangeState } from '@vex/engine';
import type { FastifyInstance } from 'fastify';
import { requireMarket, signedNativeQuery, type ApiContext } from './context.js';
import { arrayOf, getRoute, integer, strictQuery, textProperties } from './route-schemas.js';
import { signedSecurity, symbolString } from './schemas.js';

const adlRankRoute = {
  summary: "The ADL rank of each of the signer's positions (instruction adlRankQuery)",
  tags: ['account', 'perpetuals'],
  security: signedSecurity,
  querystring: strictQuery({ symbol: symbolString }),
  ok: arrayOf({
    type: 'object',
    properties: {
      ...textProperties('symbol', 'side', 'netQuantity', 'pnl', 'notional', 'netEquity'),
      adlRank: integer,
      positionsOnSide: integer,
    },
  }),
  errors: [400, 401],
} as const;

/** The rank of each position of `accountId` (all markets, in market order, or the one named). */
export function adlRanks(state: ExchangeState, accountId: string, symbol: string | undefined) {
  const account = state.accounts.get(accountId);
  if (account === undefined) return [];
  const markets = [...account.positions.keys()]
    .sort((left, right) => left - right)
    .map((index) => state.markets[index]!);
  return markets
    .filter((market) => symbol === undefined || market.symbol === symbol)
    .flatMap((market) => {
      const ranked = adlRankOf(state, account, market);
      if (ranked === undefined) return [];
      const decimals = market.quote.decimals;
      const quantity = account.positions.get(market.index)!.quantityUnits;
      return [
        {
          symbol: market.symbol,
          side: quantity > 0n ? 'Long' : 'Short',
          netQuantity: formatDecimal(quantity, market.base.decimals),
          adlRank: ranked.rank,
          positionsOnSide: ranked.of,
          pnl: formatDecimal(ranked.score.pnlUnits, decimals),
          notional: formatDecimal(ranked.score.notionalUnits, decimals),
          netEquity: formatDecimal(ranked.score.equityUnits, decimals),
        },
      ];
    });
}

export function registerAdlRankRoute(app: FastifyInstance, context: ApiContext): void {
  getRoute(app, '/api/v1/position/adlRank', adlRankRoute, async (request) => {
    const { account } = signedNativeQuery(context, request, 'adlRankQuery');
    const symbol = (request.query as { symbol?: string }).symbol;
    const checked = symbol === undefined ? undefined : requireMarket(context.node.state, symbol).symbol;
    return adlRanks(context.node.state, account, checked);
  });
}
