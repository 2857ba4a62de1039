/**
 * The durable history: fills, orders (latest status), deposits, withdrawals
 * (latest status) and public trades, derived from each accepted entry's events
 * and written in the same LevelDB batch as the entry, so history is exactly as
 * durable as the log. Re-applying an entry rewrites the same keys with the
 * same values, so recovery can replay entries over existing history.
 *
 * Keys (see docs/log-format.md): a keyspace byte, then the account id as its
 * 44 ASCII characters (or the market symbol with a length byte), then an
 * 8-byte big-endian id, so the newest record of an account comes last.
 * Values: the 8-byte big-endian sequence of the entry that wrote the record,
 * then UTF-8 JSON with every bigint as a decimal string; the exceptions are
 * the order pointers (0x12), which name the orders' accounts, the order ids
 * an entry accepted for an account (0x11) and, from storage format 8, the
 * orders' status records (0x1d), fills (0x10) and public trades (0x15), all
 * binary (history-orders.ts, history-trades.ts).
 *
 * From storage format 7 an entry writes at most one fill record (0x10) and one
 * order-ids record (0x11) per account it touched, and each changed order's
 * latest status under its id (0x1d), not under its account: LevelDB's
 * compactions pay for every key spread over the account range (each memtable
 * it writes out overlaps all of it), and a batch of 20 orders filling against
 * resting makers wrote one such key per fill and per order changed.
 */
import {
  isCanonicalAccountId,
  viewOrder,
  type DepositView,
  type EngineEvent,
  type ExchangeState,
  type OrderView,
  type WithdrawalView,
} from '@vex/engine';
import type { BatchOperation, LedgerDatabase } from './database.js';
import {
  deriveLendingHistory,
  lendingHistoryOperations,
  lendingPage,
  readLendingMovements,
  type BorrowLendQuery,
  type BorrowLendRecord,
  type InterestRecord,
  type LendingPositionQuery,
  type LendingPositionRecord,
  type LendingQuery,
} from './history-margin.js';
import {
  decodeClosedPosition,
  decodeFundingPayment,
  decodeSettlement,
  perpAccountHistoryOperations,
  perpAccountPrefix,
  type PerpClosedPositionRecord,
  type PerpFundingPaymentRecord,
  type PerpSettlementRecord,
} from './history-perp-accounts.js';
import {
  perpHistoryOperations,
  readFundingIntervals,
  readMarkPricesBetween,
  type FundingIntervalQuery,
  type FundingIntervalRecord,
  type MarkPriceRange,
} from './history-perps.js';
import { groupsNewestFirst, pageNewestFirst, valuesNewestFirst, type PageFilter } from './history-pages.js';
import {
  accountOfOrderPointer,
  decodeOrder,
  orderIdsOf,
  orderIdsValue,
  orderPointersValue,
  orderValue,
} from './history-orders.js';
import {
  decodeFills,
  decodeTrade,
  fillsValue,
  liquidationFill,
  tradeAmounts,
  tradeFill,
  tradeValue,
  type FillFields,
} from './history-trades.js';
import { historyKeyspaces, keyspaces, prefixRange, readUint64, writeUint64 } from './storage-format.js';

export interface FillRecord {
  readonly tradeId: number;
  readonly orderId: number;
  readonly market: string;
  readonly side: 'Bid' | 'Ask';
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly quoteUnits: bigint;
  /** In the asset this side received: base for the buyer, quote for the seller. */
  readonly feeUnits: bigint;
  readonly feeAsset: string;
  readonly isMaker: boolean;
  readonly timeMs: number;
  /**
   * Backpack's system order type of a liquidation's fill (docs/perps.md, "Liquidation and ADL"):
   * `LiquidatePositionOnBook` on the liquidated taker's fill; `LiquidatePositionOnBackstop` or
   * `LiquidatePositionOnAdl` on both fills of a position closed off the book. Absent on a user's fill.
   */
  readonly systemOrderType?: string;
}

