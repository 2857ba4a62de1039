/**
 * What traders' tools expect, end to end through ccxt 4.5.84 and ccxt.pro on
 * loopback: candles (fetchOHLCV, every interval of GET /api/v1/klines,
 * watchOHLCV), ticker streams (watchTicker, watchTickers, watchBidsAsks),
 * markets with createdAt, fetchPositions, fetchDepositAddress, and the
 * pass-through order params reduceOnly and clientOrderId.
 *
 * The node and server run on a settable clock placed just before a month,
 * week and day boundary (Monday 2027-02-01 00:00 UTC), and the ccxt clients
 * sign with the same clock, so trades land on both sides of it. The candles
 * served must equal the candles recomputed from the exported log's trade
 * events, and the exported log must still replay cleanly.
 */
import { readFileSync } from 'node:fs';
import ccxt from 'ccxt';
import {
  apply,
  resultCodes,
  candleIntervals,
  candlesOf,
  createState,
  LogExportReader,
  stateHashHex,
  type CandleTrade,
  type EngineEvent,
} from '@vex/engine';
import { replayLog } from '@vex/replayer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { operatorTransaction, signedRequest, startTestExchange, TestKey, type TestExchange } from './test-support.js';
import { wireCandle } from './klines.js';

type Backpack = InstanceType<typeof ccxt.backpack>;
type Pro = InstanceType<typeof ccxt.pro.backpack>;

const at = (iso: string): number => Date.parse(iso);
const monthBoundary = at('2027-02-01T00:00:00Z'); // a Monday: month, week and day start together

