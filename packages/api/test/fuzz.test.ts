/**
 * HTTP fuzzing: hostile requests against a real exchange (LevelDB in a
 * temporary directory, a real ExchangeNode, the real server on loopback).
 *
 * A seeded generator (FUZZ_SEED, printed) sends, one at a time:
 *   - control requests: well-formed, correctly signed requests over every
 *     signed route (orders, batches, cancels, withdrawals, the native
 *     transaction intake, and the signed queries), each sent once, unmutated;
 *   - mutated requests, each built from a freshly signed control that is never
 *     sent as it is: mutated X-API-Key, X-Signature, X-Timestamp and X-Window
 *     (bit flips, truncation, non-numeric, beyond 2^53, negative, window over
 *     60000, duplicated or missing headers, signatures of another instruction,
 *     of an attestation or by another key, S + L), mutated JSON bodies (wrong
 *     types, extra fields, `__proto__`/`constructor`/`prototype` keys, deep
 *     nesting, huge strings, hostile decimals and numbers re-signed as a
 *     client would sign them, wrong enums, malformed JSON, wrong content
 *     types, oversized bodies, wrong instruction or route), mutated queries,
 *     hostile native transactions, and malformed HTTP on a raw socket (bad
 *     header lines, conflicting lengths, bad chunks, request smuggling,
 *     header overflow) wrapped around correctly signed requests;
 *   - replays of accepted transactions: the exact bytes, equivalent
 *     re-encodings of the same body (key order, whitespace, \u escapes, a
 *     duplicated key whose last value is the signed one, a number for a
 *     string), and the same signed message through the native intake.
 * Part-way through, it replays after a snapshot, then closes the node and the
 * server and reopens them on the same data directory (recovering from a
 * snapshot: the node writes one every few entries here) and replays again.
 *
 * The oracle, per request: a mutated request or a replay is never 2xx; a
 * control transaction is 2xx at most once per signed message; every error is
 * exactly `{code, message}` with a catalogue code and the HTTP status
 * docs/api.md gives it (and the specific code where the mutation determines
 * it); the head sequence does not move for a refused request and moves by one
 * for an accepted transaction, and the state hash does not change without an
 * entry; nothing answers 5xx. (Malformed HTTP is refused by Node's parser
 * before fastify, whose default answer is not `{code, message}`: that known
 * defect is counted in the tally, not failed.) At the end the server
 * answers GET /api/v1/status, the exported log replays through the engine to
 * the node's state hash, and the log holds exactly the set-up entries and the
 * accepted control transactions. The tally is printed as one JSON line.
 *
 * Env: FUZZ_REQUESTS, the number of hostile requests (mutated or replayed;
 * the controls come on top): default 3,000, `pnpm fuzz` sends 100,000.
 * FUZZ_SEED repeats a run: it fixes the keys and the sequence of requests;
 * timestamps come from the clock, so a failure also prints the request in full.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { apply, createState, readLogExport, resultCodes, stateHashHex } from '@vex/engine';
import { ExchangeNode } from '@vex/ledger';
import { applyListings } from '../src/bootstrap.js';
import { assetInfoOf, demoConfig, genesisOf } from '../src/config.js';
import { operatorKeyFromSeed } from '../src/operator-key.js';
import { buildServer } from '../src/server.js';
import { deposit, freshTimestamp, TestKey, type TestExchange } from '../src/test-support.js';

// ---------------------------------------------------------------------------
// Run parameters.
// ---------------------------------------------------------------------------

function environmentInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, not ${text}`);
  return value;
}

const totalRequests = environmentInteger('FUZZ_REQUESTS', 3_000);
const fuzzSeed =
  process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== ''
    ? environmentInteger('FUZZ_SEED', 0) >>> 0
    : (Date.now() ^ (process.pid << 16)) >>> 0;
/** Small, so that the restart below recovers from a snapshot rather than from the genesis. */
const snapshotEveryEntries = 32;
const controlPercent = 12;
const replayPercent = 10;

// ---------------------------------------------------------------------------
// Seeded randomness.
// ---------------------------------------------------------------------------

/** mulberry32: small, fast, identical everywhere; the seed is printed so a run can be repeated. */
class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let value = this.state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return (value ^ (value >>> 14)) >>> 0;
  }
  below(count: number): number {
    return this.next() % count;
  }
  chance(percent: number): boolean {
    return this.below(100) < percent;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.below(256));
  }
}

// ---------------------------------------------------------------------------
// The docs' catalogue: which HTTP statuses each code may come with (docs/api.md, Conventions).
// ---------------------------------------------------------------------------

const statusesByCode: Readonly<Record<string, readonly number[]>> = {
  INVALID_CLIENT_REQUEST: [400, 415],
  INVALID_TIMESTAMP: [400],
  INVALID_WINDOW: [400],
  INVALID_INSTRUCTION: [400],
  INVALID_MARKET: [400],
  INVALID_ASSET: [400],
  INVALID_ORDER: [400],
  INVALID_QUANTITY: [400],
  INVALID_PRICE: [400],
  INSUFFICIENT_FUNDS: [400],
  ORDER_LIMIT: [400],
  ORDER_VALUE_TOO_SMALL: [400],
  ORDER_WOULD_NOT_FILL: [400],
  INVALID_SIGNATURE: [401],
  UNAUTHORIZED: [401],
  RESOURCE_NOT_FOUND: [404],
  NOT_FOUND: [404],
  DUPLICATE_REQUEST: [409],
  DUPLICATE_DEPOSIT: [409],
  ALREADY_EXISTS: [409],
  REQUEST_TOO_LARGE: [413, 431],
};
/** A control may be refused only by execution (its funds, its order), never for its form. */
const controlRefusalCodes = [
  'INSUFFICIENT_FUNDS',
  'RESOURCE_NOT_FOUND',
  'INVALID_ORDER',
  'ORDER_LIMIT',
  'ORDER_VALUE_TOO_SMALL',
  'ORDER_WOULD_NOT_FILL',
];
const replayCodes = ['DUPLICATE_REQUEST', 'INVALID_TIMESTAMP'];

// ---------------------------------------------------------------------------
// Requests on the wire.
// ---------------------------------------------------------------------------

type Payload = Record<string, unknown> | Array<Record<string, unknown>>;

interface WireRequest {
  readonly method: string;
  /** Path and query string. */
  readonly path: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body?: string;
  /** The whole request as bytes on a socket, for malformed HTTP that fetch cannot send. */
  readonly raw?: string;
}

interface Route {
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly instruction: string;
  readonly kind: 'transaction' | 'query';
}

const routes = {
  placeOrder: {
    name: 'placeOrder',
    method: 'POST',
    path: '/api/v1/order',
    instruction: 'orderExecute',
    kind: 'transaction',
  },
  placeBatch: {
    name: 'placeBatch',
    method: 'POST',
    path: '/api/v1/orders',
    instruction: 'orderExecute',
    kind: 'transaction',
  },
  cancelOrder: {
    name: 'cancelOrder',
    method: 'DELETE',
    path: '/api/v1/order',
    instruction: 'orderCancel',
    kind: 'transaction',
  },
  cancelAll: {
    name: 'cancelAll',
    method: 'DELETE',
    path: '/api/v1/orders',
    instruction: 'orderCancelAll',
    kind: 'transaction',
  },
  withdraw: {
    name: 'withdraw',
    method: 'POST',
    path: '/wapi/v1/capital/withdrawals',
    instruction: 'withdraw',
    kind: 'transaction',
  },
  balances: { name: 'balances', method: 'GET', path: '/api/v1/capital', instruction: 'balanceQuery', kind: 'query' },
  openOrders: {
    name: 'openOrders',
    method: 'GET',
    path: '/api/v1/orders',
    instruction: 'orderQueryAll',
    kind: 'query',
  },
  order: { name: 'order', method: 'GET', path: '/api/v1/order', instruction: 'orderQuery', kind: 'query' },
  fills: {
    name: 'fills',
    method: 'GET',
    path: '/wapi/v1/history/fills',
    instruction: 'fillHistoryQueryAll',
    kind: 'query',
  },
  orderHistory: {
    name: 'orderHistory',
    method: 'GET',
    path: '/wapi/v1/history/orders',
    instruction: 'orderHistoryQueryAll',
    kind: 'query',
  },
  deposits: {
    name: 'deposits',
    method: 'GET',
    path: '/wapi/v1/capital/deposits',
    instruction: 'depositQueryAll',
    kind: 'query',
  },
  withdrawals: {
    name: 'withdrawals',
    method: 'GET',
    path: '/wapi/v1/capital/withdrawals',
    instruction: 'withdrawalQueryAll',
    kind: 'query',
  },
} as const satisfies Record<string, Route>;
const nativePath = '/api/v1/transactions';

/** What a Backpack client signs for one value: strings as they are, booleans and numbers as text. */
function signedText(value: unknown): string {
  return typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : JSON.stringify(value);
}

/** The raw signing string (docs/protocol.md §2), with timestamp and window as literal text. */
function signingStringOf(instruction: string, payload: Payload, timestamp: string, window: string): string {
  const groups = Array.isArray(payload) ? payload : [payload];
  const pieces: string[] = [];
  for (const group of groups) {
    pieces.push(`instruction=${instruction}`);
    const keys = Object.keys(group).sort((left, right) => (left < right ? -1 : left > right ? 1 : 0));
    for (const key of keys) pieces.push(`${key}=${signedText(group[key])}`);
  }
  pieces.push(`timestamp=${timestamp}`, `window=${window}`);
  return pieces.join('&');
}

/** A signed Backpack request, as fields a mutation can change one at a time. */
interface SignedSpec {
  readonly route: Route;
  /** Who the X-API-Key header names. */
  readonly key: TestKey;
  /** Who signs (normally the same key). */
  readonly signer: TestKey;
  readonly instruction: string;
  /** What is sent: the query parameters of a GET, the JSON body otherwise. */
  readonly payload: Payload;
  /** What is signed. */
  readonly signedPayload: Payload;
  readonly timestamp: string;
  readonly signedTimestamp: string;
  /** The X-Window header; undefined leaves it out (clients then sign 5000). */
  readonly window: string | undefined;
  readonly signedWindow: string;
}

