import type { DepositView, OrderView, WithdrawalView } from '@vex/engine';
import { MemoryLevel } from 'memory-level';
import { describe, expect, test } from 'vitest';
import { fixture, signedEntry, submitInWaves } from '../test/helpers.js';
import type { CommittedEntry } from './exchange-node.js';
import { writeBatch, type BatchOperation, type LedgerDatabase } from './database.js';
import {
  LevelHistoryIndex,
  historyOperations,
  type FillRecord,
  type HistoryIndex,
  type PublicTrade,
} from './history.js';
import { decodeOrder } from './history-orders.js';
import { decodeFill, decodeTrade } from './history-trades.js';
import { keyspaces } from './storage-format.js';
import { nodeTestSetup } from './test-support.js';

const { entries, operator, traders, genesis } = fixture(31, 1_200);
const { newDirectory, openNode } = nodeTestSetup(genesis, 0);

/** An independent reading of the events: what the history must say. */
class ExpectedHistory {
  readonly fills = new Map<string, FillRecord[]>();
  readonly orders = new Map<number, OrderView>();
  readonly deposits = new Map<string, DepositView[]>();
  readonly withdrawals = new Map<number, WithdrawalView>();
  readonly trades = new Map<string, PublicTrade[]>();

  record(entry: CommittedEntry): void {
    for (const event of entry.outcome.events) {
      if (event.type === 'orderAccepted' || event.type === 'orderUpdated')
        this.orders.set(event.order.orderId, event.order);
      else if (event.type === 'deposit') this.push(this.deposits, event.deposit.account, event.deposit);
      else if (event.type === 'withdrawal') this.withdrawals.set(event.withdrawal.withdrawalId, event.withdrawal);
      else if (event.type === 'trade') {
        const [base, quote] = event.market.split('_') as [string, string];
        for (const isMaker of [true, false]) {
          const side = isMaker === (event.takerSide === 'Bid') ? 'Ask' : 'Bid';
          this.push(this.fills, isMaker ? event.makerAccount : event.takerAccount, {
            tradeId: event.tradeId,
            orderId: isMaker ? event.makerOrderId : event.takerOrderId,
            market: event.market,
            side,
            priceTicks: event.priceTicks,
            quantitySteps: event.quantitySteps,
            quoteUnits: event.quoteUnits,
            feeUnits: isMaker ? event.makerFeeUnits : event.takerFeeUnits,
            feeAsset: side === 'Bid' ? base : quote,
            isMaker,
            timeMs: event.timeMs,
          });
        }
        this.push(this.trades, event.market, {
          tradeId: event.tradeId,
          market: event.market,
          priceTicks: event.priceTicks,
          quantitySteps: event.quantitySteps,
          quoteUnits: event.quoteUnits,
          isBuyerMaker: event.takerSide === 'Ask',
          timeMs: event.timeMs,
        });
      }
    }
  }

  private push<T>(map: Map<string, T[]>, key: string, value: T): void {
    const list = map.get(key) ?? [];
    list.push(value);
    map.set(key, list);
  }

  fillsOf(account: string): FillRecord[] {
    // Newest first; a self-trade's taker fill before its maker fill.
    return [...(this.fills.get(account) ?? [])].sort(
      (left, right) => right.tradeId - left.tradeId || Number(left.isMaker) - Number(right.isMaker),
    );
  }

  ordersOf(account: string): OrderView[] {
    return [...this.orders.values()]
      .filter((order) => order.account === account)
      .sort((left, right) => right.orderId - left.orderId);
  }

  depositsOf(account: string): DepositView[] {
    return [...(this.deposits.get(account) ?? [])].reverse();
  }

  withdrawalsOf(account: string): WithdrawalView[] {
    return [...this.withdrawals.values()]
      .filter((withdrawal) => withdrawal.account === account)
      .sort((left, right) => right.withdrawalId - left.withdrawalId);
  }

  tradesOf(market: string): PublicTrade[] {
    return [...(this.trades.get(market) ?? [])].reverse();
  }
}

