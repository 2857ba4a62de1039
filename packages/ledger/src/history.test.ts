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
import { accountOfOrderPointer, decodeOrder, orderPointersValue } from './history-orders.js';
import { decodeFills, decodeTrade } from './history-trades.js';
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

  test("an accepted order: its pointer under 0x12, its id under its account's 0x11, its record under 0x1d", () => {
    const operations: BatchOperation[] = [];
    historyOperations(undefined as never, 9, [{ type: 'orderAccepted', order: view }], operations);
    const sequence = '\0\0\0\0\0\0\0\x09';
    const orderId = '\0\0\0\0\0\0\0\x07';
    const ascii = (field: string) => `${String.fromCharCode(field.length)}${field}`;
    const u64 = (value: number) => Buffer.from(BigInt(value).toString(16).padStart(16, '0'), 'hex').toString('latin1');
    expect(
      operations.map((operation) => [text(operation.key), operation.type === 'put' && text(operation.value)]),
    ).toEqual([
      // Format 8: a run of one order of the account.
      [`\x12${orderId}`, `${sequence}\x01${account}${orderId}`],
      [`\x11${account}${orderId}`, `${sequence}${orderId}`],
      [
        `\x1d${orderId}`,
        // Storage format 8: flags (a bid, not post-only, not reduce-only, no quote quantity, a client id, no trigger
        // price), the five ASCII fields, the four decimal ones, the client id, the creation time; no order id.
        `${sequence}\x10${ascii('SOL_USDC')}${ascii('Limit')}${ascii('GTC')}${ascii('RejectTaker')}${ascii('New')}` +
          `${ascii('10000')}${ascii('150')}${ascii('0')}${ascii('0')}${u64(12)}${u64(1_700_000_000_000)}`,
      ],
    ]);
    const record = operations[2] as Extract<BatchOperation, { type: 'put' }>;
    // An absent optional field is absent from the decoded view, as formats 1 to 4 read it.
    const { quoteQuantityUnits: _quote, triggerPriceTicks: _trigger, ...present } = view;
    expect(decodeOrder(record.value, 7, account)).toStrictEqual(present);
    expect(Object.keys(decodeOrder(record.value, 7, account))).toEqual(Object.keys(present));
  });

  test('an update writes the record again under 0x1d, nothing under the account; optional fields round-trip', () => {
    const updated: OrderView = {
      ...view,
      side: 'Ask',
      postOnly: true,
      quoteQuantityUnits: 5n,
      executedSteps: 3n,
      executedQuoteUnits: 123_456_789_012_345_678_901_234_567_890n,
      triggerPriceTicks: 9_990n,
      reduceOnly: true,
      status: 'PartiallyFilled',
    };
    const operations: BatchOperation[] = [];
    historyOperations(
      undefined as never,
      10,
      [{ type: 'orderUpdated', order: updated, reason: undefined }],
      operations,
    );
    expect(operations.map((operation) => operation.key[0])).toEqual([keyspaces.orderStatusById]);
    const value = (operations[0] as Extract<BatchOperation, { type: 'put' }>).value;
    expect(value[8]).toBe(0x3f);
    expect(text(value).slice(8)).toContain('\x0fPartiallyFilled\x0510000\x03150\x015\x013');
    expect(decodeOrder(value, 7, account)).toStrictEqual(updated);
    expect(Object.keys(decodeOrder(value, 7, account))).toEqual([
      'orderId',
      'account',
      'market',
      'side',
      'orderType',
      'priceTicks',
      'quantitySteps',
      'quoteQuantityUnits',
      'executedSteps',
      'executedQuoteUnits',
      'timeInForce',
      'postOnly',
      'selfTradePrevention',
      'reduceOnly',
      'clientId',
      'triggerPriceTicks',
      'status',
      'createdAtMs',
    ]);
    const { clientId: _, ...withoutClientId } = updated;
    operations.length = 0;
    historyOperations(
      undefined as never,
      11,
      [{ type: 'orderUpdated', order: { ...withoutClientId, clientId: undefined }, reason: undefined }],
      operations,
    );
    const withoutValue = (operations[0] as Extract<BatchOperation, { type: 'put' }>).value;
    expect(decodeOrder(withoutValue, 7, account)).toStrictEqual(withoutClientId);
    // A record cut short, or with a byte after its end, is refused rather than misread.
    expect(() => decodeOrder(withoutValue.subarray(0, withoutValue.length - 1), 7, account)).toThrow('truncated');
    expect(() => decodeOrder(Buffer.concat([withoutValue, Uint8Array.of(0)]), 7, account)).toThrow('after its end');
  });

  test('a symbol that is not ASCII is refused rather than written', () => {
    const operations: BatchOperation[] = [];
    const order = { ...view, market: 'SOL_USDÇ' };
    expect(() =>
      historyOperations(undefined as never, 9, [{ type: 'orderUpdated', order, reason: undefined }], operations),
    ).toThrow('not ASCII');
  });
});

