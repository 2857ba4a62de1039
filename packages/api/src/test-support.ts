/**
 * Test helpers (not a test file): a real exchange — LevelDB in a temporary
 * directory, a real ExchangeNode, the real server on 127.0.0.1 with port 0 —
 * and keys that sign requests exactly as Backpack clients do.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { accountIdOf, encodeSigningString, publicKeyFromSeed, signMessage } from '@vex/engine';
import { ExchangeNode } from '@vex/ledger';
import { applyListings } from './bootstrap.js';
import { assetInfoOf, demoConfig, genesisOf, type ExchangeConfig } from './config.js';
import { operatorKeyFromSeed, type OperatorKey } from './operator-key.js';
import type { ConnectionLimits } from './connection-guard.js';
import type { CustodyInfo } from './custody-config.js';
import type { ExportLimits } from './export-slots.js';
import { buildServer, type RateLimits } from './server.js';
import type { WebSocketLimits } from './websocket.js';

export class TestKey {
  readonly publicKey: Uint8Array;
  readonly apiKey: string;
  readonly secret: string;
  constructor(readonly seed: Uint8Array) {
    this.publicKey = publicKeyFromSeed(seed);
    this.apiKey = accountIdOf(this.publicKey);
    this.secret = Buffer.from(seed).toString('base64');
  }

  static random(): TestKey {
    return new TestKey(new Uint8Array(randomBytes(32)));
  }

  sign(message: string): string {
    return Buffer.from(signMessage(this.seed, new TextEncoder().encode(message))).toString('base64');
  }
}

export interface TestExchange {
  readonly baseUrl: string;
  readonly wsUrl: string;
  readonly node: ExchangeNode;
  readonly app: FastifyInstance;
  readonly operator: OperatorKey;
  readonly operatorKey: TestKey;
  readonly dataDirectory: string;
  close(): Promise<void>;
}

export interface TestExchangeOptions {
  /** Server and node clock (default: the real clock). */
  readonly clock?: () => number;
  readonly rateLimits?: Partial<RateLimits> | false;
  readonly bodyLimitBytes?: number;
  readonly webSocketLimits?: Partial<WebSocketLimits>;
  /** The server's connection bounds (its defaults when absent; false turns them off). */
  readonly connectionLimits?: Partial<ConnectionLimits> | false;
  readonly exportLimits?: Partial<ExportLimits>;
  readonly shutdownGraceMs?: number;
  /** The node's attestation cadence (it attests with the operator key, as `pnpm start` does); node defaults when absent. */
  readonly attestEveryEntries?: number;
  readonly attestEveryMs?: number;
  readonly snapshotEveryEntries?: number;
  /** The node's admission bound (NodeOptions.maximumPendingTransactions); the node's default when absent. */
  readonly maximumPendingTransactions?: number;
  /** Deposit address per blockchain (config `depositAddresses`). */
  readonly depositAddresses?: Readonly<Record<string, string>>;
  /** The listings (default: the spot demo, demoConfig; margin tests pass demoMarginSettings()). */
  readonly config?: ExchangeConfig;
  /** The custody contract GET /api/v1/custody serves. */
  readonly custody?: CustodyInfo;
}

export async function startTestExchange(options: TestExchangeOptions = {}): Promise<TestExchange> {
  const dataDirectory = await mkdtemp(join(tmpdir(), 'vex-api-'));
  const seed = new Uint8Array(randomBytes(32));
  const operator = operatorKeyFromSeed(seed);
  const config = options.config ?? demoConfig();
  const node = await ExchangeNode.open({
    dataDirectory,
    genesis: genesisOf(config, operator.publicKey),
    verifierThreads: 1,
    logger: pino({ level: 'silent' }),
    attestationSigningSeed: seed,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.attestEveryEntries !== undefined ? { attestEveryEntries: options.attestEveryEntries } : {}),
    ...(options.attestEveryMs !== undefined ? { attestEveryMs: options.attestEveryMs } : {}),
    ...(options.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: options.snapshotEveryEntries } : {}),
    ...(options.maximumPendingTransactions !== undefined
      ? { maximumPendingTransactions: options.maximumPendingTransactions }
      : {}),
  });
  await applyListings(node, operator, config, options.clock);
  const app = buildServer({
    node,
    logger: false,
    rateLimits: options.rateLimits ?? false,
    assets: assetInfoOf(config),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.bodyLimitBytes !== undefined ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
    ...(options.webSocketLimits !== undefined ? { webSocketLimits: options.webSocketLimits } : {}),
    ...(options.depositAddresses !== undefined ? { depositAddresses: options.depositAddresses } : {}),
    ...(options.custody !== undefined ? { custody: options.custody } : {}),
    ...(options.connectionLimits !== undefined ? { connectionLimits: options.connectionLimits } : {}),
    ...(options.exportLimits !== undefined ? { exportLimits: options.exportLimits } : {}),
    ...(options.shutdownGraceMs !== undefined ? { shutdownGraceMs: options.shutdownGraceMs } : {}),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  let closed = false;
  return {
    baseUrl,
    wsUrl: `ws://127.0.0.1:${address.port}/ws`,
    node,
    app,
    operator,
    operatorKey: new TestKey(seed),
    dataDirectory,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await node.close();
      await rm(dataDirectory, { recursive: true, force: true });
    },
  };
}

let lastTimestamp = 0;
/** Distinct, increasing timestamps, so two identical requests are still two messages. */
export function freshTimestamp(): number {
  lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
  return lastTimestamp;
}

