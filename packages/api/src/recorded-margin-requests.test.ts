/**
 * The 32 requests ccxt 4.5.84 sent for the margin and perpetual endpoints
 * (shared/ccxt-margin-requests.jsonl, copied to test/fixtures), replayed byte
 * for byte with the node's and the server's clock at each X-Timestamp: every
 * margin route parses, verifies and routes. Perpetual routes answer from
 * the listed perpetuals (no positions: the engine takes no perp orders yet),
 * and the two requests ccxt signs with an empty instruction are refused
 * (docs/api.md, "Margin").
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMarginSettings } from './margin-config.js';
import {
  operatorTransaction,
  signedRequest,
  startTestExchange,
  TestKey,
  type TestExchange,
  readRecordedRequests,
  recordedRequestKey,
  clockStartBefore,
  replayRecordedRequests,
} from './test-support.js';

const recorded = readRecordedRequests(
  fileURLToPath(new URL('../test/fixtures/ccxt-margin-requests.jsonl', import.meta.url)),
);
const recordedKey = recordedRequestKey;
const lender = new TestKey(new Uint8Array(32).fill(9));

describe('margin requests recorded from ccxt 4.5.84', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  let now = clockStartBefore(recorded);

  beforeAll(async () => {
    exchange = await startTestExchange({ clock: () => now, config: demoMarginSettings() });
    const operator = async (instruction: string, params: Record<string, string>) => {
      now += 1;
      const { status, body } = await operatorTransaction(exchange, instruction, params, now);
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body.results).toMatchObject([{ ok: true }]);
    };
    await operator('indexPriceUpdate', { symbol: 'SOL', price: '150', publishedAtMs: String(now + 1) });
    await operator('indexPriceUpdate', { symbol: 'BTC', price: '90000', publishedAtMs: String(now + 1) });
    const credits = [
      [recordedKey, 'USDC', '1000'],
      [recordedKey, 'SOL', '10'],
      [lender, 'SOL', '50'],
    ] as const;
    for (const [key, symbol, quantity] of credits) {
      const chainTransactionId = `recorded-margin-${key.apiKey.slice(0, 4)}-${symbol}`;
      await operator('depositCredit', {
        account: key.apiKey,
        symbol,
        quantity,
        blockchain: 'Solana',
        chainTransactionId,
      });
    }
    now += 1;
    const lend = await signedRequest(exchange, lender, 'POST', '/api/v1/borrowLend', 'borrowLendExecute', {
      body: { quantity: '50', side: 'Lend', symbol: 'SOL' },
      timestampMs: now,
    });
    expect(lend.status, JSON.stringify(lend.body)).toBe(200);
  });

  afterAll(async () => {
    await exchange?.close();
  });

  it('serves mark prices: the SOL index 150 (empty book), the hourly estimated rate', async () => {
    const response = await fetch(`${exchange.baseUrl}/api/v1/markPrices?symbol=SOL_USDC_PERP`);
    expect(response.status).toBe(200);
    const [mark] = (await response.json()) as Array<Record<string, unknown>>;
    expect(mark).toMatchObject({
      fundingRate: '0.0000125',
      indexPrice: '150',
      markPrice: '150',
      symbol: 'SOL_USDC_PERP',
    });
    expect((mark!.nextFundingTimestamp as number) % 3_600_000).toBe(0);
    const all = (await (await fetch(`${exchange.baseUrl}/api/v1/markPrices`)).json()) as Array<{ symbol: string }>;
    expect(all.map((entry) => entry.symbol)).toEqual(['SOL_USDC_PERP', 'BTC_USDC_PERP']);
  });

  it('uses the recorded key', () => {
    expect(recordedKey.apiKey).toBe('6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=');
    expect(recorded).toHaveLength(32);
  });

  it('answers every recorded request', async () => {
    const answers = await replayRecordedRequests(exchange, recorded, (timestampMs) => {
      now = timestampMs;
    });
    const statuses = answers.map(({ method, url, status }) => `${status} ${method} ${url.split('?')[0]}`);
    expect(statuses).toEqual(EXPECTED_STATUSES);
    const byRequest = (index: number) => answers[index]!.body;
    expect(byRequest(11)).toMatchObject({ autoLend: false, leverageLimit: '0', liquidating: false });
    expect(byRequest(12)).toMatchObject({ leverageLimit: '5' });
    expect(byRequest(13)).toMatchObject({
      autoBorrowSettlements: true,
      autoLend: true,
      autoRepayBorrows: true,
      leverageLimit: '5',
    });
    expect(byRequest(14)).toMatchObject({ symbol: 'SOL', side: 'Borrow', quantity: '1', netQuantity: '-1' });
    expect(byRequest(15)).toMatchObject({ symbol: 'USDC', side: 'Lend', quantity: '100', netQuantity: '100' });
    expect(byRequest(16)).toEqual(
      expect.arrayContaining([
        // Interest has accrued on the borrow since it was made (rounded up, by whole nanoSOL).
        expect.objectContaining({
          symbol: 'SOL',
          netQuantity: expect.stringMatching(/^-1\.00000000[1-9]$/),
          markPrice: '150',
        }),
        expect.objectContaining({ symbol: 'USDC', netQuantity: '100' }),
      ]),
    );
    expect(byRequest(17).map((market: { symbol: string }) => market.symbol)).toEqual(['SOL', 'BTC', 'USDC']);
    expect(byRequest(17)[0]).toMatchObject({
      symbol: 'SOL',
      lentQuantity: '50',
      borrowedQuantity: expect.stringMatching(/^1(\.00000000[1-9])?$/),
      utilization: expect.stringMatching(/^0\.02/),
    });
    expect(byRequest(18)).toEqual([expect.objectContaining({ symbol: 'USDC', lentQuantity: '100' })]);
    expect(byRequest(19)[0]).toMatchObject({
      symbol: 'SOL',
      haircutFunction: { weight: '0.8', kind: { type: 'identity' } },
    });
    // 1000 USDC + 10 SOL × 150 × 0.8 held (one SOL of it borrowed); owes 1 SOL = 150.
    expect(byRequest(20)).toMatchObject({
      assetsValue: '2320',
      liquidating: false,
      imf: expect.stringMatching(/^0\.3/),
      mmf: expect.stringMatching(/^0\.15/),
    });
    expect(byRequest(20).borrowLiability).toMatch(/^150\.00000[1-9]$/);
    expect(byRequest(20).netEquity).toMatch(/^2169\.99999[0-9]$/);
    expect(Number(byRequest(21).maxBorrowQuantity)).toBeGreaterThan(0);
    expect(byRequest(26)).toEqual([
      expect.objectContaining({ symbol: 'SOL', side: 'Borrow' }),
      expect.objectContaining({ symbol: 'USDC', side: 'Lend' }),
    ]);
  });
});

const EXPECTED_STATUSES = [
  '200 GET /api/v1/assets',
  '200 GET /api/v1/markets',
  '200 GET /api/v1/position',
  '200 GET /api/v1/position',
  // The perpetuals' market data and history (routes-perps.ts, routes-perps-account.ts).
  '200 GET /api/v1/markPrices',
  '200 GET /api/v1/fundingRates',
  '200 GET /wapi/v1/history/funding',
  '200 GET /api/v1/openInterest',
  // Mark and index candles from the mark-price history (perp-klines.ts). The reduce-only
  // market sell finds no long position to reduce (INVALID_ORDER, reduceOnlyNotReduced): 400.
  '200 GET /api/v1/klines',
  '200 GET /api/v1/klines',
  '400 POST /api/v1/order',
  '200 GET /api/v1/account',
  '200 PATCH /api/v1/account',
  '200 PATCH /api/v1/account',
  '200 POST /api/v1/borrowLend',
  '200 POST /api/v1/borrowLend',
  '200 GET /api/v1/borrowLend/positions',
  '200 GET /api/v1/borrowLend/markets',
  '200 GET /api/v1/borrowLend/markets/history',
  '200 GET /api/v1/collateral',
  '200 GET /api/v1/capital/collateral',
  '200 GET /api/v1/account/limits/borrow',
  // SOL_USDC_PERP is listed since the perpetual listings (it was INVALID_MARKET, 400, before).
  '200 GET /api/v1/account/limits/order',
  // Signed by ccxt with an empty instruction; not a route here.
  '404 GET /api/v1/borrowLend/position/liquidationPrice',
  '200 GET /wapi/v1/history/borrowLend',
  '200 GET /wapi/v1/history/interest',
  '200 GET /wapi/v1/history/borrowLend/positions',
  '200 GET /wapi/v1/history/settlement',
  // Signed by ccxt with an empty instruction, which is not positionHistoryQueryAll: refused.
  '401 GET /wapi/v1/history/position',
  // A listed market now (was 400 before the perpetual listings); no positions yet.
  '200 GET /api/v1/position',
  '200 GET /api/v1/markPrices',
  '200 GET /api/v1/openInterest',
];
