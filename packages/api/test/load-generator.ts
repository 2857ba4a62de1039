/**
 * Load generation against a running exchange server, shared by the crash test
 * (test/crash.test.ts, in-process) and the HTTP benchmark
 * (bench/node.bench.ts, which runs this module as a separate child process so
 * that the load never shares the server's event loop or the benchmark's).
 *
 * - Keys sign with node:crypto (OpenSSL Ed25519: deterministic, byte-identical
 *   to the engine's noble signing, and ~20x faster), so thousands of requests
 *   can be signed just before a timed phase.
 * - OrderFlow is a seeded, realistic trader workload on one market: resting
 *   limit orders around a mid price, crossing limit/IOC orders, and cancels by
 *   clientId of the trader's own earlier resting orders. Every request has a
 *   fresh clientId, so no two requests are the same signed message.
 * - Requests are signed exactly as the Rust client signs (raw values; the
 *   values used here are identical in every percent-encoded form, so the
 *   server has exactly one signing-string candidate and leaves the signature
 *   to the node's verifier threads).
 * - Two HTTP/1.1 keep-alive transports: 'raw' (pre-encoded request bytes on
 *   net.Socket, one request in flight per connection, Content-Length
 *   responses: a few µs per request, so the generator takes as little CPU as
 *   possible from a small machine) and 'node-http' (node:http with a
 *   keep-alive Agent, maxSockets = connections).
 * - Two drivers: closed loop (every connection sends its next request as soon
 *   as the previous one is answered) and open loop (requests are released at a
 *   fixed rate whatever the server does; latency is counted from the moment a
 *   request was due, so queueing is not hidden: no coordinated omission).
 *
 * Every loop is bounded by a request count and a deadline; only the URL given
 * (127.0.0.1) is ever contacted.
 *
 * Child mode (`node --import tsx packages/api/test/load-generator.ts`, started
 * with an IPC channel by the benchmark): see `childMain` for the protocol.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { encodeSigningString } from '@vex/engine';

// ---------------------------------------------------------------------------
// Deterministic randomness.

/** SplitMix32: a tiny seeded PRNG; the same seed gives the same workload. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 2 ** 32;
  }
  /** An integer in [0, bound). */
  below(bound: number): number {
    return Math.floor(this.next() * bound);
  }
  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.below(256));
  }
}

// ---------------------------------------------------------------------------
// Keys and signing (node:crypto).

const pkcs8Ed25519Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');

export class Ed25519Key {
  readonly publicKey: Uint8Array;
  /** The base64 public key: X-API-Key and the account id. */
  readonly apiKey: string;
  private readonly privateKey: KeyObject;

  constructor(readonly seed: Uint8Array) {
    if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes');
    this.privateKey = createPrivateKey({
      key: Buffer.concat([pkcs8Ed25519Prefix, seed]),
      format: 'der',
      type: 'pkcs8',
    });
    const spki = createPublicKey(this.privateKey).export({ format: 'der', type: 'spki' });
    this.publicKey = new Uint8Array(spki.subarray(spki.length - 32));
    this.apiKey = Buffer.from(this.publicKey).toString('base64');
  }

  /** From the base64 seed of operator-key.json's "secret". */
  static fromSecret(secret: string): Ed25519Key {
    return new Ed25519Key(new Uint8Array(Buffer.from(secret, 'base64')));
  }

  get secret(): string {
    return Buffer.from(this.seed).toString('base64');
  }

  sign(message: string | Uint8Array): Buffer {
    return cryptoSign(null, typeof message === 'string' ? Buffer.from(message, 'utf8') : message, this.privateKey);
  }
}

// ---------------------------------------------------------------------------
// Signed requests.

export type RequestKind = 'order' | 'cancel' | 'transaction';
export type BodyValue = string | number | boolean;

export interface SignedRequest {
  readonly kind: RequestKind;
  readonly method: 'POST' | 'DELETE';
  readonly path: string;
  /** The JSON body as sent. */
  readonly body: string;
  /** The signing string: exactly the bytes (UTF-8) the signature covers and the log must hold. */
  readonly message: string;
  /** Base64 of the 64-byte signature. */
  readonly signature: string;
  /** Base64 of the signer's public key. */
  readonly publicKey: string;
  /** Backpack signature headers; empty for POST /api/v1/transactions. */
  readonly headers: Readonly<Record<string, string>>;
  /** Which trader signed it (-1 for the operator). */
  readonly trader: number;
  /** The clientId the request carries (orders) or targets (cancels). */
  readonly clientId?: number;
}