function signedSpec(
  route: Route,
  key: TestKey,
  payload: Payload,
  windowMs: number,
  timestampMs = freshTimestamp(),
): SignedSpec {
  return {
    route,
    key,
    signer: key,
    instruction: route.instruction,
    payload,
    signedPayload: payload,
    timestamp: String(timestampMs),
    signedTimestamp: String(timestampMs),
    window: String(windowMs),
    signedWindow: String(windowMs),
  };
}

function signingStringOfSpec(spec: SignedSpec): string {
  return signingStringOf(spec.instruction, spec.signedPayload, spec.signedTimestamp, spec.signedWindow);
}

function wireOf(spec: SignedSpec, signature = spec.signer.sign(signingStringOfSpec(spec))): WireRequest {
  const headers: Array<[string, string]> = [
    ['x-api-key', spec.key.apiKey],
    ['x-signature', signature],
    ['x-timestamp', spec.timestamp],
  ];
  if (spec.window !== undefined) headers.push(['x-window', spec.window]);
  if (spec.route.method === 'GET') {
    const query = new URLSearchParams(
      Object.entries(spec.payload as Record<string, unknown>).map(([key, value]): [string, string] => [
        key,
        signedText(value),
      ]),
    ).toString();
    return { method: 'GET', path: `${spec.route.path}${query === '' ? '' : `?${query}`}`, headers };
  }
  headers.push(['content-type', 'application/json']);
  return { method: spec.route.method, path: spec.route.path, headers, body: JSON.stringify(spec.payload) };
}

function withHeader(request: WireRequest, name: string, value: string | undefined): WireRequest {
  const headers = request.headers.filter(([header]) => header !== name);
  return { ...request, headers: value === undefined ? headers : [...headers, [name, value]] };
}

function headerOf(request: WireRequest, name: string): string | undefined {
  return request.headers.find(([header]) => header === name)?.[1];
}

function withBody(request: WireRequest, body: string, contentType = 'application/json'): WireRequest {
  return { ...withHeader(request, 'content-type', contentType), body };
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
}

function answerOf(status: number, text: string): Answer {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the oracle reports it.
  }
  return { status, body, text };
}

/** Writes raw bytes and reads the first response until the server closes the connection. */
async function sendRaw(baseUrl: string, raw: string): Promise<Answer> {
  const port = Number(new URL(baseUrl).port);
  const received = await new Promise<string>((resolve) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(raw));
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(received);
  if (status === null) return answerOf(0, received.slice(0, 300));
  const headerEnd = received.indexOf('\r\n\r\n');
  const length = /\r\ncontent-length: *(\d+)/i.exec(received.slice(0, headerEnd));
  const body = received.slice(headerEnd + 4, length === null ? undefined : headerEnd + 4 + Number(length[1]));
  return answerOf(Number(status[1]), Buffer.from(body, 'latin1').toString('utf8'));
}

/** The request as HTTP/1.1 text, with `Connection: close`; `headerLines` are added as they are. */
function httpText(request: WireRequest, headerLines: readonly string[] = [], body = request.body ?? ''): string {
  const lines = [
    `${request.method} ${request.path} HTTP/1.1`,
    'Host: 127.0.0.1',
    ...request.headers.map(([name, value]) => `${name}: ${value}`),
    ...headerLines,
    'Connection: close',
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

async function send(baseUrl: string, request: WireRequest): Promise<Answer> {
  if (request.raw !== undefined) return sendRaw(baseUrl, request.raw);
  const response = await fetch(`${baseUrl}${request.path}`, {
    method: request.method,
    headers: request.headers.map(([name, value]) => [name, value] as [string, string]),
    ...(request.body !== undefined ? { body: request.body } : {}),
    signal: AbortSignal.timeout(60_000),
  });
  return answerOf(response.status, await response.text());
}

// ---------------------------------------------------------------------------
// Byte-level helpers for keys and signatures.
// ---------------------------------------------------------------------------

const base64Of = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const bytesOf = (base64: string): Uint8Array => new Uint8Array(Buffer.from(base64, 'base64'));

function flipBit(base64: string, random: SeededRandom): string {
  const bytes = bytesOf(base64);
  bytes[random.below(bytes.length)]! ^= 1 << random.below(8);
  return base64Of(bytes);
}

const groupOrder = 2n ** 252n + 27742317777372353535851937790883648493n;
/** S + L: the same signature with a non-canonical S. */
function malleated(signatureBase64: string): string {
  const bytes = bytesOf(signatureBase64);
  let scalar = 0n;
  for (let index = 63; index >= 32; index -= 1) scalar = (scalar << 8n) | BigInt(bytes[index]!);
  scalar += groupOrder;
  for (let index = 32; index < 64; index += 1) {
    bytes[index] = Number(scalar & 0xffn);
    scalar >>= 8n;
  }
  return base64Of(bytes);
}

/** The same 32 bytes with non-zero padding bits in the last base64 character: not canonical. */
function nonCanonicalKey(apiKey: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const last = apiKey[42]!;
  return `${apiKey.slice(0, 42)}${alphabet[alphabet.indexOf(last) + 1]}=`;
}

const attestationTag = 'vex/attestation/v1\u0000\n';

// ---------------------------------------------------------------------------
// The exchange, reopenable on the same data directory.
// ---------------------------------------------------------------------------

interface FuzzExchange extends TestExchange {
  readonly recoveryLines: readonly string[];
}

async function openExchange(dataDirectory: string, operatorSeed: Uint8Array): Promise<FuzzExchange> {
  const operator = operatorKeyFromSeed(operatorSeed);
  const config = demoConfig();
  const recoveryLines: string[] = [];
  // The ledger's own log, kept only for its "ledger recovered" line (which snapshot recovery started from).
  const ledgerLog = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = chunk.toString();
      if (line.includes('ledger recovered')) recoveryLines.push(line);
      done();
    },
  });
  const node = await ExchangeNode.open({
    dataDirectory,
    genesis: genesisOf(config, operator.publicKey),
    verifierThreads: 1,
    snapshotEveryEntries,
    logger: pino({ level: 'info' }, ledgerLog),
  });
  await applyListings(node, operator, config);
  const app = buildServer({ node, logger: false, rateLimits: false, assets: assetInfoOf(config) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  let closed = false;
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    wsUrl: `ws://127.0.0.1:${address.port}/ws`,
    node,
    app,
    operator,
    operatorKey: new TestKey(operatorSeed),
    dataDirectory,
    recoveryLines,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await node.close();
    },
  };
}

// ---------------------------------------------------------------------------
// The fuzzer.
// ---------------------------------------------------------------------------

interface Control {
  readonly spec: SignedSpec | undefined;
  readonly request: WireRequest;
  readonly kind: 'transaction' | 'query';
  readonly label: string;
  /** The signed message and its signer, for transactions: what must enter the log at most once. */
  readonly message: string;
  readonly apiKey: string;
  readonly signature: string;
  readonly timestampMs: number;
  readonly windowMs: number;
}

interface Mutated {
  readonly label: string;
  readonly request: WireRequest;
  /** When the mutation determines the code; otherwise any catalogue error will do. */
  readonly codes?: readonly string[];
  /**
   * Malformed HTTP, refused by Node's parser before fastify routes it. Such answers are
   * fastify's default `{error, message, statusCode}`, not `{code, message}` (a known
   * defect, see the report); they are counted in the tally rather than failed.
   */
  readonly malformedHttp?: boolean;
}

interface Tally {
  seed: number;
  sent: number;
  controls: number;
  acceptedControls: number;
  acceptedControlQueries: number;
  refusedControlsByCode: Record<string, number>;
  mutated: number;
  rejectedByCode: Record<string, number>;
  rejectedByStatus: Record<string, number>;
  replays: number;
  replaysByCode: Record<string, number>;
  replaysAfterSnapshot: Record<string, number>;
  replaysAfterRestart: Record<string, number>;
  wronglyAccepted: number;
  appendedByRejected: number;
  serverErrors: number;
  /** Malformed-HTTP answers whose body is not `{code, message}` (the known defect above). */
  malformedHttpAnswersWithoutCatalogueBody: number;
  labels: Record<string, number>;
  logEntries?: number;
  recoveredFromSnapshot?: number | null;
  replayedStateHashMatches?: boolean;
  wallMs?: number;
}

function isCatalogueError(answer: Answer): boolean {
  const body = answer.body as Record<string, unknown> | undefined;
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof body.code === 'string' &&
    Object.hasOwn(resultCodes, body.code) &&
    typeof body.message === 'string'
  );
}

const count = (record: Record<string, number>, key: string): void => {
  record[key] = (record[key] ?? 0) + 1;
};

class HttpFuzzer {
  readonly random: SeededRandom;
  readonly tally: Tally;
  readonly failures: string[] = [];
  readonly traders: TestKey[];
  readonly stranger: TestKey;
  /** Signed messages (with the signer's key) of accepted control transactions. */
  readonly acceptedMessages = new Set<string>();
  /** Accepted control transactions, newest last, for replays. */
  readonly accepted: Control[] = [];
  readonly openOrderIds: string[] = [];
  readonly clientIds: number[] = [];
  private chainTransactions = 0;
  private index = 0;

  constructor(
    public exchange: FuzzExchange,
    seed: number,
  ) {
    this.random = new SeededRandom(seed ^ 0x5bd1e995);
    this.traders = [0, 1, 2].map(() => new TestKey(this.random.bytes(32)));
    this.stranger = new TestKey(this.random.bytes(32));
    this.tally = {
      seed,
      sent: 0,
      controls: 0,
      acceptedControls: 0,
      acceptedControlQueries: 0,
      refusedControlsByCode: {},
      mutated: 0,
      rejectedByCode: {},
      rejectedByStatus: {},
      replays: 0,
      replaysByCode: {},
      replaysAfterSnapshot: {},
      replaysAfterRestart: {},
      wronglyAccepted: 0,
      appendedByRejected: 0,
      serverErrors: 0,
      malformedHttpAnswersWithoutCatalogueBody: 0,
      labels: {},
    };
  }

