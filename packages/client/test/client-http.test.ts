/**
 * ExchangeClient on the wire, against a real node:http server that records
 * requests: paths, methods, query strings, bodies and headers; every signed
 * request verified the way the API verifies it (the engine's request-signing
 * reconstruction and signature rule); the recorded ccxt requests reproduced
 * byte for byte; operator transactions parsed by the engine; and the errors
 * the client raises for what the server answers.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../src/base64.js';
import { ExchangeClient } from '../src/client.js';
import { ClientInputError, ExchangeError } from '../src/errors.js';
import { generateKeyPair } from '../src/keys.js';
import { signedRoutes } from '../src/routes.js';
import type { OrderRequest, WithdrawRequest } from '../src/types.js';
import { instructionForRoute, parseInstruction, verifySignature, parseSigningString } from '@vex/engine';
import { verifiedSigningString } from './engine-check.js';
import { startRecorder, type RecordedRequest, type Recorder } from './http-recorder.js';

interface RecordedCcxtRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}
const ccxtRequests: RecordedCcxtRequest[] = readFileSync(
  new URL('../../engine/test/fixtures/ccxt-requests.jsonl', import.meta.url),
  'utf8',
)
  .split('\n')
  .filter((line) => line.trim().length > 0)
  .map((line) => JSON.parse(line) as RecordedCcxtRequest);
const ccxtSecret = encodeBase64(new Uint8Array(32).fill(7));
const utf8 = new TextEncoder();

let recorder: Recorder;
beforeAll(async () => {
  recorder = await startRecorder();
});
afterAll(async () => {
  await recorder.close();
});
beforeEach(() => {
  recorder.requests.length = 0;
  recorder.handler = () => ({ json: {} });
});

function last(): RecordedRequest {
  const request = recorder.requests.at(-1);
  if (request === undefined) throw new Error('no request was recorded');
  return request;
}

function traderClient(options: Partial<ConstructorParameters<typeof ExchangeClient>[0]> = {}): ExchangeClient {
  return new ExchangeClient({ baseUrl: recorder.baseUrl, secret: generateKeyPair().secret, ...options });
}

/**
 * The exchange's own signed routes: the engine's table lists Backpack's routes
 * only, and the API names these routes' instructions itself
 * (packages/api/src/routes-verification.ts, routes-native.ts).
 */
const nativeSignedRoutes: Readonly<Record<string, string>> = {
  'GET /wapi/v1/proof': 'proofQuery',
  'GET /api/v1/operator/withdrawals': 'operatorWithdrawalQueryAll',
  'GET /wapi/v1/coveragePool': 'coveragePoolQuery',
};

describe('the routes', () => {
  it('every signed route carries the instruction the API expects for it', () => {
    for (const route of Object.values(signedRoutes)) {
      const name = `${route.method} ${route.path}`;
      expect(instructionForRoute(route.method, route.path) ?? nativeSignedRoutes[name], name).toBe(route.instruction);
    }
  });
});

