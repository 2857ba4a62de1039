/**
 * The borrow/lend history routes over real HTTP and a real node: a lend, a
 * borrow, a partial repayment thirty days later, a margin order that borrows
 * and one whose proceeds repay; the three history routes answer them in
 * Backpack's shapes with their paging and filters (docs/api.md, "Margin").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMarginSettings } from './margin-config.js';
import { operatorTransaction, signedRequest, startTestExchange, TestKey, type TestExchange } from './test-support.js';

const dayMs = 86_400_000;

describe('borrow/lend history routes', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  let now = 1_800_000_000_000;
  const bob = TestKey.random();
  const carol = TestKey.random();
  const dave = TestKey.random();

  const operator = async (instruction: string, params: Record<string, string>) => {
    now += 1;
    const { status, body } = await operatorTransaction(exchange, instruction, params, now);
    expect(status, JSON.stringify(body)).toBe(200);
  };
  const signed = async (key: TestKey, method: string, path: string, instruction: string, options: object = {}) => {
    now += 1;
    return signedRequest(exchange, key, method, path, instruction, { ...options, timestampMs: now });
  };
  const order = async (key: TestKey, side: string, flags: Record<string, boolean> = {}) => {
    const body = { orderType: 'Limit', price: '150', quantity: '2', side, symbol: 'SOL_USDC', ...flags };
    const answer = await signed(key, 'POST', '/api/v1/order', 'orderExecute', { body });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as { id: string };
  };
  const history = async (path: string, instruction: string, query: Record<string, string> = {}) => {
    const answer = await signed(bob, 'GET', path, instruction, { query });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as Array<Record<string, unknown>>;
  };
  const borrowLend = (query?: Record<string, string>) =>
    history('/wapi/v1/history/borrowLend', 'borrowHistoryQueryAll', query);

  beforeAll(async () => {
    exchange = await startTestExchange({ clock: () => now, config: demoMarginSettings() });
    await operator('indexPriceUpdate', { symbol: 'SOL', price: '150', publishedAtMs: String(now + 1) });
    const credits = [
      [carol, 'USDC', '20000'],
      [bob, 'SOL', '10'],
      [dave, 'SOL', '10'],
    ] as const;
    for (const [key, symbol, quantity] of credits) {
      await operator('depositCredit', {
        account: key.apiKey,
        symbol,
        quantity,
        blockchain: 'Solana',
        chainTransactionId: `history-${key.apiKey.slice(0, 6)}-${symbol}`,
      });
    }
    const lend = await signed(carol, 'POST', '/api/v1/borrowLend', 'borrowLendExecute', {
      body: { quantity: '10000', side: 'Lend', symbol: 'USDC' },
    });
    expect(lend.status, JSON.stringify(lend.body)).toBe(200);
    const borrow = await signed(bob, 'POST', '/api/v1/borrowLend', 'borrowLendExecute', {
      body: { quantity: '200', side: 'Borrow', symbol: 'USDC' },
    });
    expect(borrow.status, JSON.stringify(borrow.body)).toBe(200);
    now += 30 * dayMs;
    const repay = await signed(bob, 'POST', '/api/v1/borrowLend', 'borrowLendExecute', {
      body: { quantity: '50', side: 'Lend', symbol: 'USDC' },
    });
    expect(repay.status, JSON.stringify(repay.body)).toBe(200);
    // Bob buys 2 SOL for 300 USDC holding 150: the order borrows the rest; then sells them, repaying from the proceeds.
    await order(dave, 'Ask');
    await order(bob, 'Bid', { autoBorrow: true });
    await order(carol, 'Bid');
    await order(bob, 'Ask', { autoBorrowRepay: true });
  });

  afterAll(async () => {
    await exchange?.close();
  });

  it('lists every borrow, repayment, lend and redemption with its source, newest first', async () => {
    const records = await borrowLend();
    expect(records.map((record) => [record.eventType, record.source, record.quantity])).toEqual([
      // The sale's 300 USDC less the taker fee (5 bp).
      ['BorrowRepay', 'AutoBorrowRepay', '299.85'],
      ['Borrow', 'SpotMargin', '150'],
      ['BorrowRepay', 'Manual', '50'],
      ['Borrow', 'Manual', '200'],
    ]);
    const positionId = records[0]!.positionId;
    expect(records.every((record) => record.positionId === positionId)).toBe(true);
    expect(records[3]).toMatchObject({ positionQuantity: '-200', symbol: 'USDC' });
    expect(records[0]!.spotMarginOrderId).toMatch(/^[0-9]+$/);
    expect(records[3]!.spotMarginOrderId).toBeUndefined();
    expect(records[3]!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);

    expect(await borrowLend({ type: 'Borrow' })).toEqual([records[1], records[3]]);
    expect(await borrowLend({ sources: 'Manual,AutoBorrowRepay' })).toEqual([records[0], records[2], records[3]]);
    expect(await borrowLend({ limit: '2', offset: '1', sortDirection: 'Asc' })).toEqual([records[2], records[1]]);
    expect(await borrowLend({ symbol: 'SOL' })).toEqual([]);
    expect(await borrowLend({ positionId: '1' })).toEqual([]);
    const unknown = await signed(bob, 'GET', '/wapi/v1/history/borrowLend', 'borrowHistoryQueryAll', {
      query: { symbol: 'NOPE' },
    });
    expect(unknown).toMatchObject({ status: 400, body: { code: 'INVALID_ASSET' } });
  });

  it('counts interest at each change of the position', async () => {
    const interest = await history('/wapi/v1/history/interest', 'interestHistoryQueryAll', { asset: 'USDC' });
    const [first] = interest.slice(-1);
    expect(first).toMatchObject({ paymentType: 'Borrow', symbol: 'USDC', marketSymbol: 'USDC' });
    // 200 USDC for thirty days: some cents of interest at a yearly rate of a few per cent.
    expect(first!.interval).toBeGreaterThanOrEqual(30 * dayMs);
    expect(Number(first!.quantity)).toBeGreaterThan(0);
    expect(Number(first!.quantity)).toBeLessThan(5);
    expect(Number(first!.interestRate)).toBeGreaterThan(0);
    expect(Number(first!.interestRate)).toBeLessThan(1);
    expect(await history('/wapi/v1/history/interest', 'interestHistoryQueryAll', { source: 'UnrealizedPnl' })).toEqual(
      [],
    );
    expect(await history('/wapi/v1/history/interest', 'interestHistoryQueryAll', { symbol: 'SOL_USDC' })).toEqual([]);
  });

  it('keeps the position with its interest, open or closed', async () => {
    const positions = await history('/wapi/v1/history/borrowLend/positions', 'borrowPositionHistoryQueryAll');
    expect(positions).toHaveLength(1);
    const [position] = positions;
    expect(position).toMatchObject({ symbol: 'USDC', side: 'Borrow', state: 'Open', source: 'Manual' });
    const interest = await history('/wapi/v1/history/interest', 'interestHistoryQueryAll');
    const paid = interest.reduce((sum, record) => sum + Number(record.quantity), 0);
    expect(Number(position!.cumulativeInterest)).toBeCloseTo(paid, 6);
    // What is still owed: the borrows less the repayments, plus the interest; the same as the open positions route.
    expect(Number(position!.quantity)).toBeCloseTo(200 - 50 + 150 - 299.85 + paid, 4);
    const open = await signed(bob, 'GET', '/api/v1/borrowLend/positions', 'borrowLendPositionQuery');
    expect(open.body).toMatchObject([{ symbol: 'USDC', netQuantity: `-${position!.quantity}` }]);
    const closed = await history('/wapi/v1/history/borrowLend/positions', 'borrowPositionHistoryQueryAll', {
      state: 'Closed',
    });
    expect(closed).toEqual([]);
  });
});