export interface PublicTrade {
  readonly tradeId: number;
  readonly market: string;
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly quoteUnits: bigint;
  readonly isBuyerMaker: boolean;
  readonly timeMs: number;
}

/** Trades of one market in a time range, oldest first; `complete` is false when the range held more than asked for. */
export interface TradeRange {
  readonly trades: PublicTrade[];
  readonly complete: boolean;
}

/**
 * Paging for history queries. limit defaults to 100 and is capped at 1,000;
 * offset skips that many matching records. market filters fills and orders
 * (it is ignored for deposits and withdrawals). fromMs and toMs bound the
 * record's time (the fill time, or the order's, deposit's or withdrawal's
 * creation time), both inclusive.
 */
export interface Page {
  readonly limit?: number;
  readonly offset?: number;
  readonly market?: string;
  readonly fromMs?: number;
  readonly toMs?: number;
  /** Fills only: keep those whose systemOrderType is listed (undefined: a user's fill). */
  readonly systemOrderTypes?: ReadonlyArray<string | undefined>;
}

export interface HistoryIndex {
  /** Newest first. */
  fills(accountId: string, page: Page): Promise<FillRecord[]>;
  /** Newest first (by order id), the latest status of each. */
  orders(accountId: string, page: Page): Promise<OrderView[]>;
  /** The latest status, open or closed. */
  order(orderId: number): Promise<OrderView | undefined>;
  /** Newest first. */
  deposits(accountId: string, page: Page): Promise<DepositView[]>;
  /** Newest first, the latest status of each. */
  withdrawals(accountId: string, page: Page): Promise<WithdrawalView[]>;
  /** Newest first. */
  trades(market: string, limit: number): Promise<PublicTrade[]>;
  /**
   * The market's trades with fromMs <= timeMs < toMs, oldest first (log
   * order), at most `maximum` of them. Finds the first by a binary search
   * over trade ids (ids and log times grow together), so the cost is the
   * trades returned plus a logarithmic seek.
   */
  tradesBetween(market: string, fromMs: number, toMs: number, maximum: number): Promise<TradeRange>;
  /** The log time of each market's listing entry, by symbol (markets listed by a node older than this record are absent). */
  marketListings(): Promise<Map<string, number>>;
  /** Borrows, repayments, lends and redemptions (history-margin.ts); newest first unless query.ascending. */
  borrowLendHistory(accountId: string, query: BorrowLendQuery): Promise<BorrowLendRecord[]>;
  /** Interest paid and earned, counted at each change of a position. */
  interestHistory(accountId: string, query: LendingQuery): Promise<InterestRecord[]>;
  /** Lend and borrow positions, open and closed, by opening time. */
  lendingPositions(accountId: string, query: LendingPositionQuery): Promise<LendingPositionRecord[]>;
  /** A perpetual market's settled funding intervals, newest first (history-perps.ts). */
  fundingIntervals(market: string, query: FundingIntervalQuery): Promise<FundingIntervalRecord[]>;
  /** A perpetual market's mark and index moves with fromMs <= atMs < toMs, oldest first, at most `maximum`. */
  markPricesBetween(market: string, fromMs: number, toMs: number, maximum: number): Promise<MarkPriceRange>;
  /** The account's funding payments, settlements and closed positions, newest first (history-perp-accounts.ts). */
  perpFundingPayments(accountId: string, page: Page): Promise<PerpFundingPaymentRecord[]>;
  perpSettlements(accountId: string, page: Page & { readonly source?: string }): Promise<PerpSettlementRecord[]>;
  perpClosedPositions(accountId: string, page: Page): Promise<PerpClosedPositionRecord[]>;
}

export { defaultPageLimit, maximumPageLimit } from './history-pages.js';
const accountIdLength = 44;

type TradeEvent = Extract<EngineEvent, { type: 'trade' }>;
type LiquidationTradeEvent = Extract<EngineEvent, { type: 'perpLiquidationTrade' }>;