describe('reproducing the recorded ccxt requests', () => {
  /** Calls the client method that corresponds to a recorded request. */
  async function replay(client: ExchangeClient, request: RecordedCcxtRequest): Promise<unknown> {
    const url = new URL(request.url, 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const body: unknown = request.body === undefined ? undefined : JSON.parse(request.body);
    const route = `${request.method} ${url.pathname}`;
    switch (route) {
      case 'GET /api/v1/assets':
        return client.assets();
      case 'GET /api/v1/markets':
        return client.markets();
      case 'GET /api/v1/depth':
        return client.depth(query.symbol as string);
      case 'GET /api/v1/trades':
        return client.trades(query.symbol as string, Number(query.limit));
      case 'GET /api/v1/capital':
        return client.balances();
      case 'POST /api/v1/order':
        return client.placeOrder(body as OrderRequest);
      case 'POST /api/v1/orders':
        return client.placeOrders(body as OrderRequest[]);
      case 'GET /api/v1/orders':
        return client.openOrders(query.symbol);
      case 'GET /api/v1/order':
        return client.order({ symbol: query.symbol as string, orderId: query.orderId as string });
      case 'DELETE /api/v1/order':
        return client.cancelOrder(body as { symbol: string; orderId: string });
      case 'DELETE /api/v1/orders':
        return client.cancelAllOrders((body as { symbol: string }).symbol);
      case 'GET /wapi/v1/history/fills':
        return client.fills({
          fillType: query.fillType as string,
          limit: Number(query.limit),
          symbol: query.symbol as string,
        });
      case 'GET /wapi/v1/capital/deposits':
        return client.deposits();
      case 'GET /wapi/v1/capital/withdrawals':
        return client.withdrawals();
      case 'POST /wapi/v1/capital/withdrawals':
        return client.withdraw(body as WithdrawRequest);
      default:
        throw new Error(`no client method for ${route}`);
    }
  }

  it.each(ccxtRequests.map((request, index) => [`${index + 1} ${request.method} ${request.url}`, request] as const))(
    '%s',
    async (_name, request) => {
      const timestamp = request.headers['x-timestamp'];
      // ccxt percent-encodes values; for every recorded value but the withdrawal
      // address, raw and percent-encoded are the same text.
      const encoding = request.url === '/wapi/v1/capital/withdrawals' && request.method === 'POST' ? 'percent' : 'raw';
      const client = new ExchangeClient({
        baseUrl: recorder.baseUrl,
        secret: ccxtSecret,
        now: () => Number(timestamp ?? 0),
        encoding,
      });
      await replay(client, request);
      const sent = last();
      expect(sent.method).toBe(request.method);
      expect(sent.url).toBe(request.url);
      expect(sent.body.length === 0 ? undefined : JSON.parse(sent.body)).toEqual(
        request.body === undefined ? undefined : JSON.parse(request.body),
      );
      if (timestamp === undefined) {
        expect(sent.headers['x-signature']).toBeUndefined();
        expect(sent.headers['x-api-key']).toBeUndefined();
        return;
      }
      expect(sent.headers['x-api-key']).toBe(request.headers['x-api-key']);
      expect(sent.headers['x-timestamp']).toBe(timestamp);
      expect(sent.headers['x-window']).toBe(request.headers['x-window']);
      expect(sent.headers['x-signature']).toBe(request.headers['x-signature']);
      expect(verifiedSigningString(sent)).toBeDefined();
    },
  );

  it('signs the raw form by default, which the server accepts too', async () => {
    const client = new ExchangeClient({ baseUrl: recorder.baseUrl, secret: ccxtSecret, now: () => 1795250316509 });
    await client.withdraw({ address: 'a b:c/d+e', blockchain: 'Solana', quantity: '1.5', symbol: 'USDC' });
    expect(verifiedSigningString(last())).toBe(
      'instruction=withdraw&address=a b:c/d+e&blockchain=Solana&quantity=1.5&symbol=USDC&timestamp=1795250316509&window=5000',
    );
  });
});

describe('signed requests on the wire', () => {
  it('random orders, batches and withdrawals all verify through the API reconstruction', async () => {
    const orderArbitrary: fc.Arbitrary<OrderRequest> = fc.record(
      {
        symbol: fc.constantFrom('SOL_USDC', 'BTC_USDC'),
        side: fc.constantFrom('Bid' as const, 'Ask' as const),
        orderType: fc.constantFrom('Limit' as const, 'Market' as const),
        price: fc.oneof(fc.stringMatching(/^[1-9][0-9]{0,5}(\.[0-9]{1,4})?$/), fc.integer({ min: 1, max: 99_999 })),
        quantity: fc.oneof(fc.stringMatching(/^[0-9]{1,4}\.[0-9]{1,6}$/), fc.constantFrom(1, 0.5, 2.25)),
        timeInForce: fc.constantFrom('GTC' as const, 'IOC' as const, 'FOK' as const),
        postOnly: fc.boolean(),
        selfTradePrevention: fc.constantFrom('RejectTaker' as const, 'Allow' as const),
        clientId: fc.integer({ min: 0, max: 4_294_967_295 }),
      },
      { requiredKeys: ['symbol', 'side', 'orderType'] },
    );
    const withdrawalArbitrary: fc.Arbitrary<WithdrawRequest> = fc.record({
      symbol: fc.constantFrom('USDC', 'SOL'),
      quantity: fc.stringMatching(/^[0-9]{1,6}(\.[0-9]{1,6})?$/),
      address: fc.string({
        unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
        minLength: 1,
        maxLength: 50,
      }),
      blockchain: fc.constantFrom('Solana', 'Ethereum'),
    });
    const client = traderClient();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          orderArbitrary.map((order) => ({ kind: 'order' as const, order })),
          fc
            .array(orderArbitrary, { minLength: 1, maxLength: 5 })
            .map((orders) => ({ kind: 'batch' as const, orders })),
          withdrawalArbitrary.map((withdrawal) => ({ kind: 'withdraw' as const, withdrawal })),
        ),
        async (action) => {
          if (action.kind === 'order') await client.placeOrder(action.order);
          else if (action.kind === 'batch') await client.placeOrders(action.orders);
          else await client.withdraw(action.withdrawal);
          const sent = last();
          expect(sent.headers['content-type']).toMatch(/^application\/json/);
          expect(sent.headers['x-api-key']).toBe(client.apiKey);
          expect(verifiedSigningString(sent)).toBeDefined();
        },
      ),
      { numRuns: 150 },
    );
  });

  it('the verification used here does reject a tampered request (negative control)', async () => {
    const client = traderClient();
    await client.placeOrder({ symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '100', quantity: '1' });
    const sent = last();
    expect(verifiedSigningString(sent)).toBeDefined();
    expect(verifiedSigningString({ ...sent, body: sent.body.replace('"100"', '"101"') })).toBeUndefined();
    expect(
      verifiedSigningString({
        ...sent,
        headers: { ...sent.headers, 'x-timestamp': String(Number(sent.headers['x-timestamp']) + 1) },
      }),
    ).toBeUndefined();
    expect(verifiedSigningString({ ...sent, headers: { ...sent.headers, 'x-window': '5001' } })).toBeUndefined();
  });

  it('GET queries are signed from the query string, with every parameter in the URL', async () => {
    const client = traderClient();
    await client.fills({ symbol: 'SOL_USDC', limit: 10, offset: 20, from: 1, to: 2, orderId: 5 });
    let sent = last();
    expect(sent.url).toBe('/wapi/v1/history/fills?from=1&limit=10&offset=20&orderId=5&symbol=SOL_USDC&to=2');
    expect(sent.body).toBe('');
    expect(verifiedSigningString(sent)).toMatch(
      /^instruction=fillHistoryQueryAll&from=1&limit=10&offset=20&orderId=5&symbol=SOL_USDC&to=2&timestamp=\d+&window=5000$/,
    );

    await client.orderHistory({ symbol: 'SOL_USDC', limit: 3 });
    sent = last();
    expect(sent.url).toBe('/wapi/v1/history/orders?limit=3&symbol=SOL_USDC');
    expect(verifiedSigningString(sent)).toMatch(/^instruction=orderHistoryQueryAll&limit=3&symbol=SOL_USDC&/);

    await client.openOrders();
    expect(last().url).toBe('/api/v1/orders');
    expect(verifiedSigningString(last())).toMatch(/^instruction=orderQueryAll&timestamp=/);

    await client.order({ symbol: 'SOL_USDC', clientId: 42 });
    expect(last().url).toBe('/api/v1/order?clientId=42&symbol=SOL_USDC');
    expect(verifiedSigningString(last())).toMatch(/^instruction=orderQuery&clientId=42&symbol=SOL_USDC&/);

    await client.depositAddress('Solana');
    expect(last().url).toBe('/wapi/v1/capital/deposit/address?blockchain=Solana');
    expect(verifiedSigningString(last())).toMatch(/^instruction=depositAddressQuery&blockchain=Solana&/);

    await client.account();
    expect(verifiedSigningString(last())).toMatch(/^instruction=accountQuery&timestamp=/);
  });

  it('a query value with reserved characters is escaped in the URL and still verifies', async () => {
    const client = traderClient();
    await client.fills({ symbol: 'A&B=C D+E%F' });
    const sent = last();
    expect(sent.url).toBe('/wapi/v1/history/fills?symbol=A%26B%3DC%20D%2BE%25F');
    expect(sent.query.get('symbol')).toBe('A&B=C D+E%F');
    expect(verifiedSigningString(sent)).toBe(
      `instruction=fillHistoryQueryAll&symbol=A%26B%3DC%20D%2BE%25F&timestamp=${sent.headers['x-timestamp']}&window=5000`,
    );
  });

  it('DELETE bodies: cancel by order id, by client id, cancel all', async () => {
    const client = traderClient();
    await client.cancelOrder({ symbol: 'SOL_USDC', orderId: 17 });
    expect(last().method).toBe('DELETE');
    expect(last().body).toBe('{"orderId":17,"symbol":"SOL_USDC"}');
    expect(verifiedSigningString(last())).toMatch(/^instruction=orderCancel&orderId=17&symbol=SOL_USDC&/);
    await client.cancelOrder({ symbol: 'SOL_USDC', clientId: 9 });
    expect(last().body).toBe('{"clientId":9,"symbol":"SOL_USDC"}');
    await client.cancelAllOrders('SOL_USDC');
    expect(last().url).toBe('/api/v1/orders');
    expect(last().body).toBe('{"symbol":"SOL_USDC"}');
    expect(verifiedSigningString(last())).toMatch(/^instruction=orderCancelAll&symbol=SOL_USDC&/);
  });

  it('bodies keep JSON types, drop undefined fields and list keys in signing order', async () => {
    const client = traderClient();
    await client.placeOrder({
      symbol: 'SOL_USDC',
      side: 'Bid',
      orderType: 'Limit',
      price: 100.5,
      quantity: '2',
      postOnly: true,
      clientId: 3,
      timeInForce: undefined,
    });
    expect(last().body).toBe(
      '{"clientId":3,"orderType":"Limit","postOnly":true,"price":100.5,"quantity":"2","side":"Bid","symbol":"SOL_USDC"}',
    );
    expect(verifiedSigningString(last())).toMatch(
      /^instruction=orderExecute&clientId=3&orderType=Limit&postOnly=true&price=100.5&quantity=2&side=Bid&symbol=SOL_USDC&/,
    );
  });

  it('X-Window follows windowMs, and timestamps never repeat within one client', async () => {
    const client = traderClient({ windowMs: 60_000, now: () => 1_800_000_000_000 });
    await client.balances();
    await client.balances();
    await client.balances();
    expect(recorder.requests.map((request) => request.headers['x-timestamp'])).toEqual([
      '1800000000000',
      '1800000000001',
      '1800000000002',
    ]);
    expect(recorder.requests.map((request) => request.headers['x-window'])).toEqual(['60000', '60000', '60000']);
    for (const request of recorder.requests) expect(verifiedSigningString(request)).toBeDefined();
  });

  it('public requests carry no signature headers', async () => {
    const client = new ExchangeClient({ baseUrl: `${recorder.baseUrl}/` });
    await client.markets();
    await client.depth('SOL_USDC');
    await client.trades('SOL_USDC');
    await client.status();
    expect(recorder.requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'GET /api/v1/markets',
      'GET /api/v1/depth?symbol=SOL_USDC',
      'GET /api/v1/trades?symbol=SOL_USDC',
      'GET /api/v1/status',
    ]);
    for (const request of recorder.requests) {
      expect(request.headers['x-signature']).toBeUndefined();
      expect(request.headers['x-api-key']).toBeUndefined();
    }
  });
});

