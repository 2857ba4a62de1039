/**
 * The perpetuals' routes over real HTTP against a real node: funding
 * intervals settled by the funding clock as log time passes the hourly
 * boundaries (GET /api/v1/fundingRates, from the ledger's history), open
 * interest, the signer's positions and position history (none: the engine
 * takes no perp orders yet), Mark and Index candles from the mark-price
 * history, and unmodified ccxt 4.5.84 parsing each of them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeState, encodeState, movePosition, wad } from '@vex/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as cliMain } from '../../client/src/cli.js';
import { backpackClient } from '../test/exchange-fixture.js';
import { demoMarginSettings } from './margin-config.js';
import { positionFigures, wirePosition, wirePositionUpdate } from './perp-wire.js';
import { postIndexPrice } from './price-feed.js';
import { deposit, signedRequest, startTestExchange, TestKey, type TestExchange } from './test-support.js';

const hourMs = 3_600_000;
const symbol = 'SOL_USDC_PERP';

/** Runs the CLI in-process against the exchange; its JSON output. */
async function cli(exchange: TestExchange, ...args: string[]): Promise<any> {
  let stdout = '';
  let stderr = '';
  const output = { stdout: (text: string) => (stdout += text), stderr: (text: string) => (stderr += text) };
  const code = await cliMain([...args, '--url', exchange.baseUrl], output);
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout);
}

