/**
 * The signer's borrow/lend history in Backpack's shapes (docs/api.md,
 * "Margin"): /wapi/v1/history/borrowLend, /interest and
 * /borrowLend/positions, answered from the ledger's history index, which
 * derives them from the log's lendingMovement events (docs/log-format.md,
 * "History records").
 */
import type { FastifyInstance } from 'fastify';
import { borrowedUnits, formatDecimal, lentUnits, type Asset, type ExchangeState } from '@vex/engine';
import type { BorrowLendRecord, InterestRecord, LendingPositionRecord, LendingQuery } from '@vex/ledger';
import { parsePage, type ApiContext } from './context.js';
import { ApiError } from './errors.js';
import { fraction } from './margin-wire.js';
import type { PageQuery } from './schemas.js';
import {
  borrowLendHistoryQuery,
  borrowLendHistorySchema,
  interestHistoryQuery,
  interestHistorySchema,
  lendingPositionHistoryQuery,
  lendingPositionHistorySchema,
} from './schemas-margin-history.js';
import { registerSignedQuery } from './signed-query-route.js';
import { isoWithoutZone } from './wire-format.js';

type HistoryQuery = PageQuery & { readonly sortDirection?: 'Asc' | 'Desc'; readonly positionId?: string };

function assetOf(state: ExchangeState, symbol: string): Asset {
  const asset = state.assetsBySymbol.get(symbol);
  if (asset === undefined) throw new ApiError('INVALID_ASSET', `Asset ${symbol.slice(0, 40)} does not exist.`);
  return asset;
}

/** The ledger query for an asset (checked) and the usual paging; Backpack's sortDirection, by default `Desc`. */
function lendingQuery(
  state: ExchangeState,
  query: HistoryQuery,
  asset: string | undefined,
  sortDirection: 'Asc' | 'Desc' = 'Desc',
): LendingQuery {
  const { limit, offset, fromMs, toMs } = parsePage(
    { limit: query.limit, offset: query.offset, from: query.from, to: query.to },
    state,
  );
  return {
    ...(asset === undefined ? {} : { asset: assetOf(state, asset).symbol }),
    ...(query.positionId === undefined ? {} : { positionId: query.positionId }),
    ...(limit === undefined ? {} : { limit }),
    ...(offset === undefined ? {} : { offset }),
    ...(fromMs === undefined ? {} : { fromMs }),
    ...(toMs === undefined ? {} : { toMs }),
    ascending: (query.sortDirection ?? sortDirection) === 'Asc',
  };
}

function units(state: ExchangeState, asset: string, quantity: bigint): string {
  return formatDecimal(quantity, assetOf(state, asset).decimals);
}

function wireBorrowLend(state: ExchangeState, record: BorrowLendRecord): Record<string, unknown> {
  return {
    eventType: record.eventType,
    positionId: record.positionId,
    positionQuantity: units(state, record.asset, record.positionQuantityUnits),
    quantity: units(state, record.asset, record.quantityUnits),
    source: record.source,
    symbol: record.asset,
    timestamp: isoWithoutZone(record.timeMs),
    ...(record.orderId === undefined ? {} : { spotMarginOrderId: String(record.orderId) }),
  };
}

function wireInterest(state: ExchangeState, record: InterestRecord): Record<string, unknown> {
  return {
    paymentType: record.paymentType,
    interestRate: fraction(record.interestRate),
    interval: record.intervalMs,
    marketSymbol: record.asset,
    positionId: record.positionId,
    quantity: units(state, record.asset, record.quantityUnits),
    symbol: record.asset,
    timestamp: isoWithoutZone(record.timeMs),
  };
}