function checkPlainValue(key: string, text: string): void {
  // The server rebuilds raw, encodeURIComponent and qs forms; keeping values to
  // characters all three leave alone gives exactly one candidate.
  if (!/^[A-Za-z0-9._~-]*$/.test(text)) throw new Error(`value of ${key} (${text}) would need percent-encoding`);
}

/** A Backpack-signed request (Rust-client style: raw values, sorted keys). */
export function signedBackpackRequest(
  key: Ed25519Key,
  kind: RequestKind,
  method: 'POST' | 'DELETE',
  path: string,
  instruction: string,
  body: Readonly<Record<string, BodyValue>>,
  timestampMs: number,
  windowMs: number,
  trader: number,
): SignedRequest {
  const params: Array<[string, string]> = Object.entries(body).map(([name, value]) => {
    const text = typeof value === 'boolean' ? (value ? 'true' : 'false') : String(value);
    checkPlainValue(name, text);
    return [name, text];
  });
  const message = encodeSigningString([{ instruction, params }], timestampMs, windowMs);
  const signature = key.sign(message).toString('base64');
  const clientId = typeof body.clientId === 'number' ? body.clientId : undefined;
  return {
    kind,
    method,
    path,
    body: JSON.stringify(body),
    message,
    signature,
    publicKey: key.apiKey,
    headers: {
      'X-API-Key': key.apiKey,
      'X-Signature': signature,
      'X-Timestamp': String(timestampMs),
      'X-Window': String(windowMs),
    },
    trader,
    ...(clientId !== undefined ? { clientId } : {}),
  };
}

/** An operator (or any) instruction for POST /api/v1/transactions, signed over raw values. */
export function signedTransactionRequest(
  key: Ed25519Key,
  instruction: string,
  params: Readonly<Record<string, string>>,
  timestampMs: number,
  windowMs = 60_000,
): SignedRequest {
  const message = encodeSigningString([{ instruction, params: Object.entries(params) }], timestampMs, windowMs);
  const signature = key.sign(message).toString('base64');
  return {
    kind: 'transaction',
    method: 'POST',
    path: '/api/v1/transactions',
    body: JSON.stringify({ message, publicKey: key.apiKey, signature }),
    message,
    signature,
    publicKey: key.apiKey,
    headers: {},
    trader: -1,
  };
}

// ---------------------------------------------------------------------------
// The workload.

export interface OrderFlowOptions {
  readonly seed: number;
  readonly traders: readonly Ed25519Key[];
  readonly symbol?: string;
  /** Mid price in ticks of 0.01 (default 10_000 = 100.00). */
  readonly midTicks?: number;
  /** Share of requests that cancel an earlier resting order of the same trader (default 0.2). */
  readonly cancelShare?: number;
  /** Share of orders priced through the mid (default 0.15); half of those are IOC. */
  readonly crossShare?: number;
  /** A cancel only targets an order at least this many requests older (default 400), so it has normally been placed. */
  readonly cancelLag?: number;
  readonly windowMs?: number;
}

function decimal2(units: number): string {
  const whole = Math.floor(units / 100);
  const cents = units % 100;
  if (cents === 0) return String(whole);
  return cents % 10 === 0 ? `${whole}.${cents / 10}` : `${whole}.${String(cents).padStart(2, '0')}`;
}

interface RestingCandidate {
  readonly clientId: number;
  readonly index: number;
}

/**
 * Realistic order flow on a 0.01-tick, 0.01-step market (SOL_USDC of the demo
 * config): the `next` request for a timestamp. Deterministic for a seed and a
 * sequence of timestamps.
 */
export class OrderFlow {
  private readonly random: Prng;
  private readonly symbol: string;
  private readonly midTicks: number;
  private readonly cancelShare: number;
  private readonly crossShare: number;
  private readonly cancelLag: number;
  private readonly windowMs: number;
  private readonly nextClientId: number[];
  private readonly resting: RestingCandidate[][];
  private issued = 0;
  readonly counts = { restingOrders: 0, crossingOrders: 0, cancels: 0 };

