/**
 * Requests that must be refused: each gets its catalogue code and HTTP
 * status as `{code, message}`, and neither the log (head sequence) nor the
 * state (its canonical hash) changes.
 */
import { stateHashHex } from '@vex/engine';
import { describe, expect, it } from 'vitest';
import {
  freshTimestamp,
  operatorTransaction,
  signedRequest,
  startTestExchange,
  TestKey,
  type TestExchange,
} from './test-support.js';
import { useFundedExchange } from '../test/exchange-fixture.js';

const order = { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '100', quantity: '1' };

describe('bad requests', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  const trader = TestKey.random();
  const stranger = TestKey.random();

  useFundedExchange(
    (started) => {
      exchange = started;
    },
    [
      [trader, 'USDC', '1000'],
      [trader, 'SOL', '10'],
    ],
    // No idle attestation: its timer would change the state between a refusal's before and after on a loaded machine.
    { attestEveryMs: 3_600_000 },
  );

  const snapshot = () => ({ sequence: exchange.node.head().sequence, stateHash: stateHashHex(exchange.node.state) });

  async function expectRefused(
    request: () => Promise<{ status: number; body: any }>,
    status: number,
    code: string,
    message?: RegExp,
  ): Promise<void> {
    const before = snapshot();
    const response = await request();
    expect(response.body).toMatchObject({ code });
    expect(typeof response.body.message).toBe('string');
    if (message !== undefined) expect(response.body.message).toMatch(message);
    expect(Object.keys(response.body).sort()).toEqual(['code', 'message']);
    expect(response.status).toBe(status);
    expect(snapshot()).toEqual(before);
  }

  const place = (options: Parameters<typeof signedRequest>[5] = {}, key = trader) =>
    signedRequest(exchange, key, 'POST', '/api/v1/order', 'orderExecute', { body: order, ...options });

  it('accepts the well-formed request these variations start from', async () => {
    const before = snapshot();
    const response = await place();
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'New', price: '100', quantity: '1' });
    expect(exchange.node.head().sequence).toBe(before.sequence + 1);
  });

  it('wrong signature → 401 INVALID_SIGNATURE', async () => {
    const timestampMs = freshTimestamp();
    const signingString = `instruction=orderExecute&orderType=Limit&price=100&quantity=1&side=Bid&symbol=SOL_USDC&timestamp=${timestampMs}&window=5000`;
    // Signed by another key than X-API-Key names.
    await expectRefused(
      () => place({ timestampMs, headers: { 'x-signature': stranger.sign(signingString) } }),
      401,
      'INVALID_SIGNATURE',
    );
    // Signed over other parameters than the body carries.
    await expectRefused(
      () => place({ timestampMs, signingString: signingString.replace('quantity=1', 'quantity=2') }),
      401,
      'INVALID_SIGNATURE',
    );
    // A signature that is not 64 bytes of base64.
    await expectRefused(() => place({ headers: { 'x-signature': 'AAAA' } }), 401, 'INVALID_SIGNATURE');
    // The trader's valid signature in a non-canonical encoding: the last character's unused bits set (the next
    // letter of the alphabet), which Buffer decodes to the same 64 bytes; only the canonical encoding is accepted.
    const canonical = trader.sign(signingString);
    const base64Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const nonCanonical = `${canonical.slice(0, 85)}${base64Alphabet[base64Alphabet.indexOf(canonical[85]!) + 1]}==`;
    await expectRefused(
      () => place({ timestampMs, headers: { 'x-signature': nonCanonical } }),
      401,
      'INVALID_SIGNATURE',
    );
    // Signed queries are checked by the API itself.
    await expectRefused(
      () =>
        signedRequest(exchange, trader, 'GET', '/api/v1/capital', 'balanceQuery', {
          signingString: 'instruction=balanceQuery&timestamp=1&window=5000',
        }),
      401,
      'INVALID_SIGNATURE',
    );
  });

  it('missing or malformed signature headers → 401 UNAUTHORIZED', async () => {
    await expectRefused(
      async () => {
        const response = await fetch(`${exchange.baseUrl}/api/v1/order`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(order),
        });
        return { status: response.status, body: await response.json() };
      },
      401,
      'UNAUTHORIZED',
    );
    await expectRefused(() => place({ headers: { 'x-api-key': 'not a key' } }), 401, 'UNAUTHORIZED');
  });

  it('expired timestamp → 400 INVALID_TIMESTAMP', async () => {
    await expectRefused(() => place({ timestampMs: Date.now() - 60_000 }), 400, 'INVALID_TIMESTAMP');
    await expectRefused(() => place({ timestampMs: Date.now() + 60_000 }), 400, 'INVALID_TIMESTAMP');
    await expectRefused(
      () =>
        signedRequest(exchange, trader, 'GET', '/api/v1/capital', 'balanceQuery', { timestampMs: Date.now() - 10_000 }),
      400,
      'INVALID_TIMESTAMP',
    );
  });

  it('window over 60000 → 400 INVALID_WINDOW', async () => {
    await expectRefused(() => place({ window: '60001' }), 400, 'INVALID_WINDOW');
    await expectRefused(() => place({ window: '0' }), 400, 'INVALID_WINDOW');
    await expectRefused(
      () => signedRequest(exchange, trader, 'GET', '/api/v1/capital', 'balanceQuery', { window: '600000' }),
      400,
      'INVALID_WINDOW',
    );
  });

  it('a replayed identical request → 409 DUPLICATE_REQUEST', async () => {
    const timestampMs = freshTimestamp();
    const first = await place({ timestampMs, body: { ...order, price: '99' } });
    expect(first.status).toBe(200);
    await expectRefused(() => place({ timestampMs, body: { ...order, price: '99' } }), 409, 'DUPLICATE_REQUEST');
  });

  it('unknown market → 400 INVALID_MARKET', async () => {
    await expectRefused(() => place({ body: { ...order, symbol: 'DOGE_USDC' } }), 400, 'INVALID_MARKET');
    await expectRefused(
      async () => {
        const response = await fetch(`${exchange.baseUrl}/api/v1/depth?symbol=DOGE_USDC`);
        return { status: response.status, body: await response.json() };
      },
      400,
      'INVALID_MARKET',
    );
  });

  it('over-precise price or quantity → 400 INVALID_PRICE / INVALID_QUANTITY', async () => {
    await expectRefused(() => place({ body: { ...order, price: '100.001' } }), 400, 'INVALID_PRICE', /tick size 0\.01/);
    await expectRefused(() => place({ body: { ...order, quantity: '0.001' } }), 400, 'INVALID_QUANTITY');
    await expectRefused(() => place({ body: { ...order, price: '1e2' } }), 400, 'INVALID_PRICE');
  });

  it('insufficient funds → 400 INSUFFICIENT_FUNDS', async () => {
    await expectRefused(() => place({ body: { ...order, quantity: '100' } }), 400, 'INSUFFICIENT_FUNDS');
    await expectRefused(
      () =>
        signedRequest(exchange, trader, 'POST', '/wapi/v1/capital/withdrawals', 'withdraw', {
          body: { address: 'somewhere', blockchain: 'Solana', quantity: '11', symbol: 'SOL' },
        }),
      400,
      'INSUFFICIENT_FUNDS',
    );
  });

  it('oversized body → 413 REQUEST_TOO_LARGE', async () => {
    await expectRefused(
      () => place({ rawBody: JSON.stringify({ ...order, padding: 'x'.repeat(70 * 1024) }) }),
      413,
      'REQUEST_TOO_LARGE',
    );
  });

  it('malformed JSON → 400 INVALID_CLIENT_REQUEST', async () => {
    await expectRefused(() => place({ rawBody: '{"symbol": "SOL_USDC", ' }), 400, 'INVALID_CLIENT_REQUEST');
    await expectRefused(() => place({ rawBody: '' }), 400, 'INVALID_CLIENT_REQUEST');
  });

  it('unknown or mistyped body fields → 400 INVALID_CLIENT_REQUEST (schema)', async () => {
    await expectRefused(
      () => place({ body: { ...order, leverage: '10' } }),
      400,
      'INVALID_CLIENT_REQUEST',
      /additional properties/,
    );
    await expectRefused(
      () => place({ body: { ...order, postOnly: 'true' } }),
      400,
      'INVALID_CLIENT_REQUEST',
      /postOnly/,
    );
    await expectRefused(() => place({ body: { ...order, clientId: 2 ** 32 } }), 400, 'INVALID_CLIENT_REQUEST');
    await expectRefused(() => place({ body: { ...order, side: 'Buy' } }), 400, 'INVALID_CLIENT_REQUEST');
    await expectRefused(
      () =>
        signedRequest(exchange, trader, 'GET', '/api/v1/orders', 'orderQueryAll', {
          query: { symbol: 'SOL_USDC', extra: '1' },
        }),
      400,
      'INVALID_CLIENT_REQUEST',
    );
  });

  it('__proto__ and constructor.prototype payloads → 400 INVALID_CLIENT_REQUEST', async () => {
    await expectRefused(
      () =>
        place({
          rawBody:
            '{"symbol":"SOL_USDC","side":"Bid","orderType":"Limit","price":"100","quantity":"1","__proto__":{"isAdmin":true}}',
        }),
      400,
      'INVALID_CLIENT_REQUEST',
    );
    await expectRefused(
      () =>
        place({
          rawBody:
            '{"symbol":"SOL_USDC","side":"Bid","orderType":"Limit","price":"100","quantity":"1","constructor":{"prototype":{"isAdmin":true}}}',
        }),
      400,
      'INVALID_CLIENT_REQUEST',
    );
    await expectRefused(
      () =>
        signedRequest(exchange, trader, 'POST', '/api/v1/orders', 'orderExecute', {
          rawBody: '[{"__proto__":{"polluted":1},"symbol":"SOL_USDC"}]',
        }),
      400,
      'INVALID_CLIENT_REQUEST',
    );
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a trader cannot sign operator instructions → 401 UNAUTHORIZED', async () => {
    await expectRefused(
      async () => {
        const message = `instruction=depositCredit&account=${encodeURIComponent(trader.apiKey)}&blockchain=Solana&chainTransactionId=forged&quantity=1000000&symbol=USDC&timestamp=${freshTimestamp()}&window=5000`;
        const response = await fetch(`${exchange.baseUrl}/api/v1/transactions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message, publicKey: trader.apiKey, signature: trader.sign(message) }),
        });
        return { status: response.status, body: await response.json() };
      },
      401,
      'UNAUTHORIZED',
    );
  });

  it('a deposit credited twice → 409 DUPLICATE_DEPOSIT', async () => {
    const credit = {
      account: trader.apiKey,
      symbol: 'USDC',
      quantity: '1',
      blockchain: 'Solana',
      chainTransactionId: 'same-chain-tx',
    };
    expect((await operatorTransaction(exchange, 'depositCredit', credit)).status).toBe(200);
    await expectRefused(async () => operatorTransaction(exchange, 'depositCredit', credit), 409, 'DUPLICATE_DEPOSIT');
  });

  it('unknown routes → 404 NOT_FOUND; missing orders → 404 RESOURCE_NOT_FOUND', async () => {
    await expectRefused(
      async () => {
        const response = await fetch(`${exchange.baseUrl}/api/v1/nothing-here`);
        return { status: response.status, body: await response.json() };
      },
      404,
      'NOT_FOUND',
    );
    await expectRefused(
      () =>
        signedRequest(exchange, trader, 'DELETE', '/api/v1/order', 'orderCancel', {
          body: { symbol: 'SOL_USDC', orderId: '424242' },
        }),
      404,
      'RESOURCE_NOT_FOUND',
    );
    // Another account's order is not found either.
    const mine = await place({ body: { ...order, price: '98' } });
    await expectRefused(
      () =>
        signedRequest(exchange, stranger, 'GET', '/api/v1/order', 'orderQuery', {
          query: { symbol: 'SOL_USDC', orderId: mine.body.id },
        }),
      404,
      'RESOURCE_NOT_FOUND',
    );
  });
});

describe('rate limiting', { timeout: 60_000 }, () => {
  it('answers 429 TOO_MANY_REQUESTS per API key and per IP', async () => {
    const exchange = await startTestExchange({
      rateLimits: { perIp: { max: 30, timeWindowMs: 60_000 }, perApiKey: { max: 5, timeWindowMs: 60_000 } },
    });
    try {
      const key = TestKey.random();
      const statuses: number[] = [];
      let limited: { status: number; body: any } | undefined;
      for (let index = 0; index < 8; index += 1) {
        const response = await signedRequest(exchange, key, 'GET', '/api/v1/capital', 'balanceQuery');
        statuses.push(response.status);
        if (response.status === 429) limited = response;
      }
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses.slice(5)).toEqual([429, 429, 429]);
      expect(limited!.body).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
      // Another key from the same address still gets through, until the per-IP limit.
      expect((await signedRequest(exchange, TestKey.random(), 'GET', '/api/v1/capital', 'balanceQuery')).status).toBe(
        200,
      );
      const publicStatuses: number[] = [];
      for (let index = 0; index < 25; index += 1)
        publicStatuses.push((await fetch(`${exchange.baseUrl}/api/v1/markets`)).status);
      expect(publicStatuses).toContain(429);
      const response = await fetch(`${exchange.baseUrl}/api/v1/markets`);
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await response.json()).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    } finally {
      await exchange.close();
    }
  });
});