describe('operator transactions (POST /api/v1/transactions)', () => {
  const operator = generateKeyPair();
  const trader = generateKeyPair();

  function transaction(request: RecordedRequest): { message: string; publicKey: string; signature: string } {
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/api/v1/transactions');
    expect(request.headers['content-type']).toMatch(/^application\/json/);
    expect(request.headers['x-signature']).toBeUndefined();
    const body = JSON.parse(request.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['message', 'publicKey', 'signature']);
    return body as { message: string; publicKey: string; signature: string };
  }

  function parsedInstruction(request: RecordedRequest): unknown {
    const { message, publicKey, signature } = transaction(request);
    expect(publicKey).toBe(operator.publicKey);
    const bytes = utf8.encode(message);
    expect(verifySignature(decodeBase64(publicKey), bytes, decodeBase64(signature))).toBe('valid');
    const parsed = parseSigningString(bytes);
    if (!parsed.ok) throw new Error(parsed.message);
    const instruction = parseInstruction(parsed.value.groups);
    if (!instruction.ok) throw new Error(instruction.message);
    return instruction.instruction;
  }

  it('creditDeposit, completeWithdrawal, failWithdrawal, listAsset, listMarket parse in the engine as signed', async () => {
    recorder.handler = () => ({ json: { sequence: 1 } });
    const client = new ExchangeClient({ baseUrl: recorder.baseUrl, secret: operator.secret });
    await expect(
      client.creditDeposit({
        account: trader.publicKey,
        symbol: 'USDC',
        quantity: '1000',
        blockchain: 'Solana',
        chainTransactionId: 'tx-1',
      }),
    ).resolves.toEqual({ sequence: 1 });
    expect(parsedInstruction(last())).toEqual({
      kind: 'depositCredit',
      account: trader.publicKey,
      blockchain: 'Solana',
      chainTransactionId: 'tx-1',
      quantity: '1000',
      symbol: 'USDC',
    });
    expect(transaction(last()).message).toMatch(
      new RegExp(
        `^instruction=depositCredit&account=${trader.publicKey.replace(/[+/]/g, '\\$&')}&blockchain=Solana&chainTransactionId=tx-1&quantity=1000&symbol=USDC&timestamp=\\d+&window=5000$`,
      ),
    );

    await client.completeWithdrawal({ withdrawalId: 7, chainTransactionId: '5hG2abc' });
    expect(parsedInstruction(last())).toEqual({
      kind: 'withdrawalComplete',
      withdrawalId: 7,
      chainTransactionId: '5hG2abc',
    });

    await client.failWithdrawal({ withdrawalId: 8, reason: 'address rejected by chain' });
    expect(parsedInstruction(last())).toEqual({
      kind: 'withdrawalFail',
      withdrawalId: 8,
      reason: 'address rejected by chain',
    });

    await client.listAsset({ symbol: 'SOL', decimals: 9 });
    expect(parsedInstruction(last())).toEqual({ kind: 'assetList', symbol: 'SOL', decimals: 9 });

    await client.listMarket({
      symbol: 'SOL_USDC',
      baseSymbol: 'SOL',
      quoteSymbol: 'USDC',
      tickSize: '0.01',
      stepSize: 0.001,
      minQuantity: '0.001',
      maxQuantity: '100000',
      minPrice: '0.01',
      maxPrice: '1000000',
      makerFeeBps: 2,
      takerFeeBps: 5,
    });
    expect(parsedInstruction(last())).toEqual({
      kind: 'marketList',
      symbol: 'SOL_USDC',
      baseSymbol: 'SOL',
      quoteSymbol: 'USDC',
      tickSize: '0.01',
      stepSize: '0.001',
      minQuantity: '0.001',
      maxQuantity: '100000',
      minPrice: '0.01',
      maxPrice: '1000000',
      makerFeeBps: 2,
      takerFeeBps: 5,
    });
  });

  it('submitTransaction sends a pre-signed transaction as is', async () => {
    const client = new ExchangeClient({ baseUrl: recorder.baseUrl, secret: operator.secret });
    const signed = client.signTransaction('assetList', { symbol: 'BTC', decimals: 8 });
    await new ExchangeClient({ baseUrl: recorder.baseUrl }).submitTransaction(signed);
    expect(transaction(last())).toEqual(signed);
    expect(parsedInstruction(last())).toEqual({ kind: 'assetList', symbol: 'BTC', decimals: 8 });
  });

  it('refuses an account that is not a public key before sending anything', () => {
    const client = new ExchangeClient({ baseUrl: recorder.baseUrl, secret: operator.secret });
    expect(() =>
      client.creditDeposit({
        account: 'alice',
        symbol: 'USDC',
        quantity: '1',
        blockchain: 'Solana',
        chainTransactionId: 'x',
      }),
    ).toThrow(ClientInputError);
    expect(recorder.requests).toHaveLength(0);
  });
});