async function expectHistory(history: HistoryIndex, expected: ExpectedHistory): Promise<void> {
  const all = { limit: 1_000 };
  for (const trader of traders) {
    expect(await history.fills(trader.accountId, all)).toEqual(expected.fillsOf(trader.accountId));
    expect(await history.orders(trader.accountId, all)).toEqual(expected.ordersOf(trader.accountId));
    expect(await history.deposits(trader.accountId, all)).toEqual(expected.depositsOf(trader.accountId));
    expect(await history.withdrawals(trader.accountId, all)).toEqual(expected.withdrawalsOf(trader.accountId));
  }
  for (const market of ['SOL_USDC', 'BTC_USDC'])
    expect(await history.trades(market, 1_000)).toEqual(expected.tradesOf(market));
  for (const [orderId, order] of expected.orders) expect(await history.order(orderId)).toEqual(order);
}

describe('history', () => {
  test('fills, orders, deposits, withdrawals and trades are durable and survive restarts', async () => {
    const directory = await newDirectory();
    const first = await openNode(directory, { snapshotEveryEntries: 100 });
    const { node, clock } = first;
    const expected = new ExpectedHistory();
    node.subscribe((entry) => expected.record(entry));
    await submitInWaves(node, clock.set, entries);
    // A deposit beyond 2^64 units: bigints survive the JSON encoding.
    const last = entries.at(-1)!.logTimeMs;
    clock.set(last);
    const huge = signedEntry(
      operator,
      'depositCredit',
      {
        account: traders[0]!.accountId,
        symbol: 'USDC',
        quantity: '123456789012345678',
        blockchain: 'Solana',
        chainTransactionId: 'big "one" \\ x',
      },
      last,
    );
    expect((await node.submit(huge.transaction)).outcome.accepted).toBe(true);

    // The log is varied enough to mean something.
    const statuses = new Set([...expected.orders.values()].map((order) => order.status));
    expect([...statuses].sort()).toEqual(['Cancelled', 'Expired', 'Filled', 'New', 'PartiallyFilled']);
    expect([...expected.trades.values()].flat().length).toBeGreaterThan(100);
    expect(expected.withdrawals.size).toBeGreaterThan(10);
    expect(expected.depositsOf(traders[0]!.accountId)[0]!.quantityUnits).toBe(123456789012345678000000n);

    await expectHistory(node.history, expected);
    await first.close();
    const reopened = await openNode(directory, { snapshotEveryEntries: 100, clock: clock.clock });
    await expectHistory(reopened.node.history, expected);
  });

  test('paging, market and time filters', async () => {
    const { node, clock } = await openNode(await newDirectory());
    const expected = new ExpectedHistory();
    node.subscribe((entry) => expected.record(entry));
    await submitInWaves(node, clock.set, entries.slice(0, 600));
    const trader = traders[2]!.accountId;
    const fills = expected.fillsOf(trader);
    expect(fills.length).toBeGreaterThan(30);

    expect(await node.history.fills(trader, {})).toEqual(fills.slice(0, 100));
    expect(await node.history.fills(trader, { limit: 10, offset: 5 })).toEqual(fills.slice(5, 15));
    expect(await node.history.fills(trader, { market: 'BTC_USDC', limit: 1_000 })).toEqual(
      fills.filter((fill) => fill.market === 'BTC_USDC'),
    );
    const fromMs = fills[Math.floor(fills.length * 0.7)]!.timeMs;
    const toMs = fills[Math.floor(fills.length * 0.3)]!.timeMs;
    expect(await node.history.fills(trader, { fromMs, toMs, limit: 1_000 })).toEqual(
      fills.filter((fill) => fill.timeMs >= fromMs && fill.timeMs <= toMs),
    );
    const orders = expected.ordersOf(trader);
    expect(await node.history.orders(trader, { market: 'SOL_USDC', limit: 3, offset: 2 })).toEqual(
      orders.filter((order) => order.market === 'SOL_USDC').slice(2, 5),
    );
    expect(await node.history.trades('SOL_USDC', 5)).toEqual(expected.tradesOf('SOL_USDC').slice(0, 5));
    expect(await node.history.trades('NOPE_USDC', 5)).toEqual([]);
    expect(await node.history.fills('not an account', {})).toEqual([]);
    expect(await node.history.order(987_654)).toBeUndefined();
    expect(await node.history.fills(trader, { limit: 0 })).toEqual([]);

    // Trades in a time range, oldest first, found by a binary search over trade ids.
    for (const market of ['SOL_USDC', 'BTC_USDC']) {
      const trades = expected.tradesOf(market).reverse();
      expect(trades.length).toBeGreaterThan(20);
      const times = trades.map((trade) => trade.timeMs);
      const first = times[0]!;
      const last = times.at(-1)!;
      const between = (fromMs: number, toMs: number) =>
        trades.filter((trade) => trade.timeMs >= fromMs && trade.timeMs < toMs);
      const ranges: Array<[number, number]> = [
        [0, Number.MAX_SAFE_INTEGER],
        [first, last],
        [first, last + 1],
        [first + 1, last],
        [times[5]!, times[17]!],
        [times[17]!, times[17]! + 1],
        [last + 1, last + 1_000],
        [0, first],
      ];
      for (const [fromMs, toMs] of ranges) {
        expect(await node.history.tradesBetween(market, fromMs, toMs, 10_000)).toEqual({
          trades: between(fromMs, toMs),
          complete: true,
        });
      }
      expect(await node.history.tradesBetween(market, first, last + 1, 3)).toEqual({
        trades: trades.slice(0, 3),
        complete: false,
      });
      expect(await node.history.tradesBetween(market, last, first, 10)).toEqual({ trades: [], complete: true });
    }
    expect(await node.history.tradesBetween('NOPE_USDC', 0, Number.MAX_SAFE_INTEGER, 10)).toEqual({
      trades: [],
      complete: true,
    });
  });

  test('each market’s listing time', async () => {
    const { node, clock } = await openNode(await newDirectory());
    const listed = new Map<string, number>();
    node.subscribe((entry) => {
      for (const event of entry.outcome.events)
        if (event.type === 'marketListed') listed.set(event.market, entry.logTimeMs);
    });
    await submitInWaves(node, clock.set, entries.slice(0, 50));
    expect([...listed.keys()].sort()).toEqual(['BTC_USDC', 'SOL_USDC']);
    expect(await node.history.marketListings()).toEqual(listed);
  });
});

