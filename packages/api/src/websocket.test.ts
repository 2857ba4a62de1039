/**
 * The WebSocket API: ccxt.pro's watchOrderBook (which syncs deltas to the
 * REST snapshot through U/u/lastUpdateId), watchTrades and watchOrders, and
 * the raw protocol (consecutive update ids, errors, private subscriptions).
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backpackProClient } from '../test/exchange-fixture.js';
import { deposit, signedRequest, startTestExchange, TestKey, type TestExchange } from './test-support.js';

const proClient = backpackProClient;

class RawSocket {
  readonly messages: any[] = [];
  private waiters: Array<() => void> = [];
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)));
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  static async open(url: string): Promise<RawSocket> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.on('open', () => resolve());
      socket.on('error', reject);
    });
    return new RawSocket(socket);
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  async waitFor(predicate: (messages: any[]) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.messages)) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(this.messages).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

async function placeLimit(
  exchange: TestExchange,
  key: TestKey,
  side: 'Bid' | 'Ask',
  price: string,
  quantity: string,
  symbol = 'SOL_USDC',
): Promise<any> {
  const response = await signedRequest(exchange, key, 'POST', '/api/v1/order', 'orderExecute', {
    body: { symbol, side, orderType: 'Limit', price, quantity },
  });
  expect(response.status).toBe(200);
  return response.body;
}

describe('WebSocket streams', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  const maker = TestKey.random();
  const taker = TestKey.random();

  beforeAll(async () => {
    exchange = await startTestExchange();
    await deposit(exchange, maker.apiKey, 'SOL', '1000');
    await deposit(exchange, maker.apiKey, 'USDC', '100000');
    await deposit(exchange, taker.apiKey, 'SOL', '1000');
    await deposit(exchange, taker.apiKey, 'USDC', '1000000');
    await deposit(exchange, maker.apiKey, 'BTC', '10', 'Bitcoin');
    await deposit(exchange, taker.apiKey, 'BTC', '10', 'Bitcoin');
  });

  afterAll(async () => {
    await exchange?.close();
  });

  it('ccxt.pro watchOrderBook stays in sync with the REST snapshot', async () => {
    const client = await proClient(exchange, taker);
    try {
      const watching = client.watchOrderBook('SOL/USDC');
      // Let the subscription land before the book changes.
      await new Promise((resolve) => setTimeout(resolve, 200));
      // ccxt buffers 10 deltas before it fetches the snapshot: make more than that.
      for (let index = 0; index < 14; index += 1) {
        await placeLimit(
          exchange,
          maker,
          index % 2 === 0 ? 'Ask' : 'Bid',
          index % 2 === 0 ? `${110 + index}` : `${90 - index}`,
          '1.5',
        );
      }
      let book = await watching;
      const rest = (await fetch(`${exchange.baseUrl}/api/v1/depth?symbol=SOL_USDC`).then((response) =>
        response.json(),
      )) as any;
      for (let tries = 0; book.nonce !== Number(rest.lastUpdateId) && tries < 50; tries += 1)
        book = await client.watchOrderBook('SOL/USDC');
      expect(book.nonce).toBe(Number(rest.lastUpdateId));
      expect(book.asks).toEqual(
        rest.asks.map(([price, quantity]: [string, string]) => [Number(price), Number(quantity)]),
      );
      expect(book.bids).toEqual(
        rest.bids.map(([price, quantity]: [string, string]) => [Number(price), Number(quantity)]).reverse(),
      );
      expect(book.asks).toHaveLength(7);
      expect(book.bids).toHaveLength(7);

      // A trade that empties a level arrives as a zero-quantity delta and removes it.
      await placeLimit(exchange, taker, 'Bid', '110', '1.5');
      for (let tries = 0; book.asks[0]?.[0] === 110 && tries < 50; tries += 1)
        book = await client.watchOrderBook('SOL/USDC');
      expect(book.asks[0]).toEqual([112, 1.5]);
    } finally {
      await client.close();
    }
  });

  it('ccxt.pro watchTrades and watchOrders receive committed trades and order updates', async () => {
    const makerClient = await proClient(exchange, maker);
    const takerClient = await proClient(exchange, taker);
    try {
      const trades = takerClient.watchTrades('BTC/USDC');
      const makerOrders = makerClient.watchOrders('BTC/USDC');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const resting = await placeLimit(exchange, maker, 'Ask', '50000', '0.5', 'BTC_USDC');
      const placed = await makerOrders;
      expect(placed.some((order) => order.id === resting.id && order.status === 'open')).toBe(true);

      const filledUpdate = makerClient.watchOrders('BTC/USDC');
      await placeLimit(exchange, taker, 'Bid', '50000', '0.2', 'BTC_USDC');
      const received = await trades;
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({
        symbol: 'BTC/USDC',
        side: 'buy',
        takerOrMaker: 'taker',
        price: 50000,
        amount: 0.2,
      });
      const updates = await filledUpdate;
      const mine = updates.filter((order) => order.id === resting.id);
      expect(mine.at(-1)!.info).toMatchObject({
        e: 'orderFill',
        X: 'PartiallyFilled',
        l: '0.2',
        L: '50000',
        z: '0.2',
        Z: '10000',
        m: true,
        n: '2',
        N: 'USDC',
      });
      expect(mine.at(-1)!.status).toBe('open');
    } finally {
      await makerClient.close();
      await takerClient.close();
    }
  });

  it('raw protocol: consecutive update ids lining up with REST lastUpdateId', async () => {
    const socket = await RawSocket.open(exchange.wsUrl);
    try {
      // Start from an empty BTC_USDC book, whatever earlier tests left.
      for (const key of [maker, taker]) {
        expect(
          (
            await signedRequest(exchange, key, 'DELETE', '/api/v1/orders', 'orderCancelAll', {
              body: { symbol: 'BTC_USDC' },
            })
          ).status,
        ).toBe(200);
      }
      socket.send({ method: 'SUBSCRIBE', params: ['depth.BTC_USDC', 'trade.BTC_USDC'], id: 1 });
      await socket.waitFor((messages) => messages.some((message) => message.id === 1));
      const before = (await fetch(`${exchange.baseUrl}/api/v1/depth?symbol=BTC_USDC`).then((response) =>
        response.json(),
      )) as any;
      await placeLimit(exchange, maker, 'Ask', '60000', '1', 'BTC_USDC');
      await placeLimit(exchange, maker, 'Ask', '60000', '2', 'BTC_USDC');
      await placeLimit(exchange, taker, 'Bid', '60000', '1.6', 'BTC_USDC');
      await socket.waitFor((messages) => messages.filter((message) => message.stream === 'depth.BTC_USDC').length >= 3);
      const deltas = socket.messages
        .filter((message) => message.stream === 'depth.BTC_USDC')
        .map((message) => message.data);
      expect(deltas.map((delta) => delta.U)).toEqual([
        Number(before.lastUpdateId) + 1,
        Number(before.lastUpdateId) + 2,
        Number(before.lastUpdateId) + 3,
      ]);
      expect(
        deltas.every(
          (delta) => delta.U === delta.u && delta.e === 'depth' && delta.s === 'BTC_USDC' && delta.T === delta.E,
        ),
      ).toBe(true);
      expect(deltas[0].a).toEqual([['60000', '1']]);
      expect(deltas[1].a).toEqual([['60000', '3']]);
      expect(deltas[2].a).toEqual([['60000', '1.4']]);
      expect(deltas[2].b).toEqual([]);
      const after = (await fetch(`${exchange.baseUrl}/api/v1/depth?symbol=BTC_USDC`).then((response) =>
        response.json(),
      )) as any;
      expect(Number(after.lastUpdateId)).toBe(deltas[2].u);
      expect(after.asks).toEqual([['60000', '1.4']]);
      expect(after.bids).toEqual([]);
      await socket.waitFor((messages) => messages.filter((message) => message.stream === 'trade.BTC_USDC').length >= 2);
      const trades = socket.messages
        .filter((message) => message.stream === 'trade.BTC_USDC')
        .map((message) => message.data);
      // Two makers at one level, filled oldest first: two trades in one entry.
      expect(trades[0]).toMatchObject({ e: 'trade', s: 'BTC_USDC', p: '60000', q: '1', m: false });
      expect(trades[1]).toMatchObject({ e: 'trade', s: 'BTC_USDC', p: '60000', q: '0.6', m: false });
      expect(trades[1].t).toBe(trades[0].t + 1);
      const trade = trades[0];
      expect(String(trade.T)).toHaveLength(16); // microseconds
    } finally {
      socket.close();
    }
  });

  it('raw protocol: private order updates need a valid signature and see only their own account', async () => {
    const socket = await RawSocket.open(exchange.wsUrl);
    const other = await RawSocket.open(exchange.wsUrl);
    try {
      socket.send({ method: 'SUBSCRIBE', params: ['account.orderUpdate'], id: 'nosig' });
      await socket.waitFor((messages) => messages.some((message) => message.id === 'nosig'));
      expect(socket.messages.find((message) => message.id === 'nosig').error).toMatchObject({
        code: 401,
        resultCode: 'UNAUTHORIZED',
      });

      const timestamp = String(Date.now());
      const badSignature = maker.sign(`instruction=subscribe&timestamp=${Number(timestamp) + 1}&window=5000`);
      socket.send({
        method: 'SUBSCRIBE',
        params: ['account.orderUpdate'],
        signature: [maker.apiKey, badSignature, timestamp, '5000'],
        id: 'bad',
      });
      await socket.waitFor((messages) => messages.some((message) => message.id === 'bad'));
      expect(socket.messages.find((message) => message.id === 'bad').error.resultCode).toBe('INVALID_SIGNATURE');

      const stale = String(Date.now() - 120_000);
      socket.send({
        method: 'SUBSCRIBE',
        params: ['account.orderUpdate'],
        signature: [maker.apiKey, maker.sign(`instruction=subscribe&timestamp=${stale}&window=5000`), stale, '5000'],
        id: 'stale',
      });
      await socket.waitFor((messages) => messages.some((message) => message.id === 'stale'));
      expect(socket.messages.find((message) => message.id === 'stale').error.resultCode).toBe('INVALID_TIMESTAMP');

      socket.send({
        method: 'SUBSCRIBE',
        params: ['account.orderUpdate.SOL_USDC'],
        signature: [
          maker.apiKey,
          maker.sign(`instruction=subscribe&timestamp=${timestamp}&window=5000`),
          timestamp,
          '5000',
        ],
        id: 'ok',
      });
      await socket.waitFor((messages) => messages.some((message) => message.id === 'ok'));
      expect(socket.messages.find((message) => message.id === 'ok')).toEqual({ id: 'ok', result: null });
      const otherTimestamp = String(Date.now());
      other.send({
        method: 'SUBSCRIBE',
        params: ['account.orderUpdate'],
        signature: [
          taker.apiKey,
          taker.sign(`instruction=subscribe&timestamp=${otherTimestamp}&window=5000`),
          otherTimestamp,
          '5000',
        ],
        id: 'ok',
      });
      await other.waitFor((messages) => messages.some((message) => message.id === 'ok'));

      const order = await placeLimit(exchange, maker, 'Bid', '10', '1');
      await socket.waitFor((messages) => messages.some((message) => message.stream === 'account.orderUpdate.SOL_USDC'));
      const update = socket.messages.find((message) => message.stream === 'account.orderUpdate.SOL_USDC').data;
      expect(update).toMatchObject({
        e: 'orderAccepted',
        s: 'SOL_USDC',
        i: order.id,
        X: 'New',
        S: 'Bid',
        o: 'Limit',
        p: '10',
        q: '1',
        f: 'GTC',
        z: '0',
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(other.messages.filter((message) => message.stream !== undefined)).toEqual([]);
    } finally {
      socket.close();
      other.close();
    }
  });

  it('raw protocol: a sweeping IOC order reports cumulative fills, then expires', async () => {
    for (const key of [maker, taker]) {
      expect(
        (
          await signedRequest(exchange, key, 'DELETE', '/api/v1/orders', 'orderCancelAll', {
            body: { symbol: 'BTC_USDC' },
          })
        ).status,
      ).toBe(200);
    }
    const first = await placeLimit(exchange, maker, 'Ask', '70000', '1', 'BTC_USDC');
    const second = await placeLimit(exchange, maker, 'Ask', '70010', '1', 'BTC_USDC');
    const socket = await RawSocket.open(exchange.wsUrl);
    try {
      const timestamp = String(Date.now());
      socket.send({
        method: 'SUBSCRIBE',
        params: ['account.orderUpdate'],
        signature: [
          taker.apiKey,
          taker.sign(`instruction=subscribe&timestamp=${timestamp}&window=5000`),
          timestamp,
          '5000',
        ],
        id: 'sub',
      });
      await socket.waitFor((messages) => messages.some((message) => message.id === 'sub'));
      const response = await signedRequest(exchange, taker, 'POST', '/api/v1/order', 'orderExecute', {
        body: {
          symbol: 'BTC_USDC',
          side: 'Bid',
          orderType: 'Limit',
          price: '70010',
          quantity: '3',
          timeInForce: 'IOC',
        },
      });
      expect(response.body).toMatchObject({
        status: 'Expired',
        executedQuantity: '2',
        executedQuoteQuantity: '140010',
      });
      await socket.waitFor(
        (messages) => messages.filter((message) => message.stream === 'account.orderUpdate').length >= 4,
      );
      const updates = socket.messages
        .filter((message) => message.stream === 'account.orderUpdate')
        .map((message) => message.data);
      expect(updates.map((update) => [update.e, update.X, update.z, update.Z, update.l, update.L, update.m])).toEqual([
        ['orderAccepted', 'New', '0', '0', undefined, undefined, undefined],
        ['orderFill', 'PartiallyFilled', '1', '70000', '1', '70000', false],
        ['orderFill', 'PartiallyFilled', '2', '140010', '1', '70010', false],
        ['orderExpired', 'Expired', '2', '140010', undefined, undefined, undefined],
      ]);
      expect(
        updates.every((update) => update.i === response.body.id && update.s === 'BTC_USDC' && update.f === 'IOC'),
      ).toBe(true);
      // Fees are in what the buyer received: 5 bps of 1 BTC.
      expect(updates[1]).toMatchObject({ n: '0.0005', N: 'BTC' });
      // The makers' fills go to the maker only.
      expect(updates.some((update) => update.i === first.id || update.i === second.id)).toBe(false);
    } finally {
      socket.close();
    }
  });

  it('raw protocol: unknown streams, markets and malformed messages get errors', async () => {
    const socket = await RawSocket.open(exchange.wsUrl);
    try {
      socket.send({ method: 'SUBSCRIBE', params: ['depth.NOPE_USDC'], id: 1 });
      socket.send({ method: 'SUBSCRIBE', params: ['markPrice.SOL_USDC'], id: 2 });
      socket.send({ method: 'PING', id: 3 });
      socket.socket.send('not json');
      await socket.waitFor((messages) => messages.length >= 4);
      expect(socket.messages[0].error.resultCode).toBe('INVALID_MARKET');
      expect(socket.messages[1].error.resultCode).toBe('INVALID_CLIENT_REQUEST');
      expect(socket.messages[2].error.resultCode).toBe('INVALID_CLIENT_REQUEST');
      expect(socket.messages[3]).toMatchObject({ id: null, error: { resultCode: 'INVALID_CLIENT_REQUEST' } });
    } finally {
      socket.close();
    }
  });
});