describe('market data and ccxt parity', { timeout: 120_000 }, () => {
  let exchange: TestExchange;
  let now = at('2027-01-31T23:58:00Z');
  let stampOffset = 0;
  /** Distinct timestamps on the test clock (within the window of the log time). */
  const stamp = (): number => now + (stampOffset = (stampOffset + 1) % 2_000);
  const makerKey = TestKey.random();
  const takerKey = TestKey.random();
  let maker: Backpack;
  let taker: Backpack;
  const proClients: Pro[] = [];

  function onTestClock<T extends { milliseconds: () => number; seconds: () => number }>(client: T): T {
    client.milliseconds = stamp;
    client.seconds = () => Math.floor(now / 1000);
    return client;
  }

  function client(key: TestKey): Backpack {
    return onTestClock(
      new ccxt.backpack({
        apiKey: key.apiKey,
        secret: key.secret,
        urls: { api: { public: exchange.baseUrl, private: exchange.baseUrl } },
      }),
    );
  }

  async function proClient(): Promise<Pro> {
    const pro = onTestClock(
      new ccxt.pro.backpack({
        urls: {
          api: {
            public: exchange.baseUrl,
            private: exchange.baseUrl,
            ws: { public: exchange.wsUrl, private: exchange.wsUrl },
          },
        },
      }),
    );
    await pro.loadHttpProxyAgent();
    await pro.loadMarkets();
    proClients.push(pro);
    return pro;
  }

  async function credit(account: string, symbol: string, quantity: string): Promise<void> {
    const { status, body } = await operatorTransaction(
      exchange,
      'depositCredit',
      {
        account,
        symbol,
        quantity,
        blockchain: 'Solana',
        chainTransactionId: `candles-${account.slice(0, 8)}-${symbol}`,
      },
      stamp(),
    );
    expect(status, JSON.stringify(body)).toBe(200);
  }

  /** One trade of `amount` SOL at `price` at log time `timeMs`: the maker rests an ask, the taker lifts it. */
  async function tradeAt(timeMs: number, price: number, amount: number): Promise<void> {
    now = timeMs;
    await maker.createOrder('SOL/USDC', 'limit', 'sell', amount, price);
    const bought = await taker.createOrder('SOL/USDC', 'limit', 'buy', amount, price, { timeInForce: 'IOC' });
    expect(bought.filled).toBe(amount);
  }

  beforeAll(async () => {
    // No idle attestations (the clock jumps across boundaries here): their records would land between the export and the comparison.
    exchange = await startTestExchange({
      clock: () => now,
      attestEveryMs: 3_600_000,
      depositAddresses: { Solana: 'VaultSoLanaAddress1111111111111111111111111' },
    });
    maker = client(makerKey);
    taker = client(takerKey);
    await credit(makerKey.apiKey, 'SOL', '1000');
    await credit(takerKey.apiKey, 'USDC', '1000000');
    await Promise.all([maker.loadMarkets(), taker.loadMarkets()]);
    await tradeAt(at('2027-01-31T23:58:10Z'), 100, 1);
    await tradeAt(at('2027-01-31T23:59:59.999Z'), 101, 2);
    await tradeAt(at('2027-01-31T23:59:59.999Z'), 97.5, 0.5);
    await tradeAt(monthBoundary, 102, 1);
    await tradeAt(at('2027-02-01T00:03:30Z'), 99, 3);
  });

  afterAll(async () => {
    for (const pro of proClients) await pro.close();
    await exchange?.close();
  });

  it('markets carry createdAt, the log time of their listing', async () => {
    const markets = await maker.fetchMarkets();
    const sol = markets.find((market) => market!.id === 'SOL_USDC')!;
    // Listed by startTestExchange at the clock's first reading.
    expect(sol.info.createdAt).toBe(new Date(at('2027-01-31T23:58:00Z')).toISOString().slice(0, -1));
    expect(sol.created).toBe(at('2027-01-31T23:58:00Z'));
    const one = await (
      maker as unknown as { publicGetApiV1Market(params: object): Promise<{ createdAt: string }> }
    ).publicGetApiV1Market({ symbol: 'BTC_USDC' });
    expect(one.createdAt).toBe('2027-01-31T23:58:00.000');
  });

  it('a perpetual loads as a USDC-settled swap with Backpack’s PERP fields (docs/perps.md, "Listing")', async () => {
    const markets = await maker.fetchMarkets();
    const perp = markets.find((market) => market!.id === 'SOL_USDC_PERP')!;
    expect(perp).toMatchObject({
      symbol: 'SOL/USDC:USDC',
      type: 'swap',
      swap: true,
      spot: false,
      linear: true,
      settle: 'USDC',
      contractSize: 1,
    });
    expect(perp.info).toMatchObject({
      marketType: 'PERP',
      imfFunction: { type: 'sqrt', base: '0.02', factor: '0.0001275' },
      mmfFunction: { type: 'sqrt', base: '0.0125', factor: '0.0000765' },
      fundingInterval: 3_600_000,
      fundingRateUpperBound: '100',
      fundingRateLowerBound: '-100',
      openInterestLimit: '4000000',
      filters: { price: { meanMarkPriceBand: { maxMultiplier: '1.1', minMultiplier: '0.9' } } },
    });
    const spot = markets.find((market) => market!.id === 'SOL_USDC')!;
    expect(spot.info.imfFunction).toBeUndefined();
  });

  it('fetchOHLCV: minute candles on both sides of the month boundary', async () => {
    now = at('2027-02-01T00:05:00Z');
    const candles = await maker.fetchOHLCV('SOL/USDC', '1m', at('2027-01-31T23:50:00Z'));
    expect(candles).toEqual([
      [at('2027-01-31T23:58:00Z'), 100, 100, 100, 100, 1],
      [at('2027-01-31T23:59:00Z'), 101, 101, 97.5, 97.5, 2.5],
      [at('2027-02-01T00:00:00Z'), 102, 102, 102, 102, 1],
      [at('2027-02-01T00:03:00Z'), 99, 99, 99, 99, 3],
    ]);
    // Without since, ccxt asks for the last `limit` intervals up to its clock.
    expect(await maker.fetchOHLCV('SOL/USDC', '1h', undefined, 3)).toEqual([
      [at('2027-01-31T23:00:00Z'), 100, 101, 97.5, 97.5, 3.5],
      [at('2027-02-01T00:00:00Z'), 102, 102, 99, 99, 4],
    ]);
    expect(await maker.fetchOHLCV('SOL/USDC', '1M', at('2026-12-01T00:00:00Z'))).toEqual([
      [at('2027-01-01T00:00:00Z'), 100, 101, 97.5, 97.5, 3.5],
      [at('2027-02-01T00:00:00Z'), 102, 102, 99, 99, 4],
    ]);
    expect(await maker.fetchOHLCV('SOL/USDC', '1w', at('2027-01-01T00:00:00Z'))).toEqual([
      [at('2027-01-25T00:00:00Z'), 100, 101, 97.5, 97.5, 3.5],
      [at('2027-02-01T00:00:00Z'), 102, 102, 99, 99, 4],
    ]);
  });

  it('GET /api/v1/klines answers in Backpack’s shape, refuses Mark and Index prices and bad ranges', async () => {
    const klines = async (query: Record<string, string>) => {
      const response = await fetch(`${exchange.baseUrl}/api/v1/klines?${new URLSearchParams(query).toString()}`);
      return { status: response.status, body: (await response.json()) as any };
    };
    const startTime = String(at('2027-01-31T00:00:00Z') / 1000);
    const answer = await klines({ symbol: 'SOL_USDC', interval: '3m', startTime });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual([
      {
        start: '2027-01-31 23:57:00',
        end: '2027-02-01 00:00:00',
        open: '100',
        high: '101',
        low: '97.5',
        close: '97.5',
        volume: '3.5',
        quoteVolume: '350.75',
        trades: '3',
      },
      {
        start: '2027-02-01 00:00:00',
        end: '2027-02-01 00:03:00',
        open: '102',
        high: '102',
        low: '102',
        close: '102',
        volume: '1',
        quoteVolume: '102',
        trades: '1',
      },
      {
        start: '2027-02-01 00:03:00',
        end: '2027-02-01 00:06:00',
        open: '99',
        high: '99',
        low: '99',
        close: '99',
        volume: '3',
        quoteVolume: '297',
        trades: '1',
      },
    ]);
    // endTime cuts by bucket: a bucket overlapping the range comes whole.
    const endTime = String(at('2027-02-01T00:00:00.000Z') / 1000 + 1);
    expect(
      (await klines({ symbol: 'SOL_USDC', interval: '3m', startTime, endTime })).body.map(
        (candle: { start: string }) => candle.start,
      ),
    ).toEqual(['2027-01-31 23:57:00', '2027-02-01 00:00:00']);
    expect((await klines({ symbol: 'SOL_USDC', interval: '1m', startTime, priceType: 'Last' })).body).toHaveLength(4);
    expect((await klines({ symbol: 'BTC_USDC', interval: '1d', startTime })).body).toEqual([]);
    // A spot market has no mark or index candles (perp-klines.ts).
    for (const priceType of ['Mark', 'Index']) {
      expect(await klines({ symbol: 'SOL_USDC', interval: '1m', startTime, priceType })).toEqual({
        status: 400,
        body: {
          code: 'INVALID_CLIENT_REQUEST',
          message: `priceType ${priceType} needs a perpetual; SOL_USDC is spot.`,
        },
      });
    }
    expect((await klines({ symbol: 'SOL_USDC', interval: '1M', startTime })).status).toBe(400);
    expect((await klines({ symbol: 'SOL_USDC', interval: '1m' })).status).toBe(400);
    expect((await klines({ symbol: 'SOL_USDC', interval: '1m', startTime, endTime: startTime })).body.message).toBe(
      'endTime must be after startTime.',
    );
    expect((await klines({ symbol: 'NOPE_USDC', interval: '1m', startTime })).body.code).toBe('INVALID_MARKET');
    await expect(maker.fetchMarkOHLCV('SOL/USDC', '1m', at('2027-01-31T00:00:00Z'))).rejects.toThrow(ccxt.BadRequest);
  });

  it('the candles served are the candles recomputed from the exported log, for every interval; the log replays cleanly', async () => {
    const log = new Uint8Array(await (await fetch(`${exchange.baseUrl}/api/v1/log?from=1`)).arrayBuffer());
    const reader = await LogExportReader.open(log);
    const state = createState(reader.header.genesis);
    const trades = new Map<string, CandleTrade[]>();
    for await (const entry of reader.entries()) {
      const outcome = apply(state, { logTimeMs: entry.logTimeMs, transaction: entry.transaction });
      expect(outcome.accepted).toBe(true);
      for (const event of (outcome as { events: readonly EngineEvent[] }).events) {
        if (event.type === 'trade') trades.set(event.market, [...(trades.get(event.market) ?? []), event]);
      }
    }
    expect(trades.get('SOL_USDC')).toHaveLength(5);
    const market = state.marketsBySymbol.get('SOL_USDC')!;
    for (const interval of candleIntervals) {
      const response = await fetch(
        `${exchange.baseUrl}/api/v1/klines?symbol=SOL_USDC&interval=${interval}&startTime=0`,
      );
      expect(await response.json()).toEqual(
        candlesOf(interval, trades.get('SOL_USDC')!).map((candle) => wireCandle(market, candle)),
      );
    }

    const report = await replayLog({ log, workers: 1 });
    if (!report.verified) throw new Error(`the replay diverged: ${JSON.stringify(report.divergence)}`);
    expect(report.stateHash).toBe(stateHashHex(exchange.node.state));
  });

  it('ccxt.pro watchOHLCV, watchTicker, watchTickers and watchBidsAsks', async () => {
    const pro = await proClient();
    const candles = pro.watchOHLCV('SOL/USDC', '5m');
    const ticker = pro.watchTicker('SOL/USDC');
    const bidsAsks = pro.watchBidsAsks(['SOL/USDC']);
    const tickers = (await proClient()).watchTickers(['SOL/USDC', 'BTC/USDC']);
    // Let the subscriptions reach the server before anything happens.
    await new Promise((resolve) => setTimeout(resolve, 300));

    // A resting bid changes the book: bookTicker.
    now = at('2027-02-01T00:04:00Z');
    await taker.createOrder('SOL/USDC', 'limit', 'buy', 1.5, 90);
    const book = await bidsAsks;
    expect(book['SOL/USDC']).toMatchObject({ symbol: 'SOL/USDC', bid: 90, bidVolume: 1.5, ask: undefined });

    // A trade in the 00:00–00:05 bucket: kline.5m (ccxt stamps it with the bucket's end, T) and ticker.
    await tradeAt(at('2027-02-01T00:04:30Z'), 98, 0.5);
    const ohlcv = await candles;
    expect(ohlcv.at(-1)).toEqual([at('2027-02-01T00:05:00Z'), 102, 102, 98, 98, 4.5]);
    const stats = await ticker;
    expect(stats).toMatchObject({
      symbol: 'SOL/USDC',
      open: 100,
      last: 98,
      high: 102,
      low: 97.5,
      baseVolume: 8,
      timestamp: now,
    });
    const all = await tickers;
    expect(all['SOL/USDC']).toMatchObject({ last: 98, baseVolume: 8 });

    // The next trade opens a new bucket: the closed candle, then the new one.
    const next = pro.watchOHLCV('SOL/USDC', '5m');
    await tradeAt(at('2027-02-01T00:06:00Z'), 103, 1);
    const after = await next;
    expect(after.slice(-2)).toEqual([
      [at('2027-02-01T00:05:00Z'), 102, 102, 98, 98, 4.5],
      [at('2027-02-01T00:10:00Z'), 103, 103, 103, 103, 1],
    ]);
  });

  it('unknown kline intervals are refused at subscription', async () => {
    const socket = new WebSocket(exchange.wsUrl);
    await new Promise((resolve) => socket.once('open', resolve));
    const answer = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
    socket.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['kline.1M.SOL_USDC'], id: 1 }));
    expect(JSON.parse(await answer)).toMatchObject({
      id: 1,
      error: { resultCode: 'INVALID_CLIENT_REQUEST', message: 'Unknown stream kline.1M.SOL_USDC.' },
    });
    socket.close();
  });

  it('fetchPositions answers [] on this spot exchange', async () => {
    expect(await maker.fetchPositions()).toEqual([]);
    const answer = await signedRequest(exchange, makerKey, 'GET', '/api/v1/position', 'positionQuery', {
      timestampMs: stamp(),
    });
    expect(answer).toEqual({ status: 200, body: [] });
  });

  it('fetchDepositAddress answers the address configured for the chain', async () => {
    const address = await maker.fetchDepositAddress('USDC', { network: 'SOL' });
    expect(address).toMatchObject({
      currency: 'USDC',
      address: 'VaultSoLanaAddress1111111111111111111111111',
      info: { address: 'VaultSoLanaAddress1111111111111111111111111' },
    });
    await expect(maker.fetchDepositAddress('USDC', { network: 'ETH' })).rejects.toThrow(ccxt.BadRequest);
    const answer = await signedRequest(
      exchange,
      makerKey,
      'GET',
      '/wapi/v1/capital/deposit/address',
      'depositAddressQuery',
      {
        query: { blockchain: 'Ethereum' },
        timestampMs: stamp(),
      },
    );
    expect(answer).toEqual({
      status: 400,
      body: {
        code: 'INVALID_CLIENT_REQUEST',
        message: 'No deposit address is configured for Ethereum (configured: Solana).',
      },
    });
  });

  it('reduceOnly: false is accepted on spot, true is refused and places nothing', async () => {
    now = at('2027-02-01T00:07:00Z');
    const order = await maker.createOrder('SOL/USDC', 'limit', 'sell', 1, 500, { reduceOnly: false });
    expect(order).toMatchObject({ status: 'open', reduceOnly: false });
    const openBefore = (await maker.fetchOpenOrders('SOL/USDC')).length;
    await expect(maker.createOrder('SOL/USDC', 'limit', 'sell', 1, 500, { reduceOnly: true })).rejects.toThrow(
      new ccxt.BadRequest(
        'backpack {"code":"INVALID_CLIENT_REQUEST","message":"reduceOnly is not supported on spot markets."}',
      ),
    );
    expect(await maker.fetchOpenOrders('SOL/USDC')).toHaveLength(openBefore);
  });

  it('clientOrderId: an integer becomes clientId (ccxt); anything else is refused with what to send', async () => {
    const order = await maker.createOrder('SOL/USDC', 'limit', 'sell', 1, 501, { clientOrderId: 4_000_000_000 });
    expect(order.clientOrderId).toBe('4000000000');
    const openBefore = (await maker.fetchOpenOrders('SOL/USDC')).length;
    const message =
      'clientOrderId is not an order field: send clientId, an integer from 0 to 4294967295 (ccxt turns an integer clientOrderId into clientId).';
    await expect(maker.createOrder('SOL/USDC', 'limit', 'sell', 1, 502, { clientOrderId: 'grid-7' })).rejects.toThrow(
      new ccxt.BadRequest(`backpack ${JSON.stringify({ code: 'INVALID_CLIENT_REQUEST', message })}`),
    );
    // Beside clientId, too: the order is refused rather than one of the two ignored.
    await expect(
      maker.createOrder('SOL/USDC', 'limit', 'sell', 1, 502, { clientId: 7, clientOrderId: 'grid-7' }),
    ).rejects.toThrow(ccxt.BadRequest);
    expect(await maker.fetchOpenOrders('SOL/USDC')).toHaveLength(openBefore);
  });

  it('docs/api.md names the ccxt error class of every code, as ccxt raises it', () => {
    const docs = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
    const section = docs.slice(docs.indexOf('## Using ccxt'), docs.indexOf('## Not supported'));
    const documented = new Map(
      [...section.matchAll(/^ {2}\| `([A-Z_]+)` \| `([A-Za-z]+)` \|$/gm)].map((match) => [match[1]!, match[2]!]),
    );
    expect([...documented.keys()].sort()).toEqual(Object.keys(resultCodes).sort());
    for (const [code, className] of documented) {
      const body = JSON.stringify({ code, message: 'm' });
      let raised: unknown;
      try {
        maker.handleErrors(
          400,
          'Bad Request',
          `${exchange.baseUrl}/api/v1/order`,
          'POST',
          {},
          body,
          { code, message: 'm' },
          {},
          '',
        );
      } catch (error) {
        raised = error;
      }
      expect((raised as Error | undefined)?.constructor.name, code).toBe(className);
    }
  });
});