  fail(problem: string, request: WireRequest, answer: Answer | undefined): void {
    const shown = { ...request, body: request.body?.slice(0, 400), raw: request.raw?.slice(0, 400) };
    if (this.failures.length < 25) {
      this.failures.push(
        `request ${this.index} (FUZZ_SEED=${this.tally.seed}): ${problem}\n  request: ${JSON.stringify(shown)}\n  answer: ${answer === undefined ? '-' : `${answer.status} ${answer.text.slice(0, 300)}`}`,
      );
    }
  }

  // -- Controls -------------------------------------------------------------

  private window(): number {
    // Never 5000: an absent X-Window means 5000, so a control signed with 5000 would make
    // "remove X-Window" an equivalent request rather than a mutation.
    return this.random.pick([3_000, 10_000, 30_000, 60_000, 60_000]);
  }

  private price(): string {
    const cents = 9_500 + this.random.below(1_001);
    return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
  }

  private order(): Record<string, unknown> {
    const order: Record<string, unknown> = {
      symbol: 'SOL_USDC',
      side: this.random.pick(['Bid', 'Ask']),
      orderType: 'Limit',
      price: this.price(),
      quantity: `0.${String(1 + this.random.below(50)).padStart(2, '0')}`,
    };
    if (this.random.chance(30)) {
      const clientId = this.random.below(4_294_967_295);
      order.clientId = this.random.chance(50) ? clientId : String(clientId);
    }
    if (this.random.chance(20)) order.timeInForce = this.random.pick(['GTC', 'IOC']);
    if (this.random.chance(20))
      order.selfTradePrevention = this.random.pick(['RejectTaker', 'RejectMaker', 'RejectBoth', 'Allow']);
    if (this.random.chance(10)) order.postOnly = false;
    return order;
  }

  /** A freshly signed control over a random signed route (not yet sent). */
  newSignedSpec(kind?: 'transaction' | 'query'): SignedSpec {
    const trader = this.random.pick(this.traders);
    const pickKind = kind ?? (this.random.chance(75) ? 'transaction' : 'query');
    if (pickKind === 'transaction') {
      const roll = this.random.below(100);
      if (roll < 45) return signedSpec(routes.placeOrder, trader, this.order(), this.window());
      if (roll < 60)
        return signedSpec(
          routes.placeBatch,
          trader,
          Array.from({ length: 1 + this.random.below(3) }, () => this.order()),
          this.window(),
        );
      if (roll < 75) {
        const byClientId = this.random.chance(30) && this.clientIds.length > 0;
        const orderId =
          this.openOrderIds.length > 0 ? this.random.pick(this.openOrderIds) : String(1 + this.random.below(50));
        return signedSpec(
          routes.cancelOrder,
          trader,
          byClientId
            ? { symbol: 'SOL_USDC', clientId: this.random.pick(this.clientIds) }
            : { symbol: 'SOL_USDC', orderId },
          this.window(),
        );
      }
      if (roll < 85)
        return signedSpec(
          routes.cancelAll,
          trader,
          { symbol: this.random.pick(['SOL_USDC', 'BTC_USDC']) },
          this.window(),
        );
      return signedSpec(
        routes.withdraw,
        trader,
        { address: `addr ${this.random.below(9)}/x+y`, blockchain: 'Solana', quantity: '0.5', symbol: 'USDC' },
        this.window(),
      );
    }
    const query = this.random.pick([
      () => signedSpec(routes.balances, trader, {}, this.window()),
      () => signedSpec(routes.openOrders, trader, { symbol: 'SOL_USDC' }, this.window()),
      () =>
        signedSpec(
          routes.order,
          trader,
          { symbol: 'SOL_USDC', orderId: this.openOrderIds.length > 0 ? this.random.pick(this.openOrderIds) : '1' },
          this.window(),
        ),
      () => signedSpec(routes.fills, trader, { limit: String(1 + this.random.below(20)) }, this.window()),
      () => signedSpec(routes.orderHistory, trader, { limit: '5', symbol: 'SOL_USDC' }, this.window()),
      () => signedSpec(routes.deposits, trader, {}, this.window()),
      () => signedSpec(routes.withdrawals, trader, { limit: '3' }, this.window()),
    ]);
    return query();
  }

  controlOf(spec: SignedSpec, label: string): Control {
    const message = signingStringOfSpec(spec);
    const signature = spec.signer.sign(message);
    return {
      spec,
      request: wireOf(spec, signature),
      kind: spec.route.kind,
      label,
      message,
      apiKey: spec.key.apiKey,
      signature,
      timestampMs: Number(spec.timestamp),
      windowMs: Number(spec.signedWindow),
    };
  }

  /** A transaction through the native intake: a trader's order, or an operator's deposit. */
  nativeControl(): Control {
    const timestampMs = freshTimestamp();
    const windowMs = this.window();
    let signer: TestKey;
    let message: string;
    if (this.random.chance(50)) {
      signer = this.exchange.operatorKey;
      this.chainTransactions += 1;
      const account = this.random.pick(this.traders).apiKey;
      message = signingStringOf(
        'depositCredit',
        {
          account,
          blockchain: 'Solana',
          chainTransactionId: `fuzz-${this.tally.seed}-${this.chainTransactions}`,
          quantity: '1',
          symbol: 'USDC',
        },
        String(timestampMs),
        String(windowMs),
      );
    } else {
      signer = this.random.pick(this.traders);
      message = signingStringOf('orderExecute', this.order(), String(timestampMs), String(windowMs));
    }
    const signature = signer.sign(message);
    const request: WireRequest = {
      method: 'POST',
      path: nativePath,
      headers: [['content-type', 'application/json']],
      body: JSON.stringify({ message, publicKey: signer.apiKey, signature }),
    };
    return {
      spec: undefined,
      request,
      kind: 'transaction',
      label: 'control:native',
      message,
      apiKey: signer.apiKey,
      signature,
      timestampMs,
      windowMs,
    };
  }

  // -- Sending and judging --------------------------------------------------

  private head(): { sequence: number; sequenced: number } {
    return {
      sequence: this.exchange.node.head().sequence,
      sequenced: this.exchange.node.statistics().sequencedEntries,
    };
  }

  /** The state hash after the last accepted entry: a refused request must leave it as it is. */
  private knownStateHash: string | undefined;
  private stateHash(): string {
    return stateHashHex(this.exchange.node.state);
  }

  /** Checks an error answer's shape, code and status; returns the code. */
  private checkError(request: WireRequest, answer: Answer, codes: readonly string[] | undefined): string | undefined {
    const body = answer.body as Record<string, unknown> | undefined;
    if (answer.status >= 500) {
      this.tally.serverErrors += 1;
      this.fail(`server error ${answer.status}`, request, answer);
      return undefined;
    }
    if (
      typeof body !== 'object' ||
      body === null ||
      Array.isArray(body) ||
      Object.keys(body).sort().join(',') !== 'code,message' ||
      typeof body.code !== 'string' ||
      typeof body.message !== 'string'
    ) {
      this.fail('the error is not exactly {code, message}', request, answer);
      return undefined;
    }
    const code = body.code;
    if (!Object.hasOwn(resultCodes, code)) this.fail(`code ${code} is not in the catalogue`, request, answer);
    else if (!(statusesByCode[code] ?? []).includes(answer.status))
      this.fail(`code ${code} with status ${answer.status}, not as docs/api.md gives it`, request, answer);
    if (codes !== undefined && !codes.includes(code))
      this.fail(`expected ${codes.join(' or ')}, got ${code}`, request, answer);
    return code;
  }

  async sendControl(control: Control): Promise<void> {
    this.tally.sent += 1;
    this.tally.controls += 1;
    count(this.tally.labels, control.label);
    const before = this.head();
    const answer = await send(this.exchange.baseUrl, control.request);
    const after = this.head();
    const stateHash = this.stateHash();
    const appliedTransaction = answer.status >= 200 && answer.status < 300 && control.kind === 'transaction';
    if (!appliedTransaction && this.knownStateHash !== undefined && stateHash !== this.knownStateHash)
      this.fail('a query or a refused control changed the state', control.request, answer);
    this.knownStateHash = stateHash;
    if (answer.status >= 200 && answer.status < 300) {
      if (control.kind === 'query') {
        this.tally.acceptedControlQueries += 1;
        if (after.sequence !== before.sequence) this.fail('a query appended to the log', control.request, answer);
        return;
      }
      const identity = `${control.apiKey} ${control.message}`;
      if (this.acceptedMessages.has(identity)) {
        this.tally.wronglyAccepted += 1;
        this.fail('a signed message was accepted twice', control.request, answer);
      }
      this.acceptedMessages.add(identity);
      this.tally.acceptedControls += 1;
      if (after.sequence !== before.sequence + 1)
        this.fail(
          `an accepted transaction moved the head from ${before.sequence} to ${after.sequence}`,
          control.request,
          answer,
        );
      this.accepted.push(control);
      if (this.accepted.length > 400) this.accepted.shift();
      this.learnFrom(control, answer.body);
      return;
    }
    const code = this.checkError(control.request, answer, controlRefusalCodes);
    if (code !== undefined) count(this.tally.refusedControlsByCode, code);
    if (after.sequence !== before.sequence || after.sequenced !== before.sequenced) {
      this.tally.appendedByRejected += 1;
      this.fail('a refused control appended to the log', control.request, answer);
    }
  }

  /** Remembers order ids and client ids, so later cancels and queries name real orders. */
  private learnFrom(control: Control, body: unknown): void {
    const orders = Array.isArray(body) ? body : [body];
    for (const order of orders) {
      if (typeof order !== 'object' || order === null) continue;
      const { id, clientId } = order as { id?: unknown; clientId?: unknown };
      if (typeof id === 'string' && control.label !== 'control:cancelOrder') {
        this.openOrderIds.push(id);
        if (this.openOrderIds.length > 50) this.openOrderIds.shift();
      }
      if (typeof clientId === 'number') {
        this.clientIds.push(clientId);
        if (this.clientIds.length > 50) this.clientIds.shift();
      }
    }
  }

