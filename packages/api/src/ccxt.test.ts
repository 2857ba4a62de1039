/**
 * End to end through ccxt 4.5.84's `backpack` class: two traders whose orders
 * cross on a real node (LevelDB in a temporary directory), deposits and
 * withdrawal settlements through the operator's transaction endpoint, and
 * balances that add up exactly, fees to the operator's fee account included.
 */
import ccxt from 'ccxt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deposit, operatorTransaction, startTestExchange, TestKey, units, type TestExchange } from './test-support.js';
import { type Backpack, backpackClient } from '../test/exchange-fixture.js';

/** The raw Backpack balances (exact strings) of a ccxt fetchBalance. */
async function rawBalances(
  trader: Backpack,
): Promise<Record<string, { available: string; locked: string; pendingWithdrawal: string }>> {
  // ccxt's implicit API method for GET /api/v1/capital (fetchBalance drops the raw strings).
  return (await (
    trader as unknown as { privateGetApiV1Capital(): Promise<unknown> }
  ).privateGetApiV1Capital()) as Record<string, { available: string; locked: string; pendingWithdrawal: string }>;
}

describe('ccxt backpack against the exchange', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  const makerKey = TestKey.random();
  const takerKey = TestKey.random();
  let maker: Backpack;
  let taker: Backpack;
  let operator: Backpack;

  beforeAll(async () => {
    exchange = await startTestExchange();
    maker = backpackClient(exchange, makerKey);
    taker = backpackClient(exchange, takerKey);
    operator = backpackClient(exchange, exchange.operatorKey);
    await deposit(exchange, makerKey.apiKey, 'SOL', '100');
    await deposit(exchange, makerKey.apiKey, 'USDC', '10000');
    await deposit(exchange, takerKey.apiKey, 'SOL', '50');
    await deposit(exchange, takerKey.apiKey, 'USDC', '20000');
  });

  afterAll(async () => {
    await exchange?.close();
  });

  it('loads markets with the listing filters', async () => {
    const markets = await maker.loadMarkets();
    const sol = markets['SOL/USDC']!;
    expect(sol.id).toBe('SOL_USDC');
    expect(sol.spot).toBe(true);
    expect(sol.active).toBe(true);
    expect(sol.precision).toEqual({ amount: 0.01, price: 0.01 });
    expect(sol.limits.amount).toEqual({ min: 0.01, max: 100000 });
    expect(sol.limits.price).toEqual({ min: 0.01, max: 1000000 });
    expect(markets['BTC/USDC']!.precision).toEqual({ amount: 0.00001, price: 0.1 });
    await Promise.all([taker.loadMarkets(), operator.loadMarkets()]);
    expect(maker.currencies['USDC']!.networks['SOL']!.id).toBe('Solana');
  });

  it('fetches balances credited by the operator', async () => {
    const balance = await maker.fetchBalance();
    expect(balance['SOL']).toMatchObject({ free: 100, used: 0, total: 100 });
    expect(balance['USDC']).toMatchObject({ free: 10000, used: 0, total: 10000 });
    expect(balance['BTC']).toMatchObject({ free: 0, used: 0, total: 0 });
  });

  let restingAskId = '';
  let restingBidId = '';

  it('crosses limit GTC / IOC / FOK, post-only and market orders', async () => {
    const ask = await maker.createOrder('SOL/USDC', 'limit', 'sell', 2, 100);
    restingAskId = ask.id!;
    expect(ask).toMatchObject({
      status: 'open',
      side: 'sell',
      type: 'limit',
      price: 100,
      amount: 2,
      filled: 0,
      timeInForce: 'GTC',
    });

    const book = await taker.fetchOrderBook('SOL/USDC');
    expect(book.asks).toEqual([[100, 2]]);
    expect(book.bids).toEqual([]);
    expect(typeof book.nonce).toBe('number');
    expect(Math.abs(book.timestamp! - Date.now())).toBeLessThan(10_000);

    const ioc = await taker.createOrder('SOL/USDC', 'limit', 'buy', 1, 101, { timeInForce: 'IOC' });
    expect(ioc).toMatchObject({ status: 'closed', filled: 1, cost: 100, timeInForce: 'IOC' });

    // A fill-or-kill that cannot fill in full is refused, not logged (docs/matching.md, 4.6); ccxt
    // maps the unknown code to its base ExchangeError.
    await expect(taker.createOrder('SOL/USDC', 'limit', 'buy', 5, 101, { timeInForce: 'FOK' })).rejects.toThrow(
      /ORDER_WOULD_NOT_FILL/,
    );

    const byAmount = await taker.createOrder('SOL/USDC', 'market', 'buy', 0.5);
    expect(byAmount).toMatchObject({ status: 'closed', type: 'market', filled: 0.5, cost: 50 });

    // ccxt's createMarketBuyOrderWithCost sends the cost as `quantity`; the cost param sends quoteQuantity.
    const byCost = await taker.createOrder('SOL/USDC', 'market', 'buy', 0, undefined, { cost: 25 });
    expect(byCost).toMatchObject({ status: 'closed', filled: 0.25, cost: 25 });
    expect(byCost.info.quoteQuantity).toBe('25');

    const postOnly = await maker.createOrder('SOL/USDC', 'limit', 'buy', 1, 99, { postOnly: true });
    restingBidId = postOnly.id!;
    expect(postOnly).toMatchObject({ status: 'open', postOnly: true });
    await expect(maker.createOrder('SOL/USDC', 'limit', 'sell', 0.5, 99, { postOnly: true })).rejects.toBeInstanceOf(
      ccxt.InvalidOrder,
    );

    const sell = await taker.createOrder('SOL/USDC', 'market', 'sell', 0.25);
    expect(sell).toMatchObject({ status: 'closed', side: 'sell', filled: 0.25, cost: 24.75 });

    const afterBook = await taker.fetchOrderBook('SOL/USDC');
    expect(afterBook.asks).toEqual([[100, 0.25]]);
    expect(afterBook.bids).toEqual([[99, 0.75]]);
    expect(afterBook.nonce!).toBeGreaterThan(book.nonce!);
  });

  it('places a batch with createOrders, one result per element', async () => {
    const orders = await taker.createOrders([
      { symbol: 'SOL/USDC', type: 'limit', side: 'buy', amount: 1, price: 98 },
      { symbol: 'SOL/USDC', type: 'limit', side: 'buy', amount: 50000, price: 1000 },
    ]);
    expect(orders).toHaveLength(2);
    expect(orders[0]).toMatchObject({ status: 'open', price: 98, amount: 1 });
    expect(orders[1]!.info).toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    expect(orders[1]!.id).toBeUndefined();
  });

  it('rejects with typed ccxt errors', async () => {
    await expect(taker.createOrder('SOL/USDC', 'limit', 'buy', 90000, 1000)).rejects.toBeInstanceOf(
      ccxt.InsufficientFunds,
    );
    await expect(taker.fetchOpenOrder('999999', 'SOL/USDC')).rejects.toThrow(/RESOURCE_NOT_FOUND/);
  });

  it('lists and fetches open orders', async () => {
    const open = await maker.fetchOpenOrders('SOL/USDC');
    expect(open.map((order) => order.id).sort()).toEqual([restingAskId, restingBidId].sort());
    const ask = open.find((order) => order.id === restingAskId)!;
    expect(ask).toMatchObject({ status: 'open', amount: 2, filled: 1.75, remaining: 0.25 });
    expect(ask.info.status).toBe('PartiallyFilled');
    const bid = await maker.fetchOpenOrder(restingBidId, 'SOL/USDC');
    expect(bid).toMatchObject({ id: restingBidId, status: 'open', filled: 0.25, price: 99 });
    expect(await maker.fetchOpenOrders()).toHaveLength(2);
  });

  it('cancels one order and all orders', async () => {
    const cancelled = await maker.cancelOrder(restingBidId, 'SOL/USDC');
    expect(cancelled).toMatchObject({ id: restingBidId, status: 'canceled', filled: 0.25 });
    await expect(maker.cancelOrder(restingBidId, 'SOL/USDC')).rejects.toThrow(/RESOURCE_NOT_FOUND/);
    const all = await taker.cancelAllOrders('SOL/USDC');
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ status: 'canceled', price: 98 });
    expect(await taker.fetchOpenOrders('SOL/USDC')).toEqual([]);
    // The maker's ask stays open (0.25 SOL locked).
    expect(await maker.fetchOpenOrders('SOL/USDC')).toHaveLength(1);
  });

  it('fetches public trades and each side’s fills with fees', async () => {
    const trades = await taker.fetchTrades('SOL/USDC');
    expect(trades.map((trade) => [trade.price, trade.amount, trade.side])).toEqual([
      [100, 1, 'buy'],
      [100, 0.5, 'buy'],
      [100, 0.25, 'buy'],
      [99, 0.25, 'sell'],
    ]);
    const takerFills = await taker.fetchMyTrades('SOL/USDC');
    expect(takerFills).toHaveLength(4);
    expect(takerFills.every((fill) => fill.takerOrMaker === 'taker')).toBe(true);
    const makerFills = await maker.fetchMyTrades('SOL/USDC');
    expect(makerFills).toHaveLength(4);
    expect(makerFills.every((fill) => fill.takerOrMaker === 'maker')).toBe(true);
    const byFee = (fills: typeof takerFills) =>
      fills.map((fill) => [fill.side, String(fill.info.fee), fill.fee?.currency]).sort();
    expect(byFee(takerFills)).toEqual(
      [
        ['buy', '0.0005', 'SOL'],
        ['buy', '0.00025', 'SOL'],
        ['buy', '0.000125', 'SOL'],
        ['sell', '0.012375', 'USDC'],
      ].sort(),
    );
    expect(byFee(makerFills)).toEqual(
      [
        ['sell', '0.02', 'USDC'],
        ['sell', '0.01', 'USDC'],
        ['sell', '0.005', 'USDC'],
        ['buy', '0.00005', 'SOL'],
      ].sort(),
    );
    // ISO timestamps without a zone, parsed by ccxt as UTC.
    expect(takerFills[0]!.info.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);
    expect(Math.abs(takerFills[0]!.timestamp! - Date.now())).toBeLessThan(60_000);
    expect(await taker.fetchMyTrades('SOL/USDC', undefined, 2)).toHaveLength(2);
  });

  let completedId = '';
  let failedId = '';

  it('withdraws (an address with spaces and slashes), settled by the operator', async () => {
    const address = 'bc1 my wallet/with spaces/and/slashes:+x';
    const completed = await taker.withdraw('USDC', 10, address, undefined, { network: 'SOL' });
    completedId = completed.id!;
    expect(completed).toMatchObject({
      status: 'pending',
      amount: 10,
      currency: 'USDC',
      addressTo: address,
      network: 'SOL',
    });
    const failed = await taker.withdraw('USDC', 5, 'another address', undefined, { network: 'SOL' });
    failedId = failed.id!;
    const balanceWhilePending = await rawBalances(taker);
    expect(balanceWhilePending['USDC']!.pendingWithdrawal).toBe('15');

    expect(
      (
        await operatorTransaction(exchange, 'withdrawalComplete', {
          withdrawalId: completedId,
          chainTransactionId: '5xSolanaSignature',
        })
      ).status,
    ).toBe(200);
    expect(
      (await operatorTransaction(exchange, 'withdrawalFail', { withdrawalId: failedId, reason: 'address rejected' }))
        .status,
    ).toBe(200);

    const withdrawals = await taker.fetchWithdrawals();
    expect(withdrawals.map((withdrawal) => [withdrawal.id, withdrawal.status, withdrawal.txid]).sort()).toEqual(
      [
        [completedId, 'ok', '5xSolanaSignature'],
        [failedId, 'failed', undefined],
      ].sort(),
    );
    await expect(taker.withdraw('USDC', 1_000_000, address, undefined, { network: 'SOL' })).rejects.toBeInstanceOf(
      ccxt.InsufficientFunds,
    );
  });

  it('fetches deposits', async () => {
    const deposits = await maker.fetchDeposits();
    expect(deposits.map((entry) => [entry.currency, entry.amount, entry.status, entry.network]).sort()).toEqual(
      [
        ['SOL', 100, 'ok', 'SOL'],
        ['USDC', 10000, 'ok', 'SOL'],
      ].sort(),
    );
    expect(await maker.fetchDeposits('USDC')).toHaveLength(1);
    expect(await taker.fetchDeposits(undefined, undefined, 1)).toHaveLength(1);
  });

  it('balances add up exactly, fees included', async () => {
    const makerBalance = await rawBalances(maker);
    const takerBalance = await rawBalances(taker);
    const feeBalance = await rawBalances(operator);
    expect(takerBalance['SOL']).toMatchObject({ available: '51.499125', locked: '0', pendingWithdrawal: '0' });
    expect(takerBalance['USDC']).toMatchObject({ available: '19839.737625', locked: '0', pendingWithdrawal: '0' });
    expect(makerBalance['SOL']).toMatchObject({ available: '98.24995', locked: '0.25', pendingWithdrawal: '0' });
    expect(makerBalance['USDC']).toMatchObject({ available: '10150.215', locked: '0', pendingWithdrawal: '0' });
    expect(feeBalance['SOL']).toMatchObject({ available: '0.000925', locked: '0' });
    expect(feeBalance['USDC']).toMatchObject({ available: '0.047375', locked: '0' });

    const decimals: Record<string, number> = { SOL: 9, USDC: 6, BTC: 8 };
    const held = (asset: string): bigint =>
      [makerBalance, takerBalance, feeBalance].reduce(
        (sum, balances) =>
          sum +
          units(balances[asset]!.available, decimals[asset]!) +
          units(balances[asset]!.locked, decimals[asset]!) +
          units(balances[asset]!.pendingWithdrawal, decimals[asset]!),
        0n,
      );
    expect(held('SOL')).toBe(units('150', 9));
    expect(held('USDC')).toBe(units('29990', 6)); // 30,000 deposited, 10 withdrawn
    expect(held('BTC')).toBe(0n);

    // ccxt's view agrees.
    const parsed = await maker.fetchBalance();
    expect(parsed['SOL']).toMatchObject({ free: 98.24995, used: 0.25, total: 98.49995 });
  });
});
