/**
 * The built-in keeper liquidates perpetual positions over a real node and
 * HTTP (docs/perps.md, "Liquidation and ADL"): a trader opens a long, the
 * price falls, and the keeper's `liquidate` steps close the long through the
 * book (LiquidatePositionOnBook) and then off the book; the fills history
 * reports the system order types and filters by fill type, and the ADL rank
 * route ranks the remaining positions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keeper } from './keeper.js';
import { demoMarginSettings } from './margin-config.js';
import { postIndexPrice } from './price-feed.js';
import { deposit, signedRequest, startTestExchange, TestKey, type TestExchange } from './test-support.js';

const symbol = 'SOL_USDC_PERP';

describe('the keeper liquidates perpetual positions', { timeout: 120_000 }, () => {
  let exchange: TestExchange;
  let keeper: Keeper;
  const long = TestKey.random();
  const short = TestKey.random();
  const bidder = TestKey.random();
  const keeperKey = TestKey.random();

  const order = async (key: TestKey, body: Record<string, string>) => {
    const answer = await signedRequest(exchange, key, 'POST', '/api/v1/order', 'orderExecute', {
      body: { symbol, ...body },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  };
  const fills = async (key: TestKey, query: Record<string, string> = {}) => {
    const answer = await signedRequest(exchange, key, 'GET', '/wapi/v1/history/fills', 'fillHistoryQueryAll', {
      query,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as Array<Record<string, unknown>>;
  };

  beforeAll(async () => {
    exchange = await startTestExchange({ config: demoMarginSettings() });
    keeper = new Keeper({ node: exchange.node, seed: keeperKey.seed }).start();
    expect((await postIndexPrice(exchange.node, exchange.operatorKey.seed, 'SOL', '150')).outcome.accepted).toBe(true);
    await deposit(exchange, long.apiKey, 'USDC', '100');
    await deposit(exchange, short.apiKey, 'USDC', '10000');
    await deposit(exchange, bidder.apiKey, 'USDC', '10000');
    await order(short, { side: 'Ask', orderType: 'Limit', price: '150', quantity: '20' });
    await order(long, { side: 'Bid', orderType: 'Market', quantity: '20' });
    await order(bidder, { side: 'Bid', orderType: 'Limit', price: '146', quantity: '5' });
  });

  afterAll(async () => {
    await keeper?.stop();
    await exchange?.close();
  });

  it('ranks the positions for auto-deleveraging', async () => {
    const answer = await signedRequest(exchange, short, 'GET', '/api/v1/position/adlRank', 'adlRankQuery', {
      query: { symbol },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body).toEqual([
      expect.objectContaining({ symbol, side: 'Short', netQuantity: '-20', adlRank: 1, positionsOnSide: 1 }),
    ]);
    const unknown = await signedRequest(exchange, short, 'GET', '/api/v1/position/adlRank', 'adlRankQuery', {
      query: { symbol: 'NOPE_USDC' },
    });
    expect(unknown.status).toBe(400);
  });

  it('closes the long through the book, then by the coverage pool, once the price falls', async () => {
    const state = exchange.node.state;
    const account = state.accounts.get(long.apiKey)!;
    expect(account.positions.size).toBe(1);
    const posted = await postIndexPrice(exchange.node, exchange.operatorKey.seed, 'SOL', '146.5');
    expect(posted.outcome.accepted).toBe(true);
    await keeper.requestSweep();
    // Two book steps (each bounded by its budget) sell the bidder's 5 at 146; the book is then empty and the
    // coverage pool's account takes the other 15 at the bankruptcy price.
    expect(keeper.submitted.filter((record) => record.account === long.apiKey)).toEqual([
      { account: long.apiKey, accepted: true },
      { account: long.apiKey, accepted: true },
      { account: long.apiKey, accepted: true },
    ]);
    expect(account.positions.size).toBe(0);
    const all = await fills(long);
    expect(all.map((fill) => [fill.systemOrderType, fill.quantity, fill.side])).toEqual([
      ['LiquidatePositionOnBackstop', '15', 'Ask'],
      ['LiquidatePositionOnBook', '1', 'Ask'],
      ['LiquidatePositionOnBook', '4', 'Ask'],
      [undefined, '20', 'Bid'],
    ]);
    expect(all[0]).toMatchObject({ orderId: '0', fee: '0', feeSymbol: 'USDC', isMaker: false });
    // A perpetual's fee is in USDC: 5 bps of 3000.
    expect(all[3]).toMatchObject({ fee: '1.5', feeSymbol: 'USDC' });
    expect((await fills(long, { fillType: 'BookLiquidation' })).map((fill) => fill.quantity)).toEqual(['1', '4']);
    expect((await fills(long, { fillType: 'Backstop' })).map((fill) => fill.quantity)).toEqual(['15']);
    expect((await fills(long, { fillType: 'Liquidation' })).length).toBe(3);
    expect((await fills(long, { fillType: 'User' })).map((fill) => fill.quantity)).toEqual(['20']);
    expect(await fills(long, { fillType: 'Adl' })).toEqual([]);
    expect(await fills(long, { fillType: 'CollateralConversion' })).toEqual([]);
    // The bidder's maker fills are ordinary ones.
    expect((await fills(bidder)).every((fill) => fill.systemOrderType === undefined)).toBe(true);
    // The coverage pool's account holds the long; it is never a candidate.
    const candidates = await fetch(`${exchange.baseUrl}/api/v1/liquidations/candidates`);
    expect(await candidates.json()).toEqual([]);
  });
});
