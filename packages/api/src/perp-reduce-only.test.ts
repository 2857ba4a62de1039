/**
 * Resting reduce-only orders over real HTTP against a real node
 * (docs/perps.md, section 4a; docs/api.md, the order object): the answer to
 * placing one, the open orders and the order history report
 * `reduceOnly: true` and the quantity cut to the position; when the
 * position closes the order expires; unmodified ccxt 4.5.84 parses the flag.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backpackClient } from '../test/exchange-fixture.js';
import { demoMarginSettings } from './margin-config.js';
import { postIndexPrice } from './price-feed.js';
import { deposit, signedRequest, startTestExchange, TestKey, type TestExchange } from './test-support.js';

const symbol = 'SOL_USDC_PERP';

describe('resting reduce-only orders over HTTP', { timeout: 120_000 }, () => {
  let exchange: TestExchange;
  const long = TestKey.random();
  const short = TestKey.random();
  let reduceOnlyId = '';

  const order = async (key: TestKey, body: Record<string, unknown>) => {
    const answer = await signedRequest(exchange, key, 'POST', '/api/v1/order', 'orderExecute', {
      body: { symbol, ...body },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as any;
  };
  const signed = async (key: TestKey, path: string, instruction: string, query: Record<string, string> = {}) => {
    const answer = await signedRequest(exchange, key, 'GET', path, instruction, { query });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as any[];
  };

  beforeAll(async () => {
    exchange = await startTestExchange({ config: demoMarginSettings(), attestEveryMs: 3_600_000 });
    const price = await postIndexPrice(exchange.node, exchange.operatorKey.seed, 'SOL', '150');
    expect(price.outcome.accepted).toBe(true);
    await deposit(exchange, long.apiKey, 'USDC', '10000');
    await deposit(exchange, short.apiKey, 'USDC', '10000');
    // The long buys 2 SOL from the short at 150.
    await order(long, { side: 'Bid', orderType: 'Limit', price: '150', quantity: '2' });
    await order(short, { side: 'Ask', orderType: 'Market', quantity: '2' });
    // A reduce-only ask of 5 rests, cut to the long's 2.
    const placed = await order(long, {
      side: 'Ask',
      orderType: 'Limit',
      price: '160',
      quantity: '5',
      reduceOnly: true,
    });
    expect(placed).toMatchObject({ status: 'New', reduceOnly: true, quantity: '2' });
    reduceOnlyId = placed.id;
  });

  afterAll(async () => {
    await exchange?.close();
  });

  it('lists the resting order with reduceOnly true, and ccxt parses it', async () => {
    const open = await signed(long, '/api/v1/orders', 'orderQueryAll', { symbol });
    expect(open).toEqual([expect.objectContaining({ id: reduceOnlyId, reduceOnly: true, quantity: '2' })]);
    const parsed = await backpackClient(exchange, long).fetchOpenOrders('SOL/USDC:USDC');
    expect(parsed.map((each) => [each.id, each.reduceOnly, each.amount])).toEqual([[reduceOnlyId, true, 2]]);
  });

  it('expires the order when the position closes, and the history keeps the flag', async () => {
    // The long sells its 2 at the market into the short's bid: flat, so the reduce-only ask expires.
    await order(short, { side: 'Bid', orderType: 'Limit', price: '150', quantity: '2' });
    await order(long, { side: 'Ask', orderType: 'Market', quantity: '2' });
    expect(await signed(long, '/api/v1/orders', 'orderQueryAll', { symbol })).toEqual([]);
    const history = await signed(long, '/wapi/v1/history/orders', 'orderHistoryQueryAll', { symbol });
    const record = history.find((each: { id: string }) => each.id === reduceOnlyId);
    expect(record).toMatchObject({ status: 'Expired', reduceOnly: true, quantity: '2' });
    const plain = history.filter((each: { id: string }) => each.id !== reduceOnlyId);
    expect(plain.map((each: { reduceOnly: boolean }) => each.reduceOnly)).toEqual([false, false]);
  });
});