  constructor(private readonly options: OrderFlowOptions) {
    this.random = new Prng(options.seed);
    this.symbol = options.symbol ?? 'SOL_USDC';
    this.midTicks = options.midTicks ?? 10_000;
    this.cancelShare = options.cancelShare ?? 0.2;
    this.crossShare = options.crossShare ?? 0.15;
    this.cancelLag = options.cancelLag ?? 400;
    this.windowMs = options.windowMs ?? 60_000;
    this.nextClientId = options.traders.map(() => 1);
    this.resting = options.traders.map(() => []);
  }

  get traders(): readonly Ed25519Key[] {
    return this.options.traders;
  }

  next(timestampMs: number): SignedRequest {
    const index = this.issued;
    this.issued += 1;
    const random = this.random;
    const trader = random.below(this.options.traders.length);
    const key = this.options.traders[trader]!;
    const candidates = this.resting[trader]!;
    if (random.next() < this.cancelShare && candidates.length > 0 && candidates[0]!.index <= index - this.cancelLag) {
      // Cancel one of the trader's old enough resting orders, picked at random among them.
      let eligible = 0;
      while (eligible < candidates.length && candidates[eligible]!.index <= index - this.cancelLag) eligible += 1;
      const [target] = candidates.splice(random.below(eligible), 1);
      this.counts.cancels += 1;
      return signedBackpackRequest(
        key,
        'cancel',
        'DELETE',
        '/api/v1/order',
        'orderCancel',
        { symbol: this.symbol, clientId: target!.clientId },
        timestampMs,
        this.windowMs,
        trader,
      );
    }
    const clientId = this.nextClientId[trader]!;
    this.nextClientId[trader] = clientId + 1;
    const side = random.below(2) === 0 ? 'Bid' : 'Ask';
    const quantity = decimal2(1 + random.below(500));
    const crossing = random.next() < this.crossShare;
    let priceTicks: number;
    let timeInForce: 'GTC' | 'IOC';
    if (crossing) {
      // Through the mid by up to 0.20: takes liquidity from the resting side.
      const through = random.below(21);
      priceTicks = side === 'Bid' ? this.midTicks + through : this.midTicks - through;
      timeInForce = random.below(2) === 0 ? 'IOC' : 'GTC';
      this.counts.crossingOrders += 1;
    } else {
      // Passive: 0.01 to 0.50 away from the mid, on its own side.
      const away = 1 + random.below(50);
      priceTicks = side === 'Bid' ? this.midTicks - away : this.midTicks + away;
      timeInForce = 'GTC';
      this.counts.restingOrders += 1;
      candidates.push({ clientId, index });
    }
    return signedBackpackRequest(
      key,
      'order',
      'POST',
      '/api/v1/order',
      'orderExecute',
      { symbol: this.symbol, side, orderType: 'Limit', price: decimal2(priceTicks), quantity, timeInForce, clientId },
      timestampMs,
      this.windowMs,
      trader,
    );
  }

  /** `count` requests signed now, with timestamps from `timestampMs` on (never repeated across calls). */
  batch(count: number, timestampMs: number): SignedRequest[] {
    const requests: SignedRequest[] = new Array(count);
    for (let index = 0; index < count; index += 1) requests[index] = this.next(timestampMs);
    return requests;
  }
}

/** Deposits that fund each trader generously in both assets of SOL_USDC. */
export function fundingRequests(
  operator: Ed25519Key,
  traders: readonly Ed25519Key[],
  timestampMs: number,
  amounts: { readonly SOL?: string; readonly USDC?: string } = {},
  tag = `fund-${timestampMs}`,
): SignedRequest[] {
  const requests: SignedRequest[] = [];
  traders.forEach((trader, index) => {
    for (const [symbol, quantity, blockchain] of [
      ['SOL', amounts.SOL ?? '1000000', 'Solana'],
      ['USDC', amounts.USDC ?? '100000000', 'Solana'],
    ] as const) {
      requests.push(
        signedTransactionRequest(
          operator,
          'depositCredit',
          {
            account: trader.apiKey,
            symbol,
            quantity,
            blockchain,
            chainTransactionId: `${tag}-${index}-${symbol}`,
          },
          timestampMs,
        ),
      );
    }
  });
  return requests;
}

