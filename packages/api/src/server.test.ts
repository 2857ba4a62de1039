/**
 * The HTTP surface beyond ccxt: native endpoints (status, transactions, log
 * export, operator withdrawals, OpenAPI), both signing-string encodings, and
 * the response shapes of signed queries.
 */
import { readLogExport } from '@vex/engine';
import { describe, expect, it } from 'vitest';
import { freshTimestamp, operatorTransaction, signedRequest, TestKey, type TestExchange } from './test-support.js';
import { useFundedExchange } from '../test/exchange-fixture.js';

describe('server', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  const alice = TestKey.random();
  const bob = TestKey.random();

  useFundedExchange(
    (started) => {
      exchange = started;
    },
    [
      [alice, 'SOL', '20'],
      [alice, 'USDC', '5000'],
      [bob, 'USDC', '5000'],
    ],
    // No idle attestation: it could move the head between the status answer and the node's head on a loaded machine.
    { attestEveryMs: 3_600_000 },
  );

  it('GET /api/v1/status reports the head of the log', async () => {
    const status = (await fetch(`${exchange.baseUrl}/api/v1/status`).then((response) => response.json())) as Record<
      string,
      unknown
    >;
    const head = exchange.node.head();
    expect(status).toMatchObject({
      status: 'Ok',
      exchangeName: 'demo',
      sequence: head.sequence,
      entryHash: head.entryHash,
      logTimeMs: head.logTimeMs,
    });
    expect(status.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('POST /api/v1/transactions answers {sequence, logTimeMs, results}', async () => {
    const before = exchange.node.head().sequence;
    const { status, body } = await operatorTransaction(exchange, 'depositCredit', {
      account: bob.apiKey,
      symbol: 'SOL',
      quantity: '3.5',
      blockchain: 'Solana',
      chainTransactionId: 'native-1',
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      sequence: before + 1,
      results: [
        { ok: true, kind: 'deposit', deposit: { symbol: 'SOL', quantity: '3.5', transactionHash: 'native-1' } },
      ],
    });
    expect(body).not.toHaveProperty('code');
    // A listing through the same endpoint; a repeated listing is a conflict.
    const listed = await operatorTransaction(exchange, 'assetList', { symbol: 'ETH', decimals: '18' });
    expect(listed.body).toMatchObject({ results: [{ ok: true, kind: 'listed', symbol: 'ETH' }] });
    expect((await operatorTransaction(exchange, 'assetList', { symbol: 'ETH', decimals: '18' })).body).toMatchObject({
      code: 'ALREADY_EXISTS',
    });
    // Malformed keys are refused before the node sees them.
    const response = await fetch(`${exchange.baseUrl}/api/v1/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'instruction=x&timestamp=1&window=1', publicKey: 'abc', signature: 'abc' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'INVALID_CLIENT_REQUEST' });
  });

  it('accepts raw and percent-encoded signing strings, and logs the bytes that verified', async () => {
    const address = 'raw address/with spaces';
    const body = { address, blockchain: 'Solana', quantity: '1', symbol: 'USDC' };
    const raw = await signedRequest(exchange, alice, 'POST', '/wapi/v1/capital/withdrawals', 'withdraw', { body });
    expect(raw.status).toBe(200);
    expect(raw.body).toMatchObject({ toAddress: address, status: 'pending' });
    const timestampMs = freshTimestamp();
    const encoded = `instruction=withdraw&address=${encodeURIComponent(address)}&blockchain=Solana&quantity=2&symbol=USDC&timestamp=${timestampMs}&window=5000`;
    const percent = await signedRequest(exchange, alice, 'POST', '/wapi/v1/capital/withdrawals', 'withdraw', {
      body: { ...body, quantity: '2' },
      timestampMs,
      signingString: encoded,
    });
    expect(percent.status).toBe(200);
    const head = exchange.node.head().sequence;
    const messages: string[] = [];
    for await (const entry of exchange.node.readEntries(head - 1, head))
      messages.push(new TextDecoder().decode(entry.transaction.message));
    expect(messages[0]).toContain(`address=${address}&`);
    expect(messages[1]).toBe(encoded);
  });

  it('GET /api/v1/operator/withdrawals lists pending withdrawals for operator keys only', async () => {
    const byOperator = await signedRequest(
      exchange,
      exchange.operatorKey,
      'GET',
      '/api/v1/operator/withdrawals',
      'operatorWithdrawalQueryAll',
      { query: { status: 'Pending' } },
    );
    expect(byOperator.status).toBe(200);
    expect(
      byOperator.body.map((withdrawal: { quantity: string; account: string; status: string }) => [
        withdrawal.quantity,
        withdrawal.account,
        withdrawal.status,
      ]),
    ).toEqual([
      ['1', alice.apiKey, 'pending'],
      ['2', alice.apiKey, 'pending'],
    ]);
    const byTrader = await signedRequest(
      exchange,
      alice,
      'GET',
      '/api/v1/operator/withdrawals',
      'operatorWithdrawalQueryAll',
    );
    expect(byTrader).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
    // One signature, one meaning: the operator's own withdrawalQueryAll signature does not open the listing.
    const reused = await signedRequest(
      exchange,
      exchange.operatorKey,
      'GET',
      '/api/v1/operator/withdrawals',
      'withdrawalQueryAll',
      { query: { status: 'Pending' } },
    );
    expect(reused).toMatchObject({ status: 401, body: { code: 'INVALID_SIGNATURE' } });
    // Settled withdrawals leave the list.
    const id = String(byOperator.body[0].id);
    expect(
      (await operatorTransaction(exchange, 'withdrawalComplete', { withdrawalId: id, chainTransactionId: 'sent-1' }))
        .status,
    ).toBe(200);
    const after = await signedRequest(
      exchange,
      exchange.operatorKey,
      'GET',
      '/api/v1/operator/withdrawals',
      'operatorWithdrawalQueryAll',
    );
    expect(after.body).toHaveLength(1);
  });

  it('answers signed queries from state and history', async () => {
    const placed = await signedRequest(exchange, alice, 'POST', '/api/v1/order', 'orderExecute', {
      body: { symbol: 'SOL_USDC', side: 'Ask', orderType: 'Limit', price: '150.5', quantity: '2', clientId: 42 },
    });
    expect(placed.status).toBe(200);
    const byClientId = await signedRequest(exchange, alice, 'GET', '/api/v1/order', 'orderQuery', {
      query: { symbol: 'SOL_USDC', clientId: '42' },
    });
    expect(byClientId.body).toMatchObject({ id: placed.body.id, clientId: 42, price: '150.5', status: 'New' });
    const taken = await signedRequest(exchange, bob, 'POST', '/api/v1/order', 'orderExecute', {
      body: { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Market', quantity: '2' },
    });
    expect(taken.body).toMatchObject({ status: 'Filled', executedQuantity: '2', executedQuoteQuantity: '301' });
    // Closed orders are still found by id.
    const closed = await signedRequest(exchange, alice, 'GET', '/api/v1/order', 'orderQuery', {
      query: { symbol: 'SOL_USDC', orderId: placed.body.id },
    });
    expect(closed.body).toMatchObject({ id: placed.body.id, status: 'Filled' });
    const history = await signedRequest(exchange, alice, 'GET', '/wapi/v1/history/orders', 'orderHistoryQueryAll', {
      query: { symbol: 'SOL_USDC', limit: '10' },
    });
    expect(history.body[0]).toMatchObject({ id: placed.body.id, status: 'Filled' });
    const fills = await signedRequest(exchange, bob, 'GET', '/wapi/v1/history/fills', 'fillHistoryQueryAll', {
      query: { fillType: 'User' },
    });
    expect(fills.body).toEqual([
      expect.objectContaining({
        orderId: taken.body.id,
        side: 'Bid',
        price: '150.5',
        quantity: '2',
        quoteQuantity: '301',
        fee: '0.001',
        feeSymbol: 'SOL',
        isMaker: false,
      }),
    ]);
    const ticker = (await fetch(`${exchange.baseUrl}/api/v1/ticker?symbol=SOL_USDC`).then((response) =>
      response.json(),
    )) as Record<string, string>;
    expect(ticker).toMatchObject({ lastPrice: '150.5', volume: '2', quoteVolume: '301', trades: '1' });
    const trades = (await fetch(`${exchange.baseUrl}/api/v1/trades?symbol=SOL_USDC&limit=5`).then((response) =>
      response.json(),
    )) as unknown[];
    expect(trades).toEqual([
      expect.objectContaining({ price: '150.5', quantity: '2', quoteQuantity: '301', isBuyerMaker: false }),
    ]);
  });

  it('refuses a batch whose every element is rejected, with the first element’s code', async () => {
    const before = exchange.node.head().sequence;
    const response = await signedRequest(exchange, bob, 'POST', '/api/v1/orders', 'orderExecute', {
      body: [
        { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '1', quantity: '100000' },
        { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '0.001', quantity: '1' },
      ],
    });
    expect(response).toMatchObject({ status: 400, body: { code: 'INSUFFICIENT_FUNDS' } });
    expect(exchange.node.head().sequence).toBe(before);
  });

  it('GET /api/v1/log streams the export format, from a sequence on', async () => {
    const whole = new Uint8Array(await (await fetch(`${exchange.baseUrl}/api/v1/log`)).arrayBuffer());
    const exported = await readLogExport(whole);
    expect(exported.genesis.exchangeName).toBe('demo');
    expect(exported.entries.at(-1)!.sequence).toBe(exchange.node.head().sequence);
    expect(Buffer.from(exported.lastHash).toString('hex')).toBe(exchange.node.head().entryHash);
    const response = await fetch(`${exchange.baseUrl}/api/v1/log?from=3`);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    const partial = await readLogExport(new Uint8Array(await response.arrayBuffer()));
    expect(partial.firstSequence).toBe(3);
    expect(partial.entries[0]!.sequence).toBe(3);
  });

  it('serves the OpenAPI document of every route', async () => {
    const document = (await fetch(`${exchange.baseUrl}/api/v1/openapi.json`).then((response) => response.json())) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.openapi).toBe('3.1.0');
    const routes = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const route of [
      'GET /api/v1/assets',
      'GET /api/v1/markets',
      'GET /api/v1/depth',
      'GET /api/v1/trades',
      'GET /api/v1/capital',
      'POST /api/v1/order',
      'GET /api/v1/order',
      'DELETE /api/v1/order',
      'POST /api/v1/orders',
      'GET /api/v1/orders',
      'DELETE /api/v1/orders',
      'GET /wapi/v1/history/fills',
      'GET /wapi/v1/history/orders',
      'GET /wapi/v1/capital/deposits',
      'GET /wapi/v1/capital/withdrawals',
      'POST /wapi/v1/capital/withdrawals',
      'GET /api/v1/status',
      'GET /api/v1/log',
      'POST /api/v1/transactions',
      'GET /api/v1/operator/withdrawals',
    ]) {
      expect(routes).toContain(route);
    }
    expect(routes).not.toContain('GET /ws');
  });
});