describe('errors', () => {
  async function caught(promise: Promise<unknown>): Promise<ExchangeError> {
    try {
      await promise;
    } catch (error) {
      if (error instanceof ExchangeError) return error;
      throw error;
    }
    throw new Error('expected an ExchangeError');
  }

  it('{code, message} with an error status', async () => {
    recorder.handler = () => ({
      status: 400,
      json: { code: 'INSUFFICIENT_FUNDS', message: 'The account does not hold enough available funds.' },
    });
    const error = await caught(
      traderClient().placeOrder({ symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '1', quantity: '1' }),
    );
    expect(error.code).toBe('INSUFFICIENT_FUNDS');
    expect(error.message).toBe('The account does not hold enough available funds.');
    expect(error.status).toBe(400);
    expect(error.body).toEqual({
      code: 'INSUFFICIENT_FUNDS',
      message: 'The account does not hold enough available funds.',
    });
  });

  it('a top-level code is an error even with status 200, as in ccxt', async () => {
    recorder.handler = () => ({ json: { code: 'INVALID_ORDER', message: 'no' } });
    const error = await caught(traderClient().balances());
    expect([error.code, error.message, error.status]).toEqual(['INVALID_ORDER', 'no', 200]);
  });

  it('an error status without a JSON body', async () => {
    recorder.handler = () => ({ status: 502, text: '<html>Bad gateway</html>', contentType: 'text/html' });
    const error = await caught(new ExchangeClient({ baseUrl: recorder.baseUrl }).markets());
    expect([error.code, error.status]).toEqual(['HTTP_502', 502]);
    expect(error.message).toContain('Bad gateway');
  });

  it('a success that is not JSON', async () => {
    recorder.handler = () => ({ status: 200, text: 'hello' });
    const error = await caught(new ExchangeClient({ baseUrl: recorder.baseUrl }).status());
    expect(error.code).toBe('INVALID_RESPONSE');
  });

  it('no server at all', async () => {
    const closed = await startRecorder();
    await closed.close();
    const error = await caught(new ExchangeClient({ baseUrl: closed.baseUrl }).markets());
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.status).toBe(0);
  });

  it('input errors are thrown before anything is sent', async () => {
    expect(() => new ExchangeClient({ baseUrl: recorder.baseUrl }).balances()).toThrow(/secret/);
    expect(() => new ExchangeClient({ baseUrl: 'localhost:8080' })).toThrow(ClientInputError);
    expect(() => new ExchangeClient({ baseUrl: recorder.baseUrl, windowMs: 60_001 })).toThrow(ClientInputError);
    expect(
      () => new ExchangeClient({ baseUrl: recorder.baseUrl, secret: ccxtSecret, apiKey: generateKeyPair().publicKey }),
    ).toThrow(/apiKey/);
    const client = traderClient();
    expect(() => client.cancelOrder({ symbol: 'SOL_USDC', orderId: 1, clientId: 2 } as never)).toThrow(/exactly one/);
    expect(() =>
      client.placeOrder({ symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: Number.NaN, quantity: 1 }),
    ).toThrow(/finite/);
    expect(() => client.placeOrders([])).toThrow(/at least one/);
    expect(recorder.requests).toHaveLength(0);
  });

  it('uses the fetch it is given', async () => {
    const seen: string[] = [];
    const client = new ExchangeClient({
      baseUrl: 'http://exchange.invalid',
      fetch: async (input, init) => {
        seen.push(`${init.method ?? 'GET'} ${input}`);
        return new Response(JSON.stringify([{ symbol: 'USDC' }]), { status: 200 });
      },
    });
    await expect(client.assets()).resolves.toEqual([{ symbol: 'USDC' }]);
    expect(seen).toEqual(['GET http://exchange.invalid/api/v1/assets']);
  });
});
