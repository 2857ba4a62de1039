/**
 * The perpetuals' per-account history over real HTTP against a real node:
 * two traders open opposite SOL_USDC_PERP positions through the book, a
 * funding boundary passes, and a trade closes both positions. Then
 * /wapi/v1/history/funding shows each one's payment, /wapi/v1/history/
 * settlement the USDC movements by source, /wapi/v1/history/position the
 * closed positions, all from the engine's events indexed by the ledger
 * (keyspaces 0x1a–0x1c); unmodified ccxt 4.5.84 parses fetchFundingHistory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backpackClient } from '../test/exchange-fixture.js';
import { demoMarginSettings } from './margin-config.js';
import { postIndexPrice } from './price-feed.js';
import { deposit, signedRequest, startTestExchange, TestKey, type TestExchange } from './test-support.js';

const hourMs = 3_600_000;
const symbol = 'SOL_USDC_PERP';

describe('perpetual funding, settlement and position history over HTTP', { timeout: 120_000 }, () => {
  let exchange: TestExchange;
  let offsetMs = 0;
  const clock = () => Date.now() + offsetMs;
  const long = TestKey.random();
  const short = TestKey.random();

  const order = async (key: TestKey, body: Record<string, string>) => {
    const answer = await signedRequest(exchange, key, 'POST', '/api/v1/order', 'orderExecute', {
      body: { symbol, quantity: '1', ...body },
      timestampMs: clock(),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  };
  const signed = async (key: TestKey, path: string, instruction: string, query: Record<string, string> = {}) => {
    const answer = await signedRequest(exchange, key, 'GET', path, instruction, { query, timestampMs: clock() });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as any[];
  };
  const post = async (price: string) => {
    const result = await postIndexPrice(exchange.node, exchange.operatorKey.seed, 'SOL', price, clock);
    expect(result.outcome.accepted).toBe(true);
  };

  beforeAll(async () => {
    exchange = await startTestExchange({ clock, config: demoMarginSettings(), attestEveryMs: 3_600_000 });
    await post('150');
    await deposit(exchange, long.apiKey, 'USDC', '10000');
    await deposit(exchange, short.apiKey, 'USDC', '10000');
    // Open: the long bids 1 SOL at 150, the short sells into it.
    await order(long, { side: 'Bid', orderType: 'Limit', price: '150' });
    await order(short, { side: 'Ask', orderType: 'Market' });
    // A funding boundary passes: the next entry settles the interval (no book: the interest floor, longs pay).
    offsetMs += hourMs;
    await post('150');
    // Close: the short bids 1 back at 150, the long sells into it; both positions close.
    await order(short, { side: 'Bid', orderType: 'Limit', price: '150' });
    await order(long, { side: 'Ask', orderType: 'Market' });
    expect(exchange.node.state.accounts.get(long.apiKey)!.positions.size).toBe(0);
  });

  afterAll(async () => {
    await exchange?.close();
  });

  it('serves each trader’s funding payment with the interval’s rate: the long pays, the short receives', async () => {
    // 1 SOL × 150 × 0.0000125 = 0.001875 USDC.
    const longPayments = await signed(long, '/wapi/v1/history/funding', 'fundingHistoryQueryAll', { symbol });
    expect(longPayments).toEqual([
      {
        userId: long.apiKey,
        symbol,
        quantity: '-0.001875',
        intervalEndTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:00:00$/),
        fundingRate: '0.0000125',
      },
    ]);
    const shortPayments = await signed(short, '/wapi/v1/history/funding', 'fundingHistoryQueryAll');
    expect(shortPayments).toEqual([{ ...longPayments[0], userId: short.apiKey, quantity: '0.001875' }]);
  });

  it('serves the settlements by source, newest first, and filters by source', async () => {
    const settlements = await signed(long, '/wapi/v1/history/settlement', 'settlementHistoryQueryAll');
    const sources = settlements.map((settlement: { source: string; quantity: string }) => [
      settlement.source,
      settlement.quantity,
    ]);
    // Closing (taker, 5 bps of 150 USDC) after the funding, then opening (maker, 2 bps of 150 USDC).
    expect(sources).toEqual([
      ['TradingFees', '-0.075'],
      ['FundingPayment', '-0.001875'],
      ['TradingFees', '-0.03'],
    ]);
    expect(settlements[0]).toEqual({
      quantity: '-0.075',
      source: 'TradingFees',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      userId: long.apiKey,
    });
    const funding = await signed(long, '/wapi/v1/history/settlement', 'settlementHistoryQueryAll', {
      source: 'FundingPayment',
    });
    expect(funding).toEqual([settlements[1]]);
  });

  it('serves the closed positions with their funding and realised PnL, and no open one', async () => {
    const positions = await signed(long, '/wapi/v1/history/position', 'positionHistoryQueryAll');
    expect(positions).toEqual([
      expect.objectContaining({
        symbol,
        state: 'Closed',
        netQuantity: '0',
        cumulativePnlRealized: '0',
        fundingQuantity: '-0.001875',
        closedAt: expect.any(String),
      }),
    ]);
    expect(await signed(long, '/wapi/v1/history/position', 'positionHistoryQueryAll', { state: 'Open' })).toEqual([]);
    const shortClosed = await signed(short, '/wapi/v1/history/position', 'positionHistoryQueryAll', {
      state: 'Closed',
      symbol,
    });
    expect(shortClosed).toEqual([expect.objectContaining({ fundingQuantity: '0.001875', state: 'Closed' })]);
  });

  it('ccxt parses the funding history', async () => {
    const client = backpackClient(exchange, long);
    client.options.timeDifference = -offsetMs;
    const history = await client.fetchFundingHistory('SOL/USDC:USDC');
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ symbol: 'SOL/USDC:USDC', amount: -0.001875, rate: 0.0000125 });
    expect(history[0]!.timestamp! % hourMs).toBe(0);
  });
});