describe('perpetual routes over HTTP', { timeout: 120_000 }, () => {
  let exchange: TestExchange;
  // The node's and server's clock runs ahead of the wall clock by `offsetMs`; ccxt is told the difference.
  let offsetMs = 0;
  const clock = () => Date.now() + offsetMs;
  const trader = TestKey.random();
  let firstPriceMs = 0;
  let lastPriceMs = 0;

  beforeAll(async () => {
    exchange = await startTestExchange({ clock, config: demoMarginSettings(), attestEveryMs: 3_600_000 });
    const post = async (price: string) => {
      const result = await postIndexPrice(exchange.node, exchange.operatorKey.seed, 'SOL', price, clock);
      expect(result.outcome.accepted).toBe(true);
      return exchange.node.state.logTimeMs;
    };
    firstPriceMs = await post('150');
    await post('152');
    // Three funding boundaries pass, an entry after each.
    for (const price of ['151', '149', '153']) {
      offsetMs += hourMs;
      lastPriceMs = await post(price);
    }
  });

  afterAll(async () => {
    await exchange?.close();
  });

  const get = async (path: string) => {
    const response = await fetch(`${exchange.baseUrl}${path}`);
    return { status: response.status, body: (await response.json()) as any };
  };

  it('serves the settled funding intervals, newest first, each ending on the hour', async () => {
    const { status, body } = await get(`/api/v1/fundingRates?symbol=${symbol}`);
    expect(status).toBe(200);
    expect(body).toHaveLength(3);
    const ends = body.map((interval: { intervalEndTimestamp: string }) =>
      Date.parse(`${interval.intervalEndTimestamp}Z`),
    );
    expect(ends[0]).toBeGreaterThan(ends[1]);
    expect(ends[1] - ends[2]).toBe(hourMs);
    for (const end of ends) expect(end % hourMs).toBe(0);
    // No book: the premium is zero, the rate is the interest floor.
    expect(body[0]).toEqual({ fundingRate: '0.0000125', intervalEndTimestamp: expect.any(String), symbol });
    expect(body[0].intervalEndTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:00:00$/);
    const paged = await get(`/api/v1/fundingRates?symbol=${symbol}&limit=1&offset=1`);
    expect(paged.body).toEqual([body[1]]);
    // The ledger's records carry the interval's figures.
    const [record] = await exchange.node.history.fundingIntervals(symbol, { limit: 1 });
    expect(record).toMatchObject({ market: symbol, fundingRate: 12_500_000_000_000n, intervalEndMs: ends[0] });
  });

  it('refuses funding rates of a spot market, an unknown market, or without a symbol', async () => {
    expect((await get('/api/v1/fundingRates?symbol=SOL_USDC')).body).toMatchObject({ code: 'INVALID_MARKET' });
    expect((await get('/api/v1/fundingRates?symbol=NOPE_USDC_PERP')).status).toBe(400);
    expect((await get('/api/v1/fundingRates')).status).toBe(400);
    expect((await get(`/api/v1/fundingRates?symbol=${symbol}&limit=10001`)).status).toBe(400);
  });

  it('serves the open interest of every perpetual at the node’s log time', async () => {
    const { status, body } = await get('/api/v1/openInterest');
    expect(status).toBe(200);
    expect(body.map((entry: { symbol: string }) => entry.symbol)).toEqual(['SOL_USDC_PERP', 'BTC_USDC_PERP']);
    expect(body[0]).toEqual({ openInterest: '0', symbol, timestamp: exchange.node.state.logTimeMs });
    expect((await get('/api/v1/openInterest?symbol=SOL_USDC')).body).toEqual([]);
  });

  it('answers the signer’s positions and position history (none yet) and refuses an unknown market', async () => {
    const signed = (path: string, instruction: string, query: Record<string, string> = {}) =>
      signedRequest(exchange, trader, 'GET', path, instruction, { query, timestampMs: clock() });
    expect(await signed('/api/v1/position', 'positionQuery')).toEqual({ status: 200, body: [] });
    expect((await signed('/api/v1/position', 'positionQuery', { symbol: 'NOPE' })).body).toMatchObject({
      code: 'INVALID_MARKET',
    });
    expect(await signed('/wapi/v1/history/position', 'positionHistoryQueryAll', { state: 'Open' })).toEqual({
      status: 200,
      body: [],
    });
    expect(await signed('/wapi/v1/history/funding', 'fundingHistoryQueryAll', { symbol })).toEqual({
      status: 200,
      body: [],
    });
    expect(await signed('/wapi/v1/history/settlement', 'settlementHistoryQueryAll', { source: 'RealizePnl' })).toEqual({
      status: 200,
      body: [],
    });
  });

  it('serves Mark and Index candles from the mark-price history', async () => {
    const start = Math.floor(firstPriceMs / 1000) - 60;
    const end = Math.floor(lastPriceMs / 1000) + 60;
    const klines = (priceType: string) =>
      get(`/api/v1/klines?symbol=${symbol}&interval=1h&startTime=${start}&endTime=${end}&priceType=${priceType}`);
    const index = await klines('Index');
    expect(index.status).toBe(200);
    expect(index.body).toHaveLength(4);
    expect(index.body[0]).toMatchObject({ open: '150', high: '152', low: '150', close: '152', volume: '0' });
    expect(index.body.slice(1).map((candle: { close: string }) => candle.close)).toEqual(['151', '149', '153']);
    const mark = await klines('Mark');
    expect(mark.status).toBe(200);
    // No book: the mark is the index.
    expect(mark.body.map((candle: { close: string }) => candle.close)).toEqual(['152', '151', '149', '153']);
    expect((await klines('Mark')).body[0].trades).toBe('0');
    // A spot market has no mark.
    const spot = await get(`/api/v1/klines?symbol=SOL_USDC&interval=1h&startTime=${start}&priceType=Mark`);
    expect(spot.status).toBe(400);
  });

  it('the CLI shows funding rates, mark prices and open interest', async () => {
    const funding = await cli(exchange, 'funding', '--symbol', symbol, '--limit', '2');
    expect(funding.rates).toHaveLength(2);
    expect(funding.rates[0]).toMatchObject({ symbol, fundingRate: '0.0000125' });
    const marks = await cli(exchange, 'mark-prices', '--symbol', symbol);
    expect(marks.markPrices).toEqual([expect.objectContaining({ symbol, markPrice: '153', indexPrice: '153' })]);
    expect(marks.openInterest).toEqual([expect.objectContaining({ symbol, openInterest: '0' })]);
  });

  it('ccxt parses the funding rate history, open interest, positions and mark candles', async () => {
    const client = backpackClient(exchange, trader);
    client.options.timeDifference = -offsetMs;
    const rates = await client.fetchFundingRateHistory('SOL/USDC:USDC');
    expect(rates).toHaveLength(3);
    expect(rates[0]).toMatchObject({ symbol: 'SOL/USDC:USDC', fundingRate: 0.0000125 });
    expect(rates[2]!.timestamp! - rates[1]!.timestamp!).toBe(hourMs);
    const interest = await client.fetchOpenInterest('SOL/USDC:USDC');
    expect(interest).toMatchObject({ symbol: 'SOL/USDC:USDC', openInterestValue: 0 });
    expect(await client.fetchPositions()).toEqual([]);
    // ccxt drops candles whose start is before `since`: ask from the first bucket's start.
    const since = firstPriceMs - (firstPriceMs % hourMs);
    const candles = await client.fetchMarkOHLCV('SOL/USDC:USDC', '1h', since);
    expect(candles.map((candle) => candle[4])).toEqual([152, 151, 149, 153]);
    const index = await client.fetchIndexOHLCV('SOL/USDC:USDC', '1h', since);
    expect(index[0]!.slice(1)).toEqual([150, 152, 150, 152, 0]);
  });
});

