/**
 * Trigger orders end to end through ccxt 4.5.84's unchanged `backpack` class:
 * createTriggerOrder (stop-market and stop-limit), createOrderWithTakeProfitAndStopLoss,
 * listing and cancelling pending trigger orders, and a stop that fires when a
 * trade reaches its trigger price (docs/matching.md, section 8).
 */
import { stateHashHex } from '@vex/engine';
import { replayLog } from '@vex/replayer';
import ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';
import { type Backpack, backpackClient, useFundedExchange } from '../test/exchange-fixture.js';
import { TestKey, type TestExchange } from './test-support.js';

describe('ccxt trigger orders against the exchange', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  const makerKey = TestKey.random();
  const takerKey = TestKey.random();
  let maker: Backpack;
  let taker: Backpack;

  useFundedExchange(
    async (started) => {
      exchange = started;
      maker = backpackClient(exchange, makerKey);
      taker = backpackClient(exchange, takerKey);
      await Promise.all([maker.loadMarkets(), taker.loadMarkets()]);
    },
    [
      [makerKey, 'SOL', '100'],
      [makerKey, 'USDC', '10000'],
      [takerKey, 'SOL', '50'],
      [takerKey, 'USDC', '10000'],
    ],
    // No idle attestations: their records would land between the export and the comparison with the node's state.
    { attestEveryMs: 3_600_000 },
  );

  it('refuses a trigger order before the market has a last price', async () => {
    await expect(taker.createTriggerOrder('SOL/USDC', 'market', 'sell', 0.5, undefined, 99)).rejects.toBeInstanceOf(
      ccxt.InvalidOrder,
    );
  });

  let stopId = '';

  it('places stop-market and stop-limit orders pending, lists them as open, and cancels them', async () => {
    // The first trade sets the last price: 100.
    await maker.createOrder('SOL/USDC', 'limit', 'sell', 1, 100);
    await taker.createOrder('SOL/USDC', 'limit', 'buy', 1, 100);

    const stop = await taker.createTriggerOrder('SOL/USDC', 'market', 'sell', 0.5, undefined, 99);
    stopId = stop.id!;
    expect(stop).toMatchObject({
      status: 'open',
      type: 'market',
      side: 'sell',
      amount: 0.5,
      triggerPrice: 99,
      filled: 0,
    });
    expect(stop.info).toMatchObject({
      status: 'TriggerPending',
      triggerPrice: '99',
      triggerQuantity: '0.5',
      quantity: null,
      triggerBy: 'LastPrice',
    });

    const stopLimit = await taker.createTriggerOrder('SOL/USDC', 'limit', 'buy', 0.5, 101.5, 101);
    expect(stopLimit).toMatchObject({
      status: 'open',
      type: 'limit',
      side: 'buy',
      price: 101.5,
      amount: 0.5,
      triggerPrice: 101,
    });

    const open = await taker.fetchOpenOrders('SOL/USDC');
    expect(open.map((order) => [order.id, order.info.status])).toEqual([
      [stopId, 'TriggerPending'],
      [stopLimit.id, 'TriggerPending'],
    ]);
    // Nothing is reserved while they wait.
    const balance = await taker.fetchBalance();
    expect(balance['USDC']!.used).toBe(0);
    expect(balance['SOL']!.used).toBe(0);

    const cancelled = await taker.cancelOrder(stopLimit.id!, 'SOL/USDC');
    expect(cancelled).toMatchObject({ id: stopLimit.id, status: 'canceled' });
    expect((await taker.fetchOpenOrders('SOL/USDC')).map((order) => order.id)).toEqual([stopId]);
  });

  it('fires the stop when a trade reaches its trigger price', async () => {
    await maker.createOrder('SOL/USDC', 'limit', 'buy', 2, 98.5);
    // A trade at 99 (worth 1.98 USDC, above the 1 USDC minimum) reaches the stop's trigger.
    await maker.createOrder('SOL/USDC', 'limit', 'sell', 0.02, 99);
    await taker.createOrder('SOL/USDC', 'limit', 'buy', 0.02, 99);
    expect((await taker.fetchOpenOrders('SOL/USDC')).map((order) => order.id)).toEqual([]);
    const trades = await taker.fetchMyTrades('SOL/USDC');
    expect(trades.filter((trade) => trade.order === stopId)).toMatchObject([
      { side: 'sell', price: 98.5, amount: 0.5 },
    ]);
    const book = await taker.fetchOrderBook('SOL/USDC');
    expect(book.bids).toEqual([[98.5, 1.5]]);
  });

  it('places an order with a take-profit and a stop-loss through createOrderWithTakeProfitAndStopLoss', async () => {
    const order = await taker.createOrderWithTakeProfitAndStopLoss('SOL/USDC', 'limit', 'buy', 0.5, 98, 105, 95);
    expect(order).toMatchObject({
      status: 'open',
      side: 'buy',
      price: 98,
      amount: 0.5,
      takeProfitPrice: 105,
      stopLossPrice: 95,
    });
    expect(order.info).toMatchObject({
      takeProfitTriggerPrice: '105',
      stopLossTriggerPrice: '95',
      takeProfitLimitPrice: null,
      stopLossLimitPrice: null,
    });

    const open = await taker.fetchOpenOrders('SOL/USDC');
    expect(open.map((entry) => [entry.side, entry.info.status, entry.triggerPrice ?? null])).toEqual([
      ['buy', 'New', null],
      ['sell', 'TriggerPending', 105],
      ['sell', 'TriggerPending', 95],
    ]);
    const cancelled = await taker.cancelAllOrders('SOL/USDC');
    expect(cancelled.map((entry) => entry.status)).toEqual(['canceled', 'canceled', 'canceled']);
  });

  it('takes limit prices for the take-profit and stop-loss', async () => {
    const order = await taker.createOrderWithTakeProfitAndStopLoss('SOL/USDC', 'limit', 'buy', 0.5, 98, 105, 95, {
      takeProfitLimitPrice: 104.5,
      stopLossLimitPrice: 94.5,
    });
    expect(order.info).toMatchObject({
      takeProfitTriggerPrice: '105',
      takeProfitLimitPrice: '104.5',
      stopLossTriggerPrice: '95',
      stopLossLimitPrice: '94.5',
    });
    await taker.cancelAllOrders('SOL/USDC');
  });

  it('the exported log replays to the same state, fired triggers included', async () => {
    const log = new Uint8Array(await (await fetch(`${exchange.baseUrl}/api/v1/log?from=1`)).arrayBuffer());
    const report = await replayLog({ log, logDescription: 'GET /api/v1/log?from=1', workers: 1 });
    if (!report.verified) throw new Error(`the replay diverged: ${JSON.stringify(report.divergence)}`);
    expect(report.entriesApplied).toBe(exchange.node.head().sequence);
    expect(report.stateHash).toBe(stateHashHex(exchange.node.state));
  });
});