/** A new GTC limit bid for 150 steps at 10,000 ticks on SOL_USDC, as the history's record tests use it. */
function newLimitBid(orderId: number, account: string, clientId?: number): OrderView {
  return {
    orderId,
    account,
    market: 'SOL_USDC',
    side: 'Bid',
    orderType: 'Limit',
    priceTicks: 10_000n,
    quantitySteps: 150n,
    quoteQuantityUnits: undefined,
    executedSteps: 0n,
    executedQuoteUnits: 0n,
    timeInForce: 'GTC',
    postOnly: false,
    selfTradePrevention: 'RejectTaker',
    clientId,
    status: 'New',
    createdAtMs: 1_700_000_000_000,
    triggerPriceTicks: undefined,
  };
}

describe('order records (docs/log-format.md, "History records")', () => {
  const account = traders[0]!.accountId;
  const view = newLimitBid(7, account, 12);
  const text = (value: Uint8Array) => Buffer.from(value).toString('latin1');

  test('an accepted order: its array under 0x11, its id and account under 0x12, as the example', () => {
    const operations: BatchOperation[] = [];
    historyOperations(undefined as never, 9, [{ type: 'orderAccepted', order: view }], operations);
    const sequence = '\0\0\0\0\0\0\0\x09';
    expect(
      operations.map((operation) => [operation.key[0], operation.type === 'put' && text(operation.value)]),
    ).toEqual([
      [keyspaces.orderById, `${sequence}\0\0\0\0\0\0\0\x07${account}`],
      [
        keyspaces.orderByAccount,
        `${sequence}[7,"SOL_USDC","Bid","Limit","10000","150",null,"0","0","GTC",false,` +
          '"RejectTaker",false,12,null,"New",1700000000000]',
      ],
    ]);
    const [, record] = operations as [BatchOperation, Extract<BatchOperation, { type: 'put' }>];
    // An absent optional field is absent from the decoded view, as formats 1 to 4 read it.
    const { quoteQuantityUnits: _quote, triggerPriceTicks: _trigger, ...present } = view;
    expect(decodeOrder(record.value, account)).toStrictEqual(present);
  });

  test('an update writes the array again and no pointer; the optional fields round-trip', () => {
    const updated: OrderView = { ...view, quoteQuantityUnits: 5n, triggerPriceTicks: 9_990n, reduceOnly: true };
    const operations: BatchOperation[] = [];
    historyOperations(
      undefined as never,
      10,
      [{ type: 'orderUpdated', order: updated, reason: undefined }],
      operations,
    );
    expect(operations.map((operation) => operation.key[0])).toEqual([keyspaces.orderByAccount]);
    const value = (operations[0] as Extract<BatchOperation, { type: 'put' }>).value;
    expect(text(value).slice(8)).toContain(',"5","0","0","GTC",false,"RejectTaker",true,12,"9990","New",');
    expect(decodeOrder(value, account)).toStrictEqual(updated);
    const { clientId: _, ...withoutClientId } = updated;
    operations.length = 0;
    historyOperations(
      undefined as never,
      11,
      [{ type: 'orderUpdated', order: { ...withoutClientId, clientId: undefined }, reason: undefined }],
      operations,
    );
    expect(decodeOrder((operations[0] as Extract<BatchOperation, { type: 'put' }>).value, account)).toStrictEqual(
      withoutClientId,
    );
  });
});