// ---------------------------------------------------------------------------
// Keys and values
// ---------------------------------------------------------------------------

function accountPrefix(space: number, accountId: string, extra: number): Buffer {
  const key = Buffer.allocUnsafe(1 + accountIdLength + extra);
  key[0] = space;
  key.write(accountId, 1, accountIdLength, 'latin1');
  return key;
}

function accountIdKey(space: number, accountId: string, id: number): Buffer {
  const key = accountPrefix(space, accountId, 8);
  writeUint64(key, 1 + accountIdLength, id);
  return key;
}

function orderIdKey(orderId: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = keyspaces.orderById;
  writeUint64(key, 1, orderId);
  return key;
}

/** An order's latest status (format 7): 0x1d ‖ u64 order id. Ids are handed out in log order, so keys mostly grow. */
function orderStatusKey(orderId: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = keyspaces.orderStatusById;
  writeUint64(key, 1, orderId);
  return key;
}

function marketPrefix(market: string, extra: number): Buffer {
  const length = Buffer.byteLength(market, 'utf8');
  if (length > 255) throw new RangeError('a market symbol is longer than 255 bytes');
  const key = Buffer.allocUnsafe(2 + length + extra);
  key[0] = keyspaces.tradeByMarket;
  key[1] = length;
  key.write(market, 2, length, 'utf8');
  return key;
}

function marketListingKey(market: string): Buffer {
  const key = marketPrefix(market, 0);
  key[0] = keyspaces.marketListing;
  return key;
}

function tradeKey(market: string, tradeId: number): Buffer {
  const key = marketPrefix(market, 8);
  writeUint64(key, key.length - 8, tradeId);
  return key;
}

/** A record value: writer sequence ‖ UTF-8 JSON. */
function recordValue(sequence: number, json: string): Buffer {
  const length = Buffer.byteLength(json, 'utf8');
  const value = Buffer.allocUnsafe(8 + length);
  writeUint64(value, 0, sequence);
  value.write(json, 8, length, 'utf8');
  return value;
}

function recordJson(value: Uint8Array): Record<string, unknown> {
  return JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8', 8)) as Record<
    string,
    unknown
  >;
}

/** The sequence of the entry that wrote a history record. */
export function writerSequenceOf(value: Uint8Array): number {
  return readUint64(value, 0);
}

/** The fields of T whose values are bigint (or bigint | undefined). */
type BigintFields<T> = { [K in keyof T]-?: NonNullable<T[K]> extends bigint ? K : never }[keyof T] & string;

/**
 * A history record as its writer below stored it: the JSON's fields as they
 * are, the bigint ones turned back from their decimal strings (an absent
 * optional one stays absent). The writers and the decoders live side by side
 * in this file, so the stored shape is the record type.
 */
function decodeRecord<T>(value: Uint8Array, bigintFields: readonly BigintFields<T>[]): T {
  const json = recordJson(value);
  for (const field of bigintFields) {
    const text = json[field];
    if (text !== undefined) json[field] = BigInt(text as string);
  }
  return json as T;
}

/** The two fills of a `perpLiquidationTrade` event (no public trade: it is no trade on the book). */
function putLiquidationTrade(fills: EntryFills, state: ExchangeState, event: LiquidationTradeEvent): void {
  const quote = state.marketsBySymbol.get(event.market)?.quote.symbol;
  if (quote === undefined) throw new Error(`liquidation trade ${event.tradeId} on unknown market ${event.market}`);
  // The counterparty's (maker-like) fill first, as a trade's maker fill: the order formats 1 to 6 kept by key.
  const amounts = tradeAmounts(event);
  addFill(fills, event.counterparty, liquidationFill(event, amounts, true, quote));
  addFill(fills, event.account, liquidationFill(event, amounts, false, quote));
}

/** An entry's fills by account, in the order they happened (trade id, then maker before taker); a Map keeps it. */
type EntryFills = Map<string, FillFields[]>;