describe('fill and public trade records (storage format 8)', () => {
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

  test("a trade: the public trade, and each side's fill in its account's record of the entry, as the examples", () => {
    const operations: BatchOperation[] = [];
    historyOperations(state, 9, [trade], operations);
    const sequence = '\0\0\0\0\0\0\0\x09';
    expect(operations.map((operation) => Buffer.from(operation.key).toString('latin1'))).toEqual([
      '\x15\x08SOL_USDC\0\0\0\0\0\0\0\x29',
      `\x10${maker}${sequence}`,
      `\x10${taker}${sequence}`,
    ]);
    const [publicTrade, makerFills, takerFills] = values(operations) as [Uint8Array, Uint8Array, Uint8Array];
    // Storage format 8: u64 trade id and order id, flags, the length-prefixed text and decimal fields, u64 time.
    const u64 = (value: number) => Buffer.from(BigInt(value).toString(16).padStart(16, '0'), 'hex').toString('latin1');
    const ascii = (field: string) => `${String.fromCharCode(field.length)}${field}`;
    const amounts = `${ascii('10000')}${ascii('150')}${ascii('1500000')}`;
    const time = u64(1_700_000_000_000);
    // The maker bought (the taker sold): its fee is in the base asset. Flags: 0x02 maker, 0x01 ask.
    expect(text(makerFills)).toBe(
      `${u64(41)}${u64(7)}\x02${ascii('SOL_USDC')}${amounts}${ascii('150')}${ascii('SOL')}${time}`,
    );
    expect(text(takerFills)).toBe(
      `${u64(41)}${u64(8)}\x01${ascii('SOL_USDC')}${amounts}${ascii('1500')}${ascii('USDC')}${time}`,
    );
    // Flags 0x01: the buyer was the maker.
    expect(text(publicTrade)).toBe(`${u64(41)}\x01${ascii('SOL_USDC')}${amounts}${time}`);
    // The keys in the order of the objects of formats 1 to 5, an absent systemOrderType absent.
    const [makerFill] = decodeFills(makerFills) as [FillRecord];
    expect(makerFill).toStrictEqual({
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
    expect(Object.keys(decodeFills(takerFills)[0]!)).toEqual(Object.keys(makerFill));
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
    const [publicTrade, makerFills, takerFills] = values(operations) as [Uint8Array, Uint8Array, Uint8Array];
    expect(text(takerFills)).toContain('\x04USDC\x17LiquidatePositionOnBook');
    expect(decodeFills(makerFills)[0]!.systemOrderType).toBeUndefined();
    expect(Object.keys(decodeFills(takerFills)[0]!).slice(-2)).toEqual(['systemOrderType', 'timeMs']);
    expect(decodeFills(takerFills)[0]!.systemOrderType).toBe('LiquidatePositionOnBook');
    expect(() => decodeFills(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 9))).toThrow('a fills record without fills');
    expect(() => decodeFills(takerFills.subarray(0, takerFills.length - 1))).toThrow('a truncated fills record');
    // A format-7 record (a JSON array) is not read as binary: its first fill's flags byte is out of range.
    expect(() => decodeFills(Buffer.from('\0\0\0\0\0\0\0\x09[[41,7,"SOL_USDC","Bid"]]', 'latin1'))).toThrow();
    expect(() => decodeTrade(Buffer.concat([publicTrade, Uint8Array.of(0)]))).toThrow('after its end');
  });
});

describe('one record per account and entry (storage format 7), read as one record per fill and order', () => {
  const alice = 'A'.repeat(43) + '=';
  // Canonical account ids (the pages refuse others): the last character before '=' holds two zero bits.
  const bob = 'E'.repeat(43) + '=';
  const carol = 'I'.repeat(43) + '=';
  const state = {
    marketsBySymbol: new Map([
      ['SOL_USDC', { base: { symbol: 'SOL' }, quote: { symbol: 'USDC' }, perp: undefined }],
      ['BTC_USDC', { base: { symbol: 'BTC' }, quote: { symbol: 'USDC' }, perp: undefined }],
    ]),
  } as never;
  let tradeId = 0;
  /** A trade at `timeMs` on `market`; the taker sells when `takerSide` is Ask. */
  const trade = (makerAccount: string, takerAccount: string, timeMs: number, market = 'SOL_USDC') => {
    tradeId += 1;
    return {
      type: 'trade' as const,
      tradeId,
      market,
      priceTicks: 10_000n,
      quantitySteps: BigInt(tradeId),
      quoteUnits: 10_000n * BigInt(tradeId),
      takerSide: 'Ask' as const,
      makerOrderId: 100 + tradeId,
      takerOrderId: 200,
      makerAccount,
      takerAccount,
      makerFeeUnits: 1n,
      takerFeeUnits: 2n,
      timeMs,
    };
  };
  const order = (orderId: number, account: string, createdAtMs: number, market = 'SOL_USDC'): OrderView => ({
    ...newLimitBid(orderId, account),
    market,
    createdAtMs,
  });
  const { clientId: _c, quoteQuantityUnits: _q, triggerPriceTicks: _t, ...stored } = newLimitBid(0, alice);
  const storedOrder = (view: OrderView) => ({ ...stored, ...view, clientId: undefined }) as Record<string, unknown>;
  const withoutAbsent = (view: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(view).filter(([, field]) => field !== undefined));

  test('fills and orders page newest first across and within records, by market, time and offset', async () => {
    const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    // Entry 1: alice takes from bob twice and carol once (one record for alice, one each for bob and carol), and
    // accepts orders 1 to 3 (alice) and 4 (bob). Entry 2: a self-trade of alice's at a later time on BTC_USDC, bob's
    // order 5, alice's orders 6 and 7, order 2 cancelled. Entry 3: bob takes from alice.
    const entries: Array<[number, unknown[]]> = [
      [
        1,
        [
          ...[order(1, alice, 1_000), order(2, alice, 1_000), order(3, alice, 1_000), order(4, bob, 1_000)].map(
            (view) => ({ type: 'orderAccepted', order: view }),
          ),
          trade(bob, alice, 1_000),
          trade(carol, alice, 1_000),
          trade(bob, alice, 1_000),
        ],
      ],
      [
        2,
        [
          ...[order(5, bob, 2_000), order(6, alice, 2_000, 'BTC_USDC'), order(7, alice, 2_000)].map((view) => ({
            type: 'orderAccepted',
            order: view,
          })),
          { type: 'orderUpdated', order: { ...order(2, alice, 1_000), status: 'Cancelled' }, reason: undefined },
          trade(alice, alice, 2_000, 'BTC_USDC'),
        ],
      ],
      [3, [trade(alice, bob, 3_000)]],
    ];
    const lists = entries.map(([sequence, events]) => {
      const operations: BatchOperation[] = [];
      historyOperations(state, sequence, events as never, operations);
      return operations;
    });
    const accountKeys = (operations: BatchOperation[], space: number) =>
      operations.filter((operation) => operation.key[0] === space).map((o) => Buffer.from(o.key).toString('latin1'));
    // One fill record per account and entry, keyed by the entry's sequence; one order-ids record per account.
    expect(lists.map((operations) => accountKeys(operations, keyspaces.fillByAccount).length)).toEqual([3, 1, 2]);
    expect(accountKeys(lists[0]!, keyspaces.orderByAccount)).toEqual([
      `\x11${alice}\0\0\0\0\0\0\0\x01`,
      `\x11${bob}\0\0\0\0\0\0\0\x04`,
    ]);
    expect(accountKeys(lists[1]!, keyspaces.orderByAccount)).toEqual([
      `\x11${bob}\0\0\0\0\0\0\0\x05`,
      `\x11${alice}\0\0\0\0\0\0\0\x06`,
    ]);
    await writeBatch(db as unknown as LedgerDatabase, lists, { sync: false });
    const history = new LevelHistoryIndex(db as unknown as LedgerDatabase);
    const ids = (fills: FillRecord[]) => fills.map((fill) => `${fill.tradeId}${fill.isMaker ? 'm' : 't'}`);

    // Alice: trades 1 to 3 as taker (entry 1), 4 as maker and taker (a self-trade: the taker's fill first, as the
    // keys of formats 1 to 6 ordered them), 5 as maker.
    expect(ids(await history.fills(alice, {}))).toEqual(['5m', '4t', '4m', '3t', '2t', '1t']);
    expect(ids(await history.fills(alice, { offset: 2, limit: 2 }))).toEqual(['4m', '3t']);
    expect(ids(await history.fills(alice, { offset: 1, limit: 1 }))).toEqual(['4t']);
    expect(ids(await history.fills(alice, { market: 'SOL_USDC', offset: 1 }))).toEqual(['3t', '2t', '1t']);
    expect(ids(await history.fills(alice, { fromMs: 1_500, toMs: 2_500 }))).toEqual(['4t', '4m']);
    expect(ids(await history.fills(alice, { toMs: 1_000, limit: 2 }))).toEqual(['3t', '2t']);
    expect(ids(await history.fills(alice, { limit: 0 }))).toEqual([]);
    expect(ids(await history.fills(bob, {}))).toEqual(['5t', '3m', '1m']);
    expect(ids(await history.fills(carol, {}))).toEqual(['2m']);
    expect(await history.fills('Q'.repeat(43) + '=', {})).toEqual([]);
    const [fill] = await history.fills(carol, {});
    expect(fill).toStrictEqual({
      tradeId: 2,
      orderId: 102,
      market: 'SOL_USDC',
      side: 'Bid',
      priceTicks: 10_000n,
      quantitySteps: 2n,
      quoteUnits: 20_000n,
      feeUnits: 1n,
      feeAsset: 'SOL',
      isMaker: true,
      timeMs: 1_000,
    });

    // Orders by id, newest first, each at its latest status (order 2 cancelled by entry 2).
    const orderIds = (orders: OrderView[]) => orders.map((view) => `${view.orderId}${view.status[0]}`);
    expect(orderIds(await history.orders(alice, {}))).toEqual(['7N', '6N', '3N', '2C', '1N']);
    expect(orderIds(await history.orders(alice, { offset: 1, limit: 2 }))).toEqual(['6N', '3N']);
    expect(orderIds(await history.orders(alice, { market: 'SOL_USDC', offset: 1 }))).toEqual(['3N', '2C', '1N']);
    expect(orderIds(await history.orders(alice, { fromMs: 1_500 }))).toEqual(['7N', '6N']);
    expect(orderIds(await history.orders(alice, { toMs: 1_999, limit: 2 }))).toEqual(['3N', '2C']);
    expect(orderIds(await history.orders(bob, {}))).toEqual(['5N', '4N']);
    expect(await history.orders(carol, {})).toEqual([]);
    const [cancelled] = await history.orders(alice, { offset: 3, limit: 1 });
    expect(cancelled).toStrictEqual(withoutAbsent(storedOrder({ ...order(2, alice, 1_000), status: 'Cancelled' })));
    expect(await history.order(2)).toStrictEqual(cancelled);
    expect(await history.order(5)).toStrictEqual(withoutAbsent(storedOrder(order(5, bob, 2_000))));
    await db.close();
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

  test('storage format 8: the pointers come in runs of one account, of at most 255 orders', () => {
    const runs = (value: Uint8Array) => {
      const found: Array<[number, string]> = [];
      for (let offset = 8; offset < value.length; offset += 1 + 44 + value[offset]! * 8)
        found.push([value[offset]!, Buffer.from(value).toString('latin1', offset + 1, offset + 45)]);
      return found;
    };
    const mixed = [order(1, alice), order(2, alice), order(3, bob), order(4, alice)];
    const value = orderPointersValue(9, mixed);
    expect(runs(value)).toEqual([
      [2, alice],
      [1, bob],
      [1, alice],
    ]);
    expect(value.length).toBe(8 + 3 * 45 + 4 * 8);
    expect(mixed.map((view) => accountOfOrderPointer(value, view.orderId))).toEqual([alice, alice, bob, alice]);
    expect(accountOfOrderPointer(value, 5)).toBeUndefined();
    const many = Array.from({ length: 300 }, (_, index) => order(10 + index, bob));
    const long = orderPointersValue(9, many);
    expect(runs(long)).toEqual([
      [255, bob],
      [45, bob],
    ]);
    expect(accountOfOrderPointer(long, 309)).toBe(bob);
    expect(() => accountOfOrderPointer(long.subarray(0, long.length - 1), 1)).toThrow('not an order pointer record');
  });
});
