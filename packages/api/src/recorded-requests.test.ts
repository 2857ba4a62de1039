/**
 * The 19 requests ccxt 4.5.84 sent to a recording server
 * (shared/ccxt-requests.jsonl), replayed byte for byte: headers, bodies and
 * signatures exactly as ccxt produced them (percent-encoded values
 * included). The node's and the server's clock are set to each request's
 * X-Timestamp, so every signature and window is judged as it was meant.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  operatorTransaction,
  startTestExchange,
  type TestExchange,
  readRecordedRequests,
  recordedRequestKey,
  clockStartBefore,
  replayRecordedRequests,
} from './test-support.js';

// The repository's one copy of shared/ccxt-requests.jsonl, so a clone alone suffices.
const recorded = readRecordedRequests(
  fileURLToPath(new URL('../../engine/test/fixtures/ccxt-requests.jsonl', import.meta.url)),
);
const recordedKey = recordedRequestKey;

describe('requests recorded from ccxt 4.5.84', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  let now = clockStartBefore(recorded);

  beforeAll(async () => {
    exchange = await startTestExchange({ clock: () => now });
    for (const [symbol, quantity] of [
      ['USDC', '1000'],
      ['SOL', '10'],
    ] as const) {
      now += 1;
      const credit = {
        account: recordedKey.apiKey,
        symbol,
        quantity,
        blockchain: 'Solana',
        chainTransactionId: `recorded-${symbol}`,
      };
      expect((await operatorTransaction(exchange, 'depositCredit', credit, now)).status).toBe(200);
    }
  });

  afterAll(async () => {
    await exchange?.close();
  });

  it('uses the recorded key', () => {
    expect(recordedKey.apiKey).toBe('6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=');
    expect(recorded).toHaveLength(19);
  });

  it('answers every recorded request as Backpack would', async () => {
    const answers = await replayRecordedRequests(exchange, recorded, (timestampMs) => {
      now = timestampMs;
    });
    // Every answer is JSON.
    for (const answer of answers) expect(answer.body, `${answer.method} ${answer.url}`).toBeDefined();
    const statuses = answers.map(({ method, url, status }) => `${status} ${method} ${url}`);
    expect(statuses).toEqual([
      '200 GET /api/v1/assets',
      '200 GET /api/v1/markets',
      '200 GET /api/v1/depth?symbol=SOL_USDC',
      '200 GET /api/v1/trades?limit=10&symbol=SOL_USDC',
      '200 GET /api/v1/capital',
      '200 POST /api/v1/order',
      // IOC, FOK and market orders that would execute nothing are refused, never logged.
      '400 POST /api/v1/order',
      '400 POST /api/v1/order',
      '400 POST /api/v1/order',
      '400 POST /api/v1/order',
      '200 POST /api/v1/orders',
      '200 GET /api/v1/orders?symbol=SOL_USDC',
      '404 GET /api/v1/order?orderId=111&symbol=SOL_USDC',
      '404 DELETE /api/v1/order',
      '200 DELETE /api/v1/orders',
      '200 GET /wapi/v1/history/fills?fillType=User&limit=5&symbol=SOL_USDC',
      '200 GET /wapi/v1/capital/deposits',
      '200 GET /wapi/v1/capital/withdrawals',
      '200 POST /wapi/v1/capital/withdrawals',
    ]);
    const bodies = answers.map((answer) => answer.body);
    expect(bodies[4]).toMatchObject({
      USDC: { available: '1000', locked: '0' },
      SOL: { available: '10', locked: '0' },
    });
    expect(bodies[5]).toMatchObject({ clientId: 1001, postOnly: true, price: '100', quantity: '0.5', status: 'New' });
    // IOC at 101.25 with no bid; FOK that cannot fill; market bid on an empty ask side; and a market ask
    // that could only trade with the account's own bid, which self-trade prevention forbids.
    for (const index of [6, 7, 8, 9]) expect(bodies[index]).toMatchObject({ code: 'ORDER_WOULD_NOT_FILL' });
    expect(bodies[10]).toHaveLength(2);
    expect(bodies[10][1]).toMatchObject({ clientId: 7, price: '102', side: 'Ask', status: 'New' });
    expect(bodies[11]).toHaveLength(3);
    expect(bodies[12]).toMatchObject({ code: 'RESOURCE_NOT_FOUND' });
    expect(bodies[13]).toMatchObject({ code: 'RESOURCE_NOT_FOUND' });
    expect(bodies[14]).toHaveLength(3);
    expect(bodies[14].every((order: { status: string }) => order.status === 'Cancelled')).toBe(true);
    expect(bodies[15]).toEqual([]);
    expect(bodies[18]).toMatchObject({ toAddress: 'a b:c/d+e', quantity: '1.5', symbol: 'USDC', status: 'pending' });
  });

  it('logs the exact bytes ccxt signed (the percent-encoded form)', async () => {
    const head = exchange.node.head().sequence;
    const entries = [];
    for await (const entry of exchange.node.readEntries(head, head)) entries.push(entry);
    const message = new TextDecoder().decode(entries[0]!.transaction.message);
    expect(message).toBe(
      'instruction=withdraw&address=a%20b%3Ac%2Fd%2Be&blockchain=Solana&quantity=1.5&symbol=USDC&timestamp=1795250316509&window=5000',
    );
  });
});