describe('position figures (perp-wire.ts) of positions planted through the perpetual settlement', () => {
  let exchange: TestExchange;
  const long = TestKey.random();
  const short = TestKey.random();

  beforeAll(async () => {
    exchange = await startTestExchange({ config: demoMarginSettings(), attestEveryMs: 3_600_000 });
    expect((await postIndexPrice(exchange.node, exchange.operatorKey.seed, 'SOL', '150')).outcome.accepted).toBe(true);
    await deposit(exchange, long.apiKey, 'USDC', '10000');
    await deposit(exchange, short.apiKey, 'USDC', '20');
  });

  afterAll(async () => {
    await exchange?.close();
  });

  it('the CLI shows the signer’s positions and funding payments (none yet)', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'vex-perps-cli-'));
    try {
      const keyFile = join(directory, 'key.json');
      writeFileSync(keyFile, JSON.stringify({ secret: long.secret, publicKey: long.apiKey }));
      expect(await cli(exchange, 'positions', '--key', keyFile)).toEqual([]);
      expect(await cli(exchange, 'funding', '--symbol', symbol, '--key', keyFile)).toEqual({ rates: [], payments: [] });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('reports cost, entry and break-even prices, PnL, funding and the estimated liquidation price', () => {
    // A copy of the node's state: the engine refuses perp orders yet, so the settlement's movePosition plants them.
    const state = decodeState(encodeState(exchange.node.state));
    const market = state.marketsBySymbol.get(symbol)!;
    const oneSol = 10n ** BigInt(market.base.decimals);
    const usdc = (whole: bigint) => whole * 10n ** BigInt(market.quote.decimals);
    const longAccount = state.accounts.get(long.apiKey)!;
    const shortAccount = state.accounts.get(short.apiKey)!;
    movePosition(longAccount, market, oneSol, usdc(150n), exchange.node.state.logTimeMs);
    movePosition(shortAccount, market, -oneSol, usdc(150n), exchange.node.state.logTimeMs);
    const wire = () => ({
      long: positionFigures(state, longAccount).map(wirePosition),
      short: positionFigures(state, shortAccount).map(wirePosition),
    });
    const opened = wire();
    expect(opened.long).toEqual([
      expect.objectContaining({
        symbol,
        netQuantity: '1',
        netCost: '150',
        entryPrice: '150',
        breakEvenPrice: '150',
        markPrice: '150',
        pnlUnrealized: '0',
        pnlRealized: '0',
        cumulativeFundingPayment: '0',
        netExposureQuantity: '1',
        netExposureNotional: '150',
        // Far from liquidation: no positive price reaches it.
        estLiquidationPrice: '0',
      }),
    ]);
    // A short's cost is negative (ccxt reads the side from it); 20 USDC holds it until about 150 + 20 − 150 × mmf.
    expect(opened.short[0]).toMatchObject({ netQuantity: '-1', netCost: '-150', entryPrice: '150' });
    const shortLiquidation = Number(opened.short[0]!.estLiquidationPrice);
    const mmf = Number(opened.short[0]!.mmf);
    expect(shortLiquidation).toBeCloseTo(150 + (20 - 150 * mmf) / (1 + mmf), 6);
    expect(wirePositionUpdate(positionFigures(state, shortAccount)[0]!)).toMatchObject({
      s: symbol,
      q: '-1',
      B: '150',
      l: opened.short[0]!.estLiquidationPrice,
    });

    // The mark moves up 10 and one interval's funding costs longs 1 USDC per SOL.
    market.perp!.funding.markPrice = 160n * wad;
    market.perp!.funding.cumulativeFundingIndex += wad;
    const moved = wire();
    expect(moved.long[0]).toMatchObject({ pnlUnrealized: '10', cumulativeFundingPayment: '-1', breakEvenPrice: '151' });
    expect(moved.short[0]).toMatchObject({
      pnlUnrealized: '-10',
      cumulativeFundingPayment: '1',
      breakEvenPrice: '151',
    });
    expect(Number(moved.short[0]!.netExposureNotional)).toBe(160);
  });
});
