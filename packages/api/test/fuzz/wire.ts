/**
 * The fuzzer's requests on the wire: the signed routes, the signing string a
 * Backpack client builds, and requests as header lists a mutation can change
 * one at a time.
 */
import { freshTimestamp, type TestKey } from '../../src/test-support.js';
import type { SeededRandom } from './seeded-random.js';

export type Payload = Record<string, unknown> | Array<Record<string, unknown>>;

export interface WireRequest {
  readonly method: string;
  /** Path and query string. */
  readonly path: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body?: string;
  /** The whole request as bytes on a socket, for malformed HTTP that fetch cannot send. */
  readonly raw?: string;
}

export interface Route {
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly instruction: string;
  readonly kind: 'transaction' | 'query';
}

export const routes = {
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
export const nativePath = '/api/v1/transactions';

/** What a Backpack client signs for one value: strings as they are, booleans and numbers as text. */
export function signedText(value: unknown): string {
  return typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : JSON.stringify(value);
}

/** The raw signing string (docs/protocol.md §2), with timestamp and window as literal text. */
export function signingStringOf(instruction: string, payload: Payload, timestamp: string, window: string): string {
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
export interface SignedSpec {
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

export function signedSpec(
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

export function signingStringOfSpec(spec: SignedSpec): string {
  return signingStringOf(spec.instruction, spec.signedPayload, spec.signedTimestamp, spec.signedWindow);
}

export function wireOf(spec: SignedSpec, signature = spec.signer.sign(signingStringOfSpec(spec))): WireRequest {
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

export function withHeader(request: WireRequest, name: string, value: string | undefined): WireRequest {
  const headers = request.headers.filter(([header]) => header !== name);
  return { ...request, headers: value === undefined ? headers : [...headers, [name, value]] };
}

export function headerOf(request: WireRequest, name: string): string | undefined {
  return request.headers.find(([header]) => header === name)?.[1];
}

export function withBody(request: WireRequest, body: string, contentType = 'application/json'): WireRequest {
  return { ...withHeader(request, 'content-type', contentType), body };
}

/** The request as HTTP/1.1 text, with `Connection: close`; `headerLines` are added as they are. */
export function httpText(request: WireRequest, headerLines: readonly string[] = [], body = request.body ?? ''): string {
  const lines = [
    `${request.method} ${request.path} HTTP/1.1`,
    'Host: 127.0.0.1',
    ...request.headers.map(([name, value]) => `${name}: ${value}`),
    ...headerLines,
    'Connection: close',
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export interface Control {
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

export interface Mutated {
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

/** A mutation, or undefined when it does not apply to the request at hand (another is picked then). */
export type MutationChoices = Array<() => Mutated | undefined>;

/** What the mutations draw on: the run's randomness and its keys. */
export interface MutationContext {
  readonly random: SeededRandom;
  readonly traders: readonly TestKey[];
  /** A key that holds no account. */
  readonly stranger: TestKey;
}