  /** Sends a request that must be refused; `record` picks the tally it counts in. */
  async sendRefused(mutated: Mutated, record: Record<string, number>): Promise<string | undefined> {
    this.tally.sent += 1;
    count(this.tally.labels, mutated.label);
    const before = this.head();
    let answer: Answer;
    try {
      answer = await send(this.exchange.baseUrl, mutated.request);
    } catch (error) {
      this.fail(
        `the request failed: ${error instanceof Error ? error.message : String(error)}`,
        mutated.request,
        undefined,
      );
      return undefined;
    }
    const after = this.head();
    let code: string | undefined;
    if (answer.status < 400 && (answer.status < 200 || answer.status >= 300))
      this.fail(`status ${answer.status} is neither a success nor an error`, mutated.request, answer);
    if (answer.status >= 200 && answer.status < 300) {
      this.tally.wronglyAccepted += 1;
      this.fail(`ACCEPTED a request that must be refused (${mutated.label})`, mutated.request, answer);
    } else if (mutated.malformedHttp === true && !isCatalogueError(answer)) {
      // The server's clientErrorHandler answers refused HTTP in the catalogue's shape too.
      this.tally.malformedHttpAnswersWithoutCatalogueBody += 1;
      this.fail(`malformed HTTP answered ${answer.status} without a {code, message} body`, mutated.request, answer);
    } else {
      code = this.checkError(mutated.request, answer, mutated.codes);
      count(record, code ?? `status ${answer.status}`);
      count(this.tally.rejectedByStatus, String(answer.status));
    }
    const stateHash = this.stateHash();
    if (this.knownStateHash !== undefined && stateHash !== this.knownStateHash && after.sequence === before.sequence) {
      this.fail(`the state changed without an entry (${mutated.label})`, mutated.request, answer);
    }
    this.knownStateHash = stateHash;
    if (after.sequence !== before.sequence || after.sequenced !== before.sequenced) {
      if (answer.status < 200 || answer.status >= 300) this.tally.appendedByRejected += 1;
      this.fail(
        `the log moved from ${before.sequence} to ${after.sequence} (${mutated.label})`,
        mutated.request,
        answer,
      );
    }
    return code;
  }

  // -- Mutations ------------------------------------------------------------