describe('fill and public trade records (storage format 6)', () => {
  const maker = 'M'.repeat(43) + '=';
  const taker = 'T'.repeat(43) + '=';
  const state = {
    marketsBySymbol: new Map([['SOL_USDC', { base: { symbol: 'SOL' }, quote: { symbol: 'USDC' }, perp: undefined }]]),
  } as never;
  const trade = {
    type: 'trade',
    tradeId: 41,
    market: 'SOL_USDC',
    priceTicks: 10_000n,
    quantitySteps: 150n,
    quoteUnits: 1_500_000n,
    takerSide: 'Ask',
    makerOrderId: 7,
    takerOrderId: 8,
    makerAccount: maker,
    takerAccount: taker,
    makerFeeUnits: 150n,
    takerFeeUnits: 1_500n,
    timeMs: 1_700_000_000_000,
  } as const;
  const text = (value: Uint8Array) => Buffer.from(value).toString('latin1', 8);
  const values = (operations: BatchOperation[]) =>
    operations.map((operation) => (operation as Extract<BatchOperation, { type: 'put' }>).value);

  test('a trade: two fills and the public trade as arrays, as the examples, read back as the old objects', () => {
    const operations: BatchOperation[] = [];
    historyOperations(state, 9, [trade], operations);
    expect(operations.map((operation) => operation.key[0])).toEqual([
      keyspaces.fillByAccount,
      keyspaces.fillByAccount,
      keyspaces.tradeByMarket,
    ]);
    const [makerFill, takerFill, publicTrade] = values(operations) as [Uint8Array, Uint8Array, Uint8Array];
    // The maker bought (the taker sold): its fee is in the base asset.
    expect(text(makerFill)).toBe('[41,7,"SOL_USDC","Bid","10000","150","1500000","150","SOL",true,null,1700000000000]');
    expect(text(takerFill)).toBe(
      '[41,8,"SOL_USDC","Ask","10000","150","1500000","1500","USDC",false,null,1700000000000]',
    );
    expect(text(publicTrade)).toBe('[41,"SOL_USDC","10000","150","1500000",true,1700000000000]');
    // The keys in the order of the objects of formats 1 to 5, an absent systemOrderType absent.
    expect(decodeFill(makerFill)).toStrictEqual({
      tradeId: 41,
      orderId: 7,
      market: 'SOL_USDC',
      side: 'Bid',
      priceTicks: 10_000n,
      quantitySteps: 150n,
      quoteUnits: 1_500_000n,
      feeUnits: 150n,
      feeAsset: 'SOL',
      isMaker: true,
      timeMs: 1_700_000_000_000,
    });
    expect(Object.keys(decodeFill(takerFill))).toEqual(Object.keys(decodeFill(makerFill)));
    expect(decodeTrade(publicTrade)).toStrictEqual({
      tradeId: 41,
      market: 'SOL_USDC',
      priceTicks: 10_000n,
      quantitySteps: 150n,
      quoteUnits: 1_500_000n,
      isBuyerMaker: true,
      timeMs: 1_700_000_000_000,
    });
  });

  test("a liquidation's system order type is on the taker's fill only, before timeMs", () => {
    const operations: BatchOperation[] = [];
    historyOperations(state, 9, [{ ...trade, systemOrderType: 'LiquidatePositionOnBook' }], operations);
    const [makerFill, takerFill] = values(operations) as [Uint8Array, Uint8Array];
    expect(text(takerFill)).toContain(',false,"LiquidatePositionOnBook",1700000000000]');
    expect(decodeFill(makerFill).systemOrderType).toBeUndefined();
    expect(Object.keys(decodeFill(takerFill)).slice(-2)).toEqual(['systemOrderType', 'timeMs']);
    expect(decodeFill(takerFill).systemOrderType).toBe('LiquidatePositionOnBook');
    expect(() => decodeFill(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 9, 0x5b, 0x5d))).toThrow('not a fill record: []');
  });
});