/** An open position's quantity is its current one (interest to the node's log time); a closed one's is zero. */
function wirePosition(state: ExchangeState, account: string, record: LendingPositionRecord): Record<string, unknown> {
  const asset = assetOf(state, record.asset);
  const balance = state.accounts.get(account)?.balances[asset.index];
  let quantity = record.quantityUnits;
  if (record.state === 'Open' && balance !== undefined) {
    quantity = record.side === 'Borrow' ? borrowedUnits(balance, state.logTimeMs) : lentUnits(balance, state.logTimeMs);
  }
  return {
    positionId: record.positionId,
    quantity: formatDecimal(quantity, asset.decimals),
    symbol: record.asset,
    source: record.source,
    cumulativeInterest: formatDecimal(record.cumulativeInterestUnits, asset.decimals),
    avgInterestRate: fraction(record.averageInterestRate),
    side: record.side,
    state: record.state,
    createdAt: isoWithoutZone(record.openedAtMs),
    ...(record.closedAtMs === undefined ? {} : { closedAt: isoWithoutZone(record.closedAtMs) }),
  };
}

export function registerMarginHistoryRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  type BorrowLendQuery = HistoryQuery & {
    readonly type?: BorrowLendRecord['eventType'];
    readonly sources?: string;
    readonly symbol?: string;
  };
  const borrowLendRoute = {
    path: '/wapi/v1/history/borrowLend',
    instruction: 'borrowHistoryQueryAll',
    summary: 'Borrows, repayments, lends and redemptions of the signer, newest first',
    querystring: borrowLendHistoryQuery,
    answer: { type: 'array', items: borrowLendHistorySchema },
  };
  registerSignedQuery<BorrowLendQuery>(app, context, borrowLendRoute, async (account, query) => {
    const sources = query.sources?.split(',').map((source) => source.trim());
    const records = await node.history.borrowLendHistory(account, {
      ...lendingQuery(node.state, query, query.symbol),
      ...(query.type === undefined ? {} : { eventType: query.type }),
      ...(sources === undefined ? {} : { sources }),
    });
    return records.map((record) => wireBorrowLend(node.state, record));
  });

  type InterestQuery = HistoryQuery & { readonly asset?: string; readonly symbol?: string; readonly source?: string };
  const interestRoute = {
    path: '/wapi/v1/history/interest',
    instruction: 'interestHistoryQueryAll',
    summary: 'Interest paid on borrows and earned on lends by the signer, counted at each change of a position',
    querystring: interestHistoryQuery,
    answer: { type: 'array', items: interestHistorySchema },
  };
  registerSignedQuery<InterestQuery>(app, context, interestRoute, async (account, query) => {
    // Interest on unrealised PnL, or on a market's position, comes with perpetuals.
    if (query.source === 'UnrealizedPnl') return [];
    if (query.symbol !== undefined && node.state.marketsBySymbol.has(query.symbol)) return [];
    const records = await node.history.interestHistory(
      account,
      lendingQuery(node.state, query, query.asset ?? query.symbol),
    );
    return records.map((record) => wireInterest(node.state, record));
  });

  type PositionQuery = HistoryQuery & { symbol?: string; side?: 'Borrow' | 'Lend'; state?: 'Open' | 'Closed' };
  const positionsRoute = {
    path: '/wapi/v1/history/borrowLend/positions',
    instruction: 'borrowPositionHistoryQueryAll',
    summary: 'The signer’s borrow and lend positions, open and closed, oldest opened first',
    querystring: lendingPositionHistoryQuery,
    answer: { type: 'array', items: lendingPositionHistorySchema },
  };
  registerSignedQuery<PositionQuery>(app, context, positionsRoute, async (account, query) => {
    const records = await node.history.lendingPositions(account, {
      // Oldest opened first by default, as GET /api/v1/borrowLend/positions lists them.
      ...lendingQuery(node.state, query, query.symbol, 'Asc'),
      ...(query.side === undefined ? {} : { side: query.side }),
      ...(query.state === undefined ? {} : { state: query.state }),
    });
    return records.map((record) => wirePosition(node.state, account, record));
  });
}