/** Signs an operator instruction and submits it through POST /api/v1/transactions. */
export async function operatorTransaction(
  exchange: TestExchange,
  instruction: string,
  params: Record<string, string>,
  timestampMs = freshTimestamp(),
): Promise<{ status: number; body: Record<string, unknown> }> {
  const message = encodeSigningString([{ instruction, params: Object.entries(params) }], timestampMs, 5000);
  const response = await fetch(`${exchange.baseUrl}/api/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      message,
      publicKey: exchange.operator.publicKey,
      signature: exchange.operatorKey.sign(message),
    }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

let chainTransactions = 0;
export async function deposit(
  exchange: TestExchange,
  account: string,
  symbol: string,
  quantity: string,
  blockchain = 'Solana',
): Promise<void> {
  chainTransactions += 1;
  const { status, body } = await operatorTransaction(exchange, 'depositCredit', {
    account,
    symbol,
    quantity,
    blockchain,
    chainTransactionId: `tx-${process.pid}-${chainTransactions}-${Date.now()}`,
  });
  if (status !== 200) throw new Error(`deposit failed: ${status} ${JSON.stringify(body)}`);
}

/** Credits each `[key, symbol, quantity]` in order, through the operator's depositCredit. */
export async function depositAll(
  exchange: TestExchange,
  deposits: ReadonlyArray<readonly [TestKey, string, string]>,
): Promise<void> {
  for (const [key, symbol, quantity] of deposits) await deposit(exchange, key.apiKey, symbol, quantity);
}

export interface SignedRequestOptions {
  readonly query?: Record<string, string>;
  readonly body?: unknown;
  /** Sent instead of JSON.stringify(body). */
  readonly rawBody?: string;
  readonly timestampMs?: number;
  readonly window?: string;
  /** The signing string to sign instead of the one built from query/body. */
  readonly signingString?: string;
  readonly headers?: Record<string, string>;
}

/** Sends a request signed as the Rust client does (raw values), with `instruction` for its route. */
export async function signedRequest(
  exchange: TestExchange,
  key: TestKey,
  method: string,
  path: string,
  instruction: string,
  options: SignedRequestOptions = {},
): Promise<{ status: number; body: any }> {
  const timestampMs = options.timestampMs ?? freshTimestamp();
  const window = options.window ?? '5000';
  let groups: Array<{ instruction: string; params: Array<[string, string]> }>;
  const stringify = (value: unknown): string => (typeof value === 'string' ? value : String(value));
  if (method === 'GET') groups = [{ instruction, params: Object.entries(options.query ?? {}) }];
  else if (Array.isArray(options.body)) {
    groups = options.body.map((element: Record<string, unknown>) => ({
      instruction,
      params: Object.entries(element).map(([k, v]) => [k, stringify(v)] as [string, string]),
    }));
  } else {
    groups = [
      {
        instruction,
        params: Object.entries((options.body as Record<string, unknown>) ?? {}).map(
          ([k, v]) => [k, stringify(v)] as [string, string],
        ),
      },
    ];
  }
  const signingString = options.signingString ?? encodeSigningString(groups, timestampMs, Number(window));
  const query = options.query === undefined ? '' : `?${new URLSearchParams(options.query).toString()}`;
  const hasBody = options.rawBody !== undefined || (method !== 'GET' && options.body !== undefined);
  const response = await fetch(`${exchange.baseUrl}${path}${query}`, {
    method,
    headers: {
      'x-api-key': key.apiKey,
      'x-signature': key.sign(signingString),
      'x-timestamp': String(timestampMs),
      'x-window': window,
      ...(hasBody ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(hasBody ? { body: options.rawBody ?? JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body };
}

/** Exact decimal arithmetic for assertions: a decimal string as bigint units at `scale`. */
export function units(text: string, scale: number): bigint {
  const negative = text.startsWith('-');
  const [whole, fraction = ''] = (negative ? text.slice(1) : text).split('.');
  if (fraction.length > scale) throw new Error(`${text} is finer than 10^-${scale}`);
  const value = BigInt(whole! + fraction.padEnd(scale, '0'));
  return negative ? -value : value;
}

/** One HTTP request ccxt sent to a recording server (the JSON Lines fixtures of ccxt's requests). */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** The requests of a recorded JSON Lines file, in order. */
export function readRecordedRequests(file: string): RecordedRequest[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RecordedRequest);
}

/** The key ccxt signed the recorded requests with: the ed25519 seed is 32 bytes of 0x07. */
export const recordedRequestKey = new TestKey(new Uint8Array(32).fill(7));

/** The first recorded X-Timestamp less ten seconds: where a replay's clock starts. */
export function clockStartBefore(recorded: readonly RecordedRequest[]): number {
  return (
    Number(recorded.find((request) => request.headers['x-timestamp'] !== undefined)!.headers['x-timestamp']) - 10_000
  );
}

/** A recorded request's answer: the request's method and URL, the status, and the JSON body (undefined when empty). */
export interface RecordedAnswer {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly body: any;
}

/**
 * Sends the recorded requests byte for byte, one after another, first setting the clock (`setClockMs`) to each
 * request's X-Timestamp so that every signature and window is judged as it was meant.
 */
export async function replayRecordedRequests(
  exchange: TestExchange,
  recorded: readonly RecordedRequest[],
  setClockMs: (timestampMs: number) => void,
): Promise<RecordedAnswer[]> {
  const answers: RecordedAnswer[] = [];
  for (const request of recorded) {
    const timestamp = request.headers['x-timestamp'];
    if (timestamp !== undefined) setClockMs(Number(timestamp));
    const response = await fetch(`${exchange.baseUrl}${request.url}`, {
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
    });
    const text = await response.text();
    answers.push({
      method: request.method,
      url: request.url,
      status: response.status,
      body: text === '' ? undefined : JSON.parse(text),
    });
  }
  return answers;
}