// ---------------------------------------------------------------------------
// HTTP transports.

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export type ClientKind = 'raw' | 'node-http';

export interface Target {
  readonly host: string;
  readonly port: number;
}

export function targetOf(url: string): Target {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:') throw new Error(`only http:// targets, not ${url}`);
  if (parsed.hostname !== '127.0.0.1')
    throw new Error(`the load generator only talks to 127.0.0.1, not ${parsed.hostname}`);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

/** The whole HTTP/1.1 request as bytes, for the raw transport. */
export function encodeHttpRequest(request: SignedRequest, target: Target): Buffer {
  const body = Buffer.from(request.body, 'utf8');
  let head =
    `${request.method} ${request.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`;
  for (const [name, value] of Object.entries(request.headers)) head += `${name}: ${value}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), body]);
}

const headerEnd = Buffer.from('\r\n\r\n');

/** One keep-alive connection with at most one request in flight. Reconnects lazily after a close. */
class RawConnection {
  private socket: Socket | undefined;
  private connected: Promise<Socket> | undefined;
  private chunks: Buffer[] = [];
  private received = 0;
  private waiter: { resolve: (answer: HttpAnswer) => void; reject: (error: Error) => void } | undefined;
  private closed = false;

  constructor(private readonly target: Target) {}

  private connect(): Promise<Socket> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    this.connected ??= new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: this.target.host, port: this.target.port, noDelay: true });
      const onConnectError = (error: Error): void => {
        this.connected = undefined;
        reject(error);
      };
      socket.once('error', onConnectError);
      socket.once('connect', () => {
        socket.off('error', onConnectError);
        socket.setKeepAlive(true);
        socket.on('data', (chunk: Buffer) => this.onData(chunk));
        socket.on('error', (error) => this.fail(error));
        socket.on('close', () => this.fail(new Error('the server closed the connection')));
        this.socket = socket;
        resolve(socket);
      });
    });
    return this.connected;
  }

  private fail(error: Error): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.connected = undefined;
    this.chunks = [];
    this.received = 0;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.received += chunk.length;
    const data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.received);
    this.chunks = [data];
    const end = data.indexOf(headerEnd);
    if (end < 0) return;
    const head = data.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    const lengthAt = lower.indexOf('\r\ncontent-length:');
    if (lengthAt < 0) {
      this.fail(
        new Error(`response without Content-Length (status ${status}); the raw client does not read chunked bodies`),
      );
      return;
    }
    const length = parseInt(lower.slice(lengthAt + 17, lower.indexOf('\r\n', lengthAt + 2)), 10);
    const total = end + 4 + length;
    if (data.length < total) return;
    const body = data.toString('utf8', end + 4, total);
    this.chunks = [];
    this.received = 0;
    if (data.length > total) {
      this.fail(new Error('unexpected bytes after a response'));
      return;
    }
    const closeAfter = lower.includes('\r\nconnection: close');
    const waiter = this.waiter;
    this.waiter = undefined;
    if (closeAfter) {
      this.socket?.destroy();
      this.socket = undefined;
      this.connected = undefined;
    }
    waiter?.resolve({ status, body });
  }

  async request(bytes: Buffer): Promise<HttpAnswer> {
    if (this.waiter !== undefined) throw new Error('one request at a time per connection');
    const socket = this.socket ?? (await this.connect());
    return new Promise<HttpAnswer>((resolve, reject) => {
      this.waiter = { resolve, reject };
      socket.write(bytes);
    });
  }

  close(): void {
    this.closed = true;
    this.fail(new Error('connection closed'));
  }
}

interface Transport {
  /** Sends request `index` on connection `slot` (the node:http agent picks its own socket). */
  send(slot: number, index: number): Promise<HttpAnswer>;
  close(): void;
}

function rawTransport(
  requests: readonly SignedRequest[],
  target: Target,
  connections: number,
  encoded?: readonly Buffer[],
): Transport {
  const pool = Array.from({ length: connections }, () => new RawConnection(target));
  return {
    send: (slot, index) => pool[slot]!.request(encoded?.[index] ?? encodeHttpRequest(requests[index]!, target)),
    close: () => pool.forEach((connection) => connection.close()),
  };
}

function nodeHttpTransport(requests: readonly SignedRequest[], target: Target, connections: number): Transport {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  return {
    send: (_slot, index) =>
      new Promise<HttpAnswer>((resolve, reject) => {
        const request = requests[index]!;
        const body = Buffer.from(request.body, 'utf8');
        const outgoing = httpRequest(
          {
            host: target.host,
            port: target.port,
            method: request.method,
            path: request.path,
            agent,
            headers: { ...request.headers, 'content-type': 'application/json', 'content-length': body.length },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () =>
              resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
            );
            response.on('error', reject);
          },
        );
        outgoing.on('error', reject);
        outgoing.end(body);
      }),
    close: () => agent.destroy(),
  };
}

// ---------------------------------------------------------------------------
// Drivers.

export interface RequestResult {
  readonly index: number;
  /** HTTP status, or 0 when no complete answer arrived. */
  readonly status: number;
  readonly body: string;
  readonly error?: string;
  /** process.hrtime.bigint() when the request was due (open loop) or taken (closed loop). */
  readonly dueNs: bigint;
  readonly sentNs: bigint;
  readonly doneNs: bigint;
}

export type LoadMode = { readonly kind: 'closed' } | { readonly kind: 'open'; readonly ratePerSec: number };

export interface LoadOptions {
  readonly url: string;
  readonly connections: number;
  readonly mode: LoadMode;
  /** Stop issuing requests after this many ms (the phase's hard bound). */
  readonly deadlineMs: number;
  readonly client?: ClientKind;
  /** Pre-encoded request bytes (raw client), to keep encoding out of the timed phase. */
  readonly encoded?: readonly Buffer[];
  /** Called for every finished request, in completion order. */
  readonly onResult?: (result: RequestResult) => void;
}

export interface LoadRun {
  /** Issue nothing more; requests in flight still complete (or fail). */
  stop(): void;
  /** Every request that was issued, in completion order, once all of them finished. */
  readonly done: Promise<RequestResult[]>;
  /** Requests answered so far. */
  readonly completed: () => number;
}

export function runLoad(requests: readonly SignedRequest[], options: LoadOptions): LoadRun {
  const target = targetOf(options.url);
  const connections = Math.max(1, Math.min(options.connections, 4096));
  const transport: Transport =
    (options.client ?? 'raw') === 'raw'
      ? rawTransport(requests, target, connections, options.encoded)
      : nodeHttpTransport(requests, target, connections);
  const results: RequestResult[] = [];
  const started = process.hrtime.bigint();
  const deadlineNs = started + BigInt(Math.round(options.deadlineMs * 1e6));
  let stopped = false;
  let next = 0;

  const perform = async (slot: number, index: number, dueNs: bigint): Promise<void> => {
    const sentNs = process.hrtime.bigint();
    let result: RequestResult;
    try {
      const answer = await transport.send(slot, index);
      result = { index, status: answer.status, body: answer.body, dueNs, sentNs, doneNs: process.hrtime.bigint() };
    } catch (error) {
      result = {
        index,
        status: 0,
        body: '',
        error: (error as Error).message,
        dueNs,
        sentNs,
        doneNs: process.hrtime.bigint(),
      };
    }
    results.push(result);
    options.onResult?.(result);
  };

  let done: Promise<void>;
  if (options.mode.kind === 'closed') {
    const worker = async (slot: number): Promise<void> => {
      while (!stopped && next < requests.length && process.hrtime.bigint() < deadlineNs) {
        const index = next;
        next += 1;
        await perform(slot, index, process.hrtime.bigint());
      }
    };
    done = Promise.all(Array.from({ length: connections }, (_, slot) => worker(slot))).then(() => undefined);
  } else {
    const intervalNs = 1e9 / options.mode.ratePerSec;
    const idle: number[] = Array.from({ length: connections }, (_, slot) => connections - 1 - slot);
    const due: number[] = [];
    let active = 0;
    let resolveDone: () => void;
    done = new Promise<void>((resolve) => (resolveDone = resolve));
    const dueNsOf = (index: number): bigint => started + BigInt(Math.round(index * intervalNs));
    const pump = (): void => {
      while (due.length > 0 && idle.length > 0) {
        const index = due.shift()!;
        const slot = idle.pop()!;
        active += 1;
        void perform(slot, index, dueNsOf(index)).then(() => {
          active -= 1;
          idle.push(slot);
          pump();
        });
      }
      if ((stopped || next >= requests.length) && due.length === 0 && active === 0) resolveDone();
    };
    const tick = (): void => {
      const now = process.hrtime.bigint();
      if (!stopped && now >= deadlineNs) stopped = true;
      if (!stopped) {
        const dueCount = Math.min(requests.length, Math.floor(Number(now - started) / intervalNs) + 1);
        while (next < dueCount) due.push(next++);
      }
      if (stopped) due.length = 0;
      pump();
      if (!stopped && next < requests.length) setTimeout(tick, 1);
    };
    tick();
  }
  return {
    stop: () => {
      stopped = true;
    },
    done: done.then(() => {
      transport.close();
      return results;
    }),
    completed: () => results.length,
  };
}

// ---------------------------------------------------------------------------
// Summaries.

export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}

export interface PhaseSummary {
  readonly requests: number;
  readonly issued: number;
  readonly acknowledged: number;
  readonly byStatus: Record<string, number>;
  readonly rejections: Record<string, number>;
  readonly errors: Record<string, number>;
  /** From the first request sent to the last answer. */
  readonly durationMs: number;
  readonly acknowledgedPerSec: number;
  readonly answeredPerSec: number;
  /** Latency of acknowledged requests: from due time (open loop: includes any wait for a free connection). */
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly p999: number;
    readonly max: number;
    readonly mean: number;
  };
  /** Latency of acknowledged requests from the moment they were written to the socket. */
  readonly serviceMs: { readonly p50: number; readonly p99: number };
  readonly counts: { readonly orders: number; readonly cancels: number };
}

export function summarize(requests: readonly SignedRequest[], results: readonly RequestResult[]): PhaseSummary {
  const byStatus: Record<string, number> = {};
  const rejections: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  const services: number[] = [];
  let first: bigint | undefined;
  let last: bigint | undefined;
  let acknowledged = 0;
  let orders = 0;
  let cancels = 0;
  for (const result of results) {
    byStatus[result.status] = (byStatus[result.status] ?? 0) + 1;
    if (first === undefined || result.sentNs < first) first = result.sentNs;
    if (last === undefined || result.doneNs > last) last = result.doneNs;
    if (requests[result.index]!.kind === 'cancel') cancels += 1;
    else orders += 1;
    if (result.status >= 200 && result.status < 300) {
      acknowledged += 1;
      latencies.push(Number(result.doneNs - result.dueNs) / 1e6);
      services.push(Number(result.doneNs - result.sentNs) / 1e6);
    } else if (result.status === 0) {
      const key = (result.error ?? 'error').slice(0, 80);
      errors[key] = (errors[key] ?? 0) + 1;
    } else {
      let code = `HTTP ${result.status}`;
      try {
        code = (JSON.parse(result.body) as { code?: string }).code ?? code;
      } catch {
        // not JSON
      }
      rejections[code] = (rejections[code] ?? 0) + 1;
    }
  }
  latencies.sort((a, b) => a - b);
  services.sort((a, b) => a - b);
  const durationMs = first === undefined || last === undefined ? 0 : Number(last - first) / 1e6;
  const mean =
    latencies.length === 0 ? Number.NaN : latencies.reduce((total, value) => total + value, 0) / latencies.length;
  return {
    requests: requests.length,
    issued: results.length,
    acknowledged,
    byStatus,
    rejections,
    errors,
    durationMs,
    acknowledgedPerSec: durationMs > 0 ? acknowledged / (durationMs / 1000) : 0,
    answeredPerSec:
      durationMs > 0 ? (results.length - Object.values(errors).reduce((a, b) => a + b, 0)) / (durationMs / 1000) : 0,
    latencyMs: {
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p99: percentile(latencies, 0.99),
      p999: percentile(latencies, 0.999),
      max: latencies.at(-1) ?? Number.NaN,
      mean,
    },
    serviceMs: { p50: percentile(services, 0.5), p99: percentile(services, 0.99) },
    counts: { orders, cancels },
  };
}

/** Sends requests one after another (setup: funding), failing on anything but 2xx. */
export async function sendSequentially(
  url: string,
  requests: readonly SignedRequest[],
  timeoutMs = 30_000,
): Promise<HttpAnswer[]> {
  const answers: HttpAnswer[] = [];
  for (const request of requests) {
    const response = await fetch(`${url}${request.path}`, {
      method: request.method,
      headers: { ...request.headers, 'content-type': 'application/json' },
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.text();
    if (response.status < 200 || response.status >= 300)
      throw new Error(`${request.path} answered ${response.status}: ${body.slice(0, 300)}`);
    answers.push({ status: response.status, body });
  }
  return answers;
}

// ---------------------------------------------------------------------------
// The server as a child process.

export interface ServerProcessOptions {
  /** Arguments after the node executable, e.g. ['--import', 'tsx', 'packages/api/src/main.ts']. */
  readonly args: readonly string[];
  readonly cwd: string;
  /** Added to process.env (PORT, DATA_DIR, LOG_LEVEL, ...). */
  readonly env: Readonly<Record<string, string>>;
  /** stdout and stderr both go here (appended). */
  readonly logFile: string;
  readonly startTimeoutMs?: number;
}

export interface ServerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * A server started as `node <args>`: resolves once it printed
 * `exchange listening on <url>`, rejects (with the end of its output) if it
 * exits first or does not come up in time.
 */
export class ServerProcess {
  private exitState: ServerExit | undefined;
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly operatorPublicKey: string | undefined,
    readonly logFile: string,
    readonly exited: Promise<ServerExit>,
  ) {
    void exited.then((state) => (this.exitState = state));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get hasExited(): boolean {
    return this.exitState !== undefined;
  }

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const output = openSync(options.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...options.args], {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        stdio: ['ignore', output, output],
      });
    } finally {
      closeSync(output);
    }
    let exitState: ServerExit | undefined;
    const exited = new Promise<ServerExit>((resolve) => {
      child.once('exit', (code, signal) => {
        exitState = { code, signal };
        resolve(exitState);
      });
    });
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    const startedAt = Date.now();
    const tail = (): string => readFileSync(options.logFile, 'utf8').split('\n').slice(-25).join('\n');
    for (;;) {
      const text = readFileSync(options.logFile, 'utf8');
      const listening = /exchange listening on (http:\/\/\S+)/.exec(text);
      if (listening !== null) {
        const operator = /operator public key (\S+)/.exec(text);
        return new ServerProcess(child, listening[1]!, operator?.[1], options.logFile, exited);
      }
      if (exitState !== undefined) {
        throw new Error(
          `the server exited (code ${exitState.code}, signal ${exitState.signal}) before listening; its output ends:\n${tail()}`,
        );
      }
      if (Date.now() - startedAt > timeoutMs) {
        child.kill('SIGKILL');
        throw new Error(`the server did not listen within ${timeoutMs} ms; its output ends:\n${tail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.hasExited) this.child.kill(signal);
  }

  /** Sends `signal` and waits (bounded) for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<ServerExit> {
    this.kill(signal);
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    const result = await Promise.race([this.exited, timer]);
    if (result === 'timeout') {
      this.child.kill('SIGKILL');
      return this.exited;
    }
    return result;
  }

  logText(): string {
    return readFileSync(this.logFile, 'utf8');
  }
}

// ---------------------------------------------------------------------------
// Child mode: the benchmark's load process.
//
// Parent → child (IPC):
//   {type: 'setup', url, traderSeeds: base64[], flowSeed, connections, client}
//   {type: 'prepare', phase, count}    sign `count` requests now (timestamps = now, X-Window 60000), encode them
//   {type: 'run', phase, mode, deadlineMs}
//   {type: 'exit'}
// Child → parent:
//   {type: 'ready'} after setup; {type: 'prepared', phase, signMs, encodeMs}; {type: 'result', phase, summary, cpuMs}
//   {type: 'error', message}

type ParentMessage =
  | { type: 'setup'; url: string; traderSeeds: string[]; flowSeed: number; connections: number; client: ClientKind }
  | { type: 'prepare'; phase: string; count: number }
  | { type: 'run'; phase: string; mode: LoadMode; deadlineMs: number }
  | { type: 'exit' };

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'prepared'; phase: string; signMs: number; encodeMs: number; averageMessageBytes: number }
  | { type: 'result'; phase: string; summary: PhaseSummary; cpuUserMs: number; cpuSystemMs: number }
  | { type: 'error'; message: string };

/**
 * The child side of a generator process (this file's and
 * overload-generator.ts's): answers each parent message with `handle`,
 * reports anything thrown as {type: 'error'}, exits on {type: 'exit'} or when
 * the parent goes away, and after `lifetimeMs` at most, so a test that dies
 * never leaves a generator behind.
 */
export function serveParent<Parent extends { readonly type: string }, Child>(
  description: string,
  lifetimeMs: number,
  handle: (message: Parent, send: (message: Child | { type: 'error'; message: string }) => void) => Promise<void>,
): void {
  const parent = process.send?.bind(process);
  if (parent === undefined) throw new Error(`${description} runs as a child process with an IPC channel`);
  const send = (message: Child | { type: 'error'; message: string }): void => {
    parent(message);
  };
  setTimeout(() => process.exit(3), lifetimeMs).unref();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: Parent) => {
    if (message.type === 'exit') process.exit(0);
    handle(message, send).catch((error: unknown) => {
      send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    });
  });
}

