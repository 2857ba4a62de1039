/**
 * Shared set-up of the API tests: one funded exchange per describe block, and
 * ccxt's unmodified `backpack` class pointed at it.
 */
import ccxt from 'ccxt';
import { afterAll, beforeAll } from 'vitest';
import {
  depositAll,
  startTestExchange,
  type TestExchange,
  type TestExchangeOptions,
  type TestKey,
} from '../src/test-support.js';

export type Backpack = InstanceType<typeof ccxt.backpack>;

/** A ccxt `backpack` client that signs with `key` and talks to `exchange`. */
export function backpackClient(exchange: TestExchange, key: TestKey): Backpack {
  return new ccxt.backpack({
    apiKey: key.apiKey,
    secret: key.secret,
    urls: { api: { public: exchange.baseUrl, private: exchange.baseUrl } },
  });
}

export type BackpackPro = InstanceType<typeof ccxt.pro.backpack>;

/**
 * A ccxt.pro `backpack` client that signs with `key` and streams from `exchange`, its markets loaded; ccxt.pro
 * needs its proxy agent loaded before a plain ws:// url.
 */
export async function backpackProClient(exchange: TestExchange, key: TestKey): Promise<BackpackPro> {
  const client = new ccxt.pro.backpack({
    apiKey: key.apiKey,
    secret: key.secret,
    urls: {
      api: {
        public: exchange.baseUrl,
        private: exchange.baseUrl,
        ws: { public: exchange.wsUrl, private: exchange.wsUrl },
      },
    },
  });
  await client.loadHttpProxyAgent();
  await client.loadMarkets();
  return client;
}

/**
 * One exchange for the calling describe block: started with `options` before its tests, credited with each
 * `[key, symbol, quantity]` of `deposits`, handed to `ready`; closed after the tests.
 */
export function useFundedExchange(
  ready: (exchange: TestExchange) => void | Promise<void>,
  deposits: ReadonlyArray<readonly [TestKey, string, string]>,
  options: TestExchangeOptions = {},
): void {
  let exchange: TestExchange | undefined;
  beforeAll(async () => {
    exchange = await startTestExchange(options);
    await depositAll(exchange, deposits);
    await ready(exchange);
  });
  afterAll(async () => {
    await exchange?.close();
  });
}