function addFill(fills: EntryFills, accountId: string, fill: FillFields): void {
  const list = fills.get(accountId);
  if (list === undefined) fills.set(accountId, [fill]);
  else list.push(fill);
}

/**
 * One fill record per account the entry filled (format 7): 0x10 ‖ account ‖ u64 sequence, the value the writer
 * sequence ‖ the fills, oldest first (binary from format 8, history-trades.ts). Sequences grow with trade ids, so an
 * account's records in key order are its fills in trade order.
 */
function putFills(operations: BatchOperation[], sequence: number, fills: EntryFills): void {
  for (const [accountId, list] of fills) {
    operations.push({
      type: 'put',
      key: accountIdKey(keyspaces.fillByAccount, accountId, sequence),
      value: fillsValue(sequence, list),
    });
  }
}

/*
 * Fills, trades and orders are binary records written on the sequencing thread (history-trades.ts,
 * history-orders.ts). Deposits and withdrawals carry free text (addresses, chain ids, reasons) and use JSON.stringify.
 */
function depositJson(deposit: DepositView): string {
  return JSON.stringify({ ...deposit, quantityUnits: deposit.quantityUnits.toString() });
}

export function decodeDeposit(value: Uint8Array): DepositView {
  return decodeRecord<DepositView>(value, ['quantityUnits']);
}

function withdrawalJson(withdrawal: WithdrawalView): string {
  return JSON.stringify({ ...withdrawal, quantityUnits: withdrawal.quantityUnits.toString() });
}

