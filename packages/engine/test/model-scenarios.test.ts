/**
 * Hand-written model scenarios: each runs through the same harness as the
 * random sequences (so the reference model is checked too) and asserts the
 * values the specification (docs/matching.md) gives.
 */
import { describe, expect, it } from 'vitest';
import {
  type ApplyOutcome,
  balancesOf,
  depthOf,
  type Instruction,
  openOrder,
  openOrdersOf,
  type OrderRequest,
} from '../src/index.js';
import { type MarketConfig, marketPool } from './model-arbitraries.js';
import { canon, engineTrades, OPERATOR, SEPARATE_FEE, STRANGER } from './model-compare.js';
import { singleOrder } from './support-orders.js';
import { ALICE, BOB, balance, codes, ETH_USDC, exampleHarness, limit, orderOf, SOL_USDC } from './model-examples.js';
import { Harness } from './model-harness.js';

describe('hand-written scenarios', () => {
  it('self-trade prevention RejectTaker cancels the taker and leaves the maker', () => {
    const h = exampleHarness();
    const maker = orderOf(h.step(ALICE, limit('Ask', '100', '1')));
    const outcome = h.step(ALICE, limit('Bid', '100', '2', { selfTradePrevention: 'RejectTaker' }));
    const taker = orderOf(outcome);
    expect(taker.status).toBe('Cancelled');
    expect(taker.executedSteps).toBe(0n);
    expect(engineTrades(outcome)).toEqual([]);
    expect(openOrdersOf(h.state, ALICE).map((order) => order.orderId)).toEqual([maker.orderId]);
    expect(balance(h, ALICE, 'USDC').locked).toBe(0n);
  });

  it('self-trade prevention RejectMaker cancels own makers and keeps matching', () => {
    const h = exampleHarness();
    const own = orderOf(h.step(ALICE, limit('Ask', '100', '1')));
    const other = orderOf(h.step(BOB, limit('Ask', '100', '1')));
    const outcome = h.step(ALICE, limit('Bid', '100', '2', { selfTradePrevention: 'RejectMaker' }));
    const taker = orderOf(outcome);
    const trades = engineTrades(outcome);
    expect(trades.map((trade) => trade.makerOrderId)).toEqual([other.orderId]);
    expect(taker.status).toBe('PartiallyFilled');
    expect(taker.executedSteps).toBe(100n);
    // Alice's own ask is gone and its SOL unlocked; her bid rests for the remaining 1 SOL at 100.
    expect(openOrdersOf(h.state, ALICE).map((order) => order.orderId)).toEqual([taker.orderId]);
    expect(balance(h, ALICE, 'SOL')).toMatchObject({ available: 1001_000_000_000n, locked: 0n });
    expect(balance(h, ALICE, 'USDC').locked).toBe(100_000_000n);
    expect(openOrdersOf(h.state, ALICE).map((order) => order.orderId)).not.toContain(own.orderId);
  });

  it('self-trade prevention RejectBoth cancels the maker and the taker', () => {
    const h = exampleHarness();
    h.step(ALICE, limit('Ask', '100', '1'));
    const outcome = h.step(ALICE, limit('Bid', '100.1', '2', { selfTradePrevention: 'RejectBoth' }));
    expect(orderOf(outcome).status).toBe('Cancelled');
    expect(engineTrades(outcome)).toEqual([]);
    expect(openOrdersOf(h.state, ALICE)).toEqual([]);
    expect(balance(h, ALICE, 'SOL')).toMatchObject({ available: 1000_000_000_000n, locked: 0n });
    expect(balance(h, ALICE, 'USDC')).toMatchObject({ available: 10_000_000_000_000n, locked: 0n });
  });

  it('self-trade prevention Allow trades with oneself and still charges fees', () => {
    const h = exampleHarness(SOL_USDC, { makerFeeBps: 10, takerFeeBps: 20 });
    h.step(ALICE, limit('Ask', '100', '1'));
    const outcome = h.step(ALICE, limit('Bid', '100', '1', { selfTradePrevention: 'Allow' }));
    const [trade] = engineTrades(outcome);
    expect(orderOf(outcome).status).toBe('Filled');
    // Buyer (taker) pays 20 bps of 1 SOL in SOL; seller (maker) 10 bps of 100 USDC in USDC.
    expect(trade).toMatchObject({ takerFeeUnits: 2_000_000n, makerFeeUnits: 100_000n, quoteUnits: 100_000_000n });
    expect(balance(h, SEPARATE_FEE, 'SOL').available).toBe(2_000_000n);
    expect(balance(h, SEPARATE_FEE, 'USDC').available).toBe(100_000n);
  });

  it('fill-or-kill that cannot fill in full is refused without side effects or an id', () => {
    const h = exampleHarness();
    h.step(BOB, limit('Ask', '100', '1'));
    h.step(BOB, limit('Ask', '100.1', '0.5'));
    const before = canon([balancesOf(h.state, ALICE), balancesOf(h.state, BOB), depthOf(h.state.markets[0]!, 10)]);
    const outcome = h.step(ALICE, limit('Bid', '100.1', '2', { timeInForce: 'FOK' }));
    expect(codes(outcome)).toBe('ORDER_WOULD_NOT_FILL');
    expect(canon([balancesOf(h.state, ALICE), balancesOf(h.state, BOB), depthOf(h.state.markets[0]!, 10)])).toBe(
      before,
    );
    // No id was consumed.
    expect(orderOf(h.step(BOB, limit('Ask', '100.2', '1'))).orderId).toBe(3);
  });

  it('fill-or-kill fills across levels when the book is deep enough', () => {
    const h = exampleHarness();
    const first = orderOf(h.step(BOB, limit('Ask', '100', '1')));
    const second = orderOf(h.step(BOB, limit('Ask', '100.1', '0.5')));
    const outcome = h.step(ALICE, limit('Bid', '100.2', '1.5', { timeInForce: 'FOK' }));
    expect(orderOf(outcome)).toMatchObject({ status: 'Filled', executedSteps: 150n, executedQuoteUnits: 150_050_000n });
    expect(engineTrades(outcome).map((trade) => [trade.makerOrderId, trade.priceTicks, trade.quantitySteps])).toEqual([
      [first.orderId, 10_000n, 100n],
      [second.orderId, 10_010n, 50n],
    ]);
    // Bought below the limit: the difference went back to available, nothing stays locked.
    expect(balance(h, ALICE, 'USDC')).toMatchObject({ available: 10_000_000_000_000n - 150_050_000n, locked: 0n });
  });

  it('market buy by quote quantity spends at most its budget, walking the book', () => {
    const h = exampleHarness();
    h.step(BOB, limit('Ask', '100', '0.5'));
    h.step(BOB, limit('Ask', '100.2', '2'));
    const outcome = h.step(ALICE, singleOrder({ side: 'Bid', orderType: 'Market', quoteQuantity: '100.5' }));
    // 0.5 SOL at 100 = 50 USDC, then floor(50.5 / 1.002) = 50 steps at 100.2 = 50.1 USDC; 0.4 USDC unspent.
    expect(orderOf(outcome)).toMatchObject({ status: 'Filled', executedSteps: 100n, executedQuoteUnits: 100_100_000n });
    expect(engineTrades(outcome).map((trade) => trade.quantitySteps)).toEqual([50n, 50n]);
    expect(balance(h, ALICE, 'USDC').available).toBe(10_000_000_000_000n - 100_100_000n);
    expect(balance(h, ALICE, 'SOL').available).toBe(1001_000_000_000n);
  });

  it('market buy by quote quantity on an empty book is refused', () => {
    const h = exampleHarness();
    const outcome = h.step(
      ALICE,
      singleOrder({ side: 'Bid', orderType: 'Market', quoteQuantity: '10', timeInForce: 'IOC' }),
    );
    expect(codes(outcome)).toBe('ORDER_WOULD_NOT_FILL');
  });

  // The next three pin the specification's literal order of a quote-sized walk: find the next
  // maker, apply self-trade prevention, then size the fill (a zero size stops it for budget).
  const marketByQuote = (
    side: 'Bid' | 'Ask',
    quoteQuantity: string,
    selfTradePrevention: OrderRequest['selfTradePrevention'],
  ): Instruction => singleOrder({ side, orderType: 'Market', quoteQuantity, timeInForce: 'IOC', selfTradePrevention });

  it('a quote-sized order that spends its whole budget is Filled, even as the book runs out', () => {
    const h = exampleHarness();
    h.step(BOB, limit('Ask', '100', '1'));
    expect(orderOf(h.step(ALICE, marketByQuote('Bid', '100', 'RejectTaker')))).toMatchObject({
      status: 'Filled',
      executedSteps: 100n,
    });
    const h2 = exampleHarness();
    h2.step(BOB, limit('Ask', '100', '1'));
    h2.step(BOB, limit('Ask', '100.1', '1'));
    expect(orderOf(h2.step(ALICE, marketByQuote('Bid', '100', 'RejectTaker')))).toMatchObject({
      status: 'Filled',
      executedSteps: 100n,
    });
  });

  it('a quote-sized order with its budget spent leaves an own maker alone under RejectMaker', () => {
    const h = exampleHarness();
    h.step(BOB, limit('Ask', '100', '1'));
    const own = orderOf(h.step(ALICE, limit('Ask', '100.1', '1')));
    h.step(BOB, limit('Ask', '100.2', '1'));
    const outcome = h.step(ALICE, marketByQuote('Bid', '100', 'RejectMaker'));
    expect(orderOf(outcome)).toMatchObject({ status: 'Filled', executedSteps: 100n });
    expect(openOrdersOf(h.state, ALICE).map((order) => order.orderId)).toContain(own.orderId);
  });

  it('an order that cannot rest and would execute nothing is refused, whatever stops it', () => {
    const h = exampleHarness();
    const own = orderOf(h.step(ALICE, limit('Ask', '100', '1')));
    // Self-trade prevention stops it at once (and RejectBoth cancels nothing, since nothing is accepted).
    expect(codes(h.step(ALICE, marketByQuote('Bid', '50', 'RejectTaker')))).toBe('ORDER_WOULD_NOT_FILL');
    expect(
      codes(h.step(ALICE, limit('Bid', '100', '1', { timeInForce: 'IOC', selfTradePrevention: 'RejectBoth' }))),
    ).toBe('ORDER_WOULD_NOT_FILL');
    expect(openOrdersOf(h.state, ALICE).map((order) => order.orderId)).toEqual([own.orderId]);
    // A budget too small for one step, and an IOC limit that does not cross.
    h.step(BOB, limit('Ask', '100', '1'));
    expect(codes(h.step(BOB, marketByQuote('Bid', '0.5', 'RejectMaker')))).toBe('ORDER_WOULD_NOT_FILL');
    expect(codes(h.step(BOB, limit('Bid', '99.99', '1', { timeInForce: 'IOC' })))).toBe('ORDER_WOULD_NOT_FILL');
    // A GTC limit order may still rest, and under RejectTaker it is Cancelled as before.
    expect(orderOf(h.step(ALICE, limit('Bid', '100', '1'))).status).toBe('Cancelled');
  });

  it('a market sell by quote quantity needs only the base its walk will sell', () => {
    // BTC_USDC: a step is 0.001 BTC (100000 units); qpst = 500, so a step at 60000.5 costs 60.0005 USDC.
    const BTC_USDC: MarketConfig = {
      ...marketPool.find((market) => market.symbol === 'BTC_USDC')!,
      minQuantitySteps: 1n,
    };
    const h = new Harness({
      feeAccount: SEPARATE_FEE,
      traders: [ALICE, BOB],
      markets: [BTC_USDC],
      fees: [{ makerFeeBps: 0, takerFeeBps: 0 }],
    });
    h.step(OPERATOR, {
      kind: 'depositCredit',
      account: BOB,
      symbol: 'USDC',
      quantity: '1000',
      blockchain: 'b',
      chainTransactionId: '1',
    });
    h.step(OPERATOR, {
      kind: 'depositCredit',
      account: ALICE,
      symbol: 'BTC',
      quantity: '0.00105',
      blockchain: 'b',
      chainTransactionId: '2',
    });
    const bid = (price: string): Instruction =>
      singleOrder({ symbol: 'BTC_USDC', side: 'Bid', orderType: 'Limit', price, quantity: '0.002' });
    h.step(BOB, bid('60000.5'));
    h.step(BOB, bid('59999.5'));
    // Budget 120 USDC: one step at 60000.5 (60.0005), then 59.9995 left buys nothing more at that
    // maker, so the walk stops for budget having sold 0.001 BTC. Alice holds 0.00105 BTC: enough.
    const outcome = h.step(
      ALICE,
      singleOrder({ symbol: 'BTC_USDC', side: 'Ask', orderType: 'Market', quoteQuantity: '120', timeInForce: 'IOC' }),
    );
    expect(orderOf(outcome)).toMatchObject({ status: 'Filled', executedSteps: 1n, executedQuoteUnits: 60_000_500n });
  });

  it('fees round up to the next unit on each side', () => {
    // ETH_USDC: a step is 1 ETH unit and a step at a tick is 1 USDC unit.
    const h = exampleHarness(ETH_USDC, { makerFeeBps: 7, takerFeeBps: 30 });
    h.step(
      BOB,
      singleOrder({ symbol: 'ETH_USDC', side: 'Bid', orderType: 'Limit', price: '3000.01', quantity: '0.0003' }),
    );
    const outcome = h.step(
      ALICE,
      singleOrder({
        symbol: 'ETH_USDC',
        side: 'Ask',
        orderType: 'Limit',
        price: '3000',
        quantity: '0.0003',
        timeInForce: 'IOC',
      }),
    );
    const [trade] = engineTrades(outcome);
    // Notional 3 steps × 300001 ticks × 1 = 900003 quote units. The taker sells: ceil(900003 × 30 / 10000) = 2701.
    // The maker buys 3 base units: ceil(3 × 7 / 10000) = 1.
    expect(trade).toMatchObject({
      priceTicks: 300_001n,
      quantitySteps: 3n,
      quoteUnits: 900_003n,
      takerFeeUnits: 2_701n,
      makerFeeUnits: 1n,
    });
    expect(balance(h, SEPARATE_FEE, 'USDC').available).toBe(2_701n);
    expect(balance(h, SEPARATE_FEE, 'ETH').available).toBe(1n);
  });

  it('rejects over-precise and out-of-range values without consuming an order id', () => {
    const h = exampleHarness();
    const codes = (outcome: ApplyOutcome) => (outcome.accepted ? 'accepted' : outcome.rejection.code);
    expect(codes(h.step(ALICE, limit('Bid', '100.001', '1')))).toBe('INVALID_PRICE');
    expect(codes(h.step(ALICE, limit('Bid', '200', '1')))).toBe('INVALID_PRICE');
    expect(codes(h.step(ALICE, limit('Bid', '100', '0.001')))).toBe('INVALID_QUANTITY');
    expect(codes(h.step(ALICE, limit('Bid', '100', '10.01')))).toBe('INVALID_QUANTITY');
    expect(codes(h.step(STRANGER, limit('Bid', '100', '1')))).toBe('INSUFFICIENT_FUNDS');
    expect(orderOf(h.step(ALICE, limit('Bid', '100.00', '1.0'))).orderId).toBe(1);
  });

  // Section 4.6: order limits. SOL_USDC's mid is 100 USDC, so a step (0.01 SOL) there is worth 1 USDC.
  it('refuses a resting order beyond the open-order limit, but not orders that cannot rest', () => {
    const h = exampleHarness(SOL_USDC, undefined, { maxOpenOrders: 2 });
    h.step(ALICE, limit('Bid', '99.9', '1'));
    h.step(ALICE, limit('Bid', '99.91', '1'));
    expect(codes(h.step(ALICE, limit('Bid', '99.92', '1')))).toBe('ORDER_LIMIT');
    // Bob's account has room; Alice's IOC is not counted against her limit.
    h.step(BOB, limit('Ask', '100', '1'));
    expect(orderOf(h.step(ALICE, limit('Bid', '100', '0.5', { timeInForce: 'IOC' }))).status).toBe('Filled');
    // A cancel makes room again.
    h.step(ALICE, { kind: 'orderCancel', symbol: 'SOL_USDC', orderId: 1 });
    expect(orderOf(h.step(ALICE, limit('Bid', '99.92', '1'))).status).toBe('New');
  });

  it('refuses orders whose value is below the minimum order value', () => {
    const h = exampleHarness(SOL_USDC, undefined, { minOrderValueSteps: 5 });
    // 0.04 SOL at 100 is 4 USDC; 0.05 SOL is exactly the 5 USDC minimum.
    expect(codes(h.step(ALICE, limit('Bid', '100', '0.04')))).toBe('ORDER_VALUE_TOO_SMALL');
    expect(orderOf(h.step(BOB, limit('Ask', '100', '0.05'))).status).toBe('New');
    // A market order sized by quantity is valued by what its walk would trade: 0.04 SOL at 100.
    expect(
      codes(h.step(ALICE, singleOrder({ side: 'Bid', orderType: 'Market', quantity: '0.04', timeInForce: 'IOC' }))),
    ).toBe('ORDER_VALUE_TOO_SMALL');
    // Sized by quote quantity, by its budget.
    expect(codes(h.step(ALICE, marketByQuote('Bid', '4.99', 'RejectTaker')))).toBe('ORDER_VALUE_TOO_SMALL');
    expect(orderOf(h.step(ALICE, marketByQuote('Bid', '5', 'RejectTaker'))).status).toBe('Filled');
  });

  it('stops a taker after the maker limit; a GTC remainder expires rather than rest crossed', () => {
    const h = exampleHarness(SOL_USDC, undefined, { maxMakersPerOrder: 2 });
    for (const price of ['100', '100', '100.01']) h.step(BOB, limit('Ask', price, '0.1'));
    const outcome = h.step(ALICE, limit('Bid', '100.01', '1'));
    expect(orderOf(outcome)).toMatchObject({ status: 'Expired', executedSteps: 20n });
    expect(engineTrades(outcome).map((trade) => trade.makerOrderId)).toEqual([1, 2]);
    expect(balancesOf(h.state, ALICE).find((balance) => balance.asset === 'USDC')!.locked).toBe(0n);
    // The third maker is still there; a fill-or-kill that would need it is refused.
    expect(depthOf(h.state.markets[0]!, 10).asks).toEqual([{ priceTicks: 10_001n, quantitySteps: 10n }]);
    h.step(BOB, limit('Ask', '100.01', '0.1'));
    expect(codes(h.step(ALICE, limit('Bid', '100.01', '0.3', { timeInForce: 'FOK' })))).toBe('ORDER_WOULD_NOT_FILL');
    expect(orderOf(h.step(ALICE, limit('Bid', '100.01', '0.2', { timeInForce: 'FOK' }))).status).toBe('Filled');
  });

  it('counts makers cancelled by self-trade prevention against the maker limit', () => {
    const h = exampleHarness(SOL_USDC, undefined, { maxMakersPerOrder: 2 });
    h.step(ALICE, limit('Ask', '100', '0.1'));
    h.step(ALICE, limit('Ask', '100', '0.1'));
    h.step(BOB, limit('Ask', '100', '0.1'));
    // Two own makers come first: RejectMaker cancels both, and with 2 makers met the walk stops before Bob's.
    const outcome = h.step(ALICE, limit('Bid', '100', '0.1', { selfTradePrevention: 'RejectMaker' }));
    expect(orderOf(outcome)).toMatchObject({ status: 'Expired', executedSteps: 0n });
    expect(openOrdersOf(h.state, ALICE)).toEqual([]);
    expect(depthOf(h.state.markets[0]!, 10).asks).toEqual([{ priceTicks: 10_000n, quantitySteps: 10n }]);
  });

  // Section 8: trigger orders. Prices on this market lie within 99.80 to 100.20.
  const stop = (
    side: 'Bid' | 'Ask',
    triggerPrice: string,
    quantity: string,
    extra: Partial<OrderRequest> = {},
  ): Instruction =>
    singleOrder({ side, orderType: 'Market', triggerPrice, triggerQuantity: quantity, timeInForce: 'IOC', ...extra });
  const trade = (h: Harness, price: string): void => {
    h.step(BOB, limit('Ask', price, '0.01'));
    h.step(ALICE, limit('Bid', price, '0.01'));
  };

  it('a trigger order needs a last price to give it a direction, and not the same price', () => {
    const h = exampleHarness();
    expect(codes(h.step(ALICE, stop('Ask', '99.9', '1')))).toBe('INVALID_ORDER');
    trade(h, '100');
    expect(codes(h.step(ALICE, stop('Ask', '100', '1')))).toBe('INVALID_ORDER');
    expect(orderOf(h.step(ALICE, stop('Ask', '99.9', '1')))).toMatchObject({
      status: 'TriggerPending',
      triggerPriceTicks: 9_990n,
    });
  });

  it('a stop-market sell waits, reserving nothing, and fires when a trade reaches its trigger price', () => {
    const h = exampleHarness();
    trade(h, '100');
    const pending = orderOf(h.step(ALICE, stop('Ask', '99.9', '0.5')));
    expect(openOrdersOf(h.state, ALICE).map((order) => order.status)).toEqual(['TriggerPending']);
    expect(balancesOf(h.state, ALICE).every((balance) => balance.locked === 0n)).toBe(true);
    h.step(BOB, limit('Bid', '99.85', '2'));
    // A trade at 99.95 is above 99.9: nothing fires. A trade at 99.9 fires the stop at the end of that entry.
    trade(h, '99.95');
    expect(openOrder(h.state, pending.orderId)?.status).toBe('TriggerPending');
    h.step(BOB, limit('Ask', '99.9', '0.01'));
    const outcome = h.step(ALICE, limit('Bid', '99.9', '0.01'));
    const fired = outcome.accepted
      ? outcome.events.filter((event) => event.type === 'trade' && event.takerOrderId === pending.orderId)
      : [];
    // It sells 0.5 into Bob's bid at 99.85, as a market order.
    expect(fired).toMatchObject([{ priceTicks: 9_985n, quantitySteps: 50n }]);
    expect(openOrdersOf(h.state, ALICE).some((order) => order.orderId === pending.orderId)).toBe(false);
  });

  it('a trigger that cannot execute when it fires ends TriggerFailed', () => {
    const h = exampleHarness();
    trade(h, '100');
    // A stop-market buy of 0.5 at 100.1: when it fires, no ask is left to buy from.
    const pending = orderOf(h.step(ALICE, stop('Bid', '100.1', '0.5')));
    h.step(BOB, limit('Ask', '100.1', '0.01'));
    const outcome = h.step(ALICE, limit('Bid', '100.1', '0.01'));
    const update = outcome.accepted
      ? outcome.events.find((event) => event.type === 'orderUpdated' && event.order.orderId === pending.orderId)
      : undefined;
    expect(update).toMatchObject({ order: { status: 'TriggerFailed' } });
    expect(update?.type === 'orderUpdated' && update.reason).toMatch(/ORDER_WOULD_NOT_FILL/);
  });

  it('take-profit and stop-loss are placed with the order and cancel each other', () => {
    const h = exampleHarness();
    trade(h, '100');
    h.step(BOB, limit('Ask', '100', '1'));
    const outcome = h.step(
      ALICE,
      limit('Bid', '100', '1', {
        takeProfitTriggerPrice: '100.1',
        stopLossTriggerPrice: '99.9',
        stopLossLimitPrice: '99.85',
      }),
    );
    const result = outcome.results[0];
    const views = result?.ok === true && result.value.kind === 'order' ? result.value.attached : undefined;
    const attached = [views?.takeProfit, views?.stopLoss];
    expect(attached).toMatchObject([
      { side: 'Ask', orderType: 'Market', status: 'TriggerPending', triggerPriceTicks: 10_010n, quantitySteps: 100n },
      { side: 'Ask', orderType: 'Limit', priceTicks: 9_985n, status: 'TriggerPending', triggerPriceTicks: 9_990n },
    ]);
    h.step(BOB, limit('Bid', '99.95', '5'));
    trade(h, '100.1');
    // The take-profit fired (selling 1 SOL into Bob's bid) and cancelled the stop-loss.
    expect(openOrdersOf(h.state, ALICE)).toEqual([]);
    expect(depthOf(h.state.markets[0]!, 10).bids).toEqual([{ priceTicks: 9_995n, quantitySteps: 400n }]);
  });

  it('fires at most 10 trigger orders per entry, in trigger-price order; the rest at the entries that follow', () => {
    const h = exampleHarness();
    trade(h, '100');
    h.step(BOB, limit('Bid', '99.8', '10'));
    const ids: number[] = [];
    for (let index = 0; index < 12; index += 1)
      ids.push(orderOf(h.step(ALICE, stop('Ask', index % 2 === 0 ? '99.95' : '99.9', '0.01'))).orderId);
    h.step(BOB, limit('Ask', '99.85', '0.01'));
    const outcome = h.step(ALICE, limit('Bid', '99.85', '0.01'));
    const firedOrder = outcome.accepted
      ? outcome.events
          .filter((event) => event.type === 'trade')
          .map((event) => event.takerOrderId)
          .slice(1)
      : [];
    // Falling triggers fire highest trigger price first (99.95 before 99.9), then by id.
    const expected = [...ids.filter((_, index) => index % 2 === 0), ...ids.filter((_, index) => index % 2 === 1)];
    expect(firedOrder).toEqual(expected.slice(0, 10));
    // Any accepted entry fires the rest.
    h.step(BOB, { kind: 'orderCancelAll', symbol: 'SOL_USDC' });
    expect(openOrdersOf(h.state, ALICE)).toEqual([]);
  });

  it('pending trigger orders count against the open-order limit and are cancelled like any open order', () => {
    const h = exampleHarness(SOL_USDC, undefined, { maxOpenOrders: 2 });
    trade(h, '100');
    const first = orderOf(h.step(ALICE, stop('Ask', '99.9', '1', { clientId: 5 })));
    h.step(ALICE, stop('Bid', '100.1', '1'));
    expect(codes(h.step(ALICE, limit('Bid', '99.9', '1')))).toBe('ORDER_LIMIT');
    expect(orderOf(h.step(ALICE, { kind: 'orderCancel', symbol: 'SOL_USDC', clientId: 5 }))).toMatchObject({
      orderId: first.orderId,
      status: 'Cancelled',
    });
    const all = h.step(ALICE, { kind: 'orderCancelAll', symbol: 'SOL_USDC' });
    expect(
      all.accepted && all.results[0]?.ok === true && all.results[0].value.kind === 'orders'
        ? all.results[0].value.orders.map((order) => order.status)
        : [],
    ).toEqual(['Cancelled']);
  });

  it('a fired limit order keeps its id and its time priority from when it was placed', () => {
    const h = exampleHarness();
    trade(h, '100');
    // Alice's stop-limit buy: fires at 100.1, then rests at 100.05 (no ask that low).
    const stopLimit = orderOf(
      h.step(
        ALICE,
        singleOrder({
          side: 'Bid',
          orderType: 'Limit',
          price: '100.05',
          triggerPrice: '100.1',
          triggerQuantity: '0.5',
        }),
      ),
    );
    const later = orderOf(h.step(BOB, limit('Bid', '100.05', '0.5')));
    h.step(BOB, limit('Ask', '100.1', '0.01'));
    h.step(ALICE, limit('Bid', '100.1', '0.01'));
    expect(openOrder(h.state, stopLimit.orderId)?.status).toBe('New');
    // An ask at 100.05 meets Alice's fired order first: it was placed before Bob's.
    const outcome = h.step(BOB, limit('Ask', '100.05', '0.5', { selfTradePrevention: 'Allow' }));
    expect(engineTrades(outcome).map((trade) => trade.makerOrderId)).toEqual([stopLimit.orderId]);
    expect(later.orderId).toBeGreaterThan(stopLimit.orderId);
  });
});