  /** A hostile request derived from a fresh, never-sent control. */
  mutate(): Mutated {
    const roll = this.random.below(100);
    if (roll < 12) return this.nativeMutation();
    if (roll < 15) return this.malformedHttp();
    const spec = this.newSignedSpec(roll < 30 ? 'query' : 'transaction');
    const request = wireOf(spec);
    const choices: Array<() => Mutated | undefined> = [
      ...this.headerMutations(spec, request),
      ...(spec.route.method === 'GET' ? this.queryMutations(spec, request) : this.bodyMutations(spec, request)),
      ...this.resignedMutations(spec),
    ];
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const mutated = this.random.pick(choices)();
      if (mutated !== undefined) return mutated;
    }
    return {
      label: 'header:signatureBitFlip',
      request: withHeader(request, 'x-signature', flipBit(headerOf(request, 'x-signature')!, this.random)),
      codes: ['INVALID_SIGNATURE'],
    };
  }

  private headerMutations(spec: SignedSpec, request: WireRequest): Array<() => Mutated | undefined> {
    const signature = headerOf(request, 'x-signature')!;
    const random = this.random;
    const other = (): TestKey => this.traders.find((trader) => trader !== spec.key) ?? this.stranger;
    const label = (name: string): string => `header:${name}`;
    return [
      () => ({
        label: label('apiKeyBitFlip'),
        request: withHeader(request, 'x-api-key', flipBit(spec.key.apiKey, random)),
        codes: ['INVALID_SIGNATURE'],
      }),
      () => {
        const text = spec.key.apiKey;
        const at = random.below(43);
        const replacement = random.pick(
          [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].filter(
            (character) => character !== text[at],
          ),
        );
        return {
          label: label('apiKeyCharacter'),
          request: withHeader(request, 'x-api-key', `${text.slice(0, at)}${replacement}${text.slice(at + 1)}`),
          codes: ['INVALID_SIGNATURE', 'UNAUTHORIZED'],
        };
      },
      () => ({
        label: label('apiKeyTruncated'),
        request: withHeader(request, 'x-api-key', spec.key.apiKey.slice(0, random.below(44))),
        codes: ['UNAUTHORIZED'],
      }),
      () => ({
        label: label('apiKeyExtended'),
        request: withHeader(request, 'x-api-key', `${spec.key.apiKey}${random.pick(['A', '=', 'AAAA', ' x'])}`),
        codes: ['UNAUTHORIZED'],
      }),
      () => ({
        label: label('apiKeyMissing'),
        request: withHeader(request, 'x-api-key', undefined),
        codes: ['UNAUTHORIZED'],
      }),
      () => ({
        label: label('apiKeyNonCanonical'),
        request: withHeader(request, 'x-api-key', nonCanonicalKey(spec.key.apiKey)),
        codes: ['UNAUTHORIZED'],
      }),
      () => ({
        label: label('apiKeyUrlSafe'),
        request: withHeader(request, 'x-api-key', Buffer.from(spec.key.publicKey).toString('base64url')),
        codes: ['UNAUTHORIZED', 'INVALID_SIGNATURE'],
      }),
      () => ({
        label: label('apiKeyOfAnotherTrader'),
        request: withHeader(request, 'x-api-key', other().apiKey),
        codes: ['INVALID_SIGNATURE'],
      }),
      () => ({
        label: label('apiKeyTwice'),
        request: { ...request, headers: [...request.headers, ['x-api-key', spec.key.apiKey]] },
        codes: ['UNAUTHORIZED', 'INVALID_CLIENT_REQUEST'],
      }),
      () => ({
        label: label('signatureBitFlip'),
        request: withHeader(request, 'x-signature', flipBit(signature, random)),
        codes: ['INVALID_SIGNATURE'],
      }),
      () => ({
        label: label('signatureTruncated'),
        request: withHeader(request, 'x-signature', signature.slice(0, random.below(88))),
        codes: ['INVALID_SIGNATURE'],
      }),
      () => ({
        label: label('signatureExtended'),
        request: withHeader(request, 'x-signature', `${signature}${random.pick(['A', 'AAAA', '=='])}`),
        codes: ['INVALID_SIGNATURE'],
      }),
      () => ({
        label: label('signatureEmpty'),
        request: withHeader(request, 'x-signature', ''),
        codes: ['INVALID_SIGNATURE', 'UNAUTHORIZED'],
      }),
      () => ({
        label: label('signatureMissing'),
        request: withHeader(request, 'x-signature', undefined),
        codes: ['UNAUTHORIZED'],
      }),
      () => ({
        label: label('signatureHex'),
        request: withHeader(request, 'x-signature', Buffer.from(signature, 'base64').toString('hex')),
        codes: ['INVALID_SIGNATURE'],
      }),
      () => ({
        label: label('signatureTwice'),
        request: { ...request, headers: [...request.headers, ['x-signature', signature]] },
        codes: ['INVALID_SIGNATURE', 'INVALID_CLIENT_REQUEST'],
      }),
      () => ({
        label: label('signatureMalleated'),
        request: withHeader(request, 'x-signature', malleated(signature)),
        codes: ['INVALID_SIGNATURE'],
      }),
      () => ({
        label: label('signatureByAnotherKey'),
        request: withHeader(request, 'x-signature', other().sign(signingStringOfSpec(spec))),
        codes: ['INVALID_SIGNATURE'],
      }),
      () => ({
        label: label('signatureOverAttestation'),
        request: withHeader(request, 'x-signature', spec.signer.sign(`${attestationTag}${signingStringOfSpec(spec)}`)),
        codes: ['INVALID_SIGNATURE'],
      }),
      () => ({
        label: label('timestampMissing'),
        request: withHeader(request, 'x-timestamp', undefined),
        codes: ['UNAUTHORIZED'],
      }),
      () => {
        const value = random.pick([
          'abc',
          '',
          '-1',
          '1e12',
          `${spec.timestamp}.0`,
          `${spec.timestamp} 1`,
          '12345678901234567',
          '99999999999999999999',
          '-9007199254740993',
          '0x1',
        ]);
        return {
          label: label('timestampNotMillis'),
          request: withHeader(request, 'x-timestamp', value),
          codes: ['INVALID_TIMESTAMP', 'UNAUTHORIZED', 'INVALID_SIGNATURE'],
        };
      },
      () => {
        const value = random.pick([
          `0${spec.timestamp}`,
          String(Number(spec.timestamp) + 1),
          String(Number(spec.timestamp) - 1),
          '9007199254740993',
          '9999999999999999',
          '0',
        ]);
        return {
          label: label('timestampChanged'),
          request: withHeader(request, 'x-timestamp', value),
          codes: ['INVALID_SIGNATURE'],
        };
      },
      () => {
        const value = random.pick([
          '60001',
          '0',
          '-1',
          'abc',
          '',
          '99999999999999999',
          '9007199254740993',
          '1e3',
          '5000.0',
          '50 00',
        ]);
        return {
          label: label('windowInvalid'),
          request: withHeader(request, 'x-window', value),
          codes: ['INVALID_WINDOW'],
        };
      },
      () => {
        const value = random.pick([
          undefined,
          '05000',
          '5000',
          String(Number(spec.signedWindow) + 1),
          `0${spec.signedWindow}`,
          '60000',
          '1',
        ]);
        // An absent header means 5000 was signed, and no control is signed with 5000.
        if (value === spec.signedWindow) return undefined;
        return {
          label: label('windowChanged'),
          request: withHeader(request, 'x-window', value),
          codes: value !== undefined && Number(value) > 60_000 ? ['INVALID_WINDOW'] : ['INVALID_SIGNATURE'],
        };
      },
      () => ({
        label: label('windowTwice'),
        request: { ...request, headers: [...request.headers, ['x-window', spec.window ?? '5000']] },
        codes: ['INVALID_WINDOW', 'INVALID_CLIENT_REQUEST'],
      }),
    ];
  }

  /** Mutations re-signed by the signer: a correctly signed request whose content is wrong. */
  private resignedMutations(spec: SignedSpec): Array<() => Mutated | undefined> {
    const random = this.random;
    const label = (name: string): string => `resigned:${name}`;
    const resigned = (changes: Partial<SignedSpec>): WireRequest => wireOf({ ...spec, ...changes });
    const now = Date.now();
    const windowMs = Number(spec.signedWindow);
    return [
      () => {
        // Outside the window by at least 2 s either way; the log time is the server clock.
        const timestampMs = random.chance(50)
          ? now - windowMs - 2_000 - random.below(10_000_000)
          : now + windowMs + 2_000 + random.below(10_000_000);
        return {
          label: label('timestampOutsideWindow'),
          request: resigned({ timestamp: String(timestampMs), signedTimestamp: String(timestampMs) }),
          codes: ['INVALID_TIMESTAMP'],
        };
      },
      () => {
        const value = random.pick(['9007199254740993', '9999999999999999', '9007199254740992']);
        return {
          label: label('timestampBeyondSafeInteger'),
          request: resigned({ timestamp: value, signedTimestamp: value }),
          codes: ['INVALID_CLIENT_REQUEST', 'INVALID_TIMESTAMP'],
        };
      },
      () => {
        const value = `0${spec.timestamp}`;
        return {
          label: label('timestampLeadingZero'),
          request: resigned({ timestamp: value, signedTimestamp: value }),
          codes: ['INVALID_CLIENT_REQUEST'],
        };
      },
      () => {
        const value = random.pick(['60001', '0', '100000', '9007199254740993', '05000', '0060000']);
        return {
          label: label('windowOutOfRange'),
          request: resigned({ window: value, signedWindow: value }),
          codes: ['INVALID_WINDOW'],
        };
      },
      () => {
        const instruction = random.pick(
          [
            'orderExecute',
            'orderCancel',
            'orderCancelAll',
            'withdraw',
            'balanceQuery',
            'orderQuery',
            'depositCredit',
            'withdrawalComplete',
            'assetList',
            'OrderExecute',
            'constructor',
          ].filter((name) => name !== spec.instruction),
        );
        return { label: label('otherInstruction'), request: resigned({ instruction }), codes: ['INVALID_SIGNATURE'] };
      },
      () => ({
        label: label('byAnotherKey'),
        request: resigned({ signer: this.stranger }),
        codes: ['INVALID_SIGNATURE'],
      }),
    ];
  }

  private queryMutations(spec: SignedSpec, request: WireRequest): Array<() => Mutated | undefined> {
    const random = this.random;
    const label = (name: string): string => `query:${name}`;
    const payload = spec.payload as Record<string, unknown>;
    const withQuery = (query: string): WireRequest => ({ ...request, path: `${spec.route.path}${query}` });
    const resignedWith = (extra: Record<string, unknown>): WireRequest => {
      const changed = { ...payload, ...extra };
      return wireOf({ ...spec, payload: changed, signedPayload: changed });
    };
    const existing = new URLSearchParams(
      Object.entries(payload).map(([key, value]): [string, string] => [key, signedText(value)]),
    ).toString();
    const prefix = existing === '' ? '?' : `?${existing}&`;
    return [
      () => {
        const key = random.pick(['extra', '__proto__', 'constructor', 'prototype', 'toString', 'isAdmin']);
        return {
          label: label('unknownParameter'),
          request: resignedWith({ [key]: '1' }),
          codes: ['INVALID_CLIENT_REQUEST'],
        };
      },
      () => {
        const key = random.pick(['__proto__', 'constructor', 'prototype', 'hasOwnProperty']);
        return {
          label: label('prototypeParameterUnsigned'),
          request: withQuery(`${prefix}${key}=1`),
          codes: ['INVALID_CLIENT_REQUEST', 'INVALID_SIGNATURE'],
        };
      },
      () => {
        const key = Object.keys(payload)[0];
        if (key === undefined) return undefined;
        return {
          label: label('repeatedParameter'),
          request: withQuery(`?${existing}&${key}=${encodeURIComponent(signedText(payload[key]))}`),
          codes: ['INVALID_CLIENT_REQUEST'],
        };
      },
      () => {
        const paged: readonly Route[] = [routes.fills, routes.orderHistory, routes.deposits, routes.withdrawals];
        if (!paged.includes(spec.route)) return undefined;
        const limit = random.pick(['0', '1001', '99999999999999999', '-1', '1e3', '9007199254740993', 'abc', '']);
        return { label: label('hostileLimit'), request: resignedWith({ limit }), codes: ['INVALID_CLIENT_REQUEST'] };
      },
      () => {
        if (spec.route.path !== routes.order.path) return undefined;
        const orderId = random.pick(['9007199254740993', '99999999999999999', '-1', '1.5', '0x10', '']);
        return {
          label: label('hostileOrderId'),
          request: resignedWith({ orderId }),
          codes: ['INVALID_CLIENT_REQUEST'],
        };
      },
      () => {
        const symbol = random.pick([
          'sol_usdc',
          'SOL-USDC',
          'DOGE_USDC',
          '__proto__',
          'SOL_USDC\u0000',
          'x'.repeat(41),
          '',
        ]);
        return {
          label: label('hostileSymbol'),
          request: resignedWith({ symbol }),
          codes: ['INVALID_CLIENT_REQUEST', 'INVALID_MARKET'],
        };
      },
      () => ({
        label: label('bodyOnGetIsRefused'),
        request: {
          ...request,
          method: 'POST',
          headers: [...request.headers, ['content-type', 'application/json']],
          body: '{}',
        },
        codes: ['INVALID_CLIENT_REQUEST', 'INVALID_SIGNATURE', 'NOT_FOUND'],
      }),
    ];
  }

  private bodyMutations(spec: SignedSpec, request: WireRequest): Array<() => Mutated | undefined> {
    const random = this.random;
    const label = (name: string): string => `body:${name}`;
    const isBatch = Array.isArray(spec.payload);
    const first = (isBatch ? (spec.payload as Array<Record<string, unknown>>)[0]! : spec.payload) as Record<
      string,
      unknown
    >;
    const replaceFirst = (changed: Record<string, unknown>): Payload =>
      isBatch ? [changed, ...(spec.payload as Array<Record<string, unknown>>).slice(1)] : changed;
    const tampered = (changed: Record<string, unknown>): WireRequest =>
      withBody(request, JSON.stringify(replaceFirst(changed)));
    const resigned = (changed: Record<string, unknown>): WireRequest => {
      const payload = replaceFirst(changed);
      return wireOf({ ...spec, payload, signedPayload: payload });
    };
    // A batch is accepted when any one order is (docs/protocol.md §9), so a change that only
    // execution refuses (a price, a market) must be made to every order of a batch.
    const resignedEach = (change: Record<string, unknown>): WireRequest => {
      const payload = isBatch
        ? (spec.payload as Array<Record<string, unknown>>).map((element) => ({ ...element, ...change }))
        : { ...first, ...change };
      return wireOf({ ...spec, payload, signedPayload: payload });
    };
    const keys = Object.keys(first);
    const anyKey = (): string => random.pick(keys);
    const decimalKeys = keys.filter((key) => key === 'price' || key === 'quantity');
    const hostileDecimals = [
      '-100',
      '+100',
      '1e2',
      '1E2',
      '100.0000001',
      '0',
      '0.00',
      '00100',
      '100.',
      '.5',
      ' 100',
      '100 ',
      '１００',
      '0x64',
      'NaN',
      'Infinity',
      '-0',
      '1,000',
      '1_000',
      '9'.repeat(48),
      '9'.repeat(49),
      `0.${'0'.repeat(40)}1`,
      `1${'0'.repeat(20)}`,
      '9007199254740993',
      '100.0000000000000000001',
      '%31%30%30',
      '100%',
      '10&0',
      '=100',
    ];
    const hostileNumberLiterals = [
      '1e21',
      '1e-7',
      '9007199254740993',
      '-5',
      '1e400',
      '-1e400',
      '0.000000001',
      '100.0000001',
      '-0.01',
      '123456789012345678901234567890',
    ];
    return [
      () => {
        const key = anyKey();
        const value = random.pick<unknown>([
          true,
          false,
          null,
          [],
          {},
          [first[key]],
          { $gt: '' },
          [[[[[]]]]],
          { a: { b: { c: 1 } } },
          -1,
          1e21,
          'x'.repeat(300),
        ]);
        if (signedText(value) === signedText(first[key]) && typeof value !== 'object') return undefined;
        return { label: label('wrongType'), request: tampered({ ...first, [key]: value }) };
      },
      () => {
        const key = random.pick([
          'leverage',
          'isAdmin',
          'constructor',
          'prototype',
          'toString',
          'hasOwnProperty',
          'valueOf',
          'triggerPriceTicks',
          'autoLiquidate',
          'Symbol',
          'symbol ',
          'a'.repeat(70),
          'é',
        ]);
        const value = random.pick<unknown>(['10', true, {}, { prototype: { polluted: true } }, 1]);
        return {
          label: label('extraField'),
          request: random.chance(50) ? tampered({ ...first, [key]: value }) : resigned({ ...first, [key]: value }),
          codes: ['INVALID_CLIENT_REQUEST'],
        };
      },
      () => {
        const text = JSON.stringify(replaceFirst(first));
        const payload = random.pick([
          '"__proto__":{"isAdmin":true}',
          '"constructor":{"prototype":{"isAdmin":true}}',
          '"__proto__":[]',
          '"a":{"__proto__":{"x":1}}',
          '"constructor":{"prototype":null}',
        ]);
        const at = text.indexOf('{') + 1;
        const body = `${text.slice(0, at)}${payload},${text.slice(at)}`;
        return {
          label: label('prototypePollution'),
          request: withBody(request, body),
          codes: ['INVALID_CLIENT_REQUEST'],
        };
      },
      () => {
        const depth = 1_000 + random.below(25_000);
        const nested = random.chance(50)
          ? `${'['.repeat(depth)}${']'.repeat(depth)}`
          : `${'{"a":'.repeat(Math.floor(depth / 5))}1${'}'.repeat(Math.floor(depth / 5))}`;
        const key = anyKey();
        const text = JSON.stringify(replaceFirst({ ...first, [key]: '__nested__' })).replace('"__nested__"', nested);
        return {
          label: label('deepNesting'),
          request: withBody(request, text),
          codes: ['INVALID_CLIENT_REQUEST', 'REQUEST_TOO_LARGE'],
        };
      },
      () => {
        const key = anyKey();
        const huge = random.pick(['x', 'é', '9', '\u0000', '😀']).repeat(10_000 + random.below(20_000));
        return {
          label: label('hugeString'),
          request: tampered({ ...first, [key]: huge }),
          codes: ['INVALID_CLIENT_REQUEST', 'REQUEST_TOO_LARGE'],
        };
      },
      () => {
        const padding = 'x'.repeat(64 * 1024 + random.below(200_000));
        return {
          label: label('oversizedBody'),
          request: withBody(request, JSON.stringify(replaceFirst({ ...first, padding }))),
          codes: ['REQUEST_TOO_LARGE'],
        };
      },
      () => {
        const text = request.body!;
        const broken = random.pick([
          () => text.slice(0, random.below(text.length)),
          () => `${text}x`,
          () => text.replace(/"/g, "'"),
          () => text.replace(/}$/, ',}').replace(/]$/, ',]'),
          () => `${text}${text}`,
          () => text.replace(':', ': NaN, "x":'),
          () => `/* comment */${text}`,
          () => text.replace(/"([^"]*)"/, '"$1\\x"'),
          () => '',
          () => 'null',
          () => '"a string"',
          () => '12',
          () => 'true',
        ])();
        return { label: label('malformedJson'), request: withBody(request, broken), codes: ['INVALID_CLIENT_REQUEST'] };
      },
      () => {
        const contentType = random.pick([
          'text/plain',
          'application/xml',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/jsonp',
          'text/json',
          'application/octet-stream',
        ]);
        return {
          label: label('wrongContentType'),
          request: withBody(request, request.body!, contentType),
          codes: ['INVALID_CLIENT_REQUEST'],
        };
      },
      () => {
        if (decimalKeys.length === 0 && !('quantity' in first)) return undefined;
        const key = decimalKeys.length > 0 ? random.pick(decimalKeys) : 'quantity';
        return {
          label: label('hostileDecimal'),
          request: resignedEach({ [key]: random.pick(hostileDecimals) }),
          codes: [
            'INVALID_PRICE',
            'INVALID_QUANTITY',
            'INVALID_CLIENT_REQUEST',
            'INVALID_SIGNATURE',
            'INSUFFICIENT_FUNDS',
            'ORDER_VALUE_TOO_SMALL',
            'ORDER_WOULD_NOT_FILL',
          ],
        };
      },
      () => {
        // A JSON number the client signs as it wrote it; JSON.parse may change it, or String() may not give it back.
        if (decimalKeys.length === 0 && !('quantity' in first)) return undefined;
        const key = decimalKeys.length > 0 ? random.pick(decimalKeys) : 'quantity';
        const literal = random.pick(hostileNumberLiterals);
        const each = (value: string): Payload =>
          isBatch
            ? (spec.payload as Array<Record<string, unknown>>).map((element) => ({ ...element, [key]: value }))
            : { ...first, [key]: value };
        const text = JSON.stringify(each('__number__')).replaceAll('"__number__"', literal);
        return {
          label: label('hostileNumber'),
          request: withBody(wireOf({ ...spec, signedPayload: each(literal) }), text),
          codes: ['INVALID_PRICE', 'INVALID_QUANTITY', 'INVALID_CLIENT_REQUEST', 'INVALID_SIGNATURE'],
        };
      },
      () => {
        if (spec.route.instruction !== 'orderExecute' && spec.route.instruction !== 'orderCancel') return undefined;
        const clientId = random.pick<unknown>([
          -1,
          4_294_967_296,
          '4294967296',
          '007',
          1.5,
          '1e3',
          '',
          2 ** 53 + 2,
          '-1',
          ' 7',
        ]);
        return {
          label: label('hostileClientId'),
          request: resigned({ ...first, clientId }),
          codes: ['INVALID_CLIENT_REQUEST', 'INVALID_SIGNATURE'],
        };
      },
      () => {
        if (spec.route.instruction !== 'orderExecute') return undefined;
        const change = random.pick<Record<string, unknown>>([
          { side: 'bid' },
          { side: 'Buy' },
          { side: '' },
          { orderType: 'limit' },
          { orderType: 'Stop' },
          { timeInForce: 'gtc' },
          { timeInForce: 'GTD' },
          { selfTradePrevention: 'None' },
          { reduceOnly: true },
          { postOnly: true, timeInForce: 'IOC' },
          { orderType: 'Market' },
          { quoteQuantity: '10' },
          { symbol: 'sol_usdc' },
          { symbol: 'SOL' },
          { symbol: 'DOGE_USDC' },
          { postOnly: 'true' },
          { symbol: 'ＳＯＬ_USDC' },
        ]);
        return {
          label: label('invalidOrder'),
          request: resignedEach(change),
          codes: ['INVALID_CLIENT_REQUEST', 'INVALID_MARKET', 'INVALID_SIGNATURE'],
        };
      },
      () => {
        if (spec.route.instruction !== 'withdraw') return undefined;
        const change = random.pick<Record<string, unknown>>([
          { address: 'a%20b' },
          { address: 'a&b' },
          { address: 'a=b' },
          { address: 'é' },
          { address: 'a'.repeat(257) },
          { address: '\u0007' },
          { address: '\ud800' },
          { blockchain: 'Sol ana' },
          { blockchain: '1Solana' },
          { symbol: 'SOL_USDC' },
          { symbol: 'DOGE' },
          { quantity: '1000000000' },
          { quantity: '0.0000001' },
        ]);
        return {
          label: label('invalidWithdrawal'),
          request: resigned({ ...first, ...change }),
          codes: [
            'INVALID_CLIENT_REQUEST',
            'INVALID_ASSET',
            'INVALID_QUANTITY',
            'INSUFFICIENT_FUNDS',
            'INVALID_SIGNATURE',
          ],
        };
      },
      () => {
        if (spec.route !== routes.placeBatch) return undefined;
        const body = random.pick([
          () => '[]',
          () => JSON.stringify(Array.from({ length: 51 }, () => first)),
          () => JSON.stringify([first, 'x']),
          () => JSON.stringify([first, null]),
          () => JSON.stringify([[first]]),
          () => JSON.stringify(first),
        ])();
        return { label: label('malformedBatch'), request: withBody(request, body), codes: ['INVALID_CLIENT_REQUEST'] };
      },
      () => {
        if (spec.route !== routes.placeBatch) return undefined;
        // One element with an order-level syntax error refuses the whole batch.
        const payload = [...(spec.payload as Array<Record<string, unknown>>), { ...first, reduceOnly: true }];
        return {
          label: label('batchWithInvalidOrder'),
          request: wireOf({ ...spec, payload, signedPayload: payload }),
          codes: ['INVALID_CLIENT_REQUEST'],
        };
      },
      () => {
        const key = anyKey();
        const changed = { ...first, [key]: `${signedText(first[key])}1` };
        return {
          label: label('valueChangedAfterSigning'),
          request: tampered(changed),
          codes: ['INVALID_SIGNATURE', 'INVALID_CLIENT_REQUEST', 'INVALID_PRICE', 'INVALID_QUANTITY'],
        };
      },
      () => {
        const key = anyKey();
        const rest = { ...first };
        delete rest[key];
        return {
          label: label('fieldRemovedAfterSigning'),
          request: tampered(rest),
          codes: ['INVALID_SIGNATURE', 'INVALID_CLIENT_REQUEST'],
        };
      },
      () => {
        // The signed value first, another one last: JSON keeps the last, so the signature no longer matches.
        const key = anyKey();
        const decoy = JSON.stringify(signedText(first[key]) === 'Bid' ? 'Ask' : `${signedText(first[key])}9`);
        const objectText = JSON.stringify(first);
        const withDuplicate = `${objectText.slice(0, -1)},${JSON.stringify(key)}:${decoy}}`;
        const body = isBatch ? JSON.stringify(spec.payload).replace(objectText, withDuplicate) : withDuplicate;
        return {
          label: label('duplicateKeyLastDiffers'),
          request: withBody(request, body),
          codes: ['INVALID_SIGNATURE', 'INVALID_CLIENT_REQUEST'],
        };
      },
      () => ({
        label: label('queryStringOnBodyRoute'),
        request: { ...request, path: `${request.path}?symbol=SOL_USDC` },
        codes: ['INVALID_CLIENT_REQUEST'],
      }),
      () => {
        const target = random.pick(
          Object.values(routes).filter((route) => route.method !== 'GET' && route.path !== spec.route.path),
        );
        return {
          label: label('otherRoute'),
          request: { ...request, method: target.method, path: target.path },
          codes: ['INVALID_CLIENT_REQUEST', 'INVALID_SIGNATURE'],
        };
      },
      () => {
        const method = random.pick(['PUT', 'PATCH']);
        return { label: label('otherMethod'), request: { ...request, method }, codes: ['NOT_FOUND'] };
      },
      () => ({
        label: label('unknownRoute'),
        request: {
          ...request,
          path: random.pick(['/api/v1/orderz', '/api/v1/order/', '/API/V1/ORDER', '/api/v1//order', '/api/v2/order']),
        },
        codes: ['NOT_FOUND', 'INVALID_CLIENT_REQUEST', 'INVALID_INSTRUCTION', 'INVALID_SIGNATURE'],
      }),
    ];
  }

  /** HTTP that Node's parser refuses, around a correctly signed transaction that must not get through. */
  malformedHttp(): Mutated {
    const request = wireOf(this.newSignedSpec('transaction'));
    const body = request.body ?? '';
    const label = (name: string): string => `http:${name}`;
    const variant = this.random.below(7);
    let raw: string;
    let name: string;
    switch (variant) {
      case 0:
        [name, raw] = [
          'headerWithoutColon',
          httpText(request, [`Content-Length: ${Buffer.byteLength(body)}`, 'Bad Header']),
        ];
        break;
      case 1:
        [name, raw] = [
          'conflictingContentLengths',
          httpText(request, [
            `Content-Length: ${Buffer.byteLength(body)}`,
            `Content-Length: ${Buffer.byteLength(body) + 1}`,
          ]),
        ];
        break;
      case 2:
        [name, raw] = [
          'garbageRequestLine',
          `GARBAGE ${this.random.next()}\r\n${httpText(request, [`Content-Length: ${Buffer.byteLength(body)}`])
            .split('\r\n')
            .slice(1)
            .join('\r\n')}`,
        ];
        break;
      case 3:
        [name, raw] = ['invalidChunk', httpText(request, ['Transfer-Encoding: chunked'], `zz\r\n${body}\r\n0\r\n\r\n`)];
        break;
      case 4: {
        // Request smuggling: a signed request hidden after a chunked body that also declares a length.
        const smuggled = httpText(request, [`Content-Length: ${Buffer.byteLength(body)}`]);
        [name, raw] = [
          'smuggledRequest',
          httpText(
            { method: 'POST', path: routes.placeOrder.path, headers: [['content-type', 'application/json']] },
            [`Content-Length: ${5 + smuggled.length}`, 'Transfer-Encoding: chunked'],
            `0\r\n\r\n${smuggled}`,
          ),
        ];
        break;
      }
      case 5:
        [name, raw] = [
          'headerOverflow',
          httpText(request, [
            `Content-Length: ${Buffer.byteLength(body)}`,
            `X-Padding: ${'a'.repeat(17_000 + this.random.below(50_000))}`,
          ]),
        ];
        break;
      default:
        [name, raw] = [
          'nulInHeader',
          httpText(request, [`Content-Length: ${Buffer.byteLength(body)}`, 'X-Note: a\u0000b']),
        ];
        break;
    }
    return { label: label(name), request: { ...request, raw }, malformedHttp: true };
  }

  /** Hostile submissions to the native intake, which takes the message itself. */
  nativeMutation(): Mutated {
    const control = this.nativeControl();
    const body = JSON.parse(control.request.body!) as { message: string; publicKey: string; signature: string };
    const random = this.random;
    const signer =
      body.publicKey === this.exchange.operatorKey.apiKey
        ? this.exchange.operatorKey
        : this.traders.find((trader) => trader.apiKey === body.publicKey)!;
    const label = (name: string): string => `native:${name}`;
    const submit = (changes: Partial<typeof body> & Record<string, unknown>): WireRequest =>
      withBody(control.request, JSON.stringify({ ...body, ...changes }));
    const resign = (message: string): WireRequest => submit({ message, signature: signer.sign(message) });
    const parts = body.message.split('&');
    const choice = random.below(14);
    switch (choice) {
      case 0: {
        const at = random.below(body.message.length);
        const message = `${body.message.slice(0, at)}${random.pick(['&', '=', '%', 'x', '0', '&amount=1', 'é', '\u0000'])}${body.message.slice(at)}`;
        return {
          label: label('messageChangedAfterSigning'),
          request: submit({ message }),
          codes: ['INVALID_SIGNATURE'],
        };
      }
      case 1: {
        const index = random.below(parts.length - 2);
        const duplicated = [...parts.slice(0, index + 1), parts[index]!, ...parts.slice(index + 1)].join('&');
        return {
          label: label('duplicatedParameterResigned'),
          request: resign(duplicated),
          codes: ['INVALID_CLIENT_REQUEST'],
        };
      }
      case 2: {
        const message = body.message.replace(
          /(quantity|price)=[^&]*/,
          `$1=${random.pick(['-1', '+1', '1e2', '01', '9'.repeat(49), '0.0000000000000000001', '%2D1', '1%2E5%2E5'])}`,
        );
        return {
          label: label('hostileDecimalResigned'),
          request: resign(message),
          codes: ['INVALID_CLIENT_REQUEST', 'INVALID_QUANTITY', 'INVALID_PRICE'],
        };
      }
      case 3: {
        const message = body.message.replace(
          /instruction=\w+/,
          `instruction=${random.pick(['balanceQuery', 'OrderExecute', 'constructor', '__proto__', 'orderexecute'])}`,
        );
        return {
          label: label('wrongInstructionResigned'),
          request: resign(message),
          codes: ['INVALID_CLIENT_REQUEST', 'INVALID_INSTRUCTION'],
        };
      }
      case 4: {
        const publicKey = random.pick([
          nonCanonicalKey(body.publicKey),
          body.publicKey.slice(0, 40),
          `${body.publicKey}A`,
          '',
          'x'.repeat(44),
        ]);
        return {
          label: label('publicKeyMalformed'),
          request: submit({ publicKey }),
          codes: ['INVALID_CLIENT_REQUEST'],
        };
      }
      case 5: {
        const signature = random.pick([
          body.signature.slice(0, 86),
          `${body.signature}AA`,
          '',
          flipBit(body.signature, random),
          malleated(body.signature),
        ]);
        return {
          label: label('signatureMalformed'),
          request: submit({ signature }),
          codes: ['INVALID_CLIENT_REQUEST', 'INVALID_SIGNATURE'],
        };
      }
      case 6: {
        // An attestation-style message, signed by the operator key: never a transaction.
        const message = `${attestationTag}${random.pick([body.message, 'binary-ish \u0001\u0002 fields'])}`;
        return {
          label: label('attestationSignedByOperator'),
          request: submit({
            message,
            publicKey: this.exchange.operatorKey.apiKey,
            signature: this.exchange.operatorKey.sign(message),
          }),
          codes: ['INVALID_CLIENT_REQUEST'],
        };
      }
      case 7: {
        const trader = random.pick(this.traders);
        const message = signingStringOf(
          'depositCredit',
          {
            account: trader.apiKey,
            blockchain: 'Solana',
            chainTransactionId: `forged-${random.next()}`,
            quantity: '1000000',
            symbol: 'USDC',
          },
          String(control.timestampMs),
          String(control.windowMs),
        );
        return {
          label: label('traderSignsOperatorInstruction'),
          request: submit({ message, publicKey: trader.apiKey, signature: trader.sign(message) }),
          codes: ['UNAUTHORIZED'],
        };
      }
      case 8: {
        const timestampMs =
          control.timestampMs + (random.chance(50) ? -1 : 1) * (control.windowMs + 2_000 + random.below(100_000_000));
        const message = body.message.replace(/timestamp=\d+/, `timestamp=${timestampMs}`);
        return {
          label: label('timestampOutsideWindowResigned'),
          request: resign(message),
          codes: ['INVALID_TIMESTAMP'],
        };
      }
      case 9: {
        const message = body.message.replace(
          /window=\d+/,
          `window=${random.pick(['0', '60001', '05000', '-1', '9007199254740993', ''])}`,
        );
        return {
          label: label('windowOutOfRangeResigned'),
          request: resign(message),
          codes: ['INVALID_WINDOW', 'INVALID_CLIENT_REQUEST'],
        };
      }
      case 10: {
        const message = `${body.message.slice(0, body.message.indexOf('&timestamp='))}&padding=${'a'.repeat(16_384)}${body.message.slice(body.message.indexOf('&timestamp='))}`;
        return { label: label('messageTooLong'), request: resign(message), codes: ['INVALID_CLIENT_REQUEST'] };
      }
      case 11: {
        const extra = random.pick([
          '"__proto__":{"isAdmin":true}',
          '"constructor":{"prototype":{"isAdmin":true}}',
          '"constructor":"x"',
          '"sequence":1',
          '"logTimeMs":0',
          '"__proto__":1',
        ]);
        return {
          label: label('extraField'),
          request: withBody(control.request, JSON.stringify(body).replace('{', `{${extra},`)),
          codes: ['INVALID_CLIENT_REQUEST'],
        };
      }
      case 12: {
        const message = random.pick([
          body.message.replace('instruction=', '\uFEFFinstruction='),
          `${body.message}&`,
          `&${body.message}`,
          body.message.replace(/&/g, '&&'),
          body.message.toUpperCase(),
        ]);
        return { label: label('structureResigned'), request: resign(message), codes: ['INVALID_CLIENT_REQUEST'] };
      }
      default: {
        const message = random.pick<unknown>([123, null, [], { a: 1 }, true]);
        return {
          label: label('messageWrongType'),
          request: submit({ message } as Record<string, unknown>),
          codes: ['INVALID_CLIENT_REQUEST'],
        };
      }
    }
  }

  // -- Replays --------------------------------------------------------------

  /** The codes a replay of `control` may get now: DUPLICATE inside its window, INVALID_TIMESTAMP outside. */
  replayCodesFor(control: Control): readonly string[] {
    const age = Math.abs(Date.now() - control.timestampMs);
    if (age < control.windowMs - 1_000) return ['DUPLICATE_REQUEST'];
    if (age > control.windowMs + 1_000) return ['INVALID_TIMESTAMP'];
    return replayCodes;
  }

  /** The same signed request again: exact bytes, an equivalent JSON encoding, or through the native intake. */
  replayOf(control: Control): Mutated {
    const codes = this.replayCodesFor(control);
    const random = this.random;
    if (control.spec === undefined || control.request.body === undefined || random.chance(40)) {
      if (control.spec !== undefined && random.chance(50)) {
        // The signed message of a Backpack route, through the native intake: the same transaction.
        const body = JSON.stringify({
          message: control.message,
          publicKey: control.apiKey,
          signature: control.signature,
        });
        return {
          label: 'replay:throughNativeIntake',
          request: { method: 'POST', path: nativePath, headers: [['content-type', 'application/json']], body },
          codes,
        };
      }
      return { label: 'replay:exactBytes', request: control.request, codes };
    }
    const payload = control.spec.payload;
    const text = control.request.body;
    const equivalent = random.pick<() => [string, string] | undefined>([
      () => ['keysReversed', JSON.stringify(Array.isArray(payload) ? payload.map(reverseKeys) : reverseKeys(payload))],
      () => ['whitespace', JSON.stringify(payload, null, 2)],
      () => [
        'unicodeEscapedKey',
        text.replace(
          /^(\[?\{")(.)/,
          (_match, head: string, character: string) =>
            `${head}\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
        ),
      ],
      () => {
        // JSON keeps the last of a repeated key; the last one here is the signed value.
        const first = Array.isArray(payload) ? payload[0]! : payload;
        const key = Object.keys(first)[0]!;
        const decoy = JSON.stringify(typeof first[key] === 'string' ? `${first[key] as string}9` : 7);
        return ['duplicateKeySignedValueLast', text.replace(/^(\[?\{)/, `$1${JSON.stringify(key)}:${decoy},`)];
      },
      () => {
        const first = Array.isArray(payload) ? payload[0]! : payload;
        const key = Object.keys(first).find(
          (name) =>
            typeof first[name] === 'string' &&
            /^[0-9.]+$/.test(first[name] as string) &&
            String(Number(first[name])) === first[name],
        );
        if (key === undefined) return undefined;
        return [
          'numberForString',
          text.replace(
            `${JSON.stringify(key)}:${JSON.stringify(first[key])}`,
            `${JSON.stringify(key)}:${first[key] as string}`,
          ),
        ];
      },
      () => ['contentTypeWithCharset', text],
    ])();
    if (equivalent === undefined) return { label: 'replay:exactBytes', request: control.request, codes };
    const [name, body] = equivalent;
    const contentType = name === 'contentTypeWithCharset' ? 'application/json; charset=utf-8' : 'application/json';
    return { label: `replay:${name}`, request: withBody(control.request, body, contentType), codes };
  }

  // -- The run --------------------------------------------------------------

  async step(): Promise<void> {
    this.index += 1;
    const roll = this.random.below(100);
    if (roll < controlPercent) {
      const control = this.random.chance(15)
        ? this.nativeControl()
        : (() => {
            const spec = this.newSignedSpec();
            return this.controlOf(spec, `control:${spec.route.name}`);
          })();
      await this.sendControl(control);
      return;
    }
    if (roll < controlPercent + replayPercent && this.accepted.length > 0) {
      this.tally.replays += 1;
      await this.sendRefused(this.replayOf(this.random.pick(this.accepted)), this.tally.replaysByCode);
      return;
    }
    this.tally.mutated += 1;
    await this.sendRefused(this.mutate(), this.tally.rejectedByCode);
  }

  /** Sends controls with the longest window until `count` are accepted; they can be replayed for a minute. */
  async acceptControls(wanted: number): Promise<void> {
    let accepted = 0;
    for (let attempt = 0; attempt < wanted * 10 && accepted < wanted; attempt += 1) {
      const before = this.tally.acceptedControls;
      const spec = { ...this.newSignedSpec('transaction') };
      const long = { ...spec, window: '60000', signedWindow: '60000' };
      await this.sendControl(this.controlOf(long, `control:${spec.route.name}`));
      if (this.tally.acceptedControls > before) accepted += 1;
    }
  }

  /** Replays every remembered accepted transaction, exactly; counts the codes in `record`. */
  async replayAll(record: Record<string, number>): Promise<void> {
    for (const control of this.accepted) {
      this.tally.replays += 1;
      await this.sendRefused(
        { label: 'replay:exactBytes', request: control.request, codes: this.replayCodesFor(control) },
        record,
      );
    }
  }
}

function reverseKeys(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).reverse());
}

// ---------------------------------------------------------------------------
// The test.
// ---------------------------------------------------------------------------

describe('HTTP fuzzing', () => {
  let dataDirectory: string | undefined;
  let exchange: FuzzExchange | undefined;
  let passed = false;

  afterAll(async () => {
    await exchange?.close();
    // Kept for inspection when the test failed.
    if (dataDirectory !== undefined && passed) await rm(dataDirectory, { recursive: true, force: true });
    else if (dataDirectory !== undefined) console.log(`fuzz data directory kept: ${dataDirectory}`);
  });

  it('refuses every hostile request, appends nothing for it, and stays up', { timeout: 3_600_000 }, async () => {
    const started = performance.now();
    console.log(`HTTP fuzz: FUZZ_SEED=${fuzzSeed} FUZZ_REQUESTS=${totalRequests}`);
    const setupRandom = new SeededRandom(fuzzSeed);
    const operatorSeed = setupRandom.bytes(32);
    dataDirectory = await mkdtemp(join(tmpdir(), 'vex-fuzz-'));
    exchange = await openExchange(dataDirectory, operatorSeed);
    const fuzzer = new HttpFuzzer(exchange, fuzzSeed);
    for (const trader of fuzzer.traders) {
      await deposit(exchange, trader.apiKey, 'USDC', '100000000');
      await deposit(exchange, trader.apiKey, 'SOL', '1000000');
    }
    const setupEntries = exchange.node.head().sequence;

    // First half.
    const hostile = (): number => fuzzer.tally.mutated + fuzzer.tally.replays;
    while (hostile() < Math.floor(totalRequests / 2)) await fuzzer.step();

    // Replays right after a snapshot: accept controls until a snapshot has just been written.
    await fuzzer.acceptControls(5);
    for (
      let guard = 0;
      exchange.node.head().sequence % snapshotEveryEntries !== 0 && guard < snapshotEveryEntries * 10;
      guard += 1
    ) {
      await fuzzer.sendControl(
        fuzzer.controlOf(
          { ...fuzzer.newSignedSpec('transaction'), window: '60000', signedWindow: '60000' },
          'control:toSnapshot',
        ),
      );
    }
    expect(exchange.node.head().sequence % snapshotEveryEntries).toBe(0);
    await fuzzer.replayAll(fuzzer.tally.replaysAfterSnapshot);

    // Replays after a restart: close everything and reopen on the same data directory.
    const beforeRestart = { head: exchange.node.head(), stateHash: stateHashHex(exchange.node.state) };
    await exchange.close();
    exchange = await openExchange(dataDirectory, operatorSeed);
    fuzzer.exchange = exchange;
    expect(exchange.node.head()).toEqual(beforeRestart.head);
    expect(stateHashHex(exchange.node.state)).toBe(beforeRestart.stateHash);
    const recovered = JSON.parse(exchange.recoveryLines.at(-1) ?? '{}') as {
      snapshot?: number | null;
      entries?: number;
    };
    expect(recovered.entries).toBe(beforeRestart.head.sequence);
    fuzzer.tally.recoveredFromSnapshot = recovered.snapshot ?? null;
    // The replay memory came back from the snapshot, not from replaying the whole log.
    expect(recovered.snapshot).toBe(beforeRestart.head.sequence);
    await fuzzer.replayAll(fuzzer.tally.replaysAfterRestart);
    expect(fuzzer.tally.replaysAfterRestart.DUPLICATE_REQUEST ?? 0).toBeGreaterThan(0);

    // Second half.
    while (hostile() < totalRequests) await fuzzer.step();

    // The node is up and answers.
    expect(exchange.node.haltedBy).toBeUndefined();
    const status = await fetch(`${exchange.baseUrl}/api/v1/status`);
    expect(status.status).toBe(200);
    const statusBody = (await status.json()) as { status: string; sequence: number };
    expect(statusBody.status).toBe('Ok');
    expect(statusBody.sequence).toBe(exchange.node.head().sequence);

    // The log replays to the node's state, and holds the set-up and the accepted controls only.
    const exported = await readLogExport(
      new Uint8Array(await (await fetch(`${exchange.baseUrl}/api/v1/log?from=1`)).arrayBuffer()),
    );
    const state = createState(exported.genesis);
    const logged = new Set<string>();
    for (const entry of exported.entries) {
      const outcome = apply(state, { logTimeMs: entry.logTimeMs, transaction: entry.transaction });
      if (!outcome.accepted)
        fuzzer.failures.push(`entry ${entry.sequence} is refused on replay: ${outcome.rejection.code}`);
      if (entry.sequence > setupEntries)
        logged.add(
          `${Buffer.from(entry.transaction.publicKey).toString('base64')} ${Buffer.from(entry.transaction.message).toString('utf8')}`,
        );
    }
    fuzzer.tally.logEntries = exported.entries.length;
    fuzzer.tally.replayedStateHashMatches = stateHashHex(state) === stateHashHex(exchange.node.state);
    fuzzer.tally.wallMs = Math.round(performance.now() - started);
    console.log(JSON.stringify({ fuzz: 'http', ...fuzzer.tally }));

    expect(fuzzer.failures).toEqual([]);
    expect(fuzzer.tally.replayedStateHashMatches).toBe(true);
    expect(exported.entries.length).toBe(setupEntries + fuzzer.tally.acceptedControls);
    expect([...logged].sort()).toEqual([...fuzzer.acceptedMessages].sort());
    expect(fuzzer.tally.wronglyAccepted).toBe(0);
    expect(fuzzer.tally.appendedByRejected).toBe(0);
    // No `__proto__` or `constructor.prototype` payload reached a prototype of this process.
    for (const key of ['isAdmin', 'polluted', 'x']) expect(Object.hasOwn(Object.prototype, key), key).toBe(false);
    // A fuzzer whose requests never reach the node tests little: controls got through, replays reached the replay rule.
    expect(fuzzer.tally.acceptedControls).toBeGreaterThan(0);
    expect(fuzzer.tally.replaysByCode.DUPLICATE_REQUEST ?? 0).toBeGreaterThan(0);
    passed = true;
  });
});