/** Runs `main` when `moduleUrl` is the process's entry module (node --import tsx <file>). */
export function runIfEntryModule(moduleUrl: string, description: string, main: () => void): void {
  if (process.argv[1] === undefined || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  try {
    main();
  } catch (error) {
    process.stderr.write(
      `${description}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  }
}

function childMain(): void {
  let setup: Extract<ParentMessage, { type: 'setup' }> | undefined;
  let flow: OrderFlow | undefined;
  const prepared = new Map<string, { requests: SignedRequest[]; encoded: Buffer[] }>();
  // Bounded: the child exits if the parent goes away or after an hour at most.
  serveParent<ParentMessage, ChildMessage>(
    'load-generator.ts (the benchmark starts it)',
    3_600_000,
    async (message, send) => {
      switch (message.type) {
        case 'setup':
          setup = message;
          flow = new OrderFlow({
            seed: message.flowSeed,
            traders: message.traderSeeds.map((seed) => Ed25519Key.fromSecret(seed)),
          });
          send({ type: 'ready' });
          break;
        case 'prepare': {
          if (setup === undefined || flow === undefined) throw new Error('prepare before setup');
          const t0 = performance.now();
          const requests = flow.batch(message.count, Date.now());
          const t1 = performance.now();
          const target = targetOf(setup.url);
          const encoded = requests.map((request) => encodeHttpRequest(request, target));
          const t2 = performance.now();
          prepared.set(message.phase, { requests, encoded });
          const averageMessageBytes =
            requests.reduce((total, request) => total + request.message.length, 0) / Math.max(1, requests.length);
          send({ type: 'prepared', phase: message.phase, signMs: t1 - t0, encodeMs: t2 - t1, averageMessageBytes });
          break;
        }
        case 'run': {
          if (setup === undefined) throw new Error('run before setup');
          const phase = prepared.get(message.phase);
          if (phase === undefined) throw new Error(`phase ${message.phase} was not prepared`);
          prepared.delete(message.phase);
          const cpuBefore = process.cpuUsage();
          const run = runLoad(phase.requests, {
            url: setup.url,
            connections: setup.connections,
            client: setup.client,
            mode: message.mode,
            deadlineMs: message.deadlineMs,
            encoded: phase.encoded,
          });
          const results = await run.done;
          const cpu = process.cpuUsage(cpuBefore);
          send({
            type: 'result',
            phase: message.phase,
            summary: summarize(phase.requests, results),
            cpuUserMs: cpu.user / 1000,
            cpuSystemMs: cpu.system / 1000,
          });
          break;
        }
        case 'exit':
          break;
      }
    },
  );
}

runIfEntryModule(import.meta.url, 'load generator', childMain);