describe('order pointers (storage format 6): one record per entry', () => {
  const alice = 'A'.repeat(43) + '=';
  const bob = 'B'.repeat(43) + '=';
  const order = (orderId: number, account: string): OrderView => newLimitBid(orderId, account);
  const { clientId: _c, quoteQuantityUnits: _q, triggerPriceTicks: _t, ...stored } = order(0, alice);

  test('an entry of three orders writes one pointer record; each order, and only those, is found by id', async () => {
    const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    // Entry 4 accepts order 3; entry 5 orders 5, 6 and 7 (id 4 was handed out to an order refused in its batch);
    // entry 6 updates order 6 and accepts order 8 for bob.
    const entries: Array<[number, OrderView[], OrderView[]]> = [
      [4, [order(3, alice)], []],
      [5, [order(5, alice), order(6, alice), order(7, alice)], []],
      [6, [order(8, bob)], [{ ...order(6, alice), status: 'Cancelled' }]],
    ];
    const lists = entries.map(([sequence, accepted, updated]) => {
      const operations: BatchOperation[] = [];
      historyOperations(
        undefined as never,
        sequence,
        [
          ...accepted.map((view) => ({ type: 'orderAccepted' as const, order: view })),
          ...updated.map((view) => ({ type: 'orderUpdated' as const, order: view, reason: undefined })),
        ],
        operations,
      );
      return operations;
    });
    expect(lists.map((operations) => operations.filter((o) => o.key[0] === keyspaces.orderById).length)).toEqual([
      1, 1, 1,
    ]);
    expect([...lists[2]!.filter((operation) => operation.key[0] === keyspaces.orderById)[0]!.key]).toEqual([
      keyspaces.orderById,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      8,
    ]);
    await writeBatch(db as unknown as LedgerDatabase, lists, { sync: false });
    const history = new LevelHistoryIndex(db as unknown as LedgerDatabase);
    expect(await history.order(3)).toStrictEqual({ ...stored, orderId: 3 });
    expect(await history.order(5)).toStrictEqual({ ...stored, orderId: 5 });
    expect(await history.order(6)).toStrictEqual({ ...stored, orderId: 6, status: 'Cancelled' });
    expect(await history.order(7)).toStrictEqual({ ...stored, orderId: 7 });
    expect(await history.order(8)).toStrictEqual({ ...stored, orderId: 8, account: bob });
    // Ids no entry accepted: before the first, in a gap, after the last.
    for (const orderId of [0, 1, 2, 4, 9, 1_000]) expect(await history.order(orderId)).toBeUndefined();
    await db.close();
  });
});
