/**
 * The node's admission bound as clients see it: a real server on loopback
 * whose node takes one transaction in flight at most
 * (maximumPendingTransactions: 1). Concurrent signed orders beyond it are
 * answered 429 TOO_MANY_REQUESTS with Retry-After and a message saying that
 * nothing was logged; they are indeed not in the log, and the very same
 * requests sent again later are accepted.
 */
import { encodeSigningString } from '@vex/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deposit, freshTimestamp, startTestExchange, TestKey, type TestExchange } from './test-support.js';

interface PreparedOrder {
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly signature: string;
}

function signedOrder(key: TestKey, clientId: number): PreparedOrder {
  // Worth 1 USDC, the demo market's minimum order value.
  const order = { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '1', quantity: '1', clientId };
  const timestampMs = freshTimestamp();
  const signingString = encodeSigningString(
    [{ instruction: 'orderExecute', params: Object.entries(order).map(([name, value]) => [name, String(value)]) }],
    timestampMs,
    5000,
  );
  const signature = key.sign(signingString);
  return {
    body: JSON.stringify(order),
    headers: {
      'content-type': 'application/json',
      'x-api-key': key.apiKey,
      'x-signature': signature,
      'x-timestamp': String(timestampMs),
      'x-window': '5000',
    },
    signature,
  };
}

async function send(
  exchange: TestExchange,
  order: PreparedOrder,
): Promise<{ status: number; retryAfter: string | null; body: Record<string, unknown> }> {
  const response = await fetch(`${exchange.baseUrl}/api/v1/order`, {
    method: 'POST',
    headers: order.headers,
    body: order.body,
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe('overload: the node admission bound answered as 429', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  const trader = TestKey.random();
  beforeAll(async () => {
    exchange = await startTestExchange({ maximumPendingTransactions: 1 });
    await deposit(exchange, trader.apiKey, 'USDC', '1000');
  });
  afterAll(async () => {
    await exchange?.close();
  });

  it('refuses orders beyond the bound with 429 and Retry-After, logs none of them, and takes them when sent again', async () => {
    const overloadedBefore = exchange.node.statistics().overloadedTransactions;
    const accepted: PreparedOrder[] = [];
    const refused: PreparedOrder[] = [];
    let clientId = 0;
    // Rounds of 64 concurrent orders until the bound has refused some (the first round normally does;
    // bounded, so a node that never refuses fails the test below instead of looping).
    for (let round = 0; round < 10 && refused.length === 0; round += 1) {
      const orders = Array.from({ length: 64 }, () => signedOrder(trader, (clientId += 1)));
      const answers = await Promise.all(orders.map((order) => send(exchange, order)));
      answers.forEach((answer, index) => {
        if (answer.status === 200) {
          accepted.push(orders[index]!);
          return;
        }
        expect(answer.status).toBe(429);
        expect(answer.retryAfter).toBe('1');
        expect(answer.body.code).toBe('TOO_MANY_REQUESTS');
        expect(answer.body.message).toMatch(
          /overloaded and did not take this request \(nothing was logged\); send it again in 1 s/,
        );
        refused.push(orders[index]!);
      });
    }
    expect(refused.length).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(0);
    const statistics = exchange.node.statistics();
    expect(statistics.overloadedTransactions - overloadedBefore).toBe(refused.length);
    expect(statistics.peakPendingTransactions).toBe(1);
    expect(statistics.pendingTransactions).toBe(0);

    const logged = new Set<string>();
    for await (const entry of exchange.node.readEntries(1))
      logged.add(Buffer.from(entry.transaction.signature).toString('base64'));
    for (const order of accepted) expect(logged.has(order.signature)).toBe(true);
    for (const order of refused) expect(logged.has(order.signature)).toBe(false);

    // The same signed bytes, sent again one at a time, are taken: the refusal left no trace to collide with.
    for (const order of refused.slice(0, 20)) expect((await send(exchange, order)).status).toBe(200);
  });
});
