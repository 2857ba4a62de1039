/**
 * The signer's perpetual history in Backpack's shapes (docs/api.md,
 * "Perpetuals"): /wapi/v1/history/funding from the ledger's funding payment
 * records (the engine's `perpFundingPayment` events), /wapi/v1/history/
 * settlement from its settlement records (`perpSettlement`), and
 * /wapi/v1/history/position: the open positions from the state and the
 * closed ones from its closed position records (`perpPositionChanged` with
 * quantity zero). Keyspaces 0x1a–0x1c, docs/log-format.md.
 */
import { formatDecimal, type ExchangeState } from '@vex/engine';
import type { PerpClosedPositionRecord, PerpFundingPaymentRecord, PerpSettlementRecord } from '@vex/ledger';
import type { FastifyInstance } from 'fastify';
import { parsePage, requireMarket, type ApiContext } from './context.js';
import { positionFigures, renamedFields, wirePosition } from './perp-wire.js';
import { arrayOf, strictQuery, text } from './route-schemas.js';
import { pageQueryProperties } from './schemas-margin.js';
import { symbolString, type PageQuery } from './schemas.js';
import { registerSignedQuery } from './signed-query-route.js';
import { isoWithoutZone } from './wire-format.js';

const fundingPaymentSchema = {
  type: 'object',
  properties: {
    ...Object.fromEntries(
      ['fundingRate', 'intervalEndTimestamp', 'quantity', 'symbol', 'userId'].map((name) => [name, text]),
    ),
    subaccountId: { type: 'integer' },
  },
} as const;

const settlementSchema = {
  type: 'object',
  properties: {
    ...Object.fromEntries(['quantity', 'source', 'timestamp', 'userId'].map((name) => [name, text])),
    subaccountId: { type: 'integer' },
  },
} as const;

/** /wapi/v1/history/position's fields, from wirePosition's. */
const positionHistoryFields = {
  id: 'positionId',
  symbol: 'symbol',
  netQuantity: 'netQuantity',
  netExposureQuantity: 'netExposureQuantity',
  netExposureNotional: 'netExposureNotional',
  netCost: 'netCost',
  markPrice: 'markPrice',
  entryPrice: 'entryPrice',
  cumulativePnlRealized: 'pnlRealized',
  unrealizedPnl: 'pnlUnrealized',
  fundingQuantity: 'cumulativeFundingPayment',
  imf: 'imf',
} as const;

const positionHistorySchema = {
  type: 'object',
  properties: {
    ...Object.fromEntries([...Object.keys(positionHistoryFields), 'closedAt'].map((name) => [name, text])),
    state: { type: 'string', enum: ['Open', 'Closed'] },
  },
} as const;

const subaccountId = { type: 'string', pattern: '^[0-9]{1,5}$' } as const;

const tags = ['account', 'perpetuals'];

const settlementSources = [
  'BackstopLiquidation',
  'CulledBorrowInterest',
  'CulledRealizePnl',
  'CulledRealizePnlBookUtilization',
  'FundingPayment',
  'RealizePnl',
  'TradingFees',
  'TradingFeesSystem',
];

/** A USDC amount of `market` (its quote asset's decimals). */
function settlementUnits(state: ExchangeState, market: string, units: bigint): string {
  return formatDecimal(units, requireMarket(state, market).quote.decimals);
}

/**
 * A funding payment: `quantity` signed, positive when received (Backpack's
 * sign); the interval is the market's last settled interval ending at or
 * before the payment (the one whose boundary moved the index; a payment that
 * covers several intervals is reported once, with the last one's rate).
 */
async function wireFundingPayment(context: ApiContext, record: PerpFundingPaymentRecord) {
  const [interval] = await context.node.history.fundingIntervals(record.market, { limit: 1, toMs: record.timeMs });
  return {
    userId: record.account,
    symbol: record.market,
    quantity: settlementUnits(context.node.state, record.market, -record.paymentUnits),
    intervalEndTimestamp: isoWithoutZone(interval?.intervalEndMs ?? record.timeMs).slice(0, 19),
    fundingRate: formatDecimal(interval?.fundingRate ?? 0n, 18),
  };
}

