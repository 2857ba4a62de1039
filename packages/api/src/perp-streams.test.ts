/**
 * The perpetuals' WebSocket streams: over a real node, the subscriptions
 * (account.positionUpdate signed like account.orderUpdate) and the
 * markPrice stream when the index moves; the open interest, position update
 * and liquidation messages (which need perp trades, refused by the engine
 * yet) from perp-feed.ts over a copy of the node's state with positions
 * planted through the perpetual settlement and the trade and liquidation
 * events the engine reports with them.
 */
import { decodeState, encodeState, movePosition, type EngineEvent } from '@vex/engine';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMarginSettings } from './margin-config.js';
import type { StreamMessage } from './market-feed.js';
import { emitPerpStreams } from './perp-feed.js';
import { postIndexPrice } from './price-feed.js';
import { deposit, startTestExchange, TestKey, type TestExchange } from './test-support.js';

const symbol = 'SOL_USDC_PERP';
const hourMs = 3_600_000;

describe('perpetual streams', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  const long = TestKey.random();
  const short = TestKey.random();

  beforeAll(async () => {
    exchange = await startTestExchange({ config: demoMarginSettings(), attestEveryMs: hourMs });
    expect((await postIndexPrice(exchange.node, exchange.operatorKey.seed, 'SOL', '150')).outcome.accepted).toBe(true);
    await deposit(exchange, long.apiKey, 'USDC', '1000');
    await deposit(exchange, short.apiKey, 'USDC', '1000');
  });

  afterAll(async () => {
    await exchange?.close();
  });

  it('subscribes to every perpetual stream and streams the mark when the index moves', async () => {
    const socket = new WebSocket(exchange.wsUrl);
    const messages: any[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise<void>((resolve, reject) => {
      socket.on('open', () => resolve());
      socket.on('error', reject);
    });
    const waitFor = async (predicate: (message: any) => boolean) => {
      for (let tries = 0; tries < 100 && !messages.some(predicate); tries += 1)
        await new Promise((resolve) => setTimeout(resolve, 50));
      return messages.find(predicate);
    };
    const timestamp = String(Date.now());
    const signature = [long.apiKey, long.sign(`instruction=subscribe&timestamp=${timestamp}&window=5000`), timestamp];
    socket.send(
      JSON.stringify({
        method: 'SUBSCRIBE',
        params: [`markPrice.${symbol}`, `openInterest.${symbol}`, 'liquidation', 'account.positionUpdate'],
        signature: [...signature, '5000'],
        id: 1,
      }),
    );
    expect(await waitFor((message) => message.id === 1)).toEqual({ id: 1, result: null });
    socket.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['markPrice.NOPE_USDC_PERP'], id: 2 }));
    expect((await waitFor((message) => message.id === 2)).error).toMatchObject({ resultCode: 'INVALID_MARKET' });

    expect((await postIndexPrice(exchange.node, exchange.operatorKey.seed, 'SOL', '151')).outcome.accepted).toBe(true);
    const mark = await waitFor((message) => message.stream === `markPrice.${symbol}`);
    expect(mark.data).toMatchObject({ e: 'markPrice', s: symbol, p: '151', i: '151', f: '0.0000125' });
    expect(mark.data.n % hourMs).toBe(0);
    expect(mark.data.E).toBe(exchange.node.state.logTimeMs * 1000);
    socket.close();
  });

  it('builds open interest, position updates and liquidations from a perp entry’s events', () => {
    const state = decodeState(encodeState(exchange.node.state));
    const market = state.marketsBySymbol.get(symbol)!;
    const units = 2n * 10n ** BigInt(market.base.decimals);
    const steps = units / market.stepUnits;
    // The entry: the long's order bought 2 SOL at 150 from the short (the maker); the short was being liquidated.
    movePosition(state.accounts.get(long.apiKey)!, market, units, 300n * 10n ** BigInt(market.quote.decimals), 7_000);
    movePosition(state.accounts.get(short.apiKey)!, market, -units, 300n * 10n ** BigInt(market.quote.decimals), 7_000);
    market.perp!.openInterestUnits += units;
    const priceTicks = (150n * 10n ** BigInt(market.priceScale)) / market.tickUnits;
    const trade: EngineEvent = {
      type: 'trade',
      tradeId: 1,
      market: symbol,
      priceTicks,
      quantitySteps: steps,
      quoteUnits: 300n,
      takerSide: 'Bid',
      makerOrderId: 1,
      takerOrderId: 2,
      makerAccount: short.apiKey,
      takerAccount: long.apiKey,
      makerFeeUnits: 0n,
      takerFeeUnits: 0n,
      timeMs: state.logTimeMs,
    };
    const liquidation = { type: 'liquidation', liquidation: { account: short.apiKey } } as unknown as EngineEvent;
    const messages: StreamMessage[] = [];
    const sink = { emit: (message: StreamMessage) => messages.push(message), isWatched: () => true };
    emitPerpStreams(sink, state, [trade, liquidation], 7_000);
    expect(messages.map((message) => message.stream)).toEqual([
      `openInterest.${symbol}`,
      'account.positionUpdate',
      'account.positionUpdate',
      'liquidation',
    ]);
    expect(messages[0]!.data).toEqual({ e: 'openInterest', E: 7_000, s: symbol, o: '2' });
    // Opening realises the PnL at the mark at once (docs/perps.md, "Realisation"): the 2 USDC the long gained
    // from 150 to the mark of 151 are in its USDC, so its break-even is the mark and nothing is unrealised.
    expect(messages[1]).toMatchObject({
      account: long.apiKey,
      data: { e: 'positionOpened', s: symbol, q: '2', B: '151', M: '151', P: '0', T: 7_000 },
    });
    expect(messages[2]).toMatchObject({ account: short.apiKey, data: { e: 'positionOpened', q: '-2', P: '0' } });
    expect(messages[3]!.data).toEqual({ e: 'liquidation', E: 7_000, q: '2', p: '150', S: 'Ask', s: symbol, T: 7_000 });

    // Half of it closes the next entry: adjusted; then all of it: closed.
    movePosition(
      state.accounts.get(long.apiKey)!,
      market,
      -units / 2n,
      151n * 10n ** BigInt(market.quote.decimals),
      8_000,
    );
    const half = { ...trade, quantitySteps: steps / 2n, takerSide: 'Ask' as const };
    messages.length = 0;
    emitPerpStreams({ ...sink, isWatched: (stream) => stream.startsWith('account.') }, state, [half], 8_000);
    const adjusted = messages.find((message) => message.account === long.apiKey);
    expect(adjusted?.data).toMatchObject({ e: 'positionAdjusted', q: '1' });
    movePosition(
      state.accounts.get(long.apiKey)!,
      market,
      -units / 2n,
      151n * 10n ** BigInt(market.quote.decimals),
      9_000,
    );
    messages.length = 0;
    emitPerpStreams(sink, state, [half], 9_000);
    expect(messages.find((message) => message.account === long.apiKey)?.data).toMatchObject({
      e: 'positionClosed',
      q: '0',
      s: symbol,
    });
  });

  it('reports a position closed off the book (backstop or ADL) on the liquidation stream', () => {
    const state = decodeState(encodeState(exchange.node.state));
    const market = state.marketsBySymbol.get(symbol)!;
    const steps = (2n * 10n ** BigInt(market.base.decimals)) / market.stepUnits;
    const priceTicks = (150n * 10n ** BigInt(market.priceScale)) / market.tickUnits;
    // The short being liquidated buys back 2 at its bankruptcy price 150 from the long (ADL), in an entry
    // with no trade on the book.
    const adl: EngineEvent = {
      type: 'perpLiquidationTrade',
      tradeId: 9,
      market: symbol,
      systemOrderType: 'LiquidatePositionOnAdl',
      priceTicks,
      quantitySteps: steps,
      quoteUnits: 300n,
      account: short.apiKey,
      side: 'Bid',
      counterparty: long.apiKey,
      timeMs: state.logTimeMs,
    };
    const liquidation = { type: 'liquidation', liquidation: { account: short.apiKey } } as unknown as EngineEvent;
    const messages: StreamMessage[] = [];
    const sink = { emit: (message: StreamMessage) => messages.push(message), isWatched: () => true };
    emitPerpStreams({ ...sink, isWatched: (stream) => stream === 'liquidation' }, state, [adl, liquidation], 9_000);
    // (The private position updates are built whatever is watched: the hub checks their subscribers.)
    expect(messages.filter((message) => message.stream === 'liquidation').map((message) => message.data)).toEqual([
      { e: 'liquidation', E: 9_000, q: '2', p: '150', S: 'Bid', s: symbol, T: 9_000 },
    ]);
  });
});