export function decodeWithdrawal(value: Uint8Array): WithdrawalView {
  return decodeRecord<WithdrawalView>(value, ['quantityUnits']);
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

function putOrder(operations: BatchOperation[], sequence: number, order: OrderView): void {
  operations.push({
    type: 'put',
    key: orderStatusKey(order.orderId),
    value: orderValue(sequence, order),
  });
}

/**
 * One record per account the entry accepted orders for (format 7): 0x11 ‖ account ‖ u64 least of those order ids,
 * the value the writer sequence ‖ each id as a u64, in the order they were accepted (ascending: ids are handed out
 * in sequence). An account's records in key order are its orders in id order, which the pages follow.
 */
function putAccountOrderIds(operations: BatchOperation[], sequence: number, accepted: readonly OrderView[]): void {
  const byAccount = new Map<string, number[]>();
  for (const order of accepted) {
    const ids = byAccount.get(order.account);
    if (ids === undefined) byAccount.set(order.account, [order.orderId]);
    else ids.push(order.orderId);
  }
  for (const [accountId, ids] of byAccount) {
    operations.push({
      type: 'put',
      key: accountIdKey(keyspaces.orderByAccount, accountId, Math.min(...ids)),
      value: orderIdsValue(sequence, ids),
    });
  }
}

/**
 * Every order is created by its orderAccepted event (open-orders.ts, newOrder), so every order gets a pointer: one
 * record for all the orders an entry accepted, keyed by the least of their ids (history-orders.ts). The events come
 * in the order the ids were handed out, so that is the first; the key does not rely on it, since the lookup needs
 * only that no id of the record is below its key.
 */
function putOrderPointers(operations: BatchOperation[], sequence: number, accepted: readonly OrderView[]): void {
  let leastOrderId = accepted[0]!.orderId;
  for (const order of accepted) if (order.orderId < leastOrderId) leastOrderId = order.orderId;
  operations.push({
    type: 'put',
    key: orderIdKey(leastOrderId),
    value: orderPointersValue(sequence, accepted),
  });
}

function putDeposit(operations: BatchOperation[], sequence: number, deposit: DepositView): void {
  operations.push({
    type: 'put',
    key: accountIdKey(keyspaces.depositByAccount, deposit.account, deposit.depositId),
    value: recordValue(sequence, depositJson(deposit)),
  });
}

function putWithdrawal(operations: BatchOperation[], sequence: number, withdrawal: WithdrawalView): void {
  operations.push({
    type: 'put',
    key: accountIdKey(keyspaces.withdrawalByAccount, withdrawal.account, withdrawal.withdrawalId),
    value: recordValue(sequence, withdrawalJson(withdrawal)),
  });
}

/** The two fills and the public trade of a `trade` event. */
function putTrade(
  operations: BatchOperation[],
  fills: EntryFills,
  sequence: number,
  state: ExchangeState,
  event: TradeEvent,
): void {
  const market = state.marketsBySymbol.get(event.market);
  if (market === undefined) throw new Error(`trade ${event.tradeId} on unknown market ${event.market}`);
  const takerBuys = event.takerSide === 'Bid';
  const quote = market.quote.symbol;
  // A perpetual's fees are both in USDC (perp-settlement.ts): its fills move no base units.
  const base = market.perp === undefined ? market.base.symbol : quote;
  // The buyer pays its fee in the base asset it receives, the seller in quote.
  const amounts = tradeAmounts(event);
  const makerSide = takerBuys ? 'Ask' : 'Bid';
  addFill(fills, event.makerAccount, tradeFill(event, amounts, true, makerSide, takerBuys ? quote : base));
  addFill(fills, event.takerAccount, tradeFill(event, amounts, false, event.takerSide, takerBuys ? base : quote));
  operations.push({
    type: 'put',
    key: tradeKey(event.market, event.tradeId),
    value: tradeValue(sequence, event, amounts),
  });
}

/**
 * Appends the history writes of one accepted entry to `operations`. `state`
 * is the state right after the entry (markets are never delisted, so trade
 * markets resolve to their base and quote assets).
 */
export function historyOperations(
  state: ExchangeState,
  sequence: number,
  events: readonly EngineEvent[],
  operations: BatchOperation[],
): void {
  // An order can change several times within one entry; only its last view is written.
  let orders: Map<number, OrderView> | undefined;
  // The orders this entry accepted, in the order of their ids (the order they were created in).
  let accepted: OrderView[] | undefined;
  let fills: EntryFills | undefined;
  let lendingMovements = false;
  let perpEvents = false;
  let perpAccountEvents = false;
  for (const event of events) {
    switch (event.type) {
      case 'orderAccepted':
      case 'orderUpdated':
        if (event.type === 'orderAccepted') (accepted ??= []).push(event.order);
        (orders ??= new Map()).set(event.order.orderId, event.order);
        break;
      case 'trade':
        putTrade(operations, (fills ??= new Map()), sequence, state, event);
        break;
      case 'perpLiquidationTrade':
        putLiquidationTrade((fills ??= new Map()), state, event);
        break;
      case 'marketListed':
        // The listing entry's log time: Backpack's market `createdAt`. apply() has set state.logTimeMs to it.
        operations.push({
          type: 'put',
          key: marketListingKey(event.market),
          value: recordValue(sequence, JSON.stringify({ market: event.market, listedAtMs: state.logTimeMs })),
        });
        break;
      case 'deposit':
        putDeposit(operations, sequence, event.deposit);
        break;
      case 'withdrawal':
        putWithdrawal(operations, sequence, event.withdrawal);
        break;
      case 'lendingMovement':
        lendingMovements = true;
        break;
      case 'perpFunding':
      case 'perpMarkPrice':
        perpEvents = true;
        break;
      case 'perpFundingPayment':
      case 'perpSettlement':
      case 'perpPositionChanged':
        perpAccountEvents = true;
        break;
      default:
        break;
    }
  }
  if (fills !== undefined) putFills(operations, sequence, fills);
  if (accepted !== undefined) {
    putOrderPointers(operations, sequence, accepted);
    putAccountOrderIds(operations, sequence, accepted);
  }
  if (orders !== undefined) for (const order of orders.values()) putOrder(operations, sequence, order);
  // Their sources depend on the entry's other events, so they are written once all are seen.
  if (lendingMovements) lendingHistoryOperations(state, sequence, events, operations);
  if (perpEvents) perpHistoryOperations(sequence, events, operations);
  if (perpAccountEvents) perpAccountHistoryOperations(sequence, events, operations);
}

/**
 * After a torn tail is dropped, removes what the dropped entries wrote to the
 * history: every record written by an entry at or after `firstDropped`.
 * Fills, trades and deposits are immutable and simply go; so do order
 * pointers and an account's order ids, which only the entry that accepted the
 * orders writes. An order's status (0x1d) or a
 * withdrawal record written by a dropped entry either belongs to an order or
 * withdrawal created by a dropped entry (it goes) or to one that was still
 * open or pending after the last kept entry (it is rewritten from `state`,
 * the state after that entry). Scans all history; it runs only on a torn tail.
 */
export async function historyRepairOperations(
  db: LedgerDatabase,
  state: ExchangeState,
  firstDropped: number,
  lastKept: number,
): Promise<{ operations: BatchOperation[]; deleted: number; rewritten: number }> {
  const operations: BatchOperation[] = [];
  let deleted = 0;
  let rewritten = 0;
  for (const space of historyKeyspaces) {
    for await (const [key, value] of db.iterator(prefixRange(Uint8Array.of(space)))) {
      if (writerSequenceOf(value) < firstDropped) continue;
      if (space === keyspaces.orderStatusById) {
        const order = state.orders.get(readUint64(key, 1));
        if (order !== undefined) {
          operations.push({ type: 'put', key, value: orderValue(lastKept, viewOrder(order)) });
          rewritten += 1;
          continue;
        }
      } else if (space === keyspaces.withdrawalByAccount) {
        const pending = state.pendingWithdrawals.get(decodeWithdrawal(value).withdrawalId);
        if (pending !== undefined) {
          const view: WithdrawalView = {
            withdrawalId: pending.id,
            account: pending.account.id,
            asset: pending.asset.symbol,
            quantityUnits: pending.quantityUnits,
            address: pending.address,
            blockchain: pending.blockchain,
            status: 'Pending',
            createdAtMs: pending.createdAtMs,
            chainTransactionId: undefined,
            reason: undefined,
          };
          operations.push({ type: 'put', key, value: recordValue(lastKept, withdrawalJson(view)) });
          rewritten += 1;
          continue;
        }
      }
      operations.push({ type: 'del', key });
      deleted += 1;
    }
  }
  return { operations, deleted, rewritten };
}

// ---------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------

interface ScanFilter<T> extends PageFilter<T> {
  readonly decode: (value: Uint8Array) => T;
}

/**
 * Reads records under `prefix` newest first. Ids grow with time in every
 * keyspace, so the scan stops at the first record older than fromMs.
 */
function scanNewestFirst<T>(db: LedgerDatabase, prefix: Uint8Array, page: Page, filter: ScanFilter<T>): Promise<T[]> {
  return pageNewestFirst(valuesNewestFirst(db, prefix, filter.decode), page, filter);
}

/** The perpetuals' per-account records: filtered by `market`, paged by log time. */
const byMarketAndTime = {
  timeOf: (record: { readonly timeMs: number }) => record.timeMs,
  marketOf: (record: { readonly market: string }) => record.market,
};

/** The HistoryIndex over the ledger's LevelDB. */
export class LevelHistoryIndex implements HistoryIndex {
  constructor(private readonly db: LedgerDatabase) {}

  async fills(accountId: string, page: Page): Promise<FillRecord[]> {
    if (!isCanonicalAccountId(accountId)) return [];
    const types = page.systemOrderTypes;
    // One record per entry that filled the account (format 7), its fills oldest first.
    const fills = groupsNewestFirst(this.db, accountPrefix(keyspaces.fillByAccount, accountId, 0), decodeFills);
    return pageNewestFirst(fills, page, {
      timeOf: (fill) => fill.timeMs,
      marketOf: (fill) => fill.market,
      keep: page.systemOrderTypes === undefined ? undefined : (fill) => types!.includes(fill.systemOrderType),
    });
  }

  async orders(accountId: string, page: Page): Promise<OrderView[]> {
    if (!isCanonicalAccountId(accountId)) return [];
    return pageNewestFirst(this.ordersNewestFirst(accountId), page, {
      timeOf: (order) => order.createdAtMs,
      marketOf: (order) => order.market,
    });
  }

  /**
   * The account's orders by id, newest first, each at its latest status: its order-ids records (one per entry that
   * accepted its orders, format 7) in reverse key order, and for each id, highest first, a get of the order's record
   * under its id (0x1d), which the same batch wrote. The record leaves out the account id: the one scanned.
   */
  private async *ordersNewestFirst(accountId: string): AsyncGenerator<OrderView> {
    const prefix = accountPrefix(keyspaces.orderByAccount, accountId, 0);
    for await (const value of this.db.values({ ...prefixRange(prefix), reverse: true })) {
      const orderIds = orderIdsOf(value);
      for (let index = orderIds.length - 1; index >= 0; index -= 1) {
        const orderId = orderIds[index]!;
        const record = await this.db.get(orderStatusKey(orderId));
        if (record === undefined) throw new Error(`order ${orderId} of ${accountId} has no status record`);
        yield decodeOrder(record, orderId, accountId);
      }
    }
  }

  async order(orderId: number): Promise<OrderView | undefined> {
    if (!Number.isSafeInteger(orderId) || orderId < 0) return undefined;
    // The pointers of the entry that accepted the order: the record with the greatest key ≤ the id (history-orders.ts).
    // Most entries accept one order, whose record is keyed by its id: a get finds it at about half the cost of the
    // reverse seek an order that was not its entry's first needs.
    const pointers =
      (await this.db.get(orderIdKey(orderId))) ??
      (
        await this.db
          .values({ gte: Uint8Array.of(keyspaces.orderById), lte: orderIdKey(orderId), reverse: true, limit: 1 })
          .all()
      )[0];
    const account = pointers === undefined ? undefined : accountOfOrderPointer(pointers, orderId);
    if (account === undefined) return undefined;
    // Written in the same batch as the pointer and never deleted while the pointer stays (but by a torn-tail repair,
    // which runs before the node serves), so it is there.
    const value = await this.db.get(orderStatusKey(orderId));
    return value === undefined ? undefined : decodeOrder(value, orderId, account);
  }

  async deposits(accountId: string, page: Page): Promise<DepositView[]> {
    if (!isCanonicalAccountId(accountId)) return [];
    return scanNewestFirst(this.db, accountPrefix(keyspaces.depositByAccount, accountId, 0), page, {
      decode: decodeDeposit,
      timeOf: (deposit) => deposit.createdAtMs,
    });
  }

  async withdrawals(accountId: string, page: Page): Promise<WithdrawalView[]> {
    if (!isCanonicalAccountId(accountId)) return [];
    return scanNewestFirst(this.db, accountPrefix(keyspaces.withdrawalByAccount, accountId, 0), page, {
      decode: decodeWithdrawal,
      timeOf: (withdrawal) => withdrawal.createdAtMs,
    });
  }

  async tradesBetween(market: string, fromMs: number, toMs: number, maximum: number): Promise<TradeRange> {
    const trades: PublicTrade[] = [];
    if (Buffer.byteLength(market, 'utf8') > 255 || !(fromMs < toMs) || maximum < 1) return { trades, complete: true };
    const range = prefixRange(marketPrefix(market, 0));
    const firstAtOrAfter = async (tradeId: number): Promise<PublicTrade | undefined> => {
      const [value] = await this.db.values({ gte: tradeKey(market, tradeId), lt: range.lt, limit: 1 }).all();
      return value === undefined ? undefined : decodeTrade(value);
    };
    const [lastValue] = await this.db.values({ ...range, reverse: true, limit: 1 }).all();
    if (lastValue === undefined) return { trades, complete: true };
    // Invariant: every trade with id < low is before fromMs; every trade with id >= high is at or after it.
    let low = 0;
    let high = decodeTrade(lastValue).tradeId + 1;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const found = await firstAtOrAfter(middle);
      if (found === undefined || found.timeMs >= fromMs) high = middle;
      else low = found.tradeId + 1;
    }
    for await (const value of this.db.values({ gte: tradeKey(market, low), lt: range.lt })) {
      const trade = decodeTrade(value);
      if (trade.timeMs >= toMs) break;
      if (trades.length === maximum) return { trades, complete: false };
      trades.push(trade);
    }
    return { trades, complete: true };
  }

  async marketListings(): Promise<Map<string, number>> {
    const listings = new Map<string, number>();
    for await (const value of this.db.values(prefixRange(Uint8Array.of(keyspaces.marketListing)))) {
      const json = recordJson(value);
      listings.set(json.market as string, json.listedAtMs as number);
    }
    return listings;
  }

  async borrowLendHistory(accountId: string, query: BorrowLendQuery): Promise<BorrowLendRecord[]> {
    const { borrowLend } = deriveLendingHistory(await readLendingMovements(this.db, accountId, query.asset));
    const { eventType, sources } = query;
    return lendingPage(
      borrowLend,
      query,
      (record) => record.timeMs,
      (record) =>
        (eventType === undefined || record.eventType === eventType) &&
        (sources === undefined || sources.includes(record.source)),
    );
  }

  async interestHistory(accountId: string, query: LendingQuery): Promise<InterestRecord[]> {
    const { interest } = deriveLendingHistory(await readLendingMovements(this.db, accountId, query.asset));
    return lendingPage(interest, query, (record) => record.timeMs);
  }

  async lendingPositions(accountId: string, query: LendingPositionQuery): Promise<LendingPositionRecord[]> {
    const { positions } = deriveLendingHistory(await readLendingMovements(this.db, accountId, query.asset));
    const { side, state } = query;
    return lendingPage(
      positions,
      query,
      (record) => record.openedAtMs,
      (record) => (side === undefined || record.side === side) && (state === undefined || record.state === state),
    );
  }

  fundingIntervals(market: string, query: FundingIntervalQuery): Promise<FundingIntervalRecord[]> {
    return readFundingIntervals(this.db, market, query);
  }

  markPricesBetween(market: string, fromMs: number, toMs: number, maximum: number): Promise<MarkPriceRange> {
    return readMarkPricesBetween(this.db, market, fromMs, toMs, maximum);
  }

  perpFundingPayments(accountId: string, page: Page): Promise<PerpFundingPaymentRecord[]> {
    const prefix = perpAccountPrefix(keyspaces.perpFundingPaymentByAccount, accountId);
    return scanNewestFirst(this.db, prefix, page, { decode: decodeFundingPayment, ...byMarketAndTime });
  }

  perpSettlements(accountId: string, page: Page & { readonly source?: string }): Promise<PerpSettlementRecord[]> {
    const prefix = perpAccountPrefix(keyspaces.perpSettlementByAccount, accountId);
    const { source } = page;
    return scanNewestFirst(this.db, prefix, page, {
      decode: decodeSettlement,
      ...byMarketAndTime,
      keep: source === undefined ? undefined : (record) => record.source === source,
    });
  }

  perpClosedPositions(accountId: string, page: Page): Promise<PerpClosedPositionRecord[]> {
    const prefix = perpAccountPrefix(keyspaces.perpClosedPositionByAccount, accountId);
    return scanNewestFirst(this.db, prefix, page, { decode: decodeClosedPosition, ...byMarketAndTime });
  }

  async trades(market: string, limit: number): Promise<PublicTrade[]> {
    if (Buffer.byteLength(market, 'utf8') > 255) return [];
    return scanNewestFirst(
      this.db,
      marketPrefix(market, 0),
      { limit },
      {
        decode: decodeTrade,
        timeOf: (trade) => trade.timeMs,
      },
    );
  }
}