function wireSettlement(state: ExchangeState, record: PerpSettlementRecord) {
  return {
    quantity: settlementUnits(state, record.market, record.quantityUnits),
    source: record.source,
    timestamp: isoWithoutZone(record.timeMs),
    userId: record.account,
  };
}

/**
 * A closed position: flat, its realised PnL and funding (paid: negative) over
 * its life; id `symbol:sequence` (the closing entry). Backpack's `fees` (all
 * fees of the position) is left out: the state keeps no per-position fee total.
 */
function wireClosedPosition(state: ExchangeState, record: PerpClosedPositionRecord) {
  const market = requireMarket(state, record.market);
  const usdc = (units: bigint): string => formatDecimal(units, market.quote.decimals);
  return {
    id: `${record.market}:${record.sequence}`,
    symbol: record.market,
    netQuantity: formatDecimal(0n, market.base.decimals),
    netExposureQuantity: formatDecimal(0n, market.base.decimals),
    netExposureNotional: usdc(0n),
    netCost: usdc(0n),
    markPrice: formatDecimal(market.perp?.funding.markPrice ?? 0n, 18),
    entryPrice: formatDecimal(0n, 18),
    cumulativePnlRealized: usdc(record.realisedPnlUnits),
    unrealizedPnl: usdc(0n),
    fundingQuantity: usdc(-record.cumulativeFundingUnits),
    imf: formatDecimal(0n, 18),
    closedAt: isoWithoutZone(record.timeMs),
    state: 'Closed',
  };
}

/** A signed history route of this file: its path, instruction, summary, query and item schemas. */
function historyRoute<Query, Item>(path: string, instruction: string, summary: string, querystring: Query, item: Item) {
  return { path, instruction, summary, tags, querystring, answer: arrayOf(item) };
}

type HistoryQuery = PageQuery & { readonly symbol?: string; readonly source?: string };

export function registerPerpHistoryRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  const fundingRoute = historyRoute(
    '/wapi/v1/history/funding',
    'fundingHistoryQueryAll',
    'Funding payments of the signer, newest first',
    strictQuery({ ...pageQueryProperties, symbol: symbolString, subaccountId }),
    fundingPaymentSchema,
  );
  registerSignedQuery<HistoryQuery>(app, context, fundingRoute, async (account, query) => {
    const records = await node.history.perpFundingPayments(account, parsePage(query, node.state));
    return Promise.all(records.map((record) => wireFundingPayment(context, record)));
  });
  const settlementRoute = historyRoute(
    '/wapi/v1/history/settlement',
    'settlementHistoryQueryAll',
    'Settlements of the signer’s PnL, funding and fees, newest first',
    strictQuery({ ...pageQueryProperties, source: { type: 'string', enum: settlementSources } }),
    settlementSchema,
  );
  registerSignedQuery<HistoryQuery>(app, context, settlementRoute, async (account, query) => {
    const page = { ...parsePage(query, node.state), ...(query.source === undefined ? {} : { source: query.source }) };
    const records = await node.history.perpSettlements(account, page);
    return records.map((record) => wireSettlement(node.state, record));
  });
  registerPositionHistory(app, context);
}

function registerPositionHistory(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  const positionRoute = historyRoute(
    '/wapi/v1/history/position',
    'positionHistoryQueryAll',
    'Positions of the signer: the open ones from the state, then the closed ones, newest first',
    strictQuery({
      ...pageQueryProperties,
      symbol: symbolString,
      state: { type: 'string', enum: ['Open', 'Closed'] },
      marketType: { type: 'string', maxLength: 64 },
    }),
    positionHistorySchema,
  );
  type PositionQuery = HistoryQuery & { state?: 'Open' | 'Closed' };
  registerSignedQuery<PositionQuery>(app, context, positionRoute, async (account, query) => {
    const page = parsePage(query, node.state);
    const open =
      query.state === 'Closed'
        ? []
        : positionFigures(node.state, node.state.accounts.get(account))
            .filter((figures) => page.market === undefined || figures.market.symbol === page.market)
            .map((figures) => ({ ...renamedFields(wirePosition(figures), positionHistoryFields), state: 'Open' }));
    if (query.state === 'Open') return open;
    const closed = await node.history.perpClosedPositions(account, page);
    return [...open, ...closed.map((record) => wireClosedPosition(node.state, record))];
  });
}
